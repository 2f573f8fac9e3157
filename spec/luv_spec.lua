-- Requests and watches inside a luv loop: nothing blocks the loop.
local sim = require "helpers.sim"
local has_luv, uv = pcall(require, "luv")

if not has_luv then
  describe("seekrflow.luv", function()
    pending("luv is not installed (apt-get install lua-luv)")
  end)
  return
end

local seekrflow = sim.seekrflow
local luv_driver = require "seekrflow.luv"

--- Runs the loop until done() (done nil: until no handle keeps it running) or a deadline;
--- fails on the deadline so a bug cannot hang the suite.
local function run_until(done, seconds)
  local guard = uv.new_timer()
  local timed_out = false
  guard:start(math.floor(sim.deadline(seconds or 15) * 1000), 0, function()
    timed_out = true
    uv.stop()
  end)
  local poll
  if done then
    poll = uv.new_timer()
    poll:start(5, 5, function() if done() then uv.stop() end end)
  else
    guard:unref() -- the guard ends a loop that would hang, but keeps none running
  end
  uv.run()
  guard:close()
  if poll then poll:close() end
  uv.run("nowait") -- let the closes finish
  assert(not timed_out, "the loop did not finish in time")
end

--- A 10 ms ticker; returns a function giving the ticks so far.
local function ticker()
  local ticks = 0
  local t = uv.new_timer()
  t:start(10, 10, function() ticks = ticks + 1 end)
  return function() return ticks end, function() t:close() end
end

local function new_driver(opts)
  local o = { api_key = sim.api_key, base_url = sim.base_url, retry_initial_delay = 0.02, retry_max_delay = 0.1 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return luv_driver.new(o, { uv = uv })
end

describe("seekrflow.luv", function()
  local driver

  before_each(function()
    sim.reset()
    driver = new_driver()
  end)

  after_each(function()
    driver:close()
    uv.run("nowait")
  end)

  it("keeps the loop ticking while a slow request is in flight", function()
    local setup = sim.client()
    local id = setup.data_jobs:create { name = "slow", job_type = "principle_files" }.id
    setup:close()
    sim.fault { route = "GET /v1/flow/data-jobs/{id}", kind = "latency", delay_ms = 2000, times = 1 }
    local ticks, stop_ticker = ticker()
    local started = uv.now()
    local result, elapsed_ms, ticks_during
    driver:send(driver.client.data_jobs:retrieve(id, { async = true }), function(value)
      result = value
      elapsed_ms = uv.now() - started
      ticks_during = ticks()
    end)
    run_until(function() return result ~= nil end)
    stop_ticker()
    assert.equal(id, result.id)
    assert.is_true(elapsed_ms >= 1900, "the delay was not real")
    -- about 200 ticks expected; a request that blocked the loop would allow ~0
    assert.is_true(ticks_during >= 0.4 * elapsed_ms / 10, ("only %d ticks in %d ms"):format(ticks_during, elapsed_ms))
  end)

  it("runs a whole watch to ready_to_start without blocking", function()
    local setup = sim.client()
    local id = sim.job_with_files(setup, { { "a.pdf", "%PDF-1.7 a" }, { "b.docx", "text" } }, { system_prompt = "p" })
    setup:close()
    sim.config { time_scale = 40 } -- about a second of ingestion
    local ticks, stop_ticker = ticker()
    local started = uv.now()
    local result, events = nil, {}
    driver:watch(id, {
      min_interval = 0.05, max_interval = 0.2,
      on_event = function(event) events[#events + 1] = event.type end,
    }, function(r) result = r end)
    local ok, failure = pcall(run_until, function() return result ~= nil end, 20)
    sim.config { time_scale = sim.time_scale }
    stop_ticker()
    assert(ok, failure)
    local elapsed_ms = uv.now() - started
    assert.equal("reached", result.reason)
    assert.equal("ready_to_start", result.detail.status)
    assert.is_true(result.polls >= 3)
    assert.is_true(#events > 0)
    assert.is_true(ticks() >= 0.4 * elapsed_ms / 10, ("only %d ticks in %d ms"):format(ticks(), elapsed_ms))
  end)

  it("writes sequential code in a task; errors reach the task, not the loop", function()
    local outcome
    driver:spawn(function(task)
      local job, err = task:await(driver.client.data_jobs:create({ name = "t", job_type = "principle_files" },
        { async = true }))
      assert(job, tostring(err))
      local missing, not_found = task:await(driver.client.data_jobs:retrieve("dj-missing", { async = true }))
      task:sleep(0.05)
      return job.id, missing, not_found
    end, function(ok, id, missing, not_found)
      outcome = { ok = ok, id = id, missing = missing, not_found = not_found }
    end)
    run_until(function() return outcome ~= nil end)
    assert.is_true(outcome.ok)
    assert.matches("^dj%-", outcome.id)
    assert.is_nil(outcome.missing)
    assert.equal(404, outcome.not_found.status)
  end)

  it("a task that slept and finished leaves no handle behind", function()
    local function handles()
      local n = 0
      uv.walk(function(h) if not h:is_closing() then n = n + 1 end end)
      return n
    end
    uv.run("nowait")
    local before = handles()
    local finished = 0
    for _ = 1, 3 do
      driver:spawn(function(task) task:sleep(0.01) end, function() finished = finished + 1 end)
    end
    run_until(function() return finished == 3 end)
    assert.equal(before, handles())
  end)

  it("hands an uncaught error in a task to on_done", function()
    local outcome
    driver:spawn(function() error(seekrflow.errors.new("config", "boom")) end,
      function(ok, err) outcome = { ok = ok, err = err } end)
    run_until(function() return outcome ~= nil end)
    assert.is_false(outcome.ok)
    assert.equal("boom", outcome.err.message)
  end)

  it("retries inside the loop, honouring retry-after-ms", function()
    sim.fault { route = "GET /v1/flow/data-jobs", kind = "status", status = 503, retry_after_ms = 100, times = 1 }
    local page
    driver:send(driver.client.data_jobs:list(nil, { async = true }), function(value) page = value end)
    run_until(function() return page ~= nil end)
    assert.equal("list", page.object)
    assert.equal(2, #sim.requests_for("GET /v1/flow/data-jobs"))
  end)

  it("uploads through the loop", function()
    local util = require "helpers.util"
    local dir = util.temp_dir()
    local path = util.write_file(dir, "doc.pdf", "%PDF-1.7 " .. string.rep("x", 100000))
    local file
    driver:send(driver.client.files:upload(path, nil, { async = true }), function(value) file = value end)
    run_until(function() return file ~= nil end)
    util.remove_dir(dir)
    assert.equal("doc.pdf", file.filename)
  end)

  describe("cancellation", function()
    it("a cancelled request never calls back", function()
      sim.fault { route = "GET /v1/flow/data-jobs", kind = "latency", delay_ms = 500, times = 1 }
      local called = false
      local handle = driver:send(driver.client.data_jobs:list(nil, { async = true }), function() called = true end)
      local waited = false
      local t = uv.new_timer()
      t:start(100, 0, function() handle.cancel() end)
      local t2 = uv.new_timer()
      t2:start(900, 0, function() waited = true end)
      run_until(function() return waited end)
      t:close()
      t2:close()
      assert.is_false(called)
    end)

    it("a cancelled task stops, with no on_done", function()
      local steps, done = 0, false
      local task = driver:spawn(function(task)
        while true do
          steps = steps + 1
          task:sleep(0.02)
        end
      end, function() done = true end)
      local waited = false
      local t = uv.new_timer()
      t:start(100, 0, function()
        task:cancel()
        local at_cancel = steps
        local t2 = uv.new_timer()
        t2:start(100, 0, function()
          assert.equal(at_cancel, steps)
          waited = true
          t2:close()
        end)
      end)
      run_until(function() return waited end)
      t:close()
      assert.is_false(done)
    end)

    -- Sends a list the simulator answers only after run_until's deadline, runs `close` 50 ms
    -- in, and runs the loop until no handle is left: a loop still held by the cancelled
    -- request runs into the deadline and fails. Returns whether the request called back.
    local function close_in_flight(close)
      sim.fault { route = "GET /v1/flow/data-jobs", kind = "latency", times = 1,
        delay_ms = math.floor(sim.deadline(15) * 1000) + 5000 }
      local called = false
      driver:send(driver.client.data_jobs:list(nil, { async = true }), function() called = true end)
      local t = uv.new_timer()
      t:start(50, 0, function() close() t:close() end)
      run_until(nil) -- returns once the loop has ended by itself
      return called
    end

    it("closing the driver cancels what is in flight and lets the loop end", function()
      assert.is_false(close_in_flight(function() driver:close() end))
      assert.is_true(driver.client:is_closed())
    end)

    it("closing the client directly also releases the loop", function()
      assert.is_false(close_in_flight(function() driver.client:close() end))
    end)
  end)

  it("refuses blocking calls and async iteration on an event-loop client", function()
    local ok, err = pcall(driver.client.data_jobs.list, driver.client.data_jobs)
    assert.is_false(ok)
    assert.matches("socket mode", err.message)
    ok, err = pcall(driver.client.data_jobs.iter, driver.client.data_jobs, nil, { async = true })
    assert.is_false(ok)
    assert.matches("cannot be async", err.message)
    ok, err = pcall(driver.send, driver, "not a request", function() end)
    assert.is_false(ok)
    assert.matches("async = true", err.message)
  end)
end)

describe("seekrflow.luv after close", function()
  it("fires no callback once a callback of the same pass closed the driver", function()
    sim.reset()
    local driver = new_driver()
    local calls = 0
    -- two requests that finish in the same service pass: the first closes the driver
    local a = driver.client.data_jobs:list(nil, { async = true })
    local b = driver.client.data_jobs:list(nil, { async = true })
    driver:send(a, function() calls = calls + 1 driver:close() end)
    driver:send(b, function() calls = calls + 1 driver:close() end)
    uv.run()
    assert.equal(1, calls)
  end)
end)

describe("seekrflow.luv in several spec files of one busted run", function()
  -- busted clears package.loaded after each file, so a second file's `require "luv"` loads luv
  -- again in the same Lua state; luv (1.52.1 at least) then frees the loop under it once the
  -- first file's module is collected, and luv before 1.46 crashes at exit on a handle left
  -- closing.
  it("keeps the luv module that owns the loop, and never loads luv again", function()
    local loaded = package.loaded.luv
    package.loaded.luv = nil -- as busted leaves it for the next file
    local again = luv_driver.uv()
    package.loaded.luv = loaded
    assert.is_not_nil(rawget(again, "_loop"), "the module that owns the loop")
    assert.equal(again, luv_driver.uv())
    local driver = luv_driver.new { api_key = "k", base_url = sim.base_url }
    driver:close()
    assert.equal(again, driver.uv)
  end)

  it("drives requests from two files that each load luv, and the process ends cleanly", function()
    local root = os.getenv("SEEKRFLOW_ROOT") or "."
    local fixtures = "spec/fixtures/luv_reload/"
    -- timeout(1) runs without a memory checker's preload; busted's Lua keeps it
    local cmd = ('preload=${LD_PRELOAD-}; cd %q && LD_PRELOAD= timeout %d env LD_PRELOAD="$preload" %s '
      .. '"$(command -v busted)" --output=plainTerminal %sfirst.lua %ssecond.lua 2>&1; echo "exit:$?"')
      :format(root, math.ceil(sim.deadline(60)), os.getenv("SEEKRFLOW_LUA") or "lua5.4", fixtures, fixtures)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert.equal("0", out:match("exit:(%d+)%s*$"), out)
    assert.matches("2 successes / 0 failures / 0 errors", out)
  end)
end)
