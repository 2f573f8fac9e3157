-- seekrflow.watch: the stop reasons, backoff, error handling and change events, over real
-- HTTP to the simulator through the C core; plus unit tests of the diff fed by hand.
--
-- Most integration tests freeze the simulator (time_scale 0) and give the watcher a clock
-- and a sleep in simulated seconds: each sleep moves the simulator forward by exactly what
-- was asked. The watch then sees every state in order, whatever the machine's speed.
local sim = require "helpers.sim"
local util = require "helpers.util"
local seekrflow = sim.seekrflow
local watch = require "seekrflow.watch"

local DETAIL = "GET /v1/flow/data-jobs/{id}"
local GOOD = "%PDF-1.7 fine"
local CORRUPT = "The PDF may be corrupted, password-protected, or in an unsupported format."

local function advance(seconds)
  local _, status = sim.control("POST", "/_sim/advance", { seconds = seconds })
  assert.equal(200, status)
end

local function freeze() sim.config { time_scale = 0 } end

-- A clock and sleep in simulated seconds; `world` moves the frozen simulator along (or not).
-- A far deadline by default, so a broken watcher fails a test instead of hanging the suite.
local function simulated(opts, world)
  local t, sleeps = 0, {}
  opts = opts or {}
  if opts.timeout == nil then opts.timeout = 3600 end
  opts.clock = function() return t end
  opts.sleep = function(s)
    assert.is_true(s > 0, "asked to sleep " .. tostring(s)) -- never a busy loop
    sleeps[#sleeps + 1] = s
    t = t + s
    if world then world(s, #sleeps) end
  end
  return opts, sleeps
end

local function stepping(opts) return simulated(opts, advance) end

local function fast_sleep(s) seekrflow.sleep(math.min(s, 0.05)) end

local function of_type(events, kind) return util.where(events, "type", kind) end

local function last_of(events, kind)
  local found = of_type(events, kind)
  return found[#found]
end

-- "queued>running>completed" for each record, by filename, from record_* events.
local function record_paths(events)
  local paths = {}
  for _, e in ipairs(events) do
    local name = e.record and e.record.filename
    if e.type == "record_added" then paths[name] = e.record.status end
    if e.type == "record_status" then
      assert.equal(paths[name]:match("[^>]+$"), e.from)
      paths[name] = paths[name] .. ">" .. e.to
    end
  end
  return paths
end

local function timeline_types(events)
  local types = {}
  for _, e in ipairs(of_type(events, "timeline")) do types[#types + 1] = e.event.event_type end
  return table.concat(types, ",")
end

local function vector_db_job(client)
  -- Ready at once: no files to ingest.
  return client.data_jobs:create { name = "vdb", job_type = "context_grounded_vector_db",
    vector_database_id = "vdb-1" }.id
end

describe("watch against the simulator", function()
  local client
  sim.client_per_test(function(c) client = c end)
  sim.keep_config()

  describe("stop reasons", function()
    it("reached: a good job settles in ready_to_start (real clock, fast sleep)", function()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD }, { "b.docx", "plain words" } })
      local result = watch.wait(client, id, { sleep = fast_sleep, timeout = 30 })
      assert.equal("reached", result.reason)
      assert.is_nil(result.error)
      assert.equal("ready_to_start", result.detail.status)
      assert.equal(id, result.detail.id)
      local first = of_type(result.events, "job_status")[1]
      assert.is_nil(first.from)
      assert.equal("ready_to_start", last_of(result.events, "job_status").to)
      assert.equal(2, #of_type(result.events, "record_added"))
      assert.equal(2, #of_type(result.events, "file_added"))
      assert.is_true(result.elapsed >= 0)
      assert.is_true(result.polls >= 1)
    end)

    it("reached: every record is seen queued, running and completed", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD }, { "b.docx", "plain words" } })
      local opts, sleeps = stepping()
      local result = watch.wait(client, id, opts)
      assert.equal("reached", result.reason)
      assert.same({ ["a.pdf"] = "queued>running>completed", ["b.docx"] = "queued>running>completed" },
        record_paths(result.events))
      local statuses = {}
      for _, e in ipairs(of_type(result.events, "job_status")) do statuses[#statuses + 1] = tostring(e.to) end
      assert.equal("file_processing,ready_to_start", table.concat(statuses, ","))
      assert.equal(#sleeps + 1, result.polls)
      assert.equal(#sleeps + 1, #sim.requests_for(DETAIL))
    end)

    it("needs_review: a broken file fails, with its error and fix on the event", function()
      freeze()
      local id = sim.job_with_files(client, { { "good.pdf", GOOD }, { "broken.pdf", "not a pdf" } })
      local opts = stepping()
      local result = watch.wait(client, id, opts)
      assert.equal("needs_review", result.reason)
      assert.equal("needs_review", result.detail.status)
      local failed
      for _, e in ipairs(of_type(result.events, "record_status")) do
        if e.to == "failed" then failed = e end
      end
      assert.equal("broken.pdf", failed.record.filename)
      assert.equal("running", failed.from)
      assert.equal(CORRUPT, failed.record.error_message)
      assert.equal("Upload a valid, unprotected PDF.", failed.record.suggested_fix)
      assert.is_string(failed.ingestion_job.id)
      local status = last_of(result.events, "job_status")
      assert.equal("file_processing", status.from)
      assert.matches("failed ingestion", status.message)
      -- the job turning needs_review comes after the record failure that caused it
      assert.equal(status, result.events[#result.events])
    end)

    it("failed: an alignment that fails (SIM:ALIGNMENT_FAIL) after /start", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } },
        { system_prompt = "You are a test. SIM:ALIGNMENT_FAIL" })
      advance(60)
      client.data_jobs:start(id)
      local opts = stepping()
      local result = watch.wait(client, id, opts)
      assert.equal("failed", result.reason)
      assert.equal("failed", result.detail.status)
      local aligns = of_type(result.events, "alignment")
      assert.is_nil(aligns[1].from_step)
      assert.is_true(#aligns >= 3)
      assert.equal("failed", aligns[#aligns].alignment_job.status)
      assert.equal("Generating QA pairs", aligns[#aligns].to_step)
      local steps = {}
      for _, a in ipairs(aligns) do
        if a.to_step ~= a.from_step then steps[#steps + 1] = tostring(a.to_step) end
      end
      assert.equal("Preparing documents,Generating QA pairs", table.concat(steps, ","))
      assert.matches("Alignment Failed$", timeline_types(result.events))
      assert.matches("SIM:ALIGNMENT_FAIL", last_of(result.events, "job_status").message)
    end)

    it("cancelled: /cancel while alignment runs", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      advance(60)
      client.data_jobs:start(id)
      local cancelled_at
      local opts = stepping {
        on_event = function(event)
          if event.type == "job_status" and event.to == "running" then
            client.data_jobs:cancel(id)
            cancelled_at = event
          end
        end,
      }
      local result = watch.wait(client, id, opts)
      assert.is_table(cancelled_at)
      assert.equal("cancelled", result.reason)
      local status = last_of(result.events, "job_status")
      assert.equal("running", status.from)
      assert.equal("cancelled", status.to)
      assert.matches("Alignment Cancelled$", timeline_types(result.events))
    end)

    it("timed_out: a frozen job, and the last sleep is clipped to the deadline", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      local opts, sleeps = simulated { timeout = 10, min_interval = 1, backoff = 2, max_interval = 4 }
      local result = watch.wait(client, id, opts)
      assert.equal("timed_out", result.reason)
      assert.same({ 1, 2, 4, 3 }, sleeps) -- 1 + 2 + 4 = 7, so the fourth wait is 3, not 4
      assert.equal(10, result.elapsed)
      assert.equal(5, result.polls) -- one last look at the deadline
      assert.equal("file_processing", result.detail.status)
    end)

    it("timed_out: a small real timeout on a frozen job", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      local result = watch.wait(client, id, { timeout = 0.3, sleep = fast_sleep })
      assert.equal("timed_out", result.reason)
      assert.is_true(result.elapsed >= 0.3 - 1e-3, "gave up before the deadline: " .. result.elapsed)
      assert.equal(1, #of_type(result.events, "job_status"))
    end)

    it("interrupted: should_stop is asked before each poll", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      local asked = 0
      local opts = simulated { should_stop = function()
        asked = asked + 1
        return asked == 3
      end }
      local result = watch.wait(client, id, opts)
      assert.equal("interrupted", result.reason)
      assert.equal(2, result.polls)
      assert.equal(2, #sim.requests_for(DETAIL))
      assert.equal(3, asked)
    end)

    it("interrupted: w:stop() ends the next poll without a request", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      local w = watch.new(client, id, simulated())
      local events, done = w:poll()
      assert.is_false(done)
      assert.is_true(#events > 0)
      assert.is_nil(w:result().reason)
      w:stop()
      assert.equal(0, w:next_delay())
      events, done = w:poll()
      assert.same({}, events)
      assert.is_true(done)
      assert.equal("interrupted", w:result().reason)
      assert.equal(1, #sim.requests_for(DETAIL))
      assert.same({}, (w:feed(w:result().detail))) -- done stays done
      assert.equal(1, w:result().polls)
    end)

    for _, mode in ipairs({ "raise", "return" }) do
      it("error: a 404 raises from watch.wait at once, naming the caller's line (client errors = " .. mode .. ")",
        function()
          local c = sim.client { errors = mode }
          local opts, sleeps = simulated()
          local ok, err = pcall(watch.wait, c, "dj-does-not-exist", opts)
          assert.is_false(ok)
          assert.equal(sim.NOT_FOUND, err.status)
          assert.is_true(seekrflow.errors.is(err, "not_found") or err.status == 422)
          assert.matches("watch_spec%.lua:%d+", err.where)
          assert.matches("^[^ ]*watch_spec%.lua:%d+: seekrflow status error", tostring(err))
          assert.same({}, sleeps)
          assert.equal(1, #sim.requests_for(DETAIL))

          -- errors = "return": the same error as reason "error", without a detail
          opts.errors = "return"
          local result = watch.wait(c, "dj-does-not-exist", opts)
          c:close()
          assert.equal("error", result.reason)
          assert.equal(sim.NOT_FOUND, result.error.status)
          assert.is_nil(result.detail)
          assert.equal(1, result.polls)
          assert.same({}, sleeps)
          assert.equal(0, #of_type(result.events, "poll_error"))
          assert.equal(2, #sim.requests_for(DETAIL))
        end)
    end

    it("error: 401 and an invalid id are not retried either (raised, or returned when asked)", function()
      local bad = sim.client { api_key = "wrong-key" }
      local id = vector_db_job(client)
      local ok, err = pcall(watch.wait, bad, id, simulated())
      assert.is_false(ok)
      assert.equal(401, err.status)
      local opts = simulated()
      opts.errors = "return"
      local result = watch.wait(bad, id, opts)
      bad:close()
      assert.equal("error", result.reason)
      assert.equal(401, result.error.status)
      assert.equal(1, result.polls)
      ok, err = pcall(watch.wait, client, "dj/1", simulated())
      assert.is_false(ok)
      assert.equal("invalid_argument", err.kind)
      opts = simulated()
      opts.errors = "return"
      result = watch.wait(client, "dj/1", opts)
      assert.equal("error", result.reason)
      assert.equal("invalid_argument", result.error.kind)
    end)

    it("error: transient failures past max_poll_errors end with reason error, not a raise", function()
      sim.fault { route = DETAIL, kind = "status", status = 503, times = 10 }
      local opts = simulated()
      opts.max_poll_errors = 1
      local c = sim.client { max_retries = 0 }
      local result = watch.wait(c, "dj-any", opts)
      c:close()
      assert.equal("error", result.reason)
      assert.equal(503, result.error.status)
      assert.equal(2, result.polls)
    end)
  end)

  describe("Ctrl-C", function()
    -- A plain lua script watching a job that never moves, interrupted after 1 s.
    local function interrupted_script(body)
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      freeze()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(([[
io.stdout:setvbuf("no")
local seekrflow = require "seekrflow"
local watch = require "seekrflow.watch"
local client = seekrflow.new { api_key = %q, base_url = %q }
%s
]]):format(sim.api_key, sim.base_url, body:gsub("JOB", id)))
      f:close()
      local lua = os.getenv("SEEKRFLOW_LUA") or "lua5.4"
      local started = seekrflow.monotonic()
      -- --foreground: timeout(1) signals only the script; otherwise it signals the script and
      -- then its whole process group, and a second SIGINT kills the interpreter while it is
      -- still printing "interrupted!"
      local p = assert(io.popen(("timeout --foreground -s INT 1 %s %q 2>&1; echo \"exit=$?\""):format(lua, path)))
      local out = p:read("*a")
      p:close()
      os.remove(path)
      return out, seekrflow.monotonic() - started
    end

    it("stops a blocking watch.wait at once with Lua's own \"interrupted!\"", function()
      local out, took = interrupted_script([[
watch.wait(client, "JOB", { min_interval = 0.2, max_interval = 0.2 })
print("not reached")]])
      assert.matches("interrupted!", out)
      assert.is_nil(out:find("not reached", 1, true))
      assert.is_nil(out:find("exit=0", 1, true))
      assert.is_true(took < 4, "the script ran on after Ctrl-C: " .. took .. " s")
    end)

    it("inside pcall, the caught value is Lua's string, not a seekrflow error", function()
      local out, took = interrupted_script([[
local ok, err = pcall(watch.wait, client, "JOB", { min_interval = 0.2, max_interval = 0.2 })
print("caught", ok, type(err), tostring(err):match("interrupted!") and "interrupted!" or tostring(err))]])
      assert.matches("caught\tfalse\tstring\tinterrupted!", out)
      assert.is_true(took < 4, "the script ran on after Ctrl-C: " .. took .. " s")
    end)
  end)

  describe("polling", function()
    it("backs off while nothing changes, caps at max and snaps back on a change", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      local sleeps
      local opts
      opts, sleeps = simulated({
        min_interval = 1, backoff = 2, max_interval = 5,
        should_stop = function() return #sleeps >= 7 end,
      }, function(_, n)
        if n == 5 then advance(3) end -- a worker picks the file up: queued → running
      end)
      local result = watch.wait(client, id, opts)
      assert.equal("interrupted", result.reason)
      assert.same({ 1, 2, 4, 5, 5, 1, 2 }, sleeps)
      assert.same({ ["a.pdf"] = "queued>running" }, record_paths(result.events))
    end)

    it("waits at least the server's Retry-After when the client gave up on it", function()
      local c = sim.client { retry_after_cap = 5 }
      local id = vector_db_job(c)
      sim.fault { route = DETAIL, kind = "status", status = 429, retry_after = 30, times = 1 }
      local opts, sleeps = simulated()
      local result = watch.wait(c, id, opts)
      c:close()
      assert.equal("reached", result.reason)
      assert.same({ 30 }, sleeps)
      local pe = of_type(result.events, "poll_error")
      assert.equal(1, #pe)
      assert.equal(30, pe[1].delay)
      assert.equal(1, pe[1].attempt)
      assert.equal(429, pe[1].error.status)
      assert.equal(2, result.polls)
      assert.equal(2, #sim.requests_for(DETAIL)) -- the client did not retry by itself
    end)

    it("clips a Retry-After at the deadline", function()
      local c = sim.client { retry_after_cap = 5 }
      local id = vector_db_job(c)
      sim.fault { route = DETAIL, kind = "status", status = 429, retry_after = 30, times = 2 }
      local opts, sleeps = simulated { timeout = 10 }
      local result = watch.wait(c, id, opts)
      c:close()
      assert.equal("timed_out", result.reason)
      assert.same({ 10 }, sleeps)
      assert.equal(10, of_type(result.events, "poll_error")[1].delay)
      assert.equal(429, result.error.status)
    end)

    it("rides out a connection reset mid-watch and still reaches the end", function()
      freeze()
      local c = sim.client { max_retries = 0 }
      local id = sim.job_with_files(c, { { "a.pdf", GOOD } })
      -- Resets for as long as the fault stands: libcurl quietly re-sends once on a reused
      -- connection, so a counted fault would not say how many polls fail.
      local opts = simulated(nil, function(s, n)
        if n == 1 then sim.fault { route = DETAIL, kind = "reset", times = -1 } end
        if n == 3 then assert.equal(200, select(2, sim.control("DELETE", "/_sim/faults"))) end
        advance(s)
      end)
      local result = watch.wait(c, id, opts)
      c:close()
      assert.equal("reached", result.reason)
      assert.is_nil(result.error)
      local pe = of_type(result.events, "poll_error")
      assert.equal(2, #pe)
      assert.equal("connection", pe[1].error.kind)
      assert.same({ 1, 2 }, { pe[1].attempt, pe[2].attempt })
      assert.same({ ["a.pdf"] = "queued>running>completed" }, record_paths(result.events))
    end)

    it("rides out 503s beyond the client's own retries (errors = return)", function()
      freeze()
      local c = sim.client { max_retries = 1, errors = "return" }
      local id = sim.job_with_files(c, { { "a.pdf", GOOD } })
      local opts = simulated(nil, function(s, n)
        if n == 1 then sim.fault { route = DETAIL, kind = "status", status = 503, times = 3 } end
        advance(s)
      end)
      local result = watch.wait(c, id, opts)
      c:close()
      assert.equal("reached", result.reason)
      local pe = of_type(result.events, "poll_error")
      assert.equal(1, #pe) -- two attempts failed in one poll, the next poll's retry got through
      assert.equal(503, pe[1].error.status)
      assert.equal(2, pe[1].error.attempts)
    end)

    it("gives up after max_poll_errors consecutive failures", function()
      local c = sim.client { max_retries = 0 }
      local id = vector_db_job(c)
      sim.fault { route = DETAIL, kind = "status", status = 503, times = -1 }
      local opts, sleeps = simulated { max_poll_errors = 2 }
      local result = watch.wait(c, id, opts)
      c:close()
      assert.equal("error", result.reason)
      assert.equal(503, result.error.status)
      assert.equal(3, result.polls)
      assert.equal(2, #of_type(result.events, "poll_error"))
      assert.same({ 1.5, 2.25 }, sleeps) -- failed polls back off like unchanged ones
      assert.is_nil(result.detail)
    end)

    it("passes retrieve_opts through to the client", function()
      local c = sim.client { max_retries = 0 }
      local id = vector_db_job(c)
      sim.fault { route = DETAIL, kind = "latency", delay_ms = 1500, times = 1 }
      local result = watch.wait(c, id, { retrieve_opts = { timeout = 0.2 }, max_poll_errors = 0,
        sleep = fast_sleep })
      c:close()
      assert.equal("error", result.reason) -- the 0.2 s timeout applied; max_poll_errors 0 ended it
      assert.equal("timeout", result.error.kind)
    end)
  end)

  describe("change events", function()
    it("reports each timeline event exactly once across many polls", function()
      freeze()
      local id = sim.job_with_files(client, { { "a.pdf", GOOD } })
      local opts = stepping {
        until_statuses = { "completed" },
        on_event = function(event)
          if event.type == "job_status" and event.to == "ready_to_start" then client.data_jobs:start(id) end
        end,
      }
      local result = watch.wait(client, id, opts)
      assert.equal("reached", result.reason)
      assert.equal("completed", result.detail.status)
      local timeline = of_type(result.events, "timeline")
      assert.is_true(result.polls > 4 * #timeline, "too few polls to prove anything: " .. result.polls)
      assert.equal(#result.detail.timeline, #timeline)
      for i, e in ipairs(timeline) do assert.equal(result.detail.timeline[i].message, e.event.message) end
      assert.equal("Created,Files Added,File Processing Started,File Processing Completed,"
        .. "Alignment Started,Alignment Completed", timeline_types(result.events))
      local last = last_of(result.events, "alignment")
      assert.equal(100, last.progress)
      assert.equal("completed", last.alignment_job.status)
    end)

    it("follows records through the queue: positions move, then each runs and ends", function()
      freeze()
      sim.config { workers = 1 }
      local id = sim.job_with_files(client, {
        { "a.pdf", GOOD }, { "b.pdf", GOOD }, { "c.pdf", GOOD }, { "broken.pdf", "no" },
      })
      -- max_interval 2: the broken file runs only 5 s before it fails; see that too
      local result = watch.wait(client, id, stepping { max_interval = 2 })
      assert.equal("needs_review", result.reason)
      assert.same({
        ["a.pdf"] = "queued>running>completed", ["b.pdf"] = "queued>running>completed",
        ["c.pdf"] = "queued>running>completed", ["broken.pdf"] = "queued>running>failed",
      }, record_paths(result.events))
      local moves = {}
      for _, e in ipairs(of_type(result.events, "queue_position")) do
        local name = e.record.filename
        moves[name] = (moves[name] or "") .. e.from .. ">" .. e.to .. " "
        assert.equal("queued", e.record.status)
      end
      assert.same({ ["b.pdf"] = "2>1 ", ["c.pdf"] = "3>2 2>1 ", ["broken.pdf"] = "4>3 3>2 2>1 " }, moves)
    end)

    it("reports a removed file and the status it unblocks", function()
      freeze()
      local id, files = sim.job_with_files(client, { { "good.pdf", GOOD }, { "broken.pdf", "no" } })
      advance(120)
      local w = watch.new(client, id, simulated { until_statuses = { "ready_to_start" } })
      local events, done = w:poll()
      assert.is_false(done) -- needs_review is not in until_statuses
      assert.equal(2, #of_type(events, "file_added"))
      client.data_jobs:remove_files(id, { files[2] })
      events, done = w:poll()
      assert.is_true(done)
      assert.equal("reached", w:result().reason)
      local removed = of_type(events, "file_removed")
      assert.equal(1, #removed)
      assert.equal(files[2], removed[1].file.file_id)
      assert.equal("broken.pdf", removed[1].file.name)
      assert.equal(0, #of_type(events, "record_status")) -- the deleted record is not a change
      local status = last_of(events, "job_status")
      assert.same({ "needs_review", "ready_to_start" }, { status.from, status.to })
      assert.matches("Files Removed", timeline_types(events))
    end)

    it("reports the removal of the last file, also when the server leaves out the empty files[]", function()
      freeze()
      local id, files = sim.job_with_files(client, { { "broken.pdf", "no" } })
      advance(120)
      local w = watch.new(client, id, simulated { until_statuses = { "ready_to_start" } })
      local events = w:poll()
      assert.equal(1, #of_type(events, "file_added"))
      client.data_jobs:remove_files(id, { files[1] })
      -- spec-minimal mode sends this detail without a files key at all
      assert.equal(sim.minimal, client.data_jobs:retrieve(id).files == nil)
      events = w:poll()
      local removed = of_type(events, "file_removed")
      assert.equal(1, #removed)
      assert.equal(files[1], removed[1].file.file_id)
      assert.equal("broken.pdf", removed[1].file.name)
    end)
  end)
end)

describe("watch (unit: details fed by hand)", function()
  local client

  before_each(function() client = sim.client() end) -- never called: nothing is polled here
  after_each(function() client:close() end)

  local function record(id, status, extra)
    local r = { record_id = id, filename = id .. ".pdf", status = status }
    for k, v in pairs(extra or {}) do r[k] = v end
    return r
  end

  local function detail(status, fields)
    local d = { id = "dj-1", status = status }
    for k, v in pairs(fields or {}) do d[k] = v end
    return d
  end

  local function fed(opts)
    local t = 0
    opts = opts or {}
    opts.clock = opts.clock or function() return t end
    opts.sleep = opts.sleep or function() error("no sleeping in unit tests") end
    local w = watch.new(client, "dj-1", opts)
    return w, function(s) t = t + s end
  end

  local function types(events)
    local out = {}
    for i, e in ipairs(events) do out[i] = e.type end
    return table.concat(out, ",")
  end

  it("reports the whole initial state on the first poll, then only changes", function()
    local w = fed()
    local d = detail("file_processing", {
      files = { { file_id = "f1", name = "a.pdf" }, seekrflow.null, { file_id = "f2", name = "b.pdf" } },
      ingestion_jobs = { { id = "ij-1", records = {
        record("r1", "running"), record("r0", "failed", { deleted = true }),
        record("r2", "queued", { queue_position = 1 }),
      } } },
      timeline = { { timestamp = "t1", event_type = "Created", message = "Data job created." } },
    })
    local events, done = w:feed(d)
    assert.is_false(done)
    assert.equal("file_added,file_added,record_added,record_added,timeline,job_status", types(events))
    assert.is_nil(events[6].from)
    assert.equal("file_processing", events[6].to)
    assert.equal("ij-1", events[3].ingestion_job.id)
    for _, e in ipairs(events) do assert.equal(0, e.time) end
    events, done = w:feed(d)
    assert.same({}, events)
    assert.is_false(done)
    assert.equal(6, #w:result().events)
    assert.equal(2, w:result().polls)
  end)

  it("reads details whatever their field names (records, each_file, failed_records, each_event)", function()
    local w = fed()
    local d = detail("file_processing", {
      records = "x", each_file = 1, failed_records = true, each_event = {}, current_record = "y",
      files = { { file_id = "f1", name = "a.pdf" } },
      ingestion_jobs = { { id = "ij-1", records = { record("r1", "running") } } },
      timeline = { { timestamp = "t1", event_type = "Created", message = "Data job created." } },
    })
    local events = w:feed(d)
    assert.equal("file_added,record_added,timeline,job_status", types(events))
    local core = require "seekrflow.core"
    events = w:feed(core.json_decode(core.json_encode(d), "data_job"))
    assert.same({}, events)
  end)

  it("tolerates missing arrays and null entries", function()
    local w = fed()
    local events = w:feed(detail("needs_review", { ingestion_jobs = { { id = "ij" }, seekrflow.null },
      timeline = { seekrflow.null } }))
    assert.equal("job_status", types(events))
    assert.equal("needs_review", w:result().reason)
  end)

  it("reports each timeline event once, duplicates and unknown types included", function()
    local w = fed { until_statuses = { "completed" } }
    local created = { timestamp = "t1", event_type = "Created", message = "Data job created." }
    local odd = { timestamp = "t2", event_type = "Something New", message = "?" }
    local tl = { created, created, odd }
    local events = w:feed(detail("running", { timeline = tl }))
    assert.equal(2, #of_type(events, "timeline"))
    tl = { created, odd, { timestamp = "t2", event_type = "Something New", message = "!" }, created }
    events = w:feed(detail("running", { timeline = tl }))
    assert.equal("timeline", types(events))
    assert.equal("!", events[1].event.message)
    assert.same({}, (w:feed(detail("running", { timeline = tl }))))
  end)

  it("reports queue moves, status changes and a file's removal", function()
    local w = fed()
    local function d(r1, r2, files)
      return detail("file_processing", { files = files, ingestion_jobs = { { id = "ij", records = { r1, r2 } } } })
    end
    local both = { { file_id = "f1" }, { file_id = "f2" } }
    w:feed(d(record("r1", "queued", { queue_position = 1 }), record("r2", "queued", { queue_position = 2 }), both))
    local events = w:feed(d(record("r1", "running"), record("r2", "queued", { queue_position = 1 }), both))
    assert.equal("record_status,queue_position", types(events))
    assert.same({ "queued", "running" }, { events[1].from, events[1].to })
    assert.same({ 2, 1 }, { events[2].from, events[2].to })
    events = w:feed(d(record("r1", "failed", { error_message = "bad" }), record("r2", "queued", { queue_position = 1 }),
      { { file_id = "f2" } }))
    assert.equal("file_removed,record_status", types(events))
    assert.equal("f1", events[1].file.file_id)
    assert.equal("bad", events[2].record.error_message)
    -- the same job with nothing else changed: no event
    assert.same({}, (w:feed(d(record("r1", "failed"), record("r2", "queued", { queue_position = 1 }),
      { { file_id = "f2" } }))))
  end)

  it("reads a detail without files[] as no files attached: the last file's removal is reported", function()
    -- A spec-minimal server leaves out an empty files[] (the API marks no array of the detail
    -- required); seekrflow.detail reads that as no files attached, and so does the watcher.
    local core = require "seekrflow.core"
    local function job(files)
      return core.json_decode('{"id":"dj-1","status":"file_processing"' .. (files and ',"files":' .. files or "")
        .. "}", "data_job")
    end
    local w = fed()
    local events = w:feed(job('[{"file_id":"f1","name":"a.pdf"},{"file_id":"f2","name":"b.pdf"}]'))
    assert.equal("file_added,file_added,job_status", types(events))
    events = w:feed(job())
    assert.equal("file_removed,file_removed", types(events))
    assert.same({ "f1", "f2" }, { events[1].file.file_id, events[2].file.file_id })
    assert.same({}, (w:feed(job())))
    -- files null or not a list reads the same; a file added back is reported again
    assert.equal("file_added", types((w:feed(job('[{"file_id":"f1"}]')))))
    for _, files in ipairs({ "null", '"x"', "7", "{}" }) do
      assert.equal("file_removed", types((w:feed(job(files)))), files)
      w:feed(job('[{"file_id":"f1"}]'))
    end
  end)

  it("reports alignment changes of status, step and progress", function()
    local w = fed()
    local function d(status, step, progress)
      return detail(status, { alignment_job = { id = "al-1", status = status, current_step = step, progress = progress,
        eta_minutes = progress } })
    end
    local events = w:feed(d("queued", nil, 0))
    assert.equal("alignment,job_status", types(events))
    assert.is_nil(events[1].from_step)
    events = w:feed(d("running", "Preparing documents", 0))
    assert.same({ nil, "Preparing documents", 0 }, { events[1].from_step, events[1].to_step, events[1].progress })
    assert.equal("alignment,job_status", types(events))
    assert.equal("alignment", types((w:feed(d("running", "Preparing documents", 5)))))
    assert.same({}, (w:feed(d("running", "Preparing documents", 5))))
    events = w:feed(d("completed", "Writing output files", 100))
    assert.equal("alignment,job_status", types(events))
    assert.equal("reached", w:result().reason)
  end)

  it("stops at until_statuses, and at terminal statuses even when not asked", function()
    local w = fed { until_statuses = { "running" } }
    assert.is_false(select(2, w:feed(detail("queued"))))
    assert.is_true(select(2, w:feed(detail("running"))))
    assert.equal("reached", w:result().reason)
    w = fed { until_statuses = { "completed" } }
    assert.is_false(select(2, w:feed(detail("needs_review"))))
    assert.is_true(select(2, w:feed(detail("stopped"))))
    assert.equal("failed", w:result().reason)
    for status, reason in pairs { ready_to_start = "reached", needs_review = "needs_review", completed = "reached",
      failed = "failed", cancelled = "cancelled" } do
      w = fed()
      w:feed(detail(status))
      assert.equal(reason, w:result().reason)
    end
  end)

  it("exports the statuses and reasons the CLI needs", function()
    assert.same({ "ready_to_start", "needs_review", "completed", "failed", "cancelled", "stopped" },
      watch.DEFAULT_UNTIL)
    assert.same({ "completed", "failed", "cancelled", "stopped" }, watch.TERMINAL_STATUSES)
    assert.equal("reached", watch.reason_for("ready_to_start"))
    assert.equal("failed", watch.reason_for("stopped"))
    assert.equal("needs_review", watch.reason_for("needs_review"))
    assert.is_nil(watch.reason_for("file_processing"))
    assert.is_nil(watch.reason_for(nil))
  end)

  it("grows the interval by backoff up to max_interval, and back to min on a change", function()
    local w, pass = fed()
    assert.equal(0, w:next_delay()) -- nothing fetched yet: poll now
    local quiet = detail("file_processing")
    local delays = {}
    for _ = 1, 8 do
      w:feed(quiet)
      delays[#delays + 1] = w:next_delay()
      pass(delays[#delays])
    end
    assert.same({ 1, 1.5, 2.25, 3.375, 5.0625, 7.59375, 10, 10 }, delays)
    w:feed(detail("file_processing", { timeline = { { timestamp = "t", event_type = "X", message = "m" } } }))
    assert.equal(1, w:next_delay())
  end)

  it("lets Retry-After outrank the backoff, but not the deadline", function()
    local w, pass = fed { timeout = 20 }
    local limited = seekrflow.errors.new("status", "slow down", { status = 429, retry_after = 12 })
    local events, done = w:feed(nil, limited)
    assert.is_false(done)
    assert.same({ "poll_error", 12, 1 }, { events[1].type, events[1].delay, events[1].attempt })
    assert.equal(12, w:next_delay())
    pass(12)
    events = w:feed(nil, limited)
    assert.equal(8, events[1].delay)
    assert.equal(8, w:next_delay())
    pass(8)
    assert.is_true(select(2, w:feed(nil, limited)))
    local result = w:result()
    assert.equal("timed_out", result.reason)
    assert.equal(limited, result.error)
    assert.equal(20, result.elapsed)
  end)

  it("treats a fed error by its kind: retryable, fatal, or a cancelled request", function()
    local w = fed()
    assert.is_false(select(2, w:feed(nil, seekrflow.errors.new("timeout", "slow"))))
    assert.is_false(select(2, w:feed(nil, seekrflow.errors.new("status", "bad gateway", { status = 502 }))))
    assert.is_true(select(2, w:feed(nil, seekrflow.errors.new("decode", "garbage"))))
    assert.equal("error", w:result().reason)
    w = fed()
    assert.is_true(select(2, w:feed(nil, "a plain string error")))
    assert.equal("a plain string error", w:result().error)
    w = fed()
    assert.is_true(select(2, w:feed(nil, seekrflow.errors.new("cancelled", "client closed"))))
    assert.equal("interrupted", w:result().reason)
  end)

  it("times out on a deadline of 0 after one look", function()
    local w = fed { timeout = 0 }
    local events, done = w:feed(detail("file_processing"))
    assert.is_true(done)
    assert.equal("job_status", types(events))
    assert.equal("timed_out", w:result().reason)
  end)

  it("lets errors in on_event propagate, after the poll is recorded", function()
    local w = fed { on_event = function(e) if e.type == "job_status" then error("boom") end end }
    local ok, err = pcall(w.feed, w, detail("needs_review"))
    assert.is_false(ok)
    assert.matches("boom", err)
    assert.equal("needs_review", w:result().reason)
  end)

  it("checks should_stop on feed too", function()
    local w = fed { should_stop = function() return true end }
    assert.same({}, (w:feed(detail("running"))))
    assert.equal("interrupted", w:result().reason)
    assert.equal(0, w:result().polls)
  end)

  describe("arguments", function()
    local function invalid(fn, pattern)
      local ok, err = pcall(fn)
      assert.is_false(ok, "expected an error")
      assert.equal("invalid_argument", err.kind, tostring(err))
      if pattern then assert.matches(pattern, err.message) end
    end

    it("rejects unknown option names, naming them", function()
      invalid(function() watch.new(client, "dj-1", { timout = 5 }) end, "timout.*timeout")
      invalid(function() watch.wait(client, "dj-1", { interval = 5 }) end, "interval")
    end)

    it("checks every option's type and range", function()
      local bad = {
        { until_statuses = {} }, { until_statuses = "completed" }, { until_statuses = { "complete" } },
        { until_statuses = { "completed", x = 1 } }, { timeout = -1 }, { timeout = "5" }, { timeout = 0 / 0 },
        { min_interval = 0 }, { max_interval = -1 }, { min_interval = 5, max_interval = 2 }, { backoff = 0.5 },
        { max_interval = math.huge }, { on_event = "print" }, { sleep = 1 }, { clock = {} }, { should_stop = true },
        { max_poll_errors = -1 }, { max_poll_errors = 1.5 }, { retrieve_opts = 5 },
      }
      for _, opts in ipairs(bad) do invalid(function() watch.new(client, "dj-1", opts) end) end
      invalid(function() watch.new(client, "dj-1", "fast") end)
      local callable = setmetatable({}, { __call = function() return 0 end })
      local w = watch.new(client, "dj-1", { min_interval = 30, clock = callable, sleep = callable,
        until_statuses = { "running" }, timeout = 0, max_poll_errors = 0, retrieve_opts = { timeout = 1 } })
      assert.equal(0, w:next_delay())
    end)

    it("checks the client and the job id, and colon and dot mistakes", function()
      invalid(function() watch.new(nil, "dj-1") end, "client")
      invalid(function() watch.new({}, "dj-1") end, "client")
      invalid(function() watch.new(client, "") end, "job_id")
      invalid(function() watch.new(client, 42) end, "job_id")
      invalid(function() watch:wait(client, "dj-1") end, "dot")
      local w = watch.new(client, "dj-1")
      invalid(function() w.poll() end, "colon")
      invalid(function() w.result() end, "colon")
      invalid(function() w:feed() end, "error")
      invalid(function() w:feed("detail") end, "table")
    end)
  end)
end)
