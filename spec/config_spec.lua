-- Configuration: arguments, then SEEKR_* variables, then defaults.
local config = require "seekrflow.config"
local seekrflow = require "seekrflow"

local function env(vars)
  return function(name) return vars[name] end
end

local function config_error(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.equal("config", err.kind)
  return err
end

describe("configuration", function()
  it("names both ways to set a missing key", function()
    local err = config_error(function() config.resolve({}, env {}) end)
    assert.matches("api_key", err.message)
    assert.matches("SEEKR_API_KEY", err.message)
  end)

  it("takes arguments over the environment over defaults", function()
    local cfg = config.resolve({}, env { SEEKR_API_KEY = "env-key" })
    assert.equal("env-key", cfg.api_key)
    assert.equal("https://flow.seekr.com/v1", cfg.base_url)
    cfg = config.resolve({ api_key = "arg-key", base_url = "http://127.0.0.1:9/v1" },
      env { SEEKR_API_KEY = "env-key", SEEKR_BASE_URL = "https://other.example/v1" })
    assert.equal("arg-key", cfg.api_key)
    assert.equal("http://127.0.0.1:9/v1", cfg.base_url)
    cfg = config.resolve({}, env { SEEKR_API_KEY = "k", SEEKR_BASE_URL = "https://x.example/v1",
      SEEKR_TEAM_ID = "team-1", SEEKR_TIMEOUT_SECS = "12.5", SEEKR_MAX_RETRIES = "4" })
    assert.equal("https://x.example/v1", cfg.base_url)
    assert.equal("team-1", cfg.team_id)
    assert.equal(12.5, cfg.timeout)
    assert.equal(4, cfg.max_retries)
  end)

  it("rejects bad environment values by name", function()
    local err = config_error(function()
      config.resolve({}, env { SEEKR_API_KEY = "k", SEEKR_MAX_RETRIES = "lots" })
    end)
    assert.matches("SEEKR_MAX_RETRIES", err.message)
  end)

  it("rejects unknown options instead of ignoring them", function()
    local err = config_error(function() config.resolve({ api_key = "k", timeuot = 3 }, env {}) end)
    assert.matches("timeuot", err.message)
  end)

  it("refuses a Bearer prefix and control characters in the key", function()
    config_error(function() config.resolve({ api_key = "Bearer abc" }, env {}) end)
    config_error(function() config.resolve({ api_key = "abc\n" }, env {}) end)
  end)

  it("refuses plain http to a remote host, userinfo and odd schemes, through core.check_base_url", function()
    for _, url in ipairs { "http://api.example/v1", "ftp://api.example/v1", "http://localhost:1@evil.example/v1",
      "http://[::1]@evil.example/v1", "https://user:pw@api.example/v1", "https://api.example/v1?x=1" } do
      local err = config_error(function() config.resolve({ api_key = "k", base_url = url }, env {}) end)
      assert.matches("base_url", err.message)
    end
    local err = config_error(function()
      config.resolve({ api_key = "k", base_url = "http://api.example/v1", allow_insecure_http = true }, env {})
    end)
    assert.matches("allow_insecure_http is no longer accepted", err.message)
    assert.equal("http://localhost:8787/v1",
      config.resolve({ api_key = "k", base_url = "http://localhost:8787/v1" }, env {}).base_url)
    assert.equal("http://127.0.0.1:9/v1",
      config.resolve({ api_key = "k" }, env { SEEKR_BASE_URL = "http://127.0.0.1:9/v1" }).base_url)
  end)

  it("passes interrupts = false on to the client, as the README documents", function()
    local client = seekrflow.new { api_key = "k", base_url = "http://127.0.0.1:9/v1", interrupts = false }
    assert.is_false(client:config().interrupts)
    client:close()
    local err = config_error(function() config.resolve({ api_key = "k", interrupts = "no" }, env {}) end)
    assert.matches("interrupts", err.message)
  end)

  it("returns nil, err from seekrflow.new in return mode", function()
    local client, err = seekrflow.new { errors = "return", api_key = "k", base_url = "nope" }
    assert.is_nil(client)
    assert.equal("config", err.kind)
  end)

  it("explains a colon call of seekrflow.new", function()
    local ok, err = pcall(function() return seekrflow:new { api_key = "k" } end)
    assert.is_false(ok)
    assert.matches("with a dot", tostring(err))
  end)
end)
