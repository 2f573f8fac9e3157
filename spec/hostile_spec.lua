-- The transport against a hostile server, hostile arguments and an impatient
-- user: each block holds one promise of SECURITY.md (issue 7's items).
local hostile = require "helpers.hostile"
local util = require "helpers.util"
local core = require "seekrflow.core"

local KEY = "sk-hostile-0123456789"

--- Raises the error of a call made in errors = "return" mode.
local function must(value, err)
  if value == nil then error(err, 0) end
  return value
end

local function client_for(server, extra)
  local cfg = { api_key = KEY, base_url = server.url .. "/v1", errors = "return", max_retries = 0 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return core.new_client(cfg)
end

--- Fails when KEY appears anywhere in value (strings, keys, nested tables).
local function assert_no_key(value, where)
  where = where or "value"
  if type(value) == "string" then
    assert(not value:find(KEY, 1, true), where .. " contains the key: " .. value)
    assert(not value:find(KEY:sub(1, 8), 1, true), where .. " contains a prefix of the key: " .. value)
  elseif type(value) == "table" then
    for k, v in pairs(value) do
      assert_no_key(k, where .. " key")
      assert_no_key(v, where .. "." .. tostring(k))
    end
  end
end

describe("base URLs (core.check_base_url, the one rule)", function()
  local refused = {
    "http://localhost:1@evil.example/v1",        -- userinfo: the host is evil.example
    "http://[::1]@evil.example/v1",
    "http://127.0.0.1@evil.example/v1",
    "https://user:pass@api.example/v1",          -- credentials never in a URL
    "http://127.0.0.1%2f@evil.example/",
    "http://127.0.0.1\\@evil.example/",
    "http://127.0.0.1;x@evil.example/",
    "http://localhost.evil.example/v1",          -- not literally loopback
    "http://localhost./v1",
    "http://evil%2elocalhost/v1",
    "http://127.0.0.1.nip.io/v1",
    "http://0.0.0.0/v1",
    "http://0/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://[::1%25eth0]/v1",
    "http://10.0.0.1/v1",
    "http://example.com/v1",
    "ftp://127.0.0.1/v1",
    "file:///etc/passwd",
    "127.0.0.1/v1",
    "http://127.0.0.1/v1?x=1",
    "http://127.0.0.1/v1#frag",
    "http://127.0.0.1/v1/../admin",
    "http://127.0.0.1/v1/%2e%2e/admin",
    "http://127.0.0.1//v1",
    "http://127.0.0.1/v1\n",
    "http://127.0.0.1/v1\0.evil",
    "http://a b/",
    "",
  }
  for _, url in ipairs(refused) do
    it(("refuses %q"):format(url), function()
      local ok, err = core.check_base_url(url)
      assert.is_nil(ok)
      assert.equal("invalid_argument", err.kind)
      assert.equal("base_url", err.option)
      assert.matches("^base_url ", err.message)
      local ok2, err2 = pcall(core.new_client, { api_key = KEY, base_url = url })
      assert.is_false(ok2)
      assert.equal("invalid_argument", err2.kind)
    end)
  end

  -- literal loopback over http and any host over https: { given, as libcurl normalises it }
  local accepted = {
    { "http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1" },
    { "http://localhost/v1", "http://localhost/v1" },
    { "http://[::1]:9/v1", "http://[::1]:9/v1" },
    { "http://[0:0:0:0:0:0:0:1]/v1", "http://[::1]/v1" },
    { "http://2130706433/v1", "http://127.0.0.1/v1" }, -- what libcurl connects to
    { "http://0x7f.1/v1", "http://127.0.0.1/v1" },
    { "http://127.1.2.3/v1", "http://127.1.2.3/v1" },
    { "https://api.example.com/v1", "https://api.example.com/v1" },
    { "HTTPS://API.example.com", "https://API.example.com" },
  }
  for _, case in ipairs(accepted) do
    it(("accepts %q as %q"):format(case[1], case[2]), function()
      assert.equal(case[2], (core.check_base_url(case[1])))
    end)
  end

  it("never sends the key to the host a userinfo trick names", function()
    local evil = hostile.start { { body = "{}" } }
    local url = "http://127.0.0.1@" .. evil.url:match("//(.*)$") .. "/v1"
    local ok = pcall(core.new_client, { api_key = KEY, base_url = url })
    assert.is_false(ok)
    assert.equal(0, #evil:requests())
    evil:stop()
  end)
end)

describe("redaction (core.redact, the one rule)", function()
  it("is byte-safe and replaces every copy", function()
    assert.equal("a [redacted] b [redacted]", core.redact("a " .. KEY .. " b " .. KEY, KEY))
    assert.equal("\0[redacted]\0", core.redact("\0" .. KEY .. "\0", KEY))
    assert.equal("unchanged", core.redact("unchanged", KEY))
    assert.equal("no secret", core.redact("no secret", nil))
    assert.equal("empty", core.redact("empty", ""))
    assert.has_error(function() core.redact(nil, KEY) end)
    assert.has_error(function() core.redact({}, KEY) end)
  end)

  it("covers request ids, whole decoded error bodies and debug lines", function()
    local server = hostile.start { {
      status = 422,
      headers = { ["cf-ray"] = "ray-" .. KEY, ["x-request-id"] = "rid-" .. KEY },
      body = ('{"detail":[{"loc":["body","name"],"msg":"bad %s","input":{"nested":["%s"]}}],"%s":"k",'
        .. '"note":"\\u0000%s"}'):format(KEY, KEY, KEY, KEY),
    } }
    local lines = {}
    local client = client_for(server, { debug = function(l) lines[#lines + 1] = l end })
    local _, err = client:request("GET", "flow/data-jobs/x")
    assert.equal(422, err.status)
    assert.matches("ray%-%[redacted%]", err.request_id)
    assert.matches("%[redacted%]", err.body.detail[1].msg)
    assert.equal("[redacted]", err.body.detail[1].input.nested[1])
    assert.equal("\0[redacted]", err.body.note)
    assert.equal("k", err.body["[redacted]"])
    assert_no_key(err, "err")
    assert_no_key(tostring(err), "tostring(err)")
    assert.is_true(#lines >= 1)
    assert_no_key(lines, "debug lines")
    client:close()
    server:stop()
  end)

  it("redacts before cutting: no prefix of the key survives a cut", function()
    -- the key straddles the 512-byte cut of a non-JSON body, and the 120-byte
    -- cut of an undecodable success
    local server = hostile.start {
      { status = 500, body = ("x"):rep(505) .. KEY .. " tail" },
      { status = 200, body = ("y"):rep(115) .. KEY },
    }
    local client = client_for(server)
    local _, err = client:request("GET", "flow/a")
    assert.is_true(#err.body <= 512)
    assert_no_key(err, "err")
    local _, err2 = client:request("GET", "flow/b")
    assert.equal("decode", err2.kind)
    assert_no_key(err2, "err2")
    assert_no_key(tostring(err2), "tostring(err2)")
    client:close()
    server:stop()
  end)

  it("still redacts an error read after its client was closed", function()
    local server = hostile.start { { status = 400, body = '{"detail":"no such key ' .. KEY .. '"}' } }
    local client = client_for(server)
    local req = client:start_request("GET", "flow/data-jobs/x")
    while not req:step() do client:wait(10) end
    client:close()
    collectgarbage()
    local _, err = req:result()
    assert.equal(400, err.status)
    assert.matches("%[redacted%]", err.detail)
    assert_no_key(err, "err")
    req:close()
    server:stop()
  end)

  it("redacts a successful result that echoes the key, escaped or not", function()
    local escaped = KEY:gsub(".", function(c) return ("\\u%04x"):format(c:byte()) end)
    local server = hostile.start { { body = ('{"id":"j","name":"%s","tags":["\\u0000%s"]}'):format(escaped, KEY) } }
    local client = client_for(server)
    local value = client:request("GET", "flow/data-jobs/j")
    assert.equal("[redacted]", value.name)
    assert.equal("\0[redacted]", value.tags[1])
    client:close()
    server:stop()
  end)
end)

describe("requests go where the caller meant", function()
  local server, client
  before_each(function()
    server = hostile.start { { status = 404, body = '{"detail":"nope"}' } }
    client = client_for(server)
  end)
  after_each(function()
    client:close()
    server:stop()
  end)

  it("refuses '.' and '..' path segments in every spelling, and sends nothing", function()
    for _, path in ipairs { "flow/data-jobs/.", "flow/data-jobs/..", "flow/./x", "flow/%2e", "flow/%2E%2e/x",
      "flow/.%2e" } do
      util.arg_error(function() must(client:request("GET", path)) end)
    end
    util.arg_error(function() must(client.data_jobs:retrieve(".")) end)
    util.arg_error(function() must(client.data_jobs:delete("..")) end)
    assert.equal(0, #server:requests())
  end)

  it("sends the path as built, and the error URL is what was requested", function()
    local _, err = client:request("GET", "flow/data-jobs/a..b/x.")
    assert.equal("/v1/flow/data-jobs/a..b/x.", server:requests()[1].target)
    assert.equal(server.url .. "/v1/flow/data-jobs/a..b/x.", err.url)
  end)

  it("refuses NUL and oversize values instead of cutting them", function()
    util.arg_error(function() client:request("GET", "flow/a\0b") end)
    util.arg_error(function() client:request("GET", "flow/" .. ("a"):rep(3000)) end)
    util.arg_error(function() client:request("GET", "flow/a", { query = { q = "a\0b" } }) end)
    util.arg_error(function() client:request("GET", "flow/a", { query = { q = ("a"):rep(9000) } }) end)
    util.arg_error(function() client:request("GET", "flow/a", { query = { ["a\0b"] = "x" } }) end)
    util.arg_error(function() core.new_client { api_key = KEY, base_url = server.url, team_id = "t\0x" } end)
    util.arg_error(function() core.new_client { api_key = KEY .. "\0", base_url = server.url } end)
    util.arg_error(function() core.new_client { api_key = KEY, base_url = server.url, team_id = ("t"):rep(5000) } end)
    assert.equal(0, #server:requests())
  end)

  it("sends a 2,000-character team id whole", function()
    local team = ("t"):rep(2000)
    local long = client_for(server, { team_id = team })
    long:request("GET", "flow/a")
    long:close()
    assert.equal(team, server:requests()[1].headers["x-team-id"])
  end)

  it("refuses upload paths and file names with a NUL before opening anything", function()
    local dir = util.temp_dir()
    local path = util.write_file(dir, "good.pdf", "%PDF-1.7")
    util.arg_error(function() must(client.files:upload(path .. "\0.exe")) end)
    util.arg_error(function() must(client.files:upload(path, { filename = "good.pdf\0evil.exe" })) end)
    util.remove_dir(dir)
    assert.equal(0, #server:requests())
  end)
end)

describe("answers say what they are", function()
  it("a 3xx names its Location, redacted, and hints at https", function()
    local location = "https://elsewhere.example/v1?key=" .. KEY
    local server = hostile.start { { status = 301, headers = { Location = location } } }
    local client = client_for(server)
    local _, err = client:request("GET", "flow/data-jobs")
    assert.equal(301, err.status)
    assert.equal("redirect", err.class)
    assert.equal("https://elsewhere.example/v1?key=[redacted]", err.location)
    assert.matches("redirects to https://elsewhere%.example/v1%?key=%[redacted%]", err.message)
    assert.matches("https://", err.message)
    assert.equal(1, #server:requests()) -- never followed
    client:close()
    server:stop()
  end)

  it("a 404 under a base URL without /v1 hints at the API version", function()
    local server = hostile.start { { status = 404, body = '{"detail":"Not Found"}' } }
    local bare = core.new_client { api_key = KEY, base_url = server.url, errors = "return" }
    local _, err = bare:request("GET", "flow/data-jobs")
    assert.matches("/v1", err.message)
    local versioned = client_for(server)
    local _, err2 = versioned:request("GET", "flow/data-jobs")
    assert.is_nil(err2.message:find("API version", 1, true))
    bare:close()
    versioned:close()
    server:stop()
  end)

  it("https:// to a plain-http server hints at http:// instead of a raw TLS message", function()
    local server = hostile.start { { status = 400, body = "plain" } }
    local client = core.new_client { api_key = KEY, base_url = server.url:gsub("^http:", "https:"), errors = "return",
      max_retries = 0 }
    local _, err = client:request("GET", "flow/data-jobs")
    assert.equal("connection", err.kind)
    assert.matches("does not seem to speak https", err.message)
    assert.matches("http://", err.message)
    client:close()
    server:stop()
  end)

  it("a response header over 100 KB is a precise error, not 'Out of memory'", function()
    local server = hostile.start { { raw_headers = "X-Huge: " .. ("h"):rep(150 * 1024) .. "\r\n", body = "{}" } }
    local client = client_for(server)
    local _, err = client:request("GET", "flow/data-jobs")
    assert.matches("header line larger than", err.message)
    assert.is_nil(err.message:find("Out of memory", 1, true))
    client:close()
    server:stop()
  end)

  it("a gzip bomb is refused at the 64 MiB body cap, counted after decompression", function()
    local dir = util.temp_dir()
    -- 80 MiB of zeros, about 80 KB compressed
    assert(os.execute(("head -c 83886080 /dev/zero | gzip -9 > '%s/bomb.gz'"):format(dir)))
    local server = hostile.start { { headers = { ["Content-Encoding"] = "gzip", ["Content-Type"] = "application/json" },
      body_file = dir .. "/bomb.gz" } }
    local client = client_for(server)
    local _, err = client:request("GET", "flow/data-jobs")
    assert.equal("decode", err.kind)
    assert.matches("larger than 67108864 bytes", err.message)
    client:close()
    server:stop()
    util.remove_dir(dir)
  end)

  it("errors record where the library was called from", function()
    local server = hostile.start { { status = 404, body = "{}" } }
    local client = client_for(server)
    local _, err = client:request("GET", "flow/data-jobs") local line = debug.getinfo(1, "l").currentline
    assert.equal("spec/hostile_spec.lua:" .. line, err.where)
    assert.matches("^spec/hostile_spec%.lua:%d+: seekrflow status error", tostring(err))
    local aerr = util.arg_error(function() client:request("BREW", "flow") end)
    assert.matches("^spec/hostile_spec%.lua:%d+$", aerr.where)
    client:close()
    server:stop()
  end)
end)

describe("every C entry point checks what it reads", function()
  it("core.new_client refuses wrong types instead of crashing", function()
    local base = { api_key = KEY, base_url = "http://127.0.0.1:9/v1" }
    local bad = {
      { errors = true }, { errors = 1 }, { errors = "maybe" }, { api_key = {} }, { api_key = 12 },
      { base_url = 1 }, { base_url = false }, { team_id = true }, { ca_file = {} }, { timeout = "10" },
      { max_retries = {} }, { debug = 1 }, { interrupts = "yes" }, { ca_path = 0 },
    }
    for _, change in ipairs(bad) do
      local cfg = {}
      for k, v in pairs(base) do cfg[k] = v end
      for k, v in pairs(change) do cfg[k] = v end
      util.arg_error(function() core.new_client(cfg) end)
    end
    util.arg_error(function() core.new_client() end)
    util.arg_error(function() core.new_client("http://x") end)
  end)

  it("client and request methods refuse wrong types and dot calls", function()
    local client = core.new_client { api_key = KEY, base_url = "http://127.0.0.1:9/v1" }
    util.arg_error(function() client:request(1, 2) end)
    util.arg_error(function() client:request("GET", {}) end)
    util.arg_error(function() client:request("GET", "flow", "opts") end)
    util.arg_error(function() client:request("GET", "flow", { kind = 5 }) end)
    util.arg_error(function() client:request("GET", "flow", { query = "a=b" }) end)
    util.arg_error(function() client:wait("soon") end)
    util.arg_error(function() client:on_close(42) end)
    util.arg_error(function() client.request("GET", "flow") end)
    util.arg_error(function() client.close() end)
    client:socket_mode()
    util.arg_error(function() client:socket_action("7") end)
    util.arg_error(function() client:socket_action(3, "readable") end)
    util.arg_error(function() client:socket_action(-1) end)
    local req = client:start_request("GET", "flow")
    util.arg_error(function() req.step() end)
    util.arg_error(function() req.result({}) end)
    req:close()
    client:close()
  end)
end)

describe("Ctrl-C during a blocking request", function()
  local lua = os.getenv("SEEKRFLOW_LUA") or "lua5.4"

  it("ends the call at once, then the interpreter says 'interrupted!'", function()
    local server = hostile.start { { never = true } }
    local dir = util.temp_dir()
    local script = util.write_file(dir, "wait.lua", ([[
      local core = require "seekrflow.core"
      local client = core.new_client { api_key = "k", base_url = %q, timeout = 120 }
      io.stderr:write("ready\n")
      local ok, err = pcall(client.request, client, "GET", "flow/data-jobs")
      io.stderr:write("returned\n")
      for _ = 1, 1e9 do end
    ]]):format(server.url .. "/v1"))
    -- the wrapper measures how long the interrupted process takes to end
    local cmd = ([[%s %s 2>%s/err & pid=$!
      i=0; while ! grep -q ready %s/err 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
      sleep 0.5; kill -INT $pid; t0=$(date +%%s%%N); wait $pid; echo $? >%s/status
      echo $(( ($(date +%%s%%N) - t0) / 1000000 )) >%s/ms]]):format(lua, script, dir, dir, dir, dir)
    os.execute(cmd)
    local function read(name)
      local f = assert(io.open(dir .. "/" .. name))
      local s = f:read("*a")
      f:close()
      return s
    end
    local err = read("err")
    assert.matches("interrupted!", err)
    assert.is_nil(err:find("returned", 1, true)) -- lua's own handling stopped the script
    assert.not_equal("0", read("status"):match("%d+"))
    -- ended by the signal, not by the 120 s timeout
    assert.is_true(tonumber(read("ms")) < 5000, "took " .. read("ms") .. " ms")
    util.remove_dir(dir)
    server:stop()
  end)
end)
