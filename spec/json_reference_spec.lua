-- The decoder against a reference: Python's json module (tools/json_reference.py
-- applies seekrflow's documented rules on top) must read every text of a corpus
-- the same way: the bench fixtures, the fuzz seeds, hand-written edge cases and
-- generated documents with their byte-level mutations.
local core = require "seekrflow.core"

local root = os.getenv("SEEKRFLOW_ROOT") or "."
package.path = root .. "/bench/?.lua;" .. package.path
local fixtures = require "fixtures"

local has_integers = math.type ~= nil

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- The canonical line tools/json_reference.py prints for the same text.
local function canon(v)
  local t = type(v)
  if v == nil or v == core.null then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if has_integers and math.type(v) == "integer" then return ("i:%d"):format(v) end
    if v == math.floor(v) and v >= -2 ^ 63 and v < 2 ^ 63 then
      if v == 0 then return "i:0" end
      return ("i:%.0f"):format(v)
    end
    return ("f:%.17g"):format(v)
  end
  if t == "string" then return "s:" .. hex(v) end
  assert(t == "table", "unexpected decoded type " .. t)
  local parts = {}
  if core.is_array(v) then
    for i = 1, #v do parts[i] = canon(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do parts[i] = "s:" .. hex(k) .. ":" .. canon(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function ours(text)
  local ok, v = pcall(core.json_decode, text)
  if not ok then
    assert(type(v) == "table" and v.kind == "decode", "not a decode error: " .. tostring(v))
    return "error"
  end
  return canon(v)
end

-- A small deterministic generator, so every run checks the same documents.
local seed = 12345
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end

local atoms = { "0", "-0", "1", "-1", "123456789", "9007199254740993", "9223372036854775807",
  "-9223372036854775808", "9223372036854775808", "18446744073709551616", "1e400", "-1e400", "1e-400",
  "0.1", "-2.5e-7", "1E+2", "3.0", "1.7976931348623157e308", "4.9e-324", "123.456e-2",
  "true", "false", "null", '""', '"plain"', '"\\u00e9\\u65e5\\ud83d\\ude00"', '"\\ud800"', '"\\udc00x"',
  '"\\ud800\\ud800"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '"\\u0000"', '"tab\there"', '"\1\31\127"',
  '"r\195\169sum\195\169"', '"\255"', '"\226\130"', '"\237\160\128"', '"\192\175"', '"\244\144\128\128"',
  '"\240\159\152\128"', '"[\\"]"' }

local function gen(depth)
  local r = rand(depth > 6 and 3 or 6)
  if r <= 3 then return atoms[rand(#atoms)] end
  if r == 4 or r == 5 then
    local parts = {}
    for i = 1, rand(5) - 1 do parts[i] = gen(depth + 1) end
    return "[" .. table.concat(parts, rand(2) == 1 and "," or " ,\n ") .. "]"
  end
  local parts = {}
  for i = 1, rand(5) - 1 do
    local key = ({ '"a"', '"b"', '"a"', '"\\u0000k"', '"\\ud800"', '"k\255"', '"files"', '"records"' })[rand(8)]
    parts[i] = key .. (rand(2) == 1 and ":" or " : ") .. gen(depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function mutate(text)
  if text == "" then return "[" end
  local i = rand(#text)
  local pick = rand(5)
  if pick == 1 then return text:sub(1, i - 1) .. text:sub(i + 1) end
  if pick == 2 then return text:sub(1, i) end
  local bytes = { "[", "]", "{", "}", '"', "\\", ",", ":", "0", "e", "-", "\0", "\255", " " }
  return text:sub(1, i - 1) .. bytes[rand(#bytes)] .. text:sub(i + (pick == 3 and 1 or 0))
end

local function corpus()
  local cases = {
    fixtures.detail(5), fixtures.detail(40),
    string.rep("[", core.json_max_depth) .. string.rep("]", core.json_max_depth),
    string.rep("[", core.json_max_depth + 1) .. string.rep("]", core.json_max_depth + 1),
    string.rep('{"a":', core.json_max_depth) .. "1" .. string.rep("}", core.json_max_depth),
    string.rep('{"a":', core.json_max_depth + 1) .. "1" .. string.rep("}", core.json_max_depth + 1),
    '{"a":1,"a":2}', '{"a":1,"a":null}', '{"a":null,"a":[]}', '{"":0}', "[]", "{}", " [ ] ", "\t{ }\r\n",
    "", " ", "[", "]", "{", "[1,]", "[,1]", '{"a"}', '{"a":}', "01", "-", "--1", "1.", ".1", "1e", "1e+",
    "+1", "0x1", "NaN", "Infinity", "-Infinity", "nul", "tru", "[1 2]", '"\\x"', '"\\u12"', '"\\u12G4"',
    '"\\U0041"', "\239\187\191{}", "[1]x", "1 2", '"abc', '"\\', "\0", "[\0]", '"a\0b"', "[1e99999]",
    "-0.0", "0e0", "-0e-0", "[-]", "[01]", "[1.e5]", "[1.5E-0]", "1" .. string.rep("0", 400),
    "0." .. string.rep("0", 400) .. "1", "[" .. string.rep("1,", 1000) .. "1]",
  }
  for _, a in ipairs(atoms) do cases[#cases + 1] = a end
  for _ = 1, 300 do
    local doc = gen(0)
    cases[#cases + 1] = doc
    cases[#cases + 1] = mutate(doc)
    cases[#cases + 1] = mutate(mutate(doc))
  end
  -- The seeds of the fuzz harnesses that decode JSON, when present.
  for _, harness in ipairs { "json_decode", "detail" } do
    local dir = root .. "/fuzz/corpus/" .. harness
    local list = io.popen('env -u LD_PRELOAD ls "' .. dir .. '" 2>/dev/null')
    if list then
      for name in list:lines() do
        local f = io.open(dir .. "/" .. name, "rb")
        if f then
          cases[#cases + 1] = f:read("*a")
          f:close()
        end
      end
      list:close()
    end
  end
  return cases
end

describe("JSON decoding against Python's json", function()
  it("reads every text of the corpus the same way", function()
    local cases = corpus()
    local input = os.tmpname()
    local f = assert(io.open(input, "wb"))
    for _, text in ipairs(cases) do f:write(#text, "\n", text) end
    f:close()
    -- Not under the sanitizer or valgrind the spec itself may run under.
    local cmd = ('env -u LD_PRELOAD python3 "%s/tools/json_reference.py" %d %d %s < "%s"'):format(root,
      core.json_max_depth, core.json_max_values, has_integers and "" or "nointegers", input)
    local pipe = assert(io.popen(cmd))
    local expected = {}
    for line in pipe:lines() do expected[#expected + 1] = line end
    pipe:close()
    os.remove(input)
    assert.equal(#cases, #expected, "python3 (tools/json_reference.py) must answer every case")
    local differences = {}
    for i, text in ipairs(cases) do
      local got = ours(text)
      if got ~= expected[i] then
        differences[#differences + 1] = ("case %d %q:\n  seekrflow %s\n  python    %s"):format(i, text:sub(1, 200),
          got:sub(1, 300), expected[i]:sub(1, 300))
      end
    end
    assert.equal("", table.concat(differences, "\n"))
  end)
end)
