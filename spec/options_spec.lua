-- seekrflow.options: one wording for every option mistake, with a did-you-mean.
local options = require "seekrflow.options"
local seekrflow = require "seekrflow"

local function raised(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  return err
end

describe("seekrflow.options", function()
  local schema = { timeout = options.number_at_least(0, true), name = "string", on_event = options.callable }

  it("accepts nil, an empty table and good values", function()
    assert.is_nil(options.problem(nil, schema))
    assert.is_nil(options.problem({}, schema))
    assert.is_nil(options.problem({ timeout = 0, name = "x", on_event = print }, schema))
    assert.is_nil(options.problem({ on_event = setmetatable({}, { __call = print }) }, schema))
  end)

  it("names an unknown option, lists the known ones and suggests the closest", function()
    assert.equal('unknown option "timout" (known: name, on_event, timeout); did you mean "timeout"?',
      options.problem({ timout = 1 }, schema))
    assert.equal('unknown option "zzz" (known: name, on_event, timeout)', options.problem({ zzz = 1 }, schema))
    assert.equal('unknown option "1" (known: name, on_event, timeout)', options.problem({ 5 }, schema))
    assert.equal('unknown watch option "onevent" (known: name, on_event, timeout); did you mean "on_event"?',
      options.unknown("onevent", schema, "watch option"))
  end)

  it("suggests for swapped letters, case and a missing prefix, not for unrelated names", function()
    local names = { "max_retries", "timeout", "base_url", "api_key" }
    assert.equal("timeout", options.suggest("tiemout", names))
    assert.equal("api_key", options.suggest("API_KEY", names))
    assert.equal("max_retries", options.suggest("retries", names))
    assert.equal("base_url", options.suggest("baseurl", names))
    assert.is_nil(options.suggest("colour", names))
    assert.is_nil(options.suggest("x", names))
  end)

  it("says what a value must be and what it got", function()
    assert.equal("timeout must be a number >= 0, got -1", options.problem({ timeout = -1 }, schema))
    assert.equal('timeout must be a number >= 0, got "5"', options.problem({ timeout = "5" }, schema))
    assert.equal("name must be a string, got true", options.problem({ name = true }, schema))
    assert.equal("on_event must be a function, got a table", options.problem({ on_event = {} }, schema))
    assert.equal('options must be a table, got "fast"', options.problem("fast", schema))
    assert.equal("n must be a whole number from 0 to 10, got 11",
      options.problem({ n = 11 }, { n = options.integer(0, 10) }))
    assert.equal('e must be one of "raise", "return", got "x"',
      options.problem({ e = "x" }, { e = options.one_of("raise", "return") }))
  end)

  it("raises a structured error naming the function", function()
    local err = raised(function() options.check("watch", { timout = 1 }, schema) end)
    assert.equal("invalid_argument", err.kind)
    assert.equal('watch: unknown option "timout" (known: name, on_event, timeout); did you mean "timeout"?',
      err.message)
    assert.equal("config", raised(function() options.check("x", { a = 1 }, schema, "config") end).kind)
  end)

  it("is the one wording of seekrflow.new, watch, summary, remediate and the luv driver", function()
    local function message(fn) return raised(fn).message end
    assert.matches('^seekrflow.new: unknown option "timeuot" %(known: .*%); did you mean "timeout"%?$',
      message(function() seekrflow.new { api_key = "k", timeuot = 3 } end))
    local client = seekrflow.new { api_key = "k", base_url = "http://127.0.0.1:9/v1" }
    assert.matches('^watch: unknown option "timout" .*did you mean "timeout"%?$',
      message(function() require("seekrflow.watch").new(client, "dj-1", { timout = 5 }) end))
    assert.matches('^summary.render: unknown option "colour" %(known: color, width%)',
      message(function() require("seekrflow.summary").render({}, { colour = true }) end))
    assert.matches('^remediate.replace: unknown option "file_name" .*did you mean "filename"%?$',
      message(function()
        require("seekrflow.remediate").replace(client, "dj-1", "f-1", "x.pdf", { file_name = "a" })
      end))
    -- checked before luv is loaded
    assert.matches('^seekrflow.luv.new: unknown option "on_eror" .*did you mean "on_error"%?$',
      message(function() require("seekrflow.luv").new(client, { on_eror = print }) end))
    client:close()
  end)

  it("records where the library was called from, and tostring starts with it", function()
    local err = raised(function() seekrflow.new { api_key = "k", timout = 1 } end)
    assert.matches("options_spec%.lua:%d+$", err.where)
    assert.matches("^[^ ]*options_spec%.lua:%d+: seekrflow config error: seekrflow.new: unknown option", tostring(err))
    err = raised(function() require("seekrflow.summary").render({}, { colour = true }) end)
    assert.matches("options_spec%.lua:%d+$", err.where)
  end)

  it("never quotes the API key", function()
    local secret = "sk-very-secret-value"
    local ok, err = pcall(seekrflow.new, { api_key = secret, timeout = "x" })
    assert.is_false(ok)
    assert.is_nil(tostring(err):find(secret, 1, true))
  end)
end)
