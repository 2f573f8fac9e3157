-- JSON to tables: lua-cjson underneath, shaped by the C core.
local core = require "seekrflow.core"
local seekrflow = require "seekrflow"

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

  it("uses a private cjson instance that host settings cannot change", function()
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
end)
