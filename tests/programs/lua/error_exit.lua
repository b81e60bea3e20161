-- An error that nothing in the script catches. lua_main prints
-- "lua: <path>:<line>: fatal error from depth 3" and a stack traceback to
-- stderr and exits with status 1. Expected stdout: error_exit.expected.
local function fail(depth)
  if depth == 3 then error("fatal error from depth " .. depth) end
  fail(depth + 1)
end
print("before the error")
io.stdout:flush()
fail(1)
print("not reached")
