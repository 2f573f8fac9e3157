-- JSON to tables and back: the C core's one-pass decoder and its encoder.
local core = require "seekrflow.core"
local seekrflow = require "seekrflow"

-- U+FFFD REPLACEMENT CHARACTER (escapes that Lua 5.1 reads too).
local R = "\239\191\189"
local is_54 = _VERSION == "Lua 5.4" or _VERSION == "Lua 5.3"

describe("JSON decoding", function()
  it("turns null inside objects into absent keys", function()
    local t = core.json_decode('{"a":null,"b":1,"nested":{"c":null,"d":"x"}}')
    assert.is_nil(t.a)
    assert.is_nil(rawget(t, "a"))
    assert.is_nil(t.nested.c)
    assert.equal("x", t.nested.d)
    local keys = 0
    for _ in pairs(t.nested) do keys = keys + 1 end
    assert.equal(1, keys)
  end)

  it("keeps null inside arrays as the null sentinel, so lengths hold", function()
    local t = core.json_decode('[null, 2, null]')
    assert.equal(3, #t)
    assert.equal(seekrflow.null, t[1])
    assert.equal(2, t[2])
  end)

  it("makes integral numbers integers where Lua has them", function()
    local t = core.json_decode('{"queue_position":3,"ratio":0.25,"big":1e300,"neg":-7}')
    assert.equal("3", tostring(t.queue_position)) -- never "3.0"
    if is_54 then
      assert.equal("integer", math.type(t.queue_position))
      assert.equal("integer", math.type(t.neg))
      assert.equal("float", math.type(t.ratio))
      assert.equal("float", math.type(t.big))
    end
    assert.equal(0.25, t.ratio)
  end)

  it("keeps empty arrays as arrays and re-encodes them as []", function()
    local t = core.json_decode('{"files":[],"meta":{},"ids":[ \n ],"nested":[[],[1]]}')
    assert.is_true(seekrflow.is_array(t.files))
    assert.is_false(seekrflow.is_array(t.meta))
    assert.is_true(seekrflow.is_array(t.ids))
    assert.equal(0, #t.files)
    assert.equal(0, #t.nested[1])
    local again = core.json_decode(core.json_encode(t))
    assert.is_true(seekrflow.is_array(again.files))
    assert.equal("[]", core.json_encode(t.files))
    assert.equal("{}", core.json_encode(t.meta))
    assert.equal('[[],[1]]', core.json_encode(t.nested))
  end)

  it("does not treat brackets inside strings as arrays", function()
    local t = core.json_decode('{"s":"a [] b \\" [ ] c","files":[]}')
    assert.equal('a [] b " [ ] c', t.s)
    assert.is_true(seekrflow.is_array(t.files))
  end)

  it("never mistakes data for its empty-array marker", function()
    -- A real one-element array holding a NUL string must survive intact.
    local t = core.json_decode('{"weird":["\\u0000"],"files":[]}')
    assert.equal(1, #t.weird)
    assert.equal("\0", t.weird[1])
    assert.equal(0, #t.files)
  end)

  it("refuses nesting deeper than the documented limit with a decode error", function()
    local deep = string.rep("[", core.json_max_depth + 1) .. string.rep("]", core.json_max_depth + 1)
    local ok, err = pcall(core.json_decode, deep)
    assert.is_false(ok)
    assert.equal("decode", err.kind)
    local fine = string.rep("[", core.json_max_depth) .. string.rep("]", core.json_max_depth)
    assert.is_table(core.json_decode(fine))
  end)

  it("reports invalid JSON as a structured decode error", function()
    local ok, err = pcall(core.json_decode, "<html>")
    assert.is_false(ok)
    assert.equal("decode", err.kind)
    assert.matches("seekrflow decode error", tostring(err))
  end)

  it("keeps its results whatever a host sets on lua-cjson", function()
    local cjson = require "cjson"
    cjson.decode_max_depth(2)
    local ok, t = pcall(core.json_decode, '{"a":{"b":{"c":[1]}}}')
    cjson.decode_max_depth(1000)
    assert.is_true(ok)
    assert.equal(1, t.a.b.c[1])
  end)

  it("attaches helper metatables at known schema positions", function()
    local d = core.json_decode('{"id":"dj-1","ingestion_jobs":[{"id":"ij-1","records":[{"status":"failed"}]}],'
      .. '"files":[],"timeline":[],"alignment_job":{"id":"al-1","output_files":[]}}', "data_job")
    assert.equal("function", type(d.records))
    assert.equal("function", type(d.ingestion_jobs[1].each_record))
    assert.is_true(d.ingestion_jobs[1].records[1]:is_failed())
    assert.equal(getmetatable(d), core.kind_mts[1])
  end)
  it("marks every empty array, whatever the text holds (no in-band marker)", function()
    local t = core.json_decode('{"s":"\\u0000","raw":"a\0b","files":[],"deep":{"x":[[]]}}')
    assert.equal("\0", t.s)
    assert.equal("a\0b", t.raw)
    assert.is_true(seekrflow.is_array(t.files))
    assert.is_true(seekrflow.is_array(t.deep.x[1]))
    assert.equal('[]', core.json_encode(t.files))
  end)

  it("decodes lone surrogate escapes as U+FFFD and pairs as one character", function()
    assert.equal(R, core.json_decode('"\\ud800"'))
    assert.equal(R, core.json_decode('"\\udc00"'))
    assert.equal("a" .. R .. "b" .. R, core.json_decode('"a\\ud800b\\udbff"'))
    assert.equal(R .. "A", core.json_decode('"\\ud800\\u0041"'))
    assert.equal(R .. R, core.json_decode('"\\udc00\\ud800"'))
    assert.equal("\240\159\152\128", core.json_decode('"\\ud83d\\ude00"'))
    assert.equal("\195\169/\"\\\b\f\n\r\t", core.json_decode('"\\u00e9\\/\\"\\\\\\b\\f\\n\\r\\t"'))
  end)

  it("replaces bytes that are not UTF-8 with U+FFFD and keeps raw control characters", function()
    assert.equal("a" .. R .. "b", core.json_decode('"a\255b"'))
    -- One U+FFFD per maximal ill-formed sequence: a cut 3-byte sequence is one.
    assert.equal(R .. "x", core.json_decode('"\226\130x"'))
    -- Overlong forms and UTF-8-encoded surrogates are ill-formed byte by byte.
    assert.equal(R .. R, core.json_decode('"\192\175"'))
    assert.equal(R .. R .. R, core.json_decode('"\237\160\128"'))
    local utf8_text = "r\195\169sum\195\169 \230\151\165\240\159\152\128"
    assert.equal(utf8_text, core.json_decode('"' .. utf8_text .. '"'))
    assert.equal("tab\there\nnew\27[2J", core.json_decode('"tab\there\nnew\27[2J"'))
    local t = core.json_decode('{"k\255":1}')
    assert.equal(1, t["k" .. R])
  end)

  it("reads numbers as JSON defines them", function()
    local t = core.json_decode('[-0, 0.5, -1.5e-3, 1e400, -1e400, 12345678901234567890, 9007199254740993,'
      .. ' 9223372036854775807, -9223372036854775808, 1E2, 2.0, 1e-400]')
    assert.equal(0, t[1])
    assert.equal(0.5, t[2])
    assert.equal(-1.5e-3, t[3])
    assert.equal(math.huge, t[4])
    assert.equal(-math.huge, t[5])
    assert.equal(1.2345678901234567e19, t[6])
    assert.equal(100, t[10])
    assert.equal(2, t[11])
    assert.equal(0, t[12])
    if is_54 then
      assert.equal("integer", math.type(t[1]))
      assert.equal(9007199254740993, t[7])
      assert.equal(math.maxinteger, t[8])
      assert.equal(math.mininteger, t[9])
      assert.equal("float", math.type(t[6]))
      assert.equal("integer", math.type(t[10]))
    end
    for _, bad in ipairs { "01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1.5e+" } do
      assert.is_false(pcall(core.json_decode, bad), bad)
    end
  end)

  it("lets the last duplicate key win, a null one included", function()
    local t = core.json_decode('{"a":1,"a":2,"b":1,"b":null,"c":null,"c":3}')
    assert.equal(2, t.a)
    assert.is_nil(rawget(t, "b"))
    assert.equal(3, t.c)
  end)

  it("reports where the text is wrong, by byte offset", function()
    local cases = {
      ['{"a":1,}'] = "at byte 7",
      ['[1 2]'] = "at byte 3",
      ['{"a" 1}'] = "at byte 5",
      ['"abc'] = "at byte 0",
      ['[1] x'] = "at byte 4",
      [''] = "empty JSON text",
      ['"\\x"'] = "invalid escape in string at byte 1",
      ['"\\u12G4"'] = "invalid \\u escape at byte 1",
      ['tru'] = "at byte 0",
      ['{1:2}'] = "string key expected",
    }
    for text, where in pairs(cases) do
      local ok, err = pcall(core.json_decode, text)
      assert.is_false(ok, text)
      assert.equal("decode", err.kind)
      assert.is_truthy(tostring(err):find(where, 1, true), text .. " -> " .. tostring(err))
    end
  end)

  it("bounds the number of decoded values and says so", function()
    assert.is_true(core.json_max_values >= 1000000)
    local n = core.json_max_values
    local text = "[" .. string.rep("[],", n) .. "[]]"
    local ok, err = pcall(core.json_decode, text)
    assert.is_false(ok)
    assert.equal("decode", err.kind)
    assert.matches("more than " .. n .. " values", err.message)
    assert.matches("json_max_values", err.message)
    -- Just under the bound decodes, and every element is an array.
    local fine = core.json_decode("[" .. string.rep("[],", n - 2) .. "[]]")
    assert.equal(n - 1, #fine)
    assert.is_true(seekrflow.is_array(fine[n - 1]))
  end)

  it("decodes arrays longer than the Lua stack allows at once, nested ones too", function()
    local parts = {}
    for i = 1, 30000 do parts[i] = ("[%d,{\"i\":%d}]"):format(i, i) end
    local t = core.json_decode('{"x":[' .. table.concat(parts, ",") .. '],"y":[' .. table.concat(parts, ",") .. ']}')
    assert.equal(30000, #t.x)
    assert.equal(30000, #t.y)
    assert.equal(29999, t.x[29999][1])
    assert.equal(12345, t.y[12345][2].i)
    assert.is_true(seekrflow.is_array(t.y[30000]))
  end)

  it("attaches kind metatables to objects in arrays of any size and to empty objects", function()
    local d = core.json_decode('{"ingestion_jobs":[{"records":[{},{"status":"failed"}]}],"files":[{}]}', "data_job")
    assert.equal(core.kind_mts[4], getmetatable(d.ingestion_jobs[1].records[1]))
    assert.is_true(d.ingestion_jobs[1].records[2]:is_failed())
    assert.equal(core.array_mt, getmetatable(d.ingestion_jobs[1].records))
    local list = core.json_decode('{"object":"list","data":[{"id":"dj-1","files":[]}]}', "data_job_list")
    -- a list item is a DataJobResponse, not a detail: a kind of its own, with the same methods
    assert.equal(core.kind_mts[11], getmetatable(list.data[1]))
    assert.equal("seekrflow.data_job_response", getmetatable(list.data[1]).__name)
    assert.is_function(list.data[1].each_file)
  end)

  it("never crashes on truncated or hostile text", function()
    local text = core.json_encode(core.json_decode('{"a":[1,2.5,"x\\u00e9\\ud83d\\ude00",true,false,null,{"b":[]}]}'))
    for i = 0, #text - 1 do
      assert.is_false(pcall(core.json_decode, text:sub(1, i)), text:sub(1, i))
    end
    assert.is_false(pcall(core.json_decode, "\239\187\191{}")) -- a BOM is not JSON
  end)
end)

describe("JSON encoding", function()
  it("encodes nested tables and refuses cycles without crashing", function()
    assert.equal('{"a":[1,2]}', core.json_encode({ a = { 1, 2 } }))
    local cyc = setmetatable({}, core.array_mt)
    local outer = { x = cyc }
    cyc[1] = outer
    local ok, err = pcall(core.json_encode, outer)
    assert.is_false(ok)
    assert.equal("invalid_argument", err.kind)
  end)

  it("writes empty arrays as [] with no placeholder that data could collide with", function()
    local array_mt = core.array_mt
    local text = core.json_encode({ a = setmetatable({}, array_mt), s = "\0sf-empty-array" })
    local back = core.json_decode(text)
    assert.is_true(seekrflow.is_array(back.a))
    assert.equal("\0sf-empty-array", back.s)
    assert.is_truthy(text:find('"s":"\\u0000sf-empty-array"', 1, true))
    assert.is_truthy(text:find('"a":[]', 1, true))
    assert.equal('{"\\u0000sf-empty-array":[]}',
      core.json_encode({ ["\0sf-empty-array"] = setmetatable({}, array_mt) }))
    assert.equal('["\\u0000sf-empty-array"]', core.json_encode({ "\0sf-empty-array" }))
  end)

  it("writes strings, numbers and keys exactly", function()
    assert.equal('"a\\"b\\\\c\\n\\t\\u0001\\u007f/\195\169"', core.json_encode("a\"b\\c\n\t\1\127/\195\169"))
    assert.equal("0.1", core.json_encode(0.1))
    assert.equal("3", core.json_encode(3))
    assert.equal("-2.5e-07", core.json_encode(-2.5e-7))
    assert.equal(1 / 3, core.json_decode(core.json_encode(1 / 3)))
    assert.equal('{"1.5":true}', core.json_encode({ [1.5] = true }))
    local holes = setmetatable({}, core.array_mt)
    holes[1], holes[3] = 1, 3
    assert.equal('[1,null,3]', core.json_encode(holes))
    assert.equal('[null,false]', core.json_encode({ core.null, false }))
    assert.equal('{}', core.json_encode({}))
    if is_54 then assert.equal("9223372036854775807", core.json_encode(math.maxinteger)) end
  end)

  it("refuses what JSON cannot hold with an invalid_argument error", function()
    local refused = { { f = print }, 0 / 0, math.huge, { [true] = 1 }, { [1] = 1, [1000] = 2 },
      coroutine.create(function() end) }
    for _, v in ipairs(refused) do
      local ok, err = pcall(core.json_encode, v)
      assert.is_false(ok)
      assert.equal("invalid_argument", err.kind)
    end
  end)
end)
