-- seekrflow.watch_many: many jobs in one loop, over real loopback HTTP to the simulator
-- through the C core (its many-jobs scenario), blocking, step-driven and on luv.
--
-- Most tests freeze the simulator and give the loop a clock and a sleep in simulated
-- seconds: each sleep moves the simulator forward by what was asked, so every job is seen
-- in order whatever the machine's speed, and no assertion depends on real time.
local sim = require "helpers.sim"
local util = require "helpers.util"
local watch = require "seekrflow.watch"
local watch_many = require "seekrflow.watch_many"
local many_jobs = require "seekrflow.sim.many_jobs"

local DETAIL = "GET /v1/flow/data-jobs/{id}"

local function advance(seconds)
  local _, status = sim.control("POST", "/_sim/advance", { seconds = seconds })
  assert.equal(200, status)
end

local scenario = sim.many_jobs

-- A clock and sleep in simulated seconds that move the frozen simulator along.
local function simulated(opts)
  local t = 0
  opts.clock = function() return t end
  opts.sleep = function(s)
    assert.is_true(s > 0, "asked to sleep " .. tostring(s)) -- never a busy loop
    t = t + s
    advance(s)
  end
  if opts.timeout == nil then opts.timeout = 3600 end -- a broken loop fails instead of hanging
  return opts
end

local function ids_of(jobs)
  local ids = {}
  for i, j in ipairs(jobs) do ids[i] = j.id end
  return ids
end

-- Every event of one job must tell something new: no record, file or timeline event twice,
-- and job statuses that chain (each `from` is the previous `to`), also across rounds. Each
-- round (one unless `rounds[id]` says more) is one job_added, then one job_done.
local function assert_exactly_once(events_of, rounds)
  for id, events in pairs(events_of) do
    local seen, status = {}, nil
    local added, done = 0, 0
    for _, e in ipairs(events) do
      assert.equal(id, e.job_id)
      local key
      if e.type == "job_added" then
        assert.equal(added, done, "job_added while a round of " .. id .. " goes on")
        added = added + 1
        assert.equal(added, e.round)
        assert.equal(added > 1 or nil, e.again)
      elseif e.type == "job_done" then
        done = done + 1
        assert.equal(added, done)
        assert.equal(done, e.round)
      elseif e.type == "record_added" then key = "r " .. e.record.record_id
      elseif e.type == "record_status" then key = "s " .. e.record.record_id .. " " .. e.to
      elseif e.type == "file_added" then key = "f " .. e.file.file_id
      elseif e.type == "timeline" then
        key = "t " .. e.event.timestamp .. e.event.event_type .. tostring(e.event.message)
      elseif e.type == "job_status" then
        assert.equal(status, e.from)
        status = e.to
      end
      if key then
        assert.is_nil(seen[key], "event twice for " .. id .. ": " .. key)
        seen[key] = true
      end
    end
    local want = rounds and rounds[id] or 1
    assert.equal(want, added, "job_added for " .. id)
    assert.equal(want, done, "job_done for " .. id)
    assert.equal("job_added", events[1].type)
    assert.equal("job_done", events[#events].type)
  end
end

describe("watch.many", function()
  local client
  sim.client_per_test(function(c) client = c end)
  sim.keep_config()
  before_each(function() sim.config { time_scale = 0 } end)

  it("brings every job of the many-jobs scenario to its final state, every event once", function()
    local jobs = scenario { jobs = 64 }
    local events_of, order = {}, {}
    local result = watch.many(client, ids_of(jobs), simulated {
      concurrency = 6,
      on_event = function(e)
        if not events_of[e.job_id] then
          events_of[e.job_id] = {}
          order[#order + 1] = e.job_id
        end
        table.insert(events_of[e.job_id], e)
      end,
    })
    assert.equal("done", result.reason)
    assert.equal(64, #result.order)
    for _, j in ipairs(jobs) do
      local r = result.jobs[j.id]
      assert.equal(many_jobs.EXPECTED[j.kind], r.detail.status, j.name)
      assert.equal(j.name, r.detail.name)
    end
    assert.equal(48, result.counts.reached)
    assert.equal(16, result.counts.needs_review)
    assert_exactly_once(events_of)
    -- every failing job tells which file failed
    for _, j in ipairs(jobs) do
      if j.kind == "failing" then
        local failed = 0
        for _, e in ipairs(events_of[j.id]) do
          if e.type == "record_status" and e.to == "failed" then failed = failed + 1 end
        end
        assert.equal(1, failed, j.name)
      end
    end
    assert.is_true(result.max_in_flight <= 6)
    assert.is_true(result.max_in_flight >= 2, "requests for different jobs ran concurrently")
  end)

  it("gives one row per job, most urgent first, with file counts", function()
    local jobs = scenario { jobs = 8 }
    local m = util.step_to_end(watch_many.new(client, { "dj-missing", jobs[1].id, jobs[2].id, jobs[6].id },
      simulated {}))
    local rows = m:rows()
    assert.same({ "dj-missing", jobs[2].id, jobs[1].id, jobs[6].id },
      { rows[1].id, rows[2].id, rows[3].id, rows[4].id })
    assert.equal(404, rows[1].error.status)
    assert.same({ 1, 1, 0, 0, "needs_review" },
      { rows[2].completed, rows[2].failed, rows[2].running, rows[2].queued, rows[2].status })
    assert.same({ 2, 0, "reached", jobs[1].name }, { rows[3].completed, rows[3].failed, rows[3].reason, rows[3].name })
    assert.equal(1, rows[4].completed) -- Markdown: no ingestion, ready at once
    for _, row in ipairs(rows) do assert.is_true(row.elapsed >= 0) end
  end)

  it("opens no more connections than requests in flight, and reuses them", function()
    sim.config { time_scale = sim.time_scale }
    for _, concurrency in ipairs({ 4, 8 }) do
      sim.reset()
      local jobs = scenario { jobs = 40 }
      local result = watch.many(client, ids_of(jobs), { concurrency = concurrency, min_interval = 0.05,
        max_interval = 0.2, timeout = 30 })
      assert.equal("done", result.reason)
      assert.equal(concurrency, result.max_in_flight)
      local stats = sim.stats()
      -- after a reset the simulator counts again each connection that carries a request
      assert.is_true(stats.connections <= concurrency, concurrency .. " in flight, connections: " .. stats.connections)
      assert.is_true(stats.routes[DETAIL] >= 40)
    end
  end)

  it("lets a job's deadline or error end that job only", function()
    local jobs = scenario { jobs = 2 } -- one healthy, one failing
    local result = watch.many(client, { "dj-missing", jobs[1].id, jobs[2].id }, simulated {
      until_statuses = { "needs_review" }, -- a healthy job never gets there: its own deadline ends it
      job_timeout = 120,
    })
    assert.equal("done", result.reason)
    assert.equal("error", result.jobs["dj-missing"].reason)
    assert.equal(404, result.jobs["dj-missing"].error.status)
    assert.equal("timed_out", result.jobs[jobs[1].id].reason)
    assert.equal("ready_to_start", result.jobs[jobs[1].id].detail.status)
    assert.equal("needs_review", result.jobs[jobs[2].id].reason)
    assert.same({ error = 1, timed_out = 1, needs_review = 1 }, result.counts)
  end)

  it("ends every unfinished job at the overall deadline, and on should_stop", function()
    local jobs = scenario { jobs = 3 }
    local result = watch.many(client, ids_of(jobs), simulated { timeout = 10 })
    assert.equal("timed_out", result.reason)
    for _, j in ipairs(jobs) do
      local reason = result.jobs[j.id].reason
      -- the Markdown-only job is ready at once; the others still ingest at 10 s
      assert.is_true(reason == "timed_out" or (j.kind == "markdown" and reason == "reached"), j.kind .. " " .. reason)
    end
    local polls = 0
    local stopped = watch.many(client, ids_of(jobs), simulated {
      should_stop = function() return polls >= 3 end,
      on_event = function(e) if e.type == "job_status" then polls = polls + 1 end end,
    })
    assert.equal("interrupted", stopped.reason)
    assert.equal(3, #stopped.order)
  end)

  it("slows every job down after a 429, and waits out its Retry-After", function()
    local jobs = scenario { jobs = 4, throttle = 1, retry_after = 7 }
    local throttled_at
    local first_seen = {}
    local result = watch.many(client, ids_of(jobs), simulated {
      concurrency = 1,
      on_event = function(e)
        if e.type == "poll_error" then
          assert.equal(429, e.error.status)
          throttled_at = throttled_at or e.time
        elseif e.type == "job_status" and not first_seen[e.job_id] then
          first_seen[e.job_id] = e.time
        end
      end,
    })
    assert.equal("done", result.reason)
    assert.is_not_nil(throttled_at)
    local n = 0
    for _, t in pairs(first_seen) do
      n = n + 1
      assert.is_true(t >= throttled_at + 7, "a job was polled before the Retry-After ended")
    end
    assert.equal(4, n)
  end)

  it("with all = true, watches every moving job and finds jobs created meanwhile", function()
    sim.config { time_scale = sim.time_scale }
    local big = { { "big.pdf", "%PDF-1.4 " .. string.rep("x", 2 * 1024 * 1024) } }
    local first = sim.job_with_files(client, big, { name = "first" })
    sim.job_with_files(client, {}, { name = "idle" }) -- needs_review from the start: not moving
    local m = watch_many.new(client, { all = true }, { min_interval = 0.02, max_interval = 0.1,
      discover_interval = 0.05, timeout = 30 })
    local added, done, created = {}, {}, nil
    local finished = false
    while not finished do
      local events, is_done, wait = m:step()
      for _, e in ipairs(events) do
        if e.type == "job_added" then
          added[#added + 1] = e.job_id
          assert.equal("table", type(e.job)) -- the list entry it was found by
          if not created then created = sim.job_with_files(client, big, { name = "second" }) end
        elseif e.type == "job_done" then
          done[e.job_id] = e.reason
        end
      end
      finished = is_done
      if not finished then client:wait(math.max(1, math.min(wait, 0.05) * 1000)) end
    end
    local result = m:result()
    assert.equal("done", result.reason)
    assert.same({ first, created }, added)
    assert.equal("reached", done[first])
    assert.equal("reached", done[created])
  end)

  it("with all = true, skips jobs created before `since` and ends when nothing moves", function()
    sim.config { time_scale = sim.time_scale }
    sim.job_with_files(client, { { "a.pdf", "%PDF-1.4 fine" } })
    local result = watch.many(client, { all = true, since = "2999-01-01T00:00:00Z" },
      { discover_interval = 0.05, timeout = 30 })
    assert.equal("done", result.reason)
    assert.same({}, result.order)
  end)

  it("with all = true, watches at most max_jobs and counts the rest", function()
    scenario { jobs = 6 } -- five move, the Markdown-only one is ready
    local result = watch.many(client, { all = true }, simulated { max_jobs = 2, timeout = 10 })
    assert.equal(2, #result.order)
    assert.equal(3, result.skipped)
  end)

  it("with all = true, ends with reason error when the job list cannot be read", function()
    sim.fault { route = "GET /v1/flow/data-jobs", kind = "status", status = 500, times = -1 }
    local result = watch.many(client, { all = true }, simulated { discover_interval = 1, max_poll_errors = 2 })
    sim.control("DELETE", "/_sim/faults")
    assert.equal("error", result.reason)
    assert.equal(500, result.error.status)
    assert.same({}, result.order)
  end)

  it("with all = true, ends with reason error when the list fails after every job is done", function()
    scenario { jobs = 1 }
    local faulted = false
    local result = watch.many(client, { all = true }, simulated {
      discover_interval = 1, max_poll_errors = 2,
      on_event = function(e)
        if e.type == "job_added" and not faulted then
          faulted = true
          sim.fault { route = "GET /v1/flow/data-jobs", kind = "status", status = 503, times = -1 }
        end
      end,
    })
    sim.control("DELETE", "/_sim/faults")
    assert.equal("error", result.reason)
    assert.equal(503, result.error.status)
    assert.equal("reached", result.jobs[result.order[1]].reason) -- the job itself was watched to its end
  end)

  -- A second client, for what the user does while the loop watches.
  local function user_client()
    local user = sim.client()
    finally(function() user:close() end)
    return user
  end

  local function by_job(events_of, also)
    return function(e)
      events_of[e.job_id] = events_of[e.job_id] or {}
      table.insert(events_of[e.job_id], e)
      if also then also(e) end
    end
  end

  local function rounds_of(events)
    local rounds = {}
    for _, e in ipairs(events) do
      if e.type == "job_added" then rounds[#rounds + 1] = {} end
      table.insert(rounds[#rounds], e)
    end
    return rounds
  end

  local function count(events, type_)
    local n = 0
    for _, e in ipairs(events) do if e.type == type_ then n = n + 1 end end
    return n
  end

  it("with all = true and follow, watches a job again when it moves after its round ended", function()
    local user = user_client()
    local id = sim.job_with_files(client, { { "a.pdf", "%PDF-1.4 fine" } }, { name = "again" })
    local events_of = {}
    local result = watch.many(client, { all = true }, simulated {
      follow = true, timeout = 300, max_jobs = 1, -- a job watched again keeps its place
      on_event = by_job(events_of, function(e)
        if e.type == "job_done" and e.round == 1 then user.data_jobs:start(id) end
      end),
    })
    assert.equal("timed_out", result.reason) -- follow looks on until the deadline
    assert.same({ id }, result.order)
    local r = result.jobs[id]
    assert.same({ 2, "reached", "completed" }, { r.round, r.reason, r.detail.status })
    assert.same({ 1, "reached", "ready_to_start" }, { r.previous.round, r.previous.reason, r.previous.detail.status })
    assert.is_nil(r.previous.previous)
    assert.equal(1, result.restarts)
    assert.same({ reached = 1 }, result.counts) -- one job, counted by its last round
    assert.equal(0, result.skipped)
    assert_exactly_once(events_of, { [id] = 2 })
    local rounds = rounds_of(events_of[id])
    local again = rounds[2][1]
    assert.same({ true, 2, "reached" }, { again.again, again.round, again.previous_reason })
    assert.equal("queued", again.job.status)
    -- the new round tells only what changed: no file or record again, statuses go on
    assert.equal(0, count(rounds[2], "file_added") + count(rounds[2], "record_added"))
    assert.equal(1, count(rounds[1], "file_added"))
    for _, e in ipairs(rounds[2]) do
      if e.type == "job_status" then
        assert.equal("ready_to_start", e.from)
        break
      end
    end
    assert.is_true(count(rounds[2], "alignment") > 0)
  end)

  it("with all = true, watches again a job the user fixed before the last look, then ends", function()
    local user = user_client()
    local id, file_ids = sim.job_with_files(client, { { "ok.pdf", "%PDF-1.4 fine" }, { "broken.pptx", "" } })
    local events_of = {}
    local m = util.step_to_end(watch_many.new(client, { all = true }, simulated {
      on_event = by_job(events_of, function(e)
        if e.type == "job_done" and e.reason == "needs_review" then
          user.data_jobs:remove_files(id, { file_ids[2] })
          user.data_jobs:add_files(id, { sim.file("fixed.pdf", "%PDF-1.4 fixed").id })
        end
      end),
    }))
    local result = m:result()
    assert.equal("done", result.reason)
    local r = result.jobs[id]
    assert.same({ 2, "reached", "ready_to_start" }, { r.round, r.reason, r.detail.status })
    assert.same({ "needs_review", 1 }, { r.previous.reason, r.previous.round })
    assert.same({ reached = 1 }, result.counts)
    assert_exactly_once(events_of, { [id] = 2 })
    local second = rounds_of(events_of[id])[2]
    assert.same({ 1, 1, 1 },
      { count(second, "file_removed"), count(second, "file_added"), count(second, "record_added") })
    local rows = m:rows()
    assert.same({ 1, 2, 0, "reached" }, { #rows, rows[1].round, rows[1].failed, rows[1].reason })
  end)

  it("with all = true, watches a job first seen at rest once it moves", function()
    local user = user_client()
    local moving = sim.job_with_files(client, { { "a.pdf", "%PDF-1.4 fine" } }, { name = "moving" })
    local resting = sim.job_with_files(client, { { "notes.md", "# Notes\n" } }, { name = "resting" })
    local events_of, started = {}, false
    local result = watch.many(client, { all = true }, simulated {
      on_event = by_job(events_of, function(e)
        if e.type == "job_added" and e.job_id == moving and not started then
          started = true
          user.data_jobs:start(resting) -- ready_to_start when first seen: not watched until it moves
        end
      end),
    })
    assert.equal("done", result.reason)
    assert.same({ moving, resting }, result.order)
    assert.same({ 1, "reached", "completed" },
      { result.jobs[resting].round, result.jobs[resting].reason, result.jobs[resting].detail.status })
    assert.equal(0, result.restarts)
    assert_exactly_once(events_of)
  end)

  it("with all = true, finds a job moving again deep in the list, reading all of it every so many looks", function()
    local user = user_client()
    local jobs = scenario { jobs = 120 } -- two pages; the oldest job is on the second
    local oldest = jobs[1].id
    local result = watch.many(client, { all = true }, simulated {
      follow = true, timeout = 400, concurrency = 8,
      on_event = function(e)
        if e.type == "job_done" and e.job_id == oldest and e.round == 1 then user.data_jobs:start(oldest) end
      end,
    })
    assert.equal(105, #result.order) -- the Markdown-only jobs are ready at once: not moving
    local r = result.jobs[oldest]
    assert.same({ 2, "reached", "completed" }, { r.round, r.reason, r.detail.status })
    assert.equal(1, result.restarts)
    local looks = 400 / 5
    local pages = #sim.requests_for("GET /v1/flow/data-jobs")
    -- two pages: every other look reads both (a whole look every look would read 2 * looks)
    assert.is_true(pages <= 1.5 * looks + 4, pages .. " list pages in " .. looks .. " looks")
  end)

  it("with all = true and until_statuses, does not watch again a job fixed to rest elsewhere, and ends", function()
    local user = user_client()
    local id, file_ids = sim.job_with_files(client, { { "ok.pdf", "%PDF-1.4 fine" }, { "broken.pptx", "" } })
    local events_of = {}
    local result = watch.many(client, { all = true }, simulated {
      until_statuses = { "needs_review" }, timeout = 300, -- a loop that never ends times out instead
      on_event = by_job(events_of, function(e)
        if e.type == "job_done" and e.reason == "needs_review" then
          user.data_jobs:remove_files(id, { file_ids[2] }) -- ready_to_start: at rest, not in until_statuses
        end
      end),
    })
    assert.equal("done", result.reason)
    assert.equal("ready_to_start", user.data_jobs:retrieve(id).status)
    local r = result.jobs[id]
    assert.same({ 1, "needs_review" }, { r.round, r.reason })
    assert.equal(0, result.restarts)
    assert_exactly_once(events_of)
  end)

  it("with all = true and follow, does not watch again a job whose round ended at its deadline", function()
    local jobs = scenario { jobs = 4 } -- the slow one ingests for about 80 s
    local slow = jobs[4].id
    local added = 0
    local result = watch.many(client, { all = true }, simulated {
      follow = true, timeout = 200, job_timeout = 10,
      on_event = function(e) if e.type == "job_added" and e.job_id == slow then added = added + 1 end end,
    })
    assert.equal(1, added)
    assert.equal("timed_out", result.jobs[slow].reason)
    assert.equal(0, result.restarts)
  end)

  it("with all = true and follow, counts each job skipped for max_jobs once, however many looks", function()
    scenario { jobs = 6 } -- five move, the Markdown-only one is ready
    local result = watch.many(client, { all = true }, simulated { max_jobs = 2, follow = true, timeout = 100 })
    assert.equal(2, #result.order)
    assert.equal(3, result.skipped)
  end)

  it("refuses bad targets and options with a clear error", function()
    local err = util.arg_error(function() watch.many(client, "dj-1") end)
    assert.matches("list of job ids", tostring(err))
    util.arg_error(function() watch.many(client, {}) end)
    util.arg_error(function() watch.many(client, { "dj-1", 3 }) end)
    util.arg_error(function() watch.many(client, { all = true, team = "x" }) end)
    util.arg_error(function() watch.many(client, { all = true, since = "yesterday" }) end)
    err = util.arg_error(function() watch.many(client, { "dj-1" }, { concurency = 4 }) end)
    assert.matches("concurrency", tostring(err))
    util.arg_error(function() watch.many(client, { "dj-1" }, { concurrency = 0 }) end)
    util.arg_error(function() watch.many(client, { "dj-1" }, { min_interval = -1 }) end)
    util.arg_error(function() watch.many({}, { "dj-1" }) end)
  end)

  it("watches the same id given twice once", function()
    local jobs = scenario { jobs = 1 }
    local added = 0
    local result = watch.many(client, { jobs[1].id, jobs[1].id }, simulated {
      on_event = function(e) if e.type == "job_added" then added = added + 1 end end,
    })
    assert.equal(1, added)
    assert.same({ jobs[1].id }, result.order)
  end)
end)

-- A server that keeps listing a job as ingesting while its detail says it needs review: a
-- list lagging behind the details (or a hostile server) must not start rounds forever.
describe("watch.many over a lagging job list", function()
  local hostile = require "helpers.hostile"
  local json = require("seekrflow").json_encode

  local function lagging(list_updated_at)
    local entry = { id = "dj-lag", name = "lagging", job_type = "principle_files", status = "file_processing",
      created_at = "2025-11-14T07:35:21Z", updated_at = list_updated_at }
    local detail = { id = "dj-lag", name = "lagging", job_type = "principle_files", status = "needs_review",
      created_at = "2025-11-14T07:35:21Z", updated_at = "2025-11-14T07:36:02Z" }
    local page = { body = json { data = { entry }, total = 1, limit = 100, offset = 0 } }
    local answer = { body = json(detail) }
    -- one request at a time: a look, then a poll of the job, and so on
    local script = {}
    for i = 1, 2 * (3 * watch_many.MAX_ROUNDS + 10) do script[i] = i % 2 == 1 and page or answer end
    local server = hostile.start(script)
    finally(function() server:stop() end)
    local client = require("seekrflow").new { api_key = "sk-test", base_url = server.url .. "/v1", max_retries = 0 }
    finally(function() client:close() end)
    local rounds, t = 0, 0
    local result = watch.many(client, { all = true }, {
      concurrency = 1, clock = function() return t end, sleep = function(s) t = t + s end,
      on_event = function(e) if e.type == "job_added" then rounds = rounds + 1 end end,
      -- a loop that would start rounds forever is stopped, and fails below
      should_stop = function() return rounds > 2 * watch_many.MAX_ROUNDS end,
    })
    return result, rounds
  end

  it("starts no round when the list is not newer than the detail", function()
    local result, rounds = lagging("2025-11-14T07:36:02Z") -- the same time as the detail
    assert.equal("done", result.reason)
    assert.same({ 1, 0 }, { rounds, result.restarts })
    assert.equal("needs_review", result.jobs["dj-lag"].reason)
  end)

  it("starts at most MAX_ROUNDS rounds a job when the list tells no updated_at", function()
    local result, rounds = lagging(nil)
    assert.equal("done", result.reason)
    assert.same({ watch_many.MAX_ROUNDS, watch_many.MAX_ROUNDS - 1 }, { rounds, result.restarts })
    assert.equal(watch_many.MAX_ROUNDS, result.jobs["dj-lag"].round)
  end)
end)

describe("the many-jobs scenario", function()
  before_each(function() sim.reset() end)
  after_each(function() sim.config { workers = 2 } end)

  it("makes the mix of jobs it documents and refuses bad options", function()
    local jobs = scenario { jobs = 16, prefix = "t" }
    assert.equal(16, #jobs)
    local kinds = {}
    for i, j in ipairs(jobs) do
      assert.equal(many_jobs.MIX[(i - 1) % #many_jobs.MIX + 1], j.kind)
      kinds[j.kind] = (kinds[j.kind] or 0) + 1
    end
    assert.same({ healthy = 8, failing = 4, slow = 2, markdown = 2 }, kinds)
    local _, status = sim.control("POST", "/_sim/scenarios/many_jobs", { jobs = 0 })
    assert.equal(400, status)
    _, status = sim.control("POST", "/_sim/scenarios/many_jobs", { job = 3 })
    assert.equal(400, status)
  end)
end)

local has_luv, uv = pcall(require, "luv")
describe("watch_many.luv", function()
  if not has_luv then
    pending("luv is not installed (apt-get install lua-luv)")
    return
  end

  before_each(function() sim.reset() end)
  sim.keep_config()

  it("runs the same loop on a luv driver without blocking it", function()
    sim.config { time_scale = sim.time_scale }
    local jobs = scenario { jobs = 12 }
    local driver = require("seekrflow.luv").new({ api_key = sim.api_key, base_url = sim.base_url }, { uv = uv })
    local ticks, result = 0, nil
    local ticker = uv.new_timer()
    ticker:start(10, 10, function() ticks = ticks + 1 end)
    local guard = uv.new_timer()
    guard:start(math.floor(sim.deadline(30) * 1000), 0, function() uv.stop() end)
    local seen = 0
    watch_many.luv(driver, ids_of(jobs), { min_interval = 0.02, max_interval = 0.1,
      on_event = function(e) if e.type == "job_done" then seen = seen + 1 end end },
      function(r)
        result = r
        uv.stop()
      end)
    uv.run()
    ticker:close()
    guard:close()
    driver:close()
    uv.run("nowait")
    assert.is_not_nil(result, "the watch did not finish")
    assert.equal("done", result.reason)
    assert.equal(12, seen)
    for _, j in ipairs(jobs) do
      assert.equal(many_jobs.EXPECTED[j.kind], result.jobs[j.id].detail.status)
    end
    assert.is_true(ticks > 0)
  end)
end)
