-- The transport: connection reuse, headers, secrets, step-wise driving, lifetimes.
local sim = require "helpers.sim"
local socket = require "socket"

describe("transport", function()
  before_each(function() sim.reset() end)

  it("reuses one connection for many requests", function()
    local setup = sim.client()
    local id = setup.data_jobs:create { name = "reuse", job_type = "principle_files" }.id
    setup:close()
    local client = sim.client()
    local before = sim.stats().connections
    for _ = 1, 10 do client.data_jobs:retrieve(id) end
    for _ = 1, 5 do client.data_jobs:list { limit = 5 } end
    assert.equal(1, sim.stats().connections - before)
    client:close()
  end)

  it("sends the raw key, JSON accept, a descriptive User-Agent and the team", function()
    local client = sim.client { team_id = "team-sim" }
    client.data_jobs:list()
    local log = sim.requests_for("GET /v1/flow/data-jobs")
    local headers = log[#log].headers
    assert.equal("sim-key", headers["authorization"]) -- no Bearer prefix
    assert.equal("application/json", headers["accept"])
    assert.equal("team-sim", headers["x-team-id"])
    local ua = headers["user-agent"]
    assert.matches("^seekrflow%-lua/%d+%.%d+%.%d+ %(", ua)
    assert.matches("Lua", ua)
    assert.matches("libcurl/", ua)
    client:close()
  end)

  it("escapes ids and query values on the wire", function()
    local lines = {}
    local client = sim.client { debug = function(line) lines[#lines + 1] = line end }
    local ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-ä+b")
    assert.is_false(ok)
    -- libcurl's URL API normalises the hex digits to lower case (RFC 3986: equivalent)
    assert.matches("/v1/flow/data%-jobs/dj%-%%c3%%a4%%2bb ", lines[1]:lower())
    assert.matches("dj%-ä%+b", err.detail) -- the server decoded it back intact
    client.data_jobs:list { sort_by = "name", job_type = "principle_files" }
    assert.matches("/v1/flow/data%-jobs%?job_type=principle_files&sort_by=name ", lines[#lines])
    client:close()
  end)

  it("never puts the API key in errors or debug lines", function()
    local secret = "sim-key"
    local lines = {}
    local client = sim.client { debug = function(line) lines[#lines + 1] = line end }
    local id = client.data_jobs:create { name = "s", job_type = "principle_files" }.id
    -- a server that echoes the key back in its error
    sim.fault { route = "GET /v1/flow/data-jobs/{id}", kind = "status", status = 400,
      body = '{"detail":"bad request for key sim-key"}', times = 1 }
    local ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, id)
    assert.is_false(ok)
    assert.is_nil(tostring(err):find(secret, 1, true))
    assert.is_nil(err.detail:find(secret, 1, true))
    assert.matches("%[redacted%]", err.detail)
    sim.fault { route = "GET /v1/flow/data-jobs/{id}", kind = "status", status = 503, times = 1 }
    client.data_jobs:retrieve(id)
    assert.is_true(#lines >= 3)
    local joined = table.concat(lines, "\n")
    assert.matches("retrying", joined)
    assert.is_nil(joined:find(secret, 1, true))
    assert.is_nil(joined:lower():find("authorization", 1, true))
    local cfg = client:config()
    for _, v in pairs(cfg) do assert.is_nil(tostring(v):find(secret, 1, true)) end
    assert.is_true(cfg.api_key_set)
    client:close()
  end)

  it("a broken debug logger does not break requests", function()
    local client = sim.client { debug = function() error("logger exploded") end }
    assert.equal("list", client.data_jobs:list().object)
    client:close()
  end)

  describe("step-wise requests", function()
    it("advance without blocking and deliver the same result", function()
      local client = sim.client()
      local id = client.data_jobs:create { name = "step", job_type = "principle_files" }.id
      sim.fault { route = "GET /v1/flow/data-jobs/{id}", kind = "latency", delay_ms = 1500, times = 1 }
      local req = client:start_request("GET", "flow/data-jobs/" .. id, { kind = "data_job" })
      local steps, longest = 0, 0
      while true do
        local t0 = socket.gettime()
        local done, wait_ms = req:step()
        longest = math.max(longest, socket.gettime() - t0)
        steps = steps + 1
        if done then break end
        assert.is_number(wait_ms)
        client:wait(math.min(wait_ms, 20))
      end
      assert.is_true(steps > 3) -- it came back to us while the server was slow
      assert.is_true(longest < 0.75) -- no step blocked for the server's 1.5 s delay
      local detail = req:result()
      assert.equal(id, detail.id)
      assert.equal("function", type(detail.records))
      assert.equal("done", (req:state()))
      req:close()
      req:close()
      client:close()
    end)

    it("run side by side on one client", function()
      local client = sim.client()
      local a = client:start_request("GET", "flow/data-jobs", { query = { limit = 1 }, kind = "data_job_list" })
      local b = client:start_request("GET", "flow/data-jobs", { query = { limit = 2 }, kind = "data_job_list" })
      local done_a, done_b = false, false
      local deadline = socket.gettime() + 5
      while not (done_a and done_b) and socket.gettime() < deadline do
        done_a = done_a or a:step()
        done_b = done_b or b:step()
        client:wait(5)
      end
      assert.equal("list", a:result().object)
      assert.equal("list", b:result().object)
      client:close()
    end)

    it("retries inside the request object; the host only waits", function()
      local client = sim.client()
      sim.fault { route = "GET /v1/flow/data-jobs", kind = "status", status = 503, retry_after_ms = 150, times = 1 }
      local req = client:start_request("GET", "flow/data-jobs")
      local saw_wait = false
      while true do
        local done, wait_ms = req:step()
        if done then break end
        if (req:state()) == "waiting" then saw_wait = wait_ms > 0 or saw_wait end
        client:wait(wait_ms)
      end
      assert.is_true(saw_wait)
      local _, attempts = req:state()
      assert.equal(2, attempts)
      assert.equal("list", req:result().object)
      client:close()
    end)

    it("can be cancelled, and say so", function()
      local client = sim.client { errors = "return" }
      sim.fault { route = "GET /v1/flow/data-jobs", kind = "latency", delay_ms = 2000, times = 1 }
      local req = client:start_request("GET", "flow/data-jobs")
      req:step()
      req:cancel()
      assert.is_true(req:step())
      local value, err = req:result()
      assert.is_nil(value)
      assert.equal("cancelled", err.kind)
      client:close()
    end)

    it("refuses a result before it is done", function()
      local client = sim.client()
      local req = client:start_request("GET", "flow/data-jobs")
      local ok, err = pcall(req.result, req)
      assert.is_false(ok)
      assert.matches("still in progress", err.message)
      req:close()
      client:close()
    end)
  end)

  describe("lifetimes", function()
    it("close() is safe twice and the client refuses work afterwards", function()
      local client = sim.client()
      client:close()
      client:close()
      assert.is_true(client:is_closed())
      local ok, err = pcall(client.data_jobs.list, client.data_jobs)
      assert.is_false(ok)
      assert.matches("closed", err.message)
    end)

    it("closing the client cancels what is in flight", function()
      local client = sim.client()
      sim.fault { route = "GET /v1/flow/data-jobs", kind = "latency", delay_ms = 2000, times = 1 }
      local req = client:start_request("GET", "flow/data-jobs")
      req:step()
      client:close()
      assert.is_true(req:step())
      local ok, err = pcall(req.result, req)
      assert.is_false(ok)
      assert.equal("cancelled", err.kind)
      req:close()
    end)

    it("garbage collection frees clients and requests in any order", function()
      for _ = 1, 20 do
        local client = sim.client()
        local req = client:start_request("GET", "flow/data-jobs")
        req:step()
        client = nil -- luacheck: ignore
        req = nil -- luacheck: ignore
        collectgarbage()
      end
      collectgarbage()
      collectgarbage()
      assert.is_true(true)
    end)

    if _VERSION ~= "Lua 5.4" then
      it("has no __close before Lua 5.4, where nothing would call it", function()
        local client = sim.client()
        assert.is_nil(getmetatable(client).__close)
        assert.is_function(getmetatable(client).__gc)
        client:close()
      end)
    end

    if _VERSION == "Lua 5.4" then
      it("closes a <close> client at the end of its scope", function()
        local chunk = assert(load([[
          local sim = ...
          local kept
          do
            local client <close> = sim.client()
            kept = client
            client.data_jobs:list()
          end
          return kept:is_closed()
        ]]))
        assert.is_true(chunk(sim))
      end)

      it("leaving a <close> scope takes the close() path, on_close hook included, once", function()
        local chunk = assert(load([[
          local sim = ...
          local calls = 0
          do
            local client <close> = sim.client()
            client:on_close(function(c) calls = calls + 1; assert(c:is_closed()) end)
            client.data_jobs:list()
          end
          return calls
        ]]))
        assert.equal(1, chunk(sim))
        -- an explicit close() inside the scope: the hook still runs once
        local twice = assert(load([[
          local sim = ...
          local calls = 0
          do
            local client <close> = sim.client()
            client:on_close(function() calls = calls + 1 end)
            client:close()
          end
          return calls
        ]]))
        assert.equal(1, twice(sim))
      end)
    end

    it("loading the core again keeps older clients recognised, closable and collected", function()
      local old = sim.client()
      local saved = package.loaded["seekrflow.core"]
      package.loaded["seekrflow.core"] = nil
      local again = require "seekrflow.core"
      package.loaded["seekrflow.core"] = saved
      assert.equal(getmetatable(old), getmetatable(again.new_client { api_key = "k", base_url = sim.base_url }))
      assert.equal("list", old.data_jobs:list().object)
      old:close()
      assert.is_true(old:is_closed())
    end)

    it("resources come from the registry, one object per client, cached", function()
      local client = sim.client()
      assert.equal(client.data_jobs, client.data_jobs)
      assert.equal(client.files, client.files)
      local other = sim.client()
      assert.are_not.equal(client.data_jobs, other.data_jobs)
      assert.is_nil(client.no_such_resource)
      client:close()
      other:close()
    end)
  end)
end)
