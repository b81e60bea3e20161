-- Plain Lua: string.format, string, math, table, utf8, closures.
-- Expected stdout: basics.expected.

print(_VERSION)

-- string.format
print(string.format("%d|%5d|%-5d|%05d|%+d", 42, 42, 42, 42, 42))
print(string.format("%x|%X|%#x|%o", 255, 255, 255, 8))
print(string.format("%.3f|%10.2f|%-10.1f|%e|%.2e", math.pi, -math.pi, 2.25, 12345.678, 0.000123))
print(string.format("%g|%g|%g|%g|%.14g", 1e20, 0.1, 100, 1/3, 2^53))
print(string.format("%a", 1.0))
print(string.format("%s|%10s|%-10s|%.2s", "lua", "right", "left", "truncate"))
print(string.format("%q", 'a "quoted"\n\0string\\'))
print(string.format("%q|%q|%q", 1/0, -1/0, math.mininteger))
print(string.format("%c%c%c|%%|%i", 76, 117, 97, -7))
print(string.format("%s %s %s", nil, true, 12.0))

-- numbers and conversion
print(10 / 2, 7 // 2, -7 // 2, 7 % 3, -7 % 3, 7.5 // 2, 2^10, 7 % -3)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(1e15, 1e16, 123456789012, 0.1 + 0.2, -0.0, 100 * 1.0)
print(math.type(1), math.type(1.0), math.type("1"), math.tointeger(3.0), math.tointeger(3.5))
print(tonumber("0x1p4"), tonumber("  12  "), tonumber("z", 36), tonumber("777", 8), tonumber("1e"), tonumber("10", 2))
print("10" + 5, "3" * "4", 10 .. 20, 2^0.5 == math.sqrt(2))
print(3 == 3.0, math.ult(1, -1), 5 // 0.0, -5 // 0.0, 0/0 ~= 0/0)
print(0xff, 0x7fffffffffffffff + 0 == math.maxinteger, 1 << 62, 1 << 64, -1 >> 1, 5 & 3, 5 | 3, 5 ~ 3, ~0)

-- math library
print(math.floor(3.7), math.ceil(3.2), math.floor(-3.5), math.ceil(-3.5), math.abs(-4), math.abs(math.mininteger))
print(math.max(3, 9, 1), math.min(3, 9, 1), math.max(1.5, 2), math.huge, -math.huge)
print(math.fmod(7, 3), math.fmod(-7, 3), math.fmod(7, -3), math.fmod(7.5, 2))
print(string.format("%.10f %.10f %.10f", math.sin(1), math.cos(1), math.tan(1)))
print(string.format("%.10f %.10f %.10f %.10f", math.exp(1), math.log(10), math.log(8, 2), math.log(100, 10)))
print(string.format("%.10f %.10f", math.atan(1, 2), math.sqrt(2)))
print(math.modf(3.75), math.modf(-3.75))
math.randomseed(42)
local r = {}
for i = 1, 5 do r[i] = math.random(1, 100) end
print("random", table.concat(r, " "))
math.randomseed(42)
print("random again", math.random(1, 100) == r[1])

-- strings
local s = "Hello, Lua World"
print(#s, s:upper(), s:lower(), s:len(), s:reverse())
print(s:sub(1, 5), s:sub(-5), s:sub(8, -7), s:sub(100), s:byte(1), s:byte(-1))
print(string.char(72, 105), ("ab"):rep(3, "-"), ("x"):rep(0))
print(s:find("Lua"), s:find("l+"), s:find(".", 1, true), s:find("xyz"))
print(s:match("(%a+), (%a+)"), s:match("%d"), ("key = value"):match("^(%w+)%s*=%s*(%w+)$"))
print(s:gsub("o", "0"), (s:gsub("%w+", string.upper)), ("abc"):gsub("", "-"))
print(("hello world from lua"):gsub("(%w+) (%w+)", "%2 %1"))
print(("$name is $age"):gsub("%$(%w+)", { name = "Ana", age = 31 }))
local words = {}
for w in ("one two  three   four"):gmatch("%S+") do words[#words + 1] = w end
print(#words, table.concat(words, "|"))
for k, v in ("a=1, b=2, c=3"):gmatch("(%w+)=(%w+)") do io.write(k, "->", v, " ") end
print()
print(("%bxy"):len(), ("f(a(b)c)d"):match("%b()"), ("THE (quick) fox"):find("%f[%a]%a+%f[%A]"))
print(tostring(12), tostring(1.5), tostring(nil), tostring(false), type(print), type(nil))
print(("  trim me  "):match("^%s*(.-)%s*$") .. "|")
print(string.pack and #string.pack("i4i8", 1, 2), string.unpack("<i2", "\1\2"))

-- tables
local t = { 5, 3, 8, 1, 9, 2 }
table.sort(t)
print(table.concat(t, ","))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, ","))
table.insert(t, 7)
table.insert(t, 1, 0)
print(table.concat(t, ","), #t)
print(table.remove(t), table.remove(t, 1), table.concat(t, ","))
print(table.unpack({ 1, 2, 3 }))
print(select("#", table.unpack({ 1, nil, 3 }, 1, 3)), select(2, "a", "b", "c"), select(-1, "a", "b", "c"))
local p = table.pack(1, nil, 3)
print(p.n, p[1], p[2], p[3])
print(table.concat(table.move({ 1, 2, 3 }, 1, 3, 2), ","), table.concat({}, ","), table.concat({ 1, 2, 3 }, ", ", 2, 3))
local names = { "pear", "Apple", "fig", "banana", "cherry" }
table.sort(names, function(a, b) return a:lower() < b:lower() end)
print(table.concat(names, " "))
local big = {}
for i = 1, 1000 do big[i] = (i * 7919) % 1009 end
table.sort(big)
local sorted = true
for i = 2, #big do if big[i - 1] > big[i] then sorted = false end end
print("sorted 1000", sorted, big[1], big[1000])
local keys = {}
for k in pairs({ x = 1, y = 2, z = 3 }) do keys[#keys + 1] = k end
table.sort(keys)
print(table.concat(keys))
print(#{ 1, 2, 3, nil }, #"", next({}))

-- metatables and closures
local V = {}
V.__index = V
V.__add = function(a, b) return setmetatable({ x = a.x + b.x, y = a.y + b.y }, V) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__tostring = function(v) return "(" .. v.x .. "," .. v.y .. ")" end
V.__len = function(v) return 2 end
V.__call = function(v, k) return v.x * k end
local a, b = setmetatable({ x = 1, y = 2 }, V), setmetatable({ x = 3, y = 4 }, V)
print(tostring(a + b), a + b == setmetatable({ x = 4, y = 6 }, V), #a, a(10))
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local c1, c2 = counter(), counter()
c1(); c1()
print(c1(), c2())
local fib = {}
local function memo(n)
  if n <= 2 then return 1 end
  if fib[n] then return fib[n] end
  local v = memo(n - 1) + memo(n - 2)
  fib[n] = v
  return v
end
print(memo(80))
local function varargs(...) return select("#", ...), ... end
print(varargs(1, nil, 3))

-- goto, integer for loops, while/repeat
local out = {}
for i = 10, 1, -3 do out[#out + 1] = i end
for i = 1.0, 2.0, 0.5 do out[#out + 1] = i end
local n = 0
repeat n = n + 1 until n >= 3
out[#out + 1] = n
do
  local i = 0
  ::top::
  i = i + 1
  if i < 5 then goto top end
  out[#out + 1] = i
end
print(table.concat(out, " "))

-- utf8
local u = "héllo wörld €"
print(#u, utf8.len(u), utf8.char(72, 233, 8364), utf8.codepoint(u, 2))
local cps = {}
for _, cp in utf8.codes("aé€") do cps[#cps + 1] = cp end
print(table.concat(cps, ","), utf8.offset(u, 3), utf8.len("\xff"))

-- os and io basics that need no files
print(type(os.time()), os.getenv("HOIST_SURELY_UNSET_VARIABLE"), os.date("!%Y-%m-%d %H:%M:%S", 86400 * 365))
io.write("io.write ", 1, " ", 2.5, "\n")
print(io.stdout:write("chained "):write("writes\n") == io.stdout)

print("basics done")
