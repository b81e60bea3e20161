-- Errors in coroutines. A coroutine body runs under its own protected call
-- (a setjmp, i.e. a Wasm try block), so an error inside it is caught by
-- resume; coroutine.wrap re-raises it in the caller.
-- Expected stdout: coroutines.expected.

local function strip(msg)
  if type(msg) ~= "string" then return msg end
  return (string.gsub(msg, "^[^:]*:%d+: ", ""))
end

-- 1. Error before the first yield.
do
  local co = coroutine.create(function() error("early") end)
  local ok, e = coroutine.resume(co)
  print("early", ok, strip(e), coroutine.status(co))
  ok, e = coroutine.resume(co)
  print("resume dead", ok, e)
end

-- 2. Error after some yields, with a table error object.
do
  local co = coroutine.create(function(a)
    local b = coroutine.yield(a + 1)
    local c = coroutine.yield(b * 2)
    error({ last = c })
  end)
  print("yield", coroutine.resume(co, 1))
  print("yield", coroutine.resume(co, 10))
  local ok, e = coroutine.resume(co, "end")
  print("late", ok, type(e), e.last, coroutine.status(co))
end

-- 3. coroutine.wrap propagates the error to the caller.
do
  local gen = coroutine.wrap(function()
    for i = 1, 3 do coroutine.yield(i) end
    error("generator exhausted", 0)
  end)
  local got = {}
  local ok, e = pcall(function()
    while true do got[#got + 1] = gen() end
  end)
  -- wrap adds the position of the resume to a string error, even with level 0.
  print("wrap", ok, strip(e), e ~= strip(e) and "with position" or "no position", table.concat(got, ","))
end

-- 4. pcall inside a coroutine, with a yield across the pcall (Lua 5.4).
do
  local co = coroutine.create(function()
    local ok, e = pcall(function()
      local v = coroutine.yield("inside pcall")
      error("after resume: " .. v, 0)
    end)
    coroutine.yield("caught " .. tostring(ok) .. " " .. e)
    return "finished"
  end)
  print("across pcall", coroutine.resume(co))
  print("across pcall", coroutine.resume(co, "v2"))
  print("across pcall", coroutine.resume(co))
  print("across pcall", coroutine.status(co))
end

-- 5. Nested coroutines: the error crosses two resumes.
do
  local inner = coroutine.wrap(function() coroutine.yield("inner 1"); error({ from = "inner" }) end)
  local outer = coroutine.create(function()
    coroutine.yield(inner())
    coroutine.yield(inner()) -- raises
  end)
  print("nested", coroutine.resume(outer))
  local ok, e = coroutine.resume(outer)
  print("nested", ok, e.from, coroutine.status(outer))
end

-- 6. Many coroutines, each failing.
do
  local failed, total = 0, 0
  for i = 1, 2000 do
    local co = coroutine.create(function(n)
      local acc = 0
      for k = 1, n % 7 do acc = acc + coroutine.yield(k) end
      error(acc, 0)
    end)
    local ok, v = coroutine.resume(co, i)
    while ok and coroutine.status(co) == "suspended" do
      ok, v = coroutine.resume(co, v)
    end
    if not ok then failed = failed + 1; total = total + v end
  end
  print("many", failed, total)
end

-- 7. Closing a suspended coroutine runs its pending to-be-closed variables;
-- an error inside __close is reported by coroutine.close.
do
  local log = {}
  local co = coroutine.create(function()
    local r <close> = setmetatable({}, { __close = function() log[#log + 1] = "closed" end })
    coroutine.yield(1)
  end)
  coroutine.resume(co)
  print("close", coroutine.close(co), coroutine.status(co), table.concat(log))
  co = coroutine.create(function()
    local r <close> = setmetatable({}, { __close = function() error("close failed", 0) end })
    coroutine.yield(1)
  end)
  coroutine.resume(co)
  print("close", coroutine.close(co))
  co = coroutine.create(function() error({ k = "v" }) end)
  coroutine.resume(co)
  local ok, e = coroutine.close(co)
  print("close dead", ok, type(e), e.k)
end

-- 8. Errors about coroutine misuse.
do
  print("isyieldable main", coroutine.isyieldable())
  local ok, e = pcall(coroutine.yield, 1)
  print("yield outside", ok, strip(e))
  local co
  co = coroutine.create(function() return coroutine.resume(co) end)
  print("resume self", coroutine.resume(co))
  ok, e = pcall(coroutine.resume, 42)
  print("resume number", ok, strip(e))
end

-- 9. A producer/consumer pipeline; the consumer raises at a sentinel.
do
  local function producer()
    return coroutine.wrap(function()
      for _, w in ipairs({ "alpha", "beta", "STOP", "gamma" }) do coroutine.yield(w) end
    end)
  end
  local function filter(src)
    return coroutine.wrap(function()
      for w in src do
        if w == "STOP" then error({ stopped_at = w }) end
        coroutine.yield(w:upper())
      end
    end)
  end
  local out = {}
  local ok, e = pcall(function() for w in filter(producer()) do out[#out + 1] = w end end)
  print("pipeline", ok, e.stopped_at, table.concat(out, " "))
end

print("coroutines done")
