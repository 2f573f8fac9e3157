-- TLS: verification is on by default and a private CA is trusted only when
-- named. A socat TLS front (with a throwaway certificate) forwards to the
-- simulator, so these run over real https on loopback.
local sim = require "helpers.sim"
local util = require "helpers.util"
local socket = require "socket"
local seekrflow = sim.seekrflow

local function have(cmd)
  local ok = os.execute("command -v " .. cmd .. " >/dev/null 2>&1")
  return ok == true or ok == 0
end

if not (have("socat") and have("openssl")) then
  describe("TLS", function() pending("socat and openssl are needed (apt-get install socat openssl)") end)
  return
end

describe("TLS", function()
  local dir, port, pid_file

  setup(function()
    dir = util.temp_dir()
    -- a self-signed certificate for 127.0.0.1, valid for a day
    assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      .. "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1")
      :format(dir, dir)))
    local probe = assert(socket.bind("127.0.0.1", 0))
    port = select(2, probe:getsockname())
    probe:close()
    local sim_port = sim.url:match(":(%d+)$")
    pid_file = dir .. "/socat.pid"
    assert(os.execute(("socat OPENSSL-LISTEN:%s,bind=127.0.0.1,reuseaddr,fork,cert=%s/cert.pem,key=%s/key.pem,"
      .. "verify=0 TCP:127.0.0.1:%s >/dev/null 2>&1 & echo $! > %s"):format(port, dir, dir, sim_port, pid_file)))
    sim.eventually(function()
      local c = socket.connect("127.0.0.1", port)
      if c then c:close() end
      return c ~= nil
    end, 10, "the TLS front to listen")
  end)

  teardown(function()
    local f = io.open(pid_file)
    if f then
      os.execute("kill " .. f:read("*l") .. " 2>/dev/null")
      f:close()
    end
    util.remove_dir(dir)
  end)

  local function https_client(opts)
    local o = { api_key = sim.api_key, base_url = ("https://127.0.0.1:%d/v1"):format(port), max_retries = 2,
      retry_initial_delay = 0.01 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return seekrflow.new(o)
  end

  it("refuses a certificate nobody trusts, without retrying", function()
    sim.reset()
    local client = https_client()
    local ok, err = pcall(client.data_jobs.list, client.data_jobs)
    client:close()
    assert.is_false(ok)
    assert.equal("connection", err.kind)
    assert.is_true(err.tls)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts, tostring(err))
    assert.matches("ca_file", err.message)
    assert.equal(0, sim.stats().requests) -- nothing reached the server
  end)

  it("trusts a private CA named by ca_file, and works end to end", function()
    sim.reset()
    local client = https_client { ca_file = dir .. "/cert.pem" }
    local job = client.data_jobs:create { name = "over https", job_type = "principle_files" }
    assert.equal(job.id, client.data_jobs:retrieve(job.id).id)
    client:close()
  end)

  it("works over https from an event loop too", function()
    local has_luv, uv = pcall(require, "luv")
    if not has_luv then return pending("luv is not installed") end
    sim.reset()
    local driver = require("seekrflow.luv").new({ api_key = sim.api_key, ca_file = dir .. "/cert.pem",
      base_url = ("https://127.0.0.1:%d/v1"):format(port) }, { uv = uv })
    local page, failure
    driver:send(driver.client.data_jobs:list(nil, { async = true }), function(value, err)
      page, failure = value, err
      driver:close()
    end)
    uv.run()
    assert.is_nil(failure)
    assert.equal("list", page.object)
  end)

  it("refuses a ca_file that does not exist before any request", function()
    local ok, err = pcall(https_client, { ca_file = dir .. "/missing.pem" })
    assert.is_false(ok)
    assert.equal("config", err.kind)
  end)
end)
