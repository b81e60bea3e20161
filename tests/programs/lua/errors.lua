-- Errors raised and caught: every error() is a longjmp, which the
-- exception-handling build turns into a Wasm throw of the __c_longjmp tag,
-- and every pcall is a setjmp, i.e. a try block.
-- Expected stdout: errors.expected. Messages are printed without the
-- "path:line:" prefix (the path depends on how the script is invoked); the
-- line number is printed separately where it matters.

local function where(msg)
  local line, rest = string.match(msg, "^[^:]*:(%d+): (.*)$")
  if line then return "line " .. line .. ": " .. rest end
  return "no position: " .. msg
end

-- 1. Many errors caught in a loop.
do
  local caught, sum = 0, 0
  for i = 1, 10000 do
    local ok, e = pcall(error, i, 0)
    if not ok then caught = caught + 1; sum = sum + e end
  end
  print("loop: caught " .. caught .. " errors, sum " .. sum)
end

-- 2. Error values of every type pass through unchanged.
do
  local values = { "text", 42, 3.5, true, false }
  for _, v in ipairs(values) do
    local ok, e = pcall(error, v)
    print("value", ok, math.type(e) or type(e), tostring(e) == tostring(v) and "same" or "changed")
  end
  local ok, e = pcall(error)
  print("value", ok, type(e))
  local t = {}
  ok, e = pcall(error, t)
  print("value", ok, type(e), rawequal(e, t) and "same table" or "other table")
end

-- 3. Error objects that are tables, with fields and a __tostring metamethod.
do
  local Err = {}
  Err.__index = Err
  Err.__tostring = function(self) return "Err(" .. self.code .. ", " .. self.msg .. ")" end
  local function fail(code, msg) error(setmetatable({ code = code, msg = msg }, Err)) end

  local ok, e = pcall(fail, 404, "not found")
  print("table error", ok, getmetatable(e) == Err, e.code, e.msg, tostring(e))

  -- Rethrowing the same object keeps its identity.
  local first
  ok, e = pcall(function()
    local ok2, inner = pcall(fail, 500, "inner")
    first = inner
    error(inner)
  end)
  print("rethrown table", ok, rawequal(e, first), tostring(e))

  -- A table error caught and wrapped, with a chain of causes.
  local function wrap(depth)
    if depth == 0 then fail(1, "root") end
    local ok2, cause = pcall(wrap, depth - 1)
    error({ code = depth + 1, msg = "wrapped", cause = cause })
  end
  ok, e = pcall(wrap, 5)
  local chain = {}
  while e do
    chain[#chain + 1] = e.code .. ":" .. e.msg
    e = e.cause
  end
  print("cause chain", table.concat(chain, " <- "))
end

-- 4. Positions and levels.
do
  local function lvl1() error("at level 1") end
  local function lvl2() error("at level 2", 2) end
  local ok, e = pcall(lvl1)
  print("level 1", where(e))
  ok, e = pcall(function()
    lvl2() -- this line is blamed
  end)
  print("level 2", where(e))
  ok, e = pcall(error, "no position", 0)
  print("level 0", where(e))
end

-- 5. Runtime errors raised by the VM and by library functions.
do
  local cases = {
    function() local x = nil; return x.field end,
    function() local x = nil; x() end,
    function() return 1 + {} end,
    function() return "abc" + 1 end,
    function() return #5 end,
    function() return {} < {} end,
    function() return 1 // 0 end,
    function() return 1 % 0 end,
    function() return math.tointeger(2^53) | 1.5 end,
    function() return ("x"):rep(-1):bad() end,
    function() return string.rep() end,
    function() return setmetatable(1, {}) end,
    function() return string.format("%d", 1.5) end,
    function() local t = setmetatable({}, { __index = function(t, k) error("no key " .. k) end }); return t.missing end,
    function() assert(false) end,
    function() assert(nil, "assertion with message") end,
    function() assert(false, { "assert", "table" }) end,
  }
  for i, f in ipairs(cases) do
    local ok, e = pcall(f)
    if type(e) == "table" then e = "table {" .. table.concat(e, ",") .. "}" end
    print("runtime " .. i, ok, where(e))
  end
end

-- 6. Nested pcall: each level catches, adds itself, and raises again.
do
  local function nest(n)
    if n == 0 then error("bottom", 0) end
    local ok, e = pcall(nest, n - 1)
    error(e .. "<" .. n, 0)
  end
  local ok, e = pcall(nest, 10)
  print("nested", ok, e)

  -- 150 nested pcalls (close to the C-call limit of 200), error at the bottom.
  local depth = 0
  local function deep(n)
    depth = math.max(depth, n)
    if n == 150 then error({ n = n }) end
    local ok, e = pcall(deep, n + 1)
    e.n = e.n + 1
    error(e)
  end
  ok, e = pcall(deep, 1)
  print("deep", ok, depth, e.n)

  -- Only the innermost handler runs for an error caught there.
  local log = {}
  ok = pcall(function()
    local ok1 = pcall(function()
      local ok2 = pcall(function() error("x") end)
      log[#log + 1] = "inner " .. tostring(ok2)
    end)
    log[#log + 1] = "middle " .. tostring(ok1)
  end)
  log[#log + 1] = "outer " .. tostring(ok)
  print("handlers", table.concat(log, ", "))
end

-- 7. xpcall with message handlers.
do
  local ok, e = xpcall(function() error({ code = 7 }) end, function(err) return "handled code " .. err.code end)
  print("xpcall", ok, e)
  ok, e = xpcall(function(a, b) return a + b end, print, 20, 22)
  print("xpcall no error", ok, e)
  ok, e = xpcall(function() local x = nil; return x.y end, function(m) return "handler saw: " .. where(m) end)
  print("xpcall", ok, e)
  -- traceback from the handler mentions the failing function.
  ok, e = xpcall(function() error("traced") end, debug.traceback)
  print("traceback", ok, e:find("stack traceback:", 1, true) ~= nil)
  -- An error inside the message handler.
  ok, e = xpcall(function() error("first") end, function(m) error("handler failed") end)
  print("handler error", ok, type(e))
end

-- 8. Lua stack overflow is an ordinary, catchable error.
do
  local function rec(n) return 1 + rec(n + 1) end
  local ok, e = pcall(rec, 1)
  print("stack overflow", ok, (string.find(e, "stack overflow", 1, true)) ~= nil)
  -- And the state is usable afterwards.
  local ok2, v = pcall(function() return 6 * 7 end)
  print("after overflow", ok2, v)
end

-- 9. To-be-closed variables run when an error unwinds their block.
do
  local log = {}
  local function closer(name)
    return setmetatable({}, { __close = function(_, err)
      log[#log + 1] = name .. "(" .. tostring(err and (type(err) == "string" and err or "obj") or "nil") .. ")"
    end })
  end
  local ok, e = pcall(function()
    local a <close> = closer("a")
    local b <close> = closer("b")
    error("unwind", 0)
  end)
  print("close", ok, e, table.concat(log, " "))
  log = {}
  ok, e = pcall(function()
    local a <close> = closer("a")
    do
      local b <close> = closer("b")
    end
    return "normal"
  end)
  print("close", ok, e, table.concat(log, " "))
end

-- 10. error() with a non-string inside string functions' callbacks.
do
  local ok, e = pcall(string.gsub, "a,b,c", "%a", function(c)
    if c == "b" then error({ letter = c }) end
    return c:upper()
  end)
  print("gsub callback", ok, e.letter)
  ok, e = pcall(table.sort, { 3, 1, 2 }, function(x, y) error("cmp " .. x .. y, 0) end)
  print("sort callback", ok, type(e), #e)
end

print("errors done")
