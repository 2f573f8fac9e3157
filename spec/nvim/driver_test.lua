-- seekrflow.luv on Neovim's loop: requests and watches must leave the editor's
-- loop running (a timer keeps ticking), and closing the driver must silence
-- everything in flight.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim

-- A blocking request would stop the ticker for its whole duration (~0 ticks);
-- a driven one leaves nearly every 10 ms tick. 40 % leaves room for a slow CI.
local function assert_ticking(ticks, elapsed_ms, what)
  local expected = elapsed_ms / 10
  assert.is_truthy(ticks >= 0.4 * expected, ("%s: the timer ticked %d times in %.0f ms (expected about %.0f): "
    .. "the loop was blocked"):format(what, ticks, elapsed_ms, expected))
end

return function(test)
  test("a request delayed 2 s by the server leaves the loop ticking", function()
    local client = h.client()
    local id = sim.job_with_files(client, {})
    sim.fault { route = h.DETAIL_ROUTE, kind = "latency", delay_ms = 2000 }
    local driver, errors = h.driver()
    local counter, stop = h.ticker()
    local got, got_err, calls = nil, nil, 0
    local t0, before = h.now_ms(), counter.n
    driver:send(driver.client.data_jobs:retrieve(id, { async = true }), function(value, err)
      calls = calls + 1
      got, got_err = value, err
    end)
    -- send() returns at once: the request is in flight, not done
    assert.is_truthy(h.now_ms() - t0 < 500, "driver:send blocked")
    assert.equal(0, calls, "callback ran before the server answered")
    h.wait(8000, function() return calls > 0 end, "the delayed answer")
    local elapsed, ticks = h.now_ms() - t0, counter.n - before
    stop()
    assert.equal(nil, got_err)
    assert.equal(id, got.id)
    assert.is_truthy(elapsed >= 1800, ("the latency fault did not apply (%.0f ms)"):format(elapsed))
    assert_ticking(ticks, elapsed, "retrieve")
    h.run_for(50)
    assert.equal(1, calls, "callback count")
    assert.equal(0, #errors, "driver errors")
  end)

  test("a whole driver:watch to ready_to_start leaves the loop ticking", function()
    local client = h.client()
    -- 300 KiB: 2 s wait + 20 s + 30 s of processing, simulated; > 1 s real at scale 40
    sim.config { time_scale = 40 }
    local created = client.data_jobs:create { name = "nvim watch job", job_type = "principle_files",
                                              system_prompt = "You are a test." }
    local files = {
      sim.file("big-a.pdf", "%PDF-1.7 ", 300 * 1024).id,
      sim.file("big-b.pdf", "%PDF-1.7 ", 300 * 1024).id,
    }
    client.data_jobs:add_files(created.id, files)
    local driver, errors = h.driver()
    local counter, stop = h.ticker()
    local events, result, result_err, calls = {}, nil, nil, 0
    local t0, before = h.now_ms(), counter.n
    driver:watch(created.id, {
      min_interval = 0.1, max_interval = 0.3, timeout = 30,
      on_event = function(event) events[#events + 1] = event end,
    }, function(r, err)
      calls = calls + 1
      result, result_err = r, err
    end)
    assert.is_truthy(h.now_ms() - t0 < 500, "driver:watch blocked")
    h.wait(20000, function() return calls > 0 end, "the watch to end")
    local elapsed, ticks = h.now_ms() - t0, counter.n - before
    stop()
    assert.equal(nil, result_err)
    assert.equal("reached", result.reason)
    assert.equal("ready_to_start", result.detail.status)
    assert.is_truthy(elapsed >= 1000, ("the job took only %.0f ms: the test proves little"):format(elapsed))
    assert.is_truthy(result.polls >= 3, "expected several polls, got " .. tostring(result.polls))
    assert_ticking(ticks, elapsed, "watch")
    local completed = 0
    for _, e in ipairs(events) do
      if e.type == "record_status" and e.to == "completed" then completed = completed + 1 end
    end
    assert.equal(2, completed, "record_status events to completed")
    assert.equal(0, #errors, "driver errors")
  end)

  test("closing the driver while a delayed request is in flight: its callback never fires", function()
    local client = h.client()
    local id = sim.job_with_files(client, {})
    sim.fault { route = h.DETAIL_ROUTE, kind = "latency", delay_ms = 1000 }
    local driver, errors = h.driver()
    local calls, task_done, slept = 0, 0, 0
    driver:send(driver.client.data_jobs:retrieve(id, { async = true }), function() calls = calls + 1 end)
    driver:spawn(function(task)
      task:sleep(0.5)
      slept = slept + 1
    end, function() task_done = task_done + 1 end)
    h.run_for(150)
    assert.equal(0, calls, "answered too early: the fault did not apply")
    driver:close()
    assert.is_truthy(driver.client:is_closed(), "the client is still open")
    driver:close() -- safe twice
    h.run_for(1600)
    assert.equal(0, calls, "the cancelled request's callback")
    assert.equal(0, slept, "the cancelled task went on")
    assert.equal(0, task_done, "the cancelled task's on_done")
    assert.equal(0, #errors, "driver errors")
    assert.is_truthy(next(driver.polls) == nil, "socket polls left open")
    assert.is_truthy(driver.curl_timer:is_closing(), "libcurl's timer was not closed")
  end)
end
