--- seekrflow.watch_many: follow many data jobs at once, in one loop, on one client.
---
---     local watch = require "seekrflow.watch"
---     local result = watch.many(client, { "dj-1", "dj-2" }, { on_event = print_event })
---     local result = watch.many(client, { all = true, job_type = "principle_files" })
---     for _, id in ipairs(result.order) do print(id, result.jobs[id].reason) end
---
--- Each job has its own seekrflow.watch watcher (its own adaptive interval, Retry-After,
--- deadline and events); this module only decides which job is polled when. Polls of
--- different jobs run concurrently as async requests of the one client (a bounded number in
--- flight, so libcurl reuses that many kept-alive connections). A 429 on any request slows
--- every job down: nothing is sent before its Retry-After, and every interval is stretched
--- until polls succeed again.
---
--- Three ways to run the same loop:
--- - `watch.many(client, targets, opts)` blocks until every job is done (or the deadline,
---   or should_stop);
--- - `watch_many.new(client, targets, opts)` returns a loop a host drives with `m:step()`,
---   which never blocks and says how long the host may wait before the next step;
--- - `watch_many.luv(driver, targets, opts, on_done)` runs it on a seekrflow.luv driver
---   (Neovim, any libuv loop): requests go through the driver's sockets and timers.
---
--- Events are the single-job events of seekrflow.watch with a `job_id` field, plus
--- `job_added` (`job`: the list entry when found by `all`; `round`) and `job_done` (`reason`,
--- `result`: that job's watch result; `round`). A job is watched in rounds, each with exactly
--- one of each, `job_added` first: the first round from when it is added; with `all`, a job
--- whose round ended at a status of its own (reached, needs review, failed, cancelled) and
--- that the job list then shows being worked on again (files ingesting after files were
--- added, alignment queued or running; not merely at another resting status such as
--- ready_to_start) is watched again in a new round (`job_added` with `again = true` and
--- `previous_reason`), whose events tell only what changed since the last round; at most
--- watch_many.MAX_ROUNDS rounds a job.
local watch = require "seekrflow.watch"
local options = require "seekrflow.options"

local watch_many = {}

local floor, huge = math.floor, math.huge

--- The default number of requests in flight.
watch_many.DEFAULT_CONCURRENCY = 4
--- The most requests in flight: a client keeps this many connections alive (its libcurl
--- pool), so even at this concurrency every poll reuses one.
watch_many.MAX_CONCURRENCY = 8
--- Jobs per list page when discovering jobs (`all = true`): the API's largest page.
watch_many.LIST_PAGE = 100
--- Rounds a job is watched in at most, per loop (`all = true`): a job that keeps moving
--- again after each round, or a list that keeps saying so, cannot keep a loop going forever.
watch_many.MAX_ROUNDS = 50

-- Longest stretch a run of 429s puts on every interval.
local MAX_SLOW = 16

local function errors() return require "seekrflow.errors" end

local function raise(message)
  error(errors().new("invalid_argument", "watch.many: " .. message), 0)
end

-- ------------------------------------------------------------------------------------------
-- options
-- ------------------------------------------------------------------------------------------

---@class seekrflow.WatchManyOptions
---@field concurrency integer? requests in flight at most, 1-8; default 4
---@field timeout number? seconds before the whole watch gives up (every unfinished job "timed_out")
---@field job_timeout number? seconds each job is watched at most (that job "timed_out", the others go on)
---@field on_event fun(event: seekrflow.WatchManyEvent, detail: table?)? every event, each with `job_id`
---@field should_stop fun(): boolean? checked at every step; true ends every job with "interrupted"
---@field sleep fun(seconds: number)? how watch.many waits when nothing is in flight
---@field clock fun(): number? seconds, for intervals, deadlines and event times
---@field discover_interval number? `all`: seconds between looks at the job list; default 5
---@field max_jobs integer? `all`: jobs watched at most (more are counted in result.skipped); default 500;
--- a job watched again keeps its place
---@field follow boolean? `all`: keep looking for new jobs, and jobs moving again, after every job is
--- done (until timeout or stop)
---@field until_statuses string[]? as in seekrflow.watch, for every job
---@field min_interval number? as in seekrflow.watch, for every job
---@field max_interval number? as in seekrflow.watch, for every job
---@field backoff number? as in seekrflow.watch, for every job
---@field max_poll_errors integer? as in seekrflow.watch, for every job
---@field retrieve_opts table? per-call options for the polls; default { max_retries = 0 }: a failed
--- poll is the loop's to schedule, so a request never holds a slot while it waits out a retry

-- Options handed on to each job's watcher, which checks them.
local PER_JOB = { "until_statuses", "min_interval", "max_interval", "backoff", "max_poll_errors", "clock" }

local function passed_on() return nil end -- checked by watch.new, with its own wording

local CHECKS = {
  concurrency = options.integer(1, watch_many.MAX_CONCURRENCY),
  timeout = options.number_at_least(0, false),
  job_timeout = options.number_at_least(0, false),
  discover_interval = options.number_at_least(0, false),
  max_jobs = options.integer(1),
  follow = "boolean",
  on_event = options.callable,
  should_stop = options.callable,
  sleep = options.callable,
  retrieve_opts = "table",
}
for _, name in ipairs(PER_JOB) do CHECKS[name] = passed_on end

local function resolve(client, opts)
  local problem = options.problem(opts, CHECKS)
  if problem then raise(problem) end
  opts = opts or {}
  local per_job = {}
  for _, name in ipairs(PER_JOB) do per_job[name] = opts[name] end
  per_job.timeout = opts.job_timeout
  -- a bad per-job option fails now, not when the first job turns up
  watch.new(client, "job-options-check", per_job)
  local retrieve_opts = { max_retries = 0 }
  for k, v in pairs(opts.retrieve_opts or {}) do retrieve_opts[k] = v end
  retrieve_opts.async = true
  return {
    per_job = per_job,
    concurrency = opts.concurrency or watch_many.DEFAULT_CONCURRENCY,
    timeout = opts.timeout,
    on_event = opts.on_event or function() end,
    should_stop = opts.should_stop or function() return false end,
    sleep = opts.sleep or require("seekrflow").sleep,
    clock = opts.clock or require("seekrflow").monotonic,
    discover_interval = opts.discover_interval or 5,
    max_jobs = opts.max_jobs or 500,
    follow = opts.follow or false,
    retrieve_opts = retrieve_opts,
    min_interval = opts.min_interval or 1,
    until_statuses = opts.until_statuses or watch.DEFAULT_UNTIL,
  }
end

-- Seconds since the epoch of an ISO-8601 timestamp (with Z or an offset), or nil.
local function epoch_seconds(iso)
  if type(iso) ~= "string" then return nil end
  local y, mo, d, h, mi, s, zone = iso:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):([%d%.]+)(.*)$")
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((mo + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy - 719468
  local t = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + (tonumber(s) or 0)
  local sign, oh, om = zone:match("^([+-])(%d%d):?(%d%d)$")
  if sign then
    local offset = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - offset or t + offset
  elseif zone ~= "" and zone ~= "Z" and zone ~= "z" then
    return nil
  end
  return t
end
watch_many.epoch_seconds = epoch_seconds

local function check_targets(targets)
  if type(targets) ~= "table" then
    raise("targets must be a list of job ids or { all = true, job_type = …, since = … }, got "
      .. type(targets))
  end
  if targets.all ~= nil then
    if targets.all ~= true then raise("targets.all must be true") end
    for k in pairs(targets) do
      if k ~= "all" and k ~= "job_type" and k ~= "since" then
        raise("targets: " .. options.unknown(k, { "all", "job_type", "since" }, "target field"))
      end
    end
    if targets.job_type ~= nil and type(targets.job_type) ~= "string" then
      raise("targets.job_type must be a string")
    end
    local since = targets.since
    if since ~= nil then
      if type(since) == "string" then
        since = epoch_seconds(since)
        if not since then raise("targets.since must be an ISO-8601 time such as 2025-11-14T07:35:21Z") end
      elseif type(since) ~= "number" or since ~= since then
        raise("targets.since must be seconds since the epoch or an ISO-8601 time")
      end
    end
    return { all = true, job_type = targets.job_type, since = since }
  end
  local ids, seen = {}, {}
  local n = 0
  for _ in pairs(targets) do n = n + 1 end
  if n == 0 or n ~= #targets then raise("targets must be a non-empty list of job ids, or { all = true }") end
  for i, id in ipairs(targets) do
    if type(id) ~= "string" or id == "" then
      raise("targets[" .. i .. "] must be a non-empty job id string, got " .. tostring(id))
    end
    -- the same id twice is one job: its events must come once
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
  return { ids = ids }
end

local function check_client(client)
  if client == watch_many or client == watch then
    raise("call watch.many with a dot, not a colon")
  end
  local t = type(client)
  local ok, data_jobs = false, nil
  if t == "table" or t == "userdata" then ok, data_jobs = pcall(function() return client.data_jobs end) end
  if not ok or (type(data_jobs) ~= "table" and type(data_jobs) ~= "userdata") then
    raise("client must be a seekrflow client (seekrflow.new { … }), got " .. t)
  end
end

-- ------------------------------------------------------------------------------------------
-- the loop
-- ------------------------------------------------------------------------------------------

---@class seekrflow.WatchManyResult
---@field reason "done"|"timed_out"|"interrupted"|"error"|nil nil while watching; "done": every job
--- ended; "error": `all` could not read the job list (see `error`)
---@field error any? `all`: the last error reading the job list
---@field jobs table<string, seekrflow.WatchManyJobResult> each job's result: of its last round
---@field order string[] job ids in the order they were first added (each once)
---@field counts table<string, integer> jobs per reason of their last round (a job watched
--- again counts once its new round ended)
---@field skipped integer `all`: moving jobs not watched because of max_jobs (each counted once)
---@field restarts integer `all`: rounds begun again, by jobs that moved after their round ended
--- (at most watch_many.MAX_ROUNDS - 1 per job)
---@field requests integer requests sent (polls and list pages)
---@field max_in_flight integer most requests in flight at once
---@field elapsed number seconds since the loop was created

---@class seekrflow.WatchManyEvent: seekrflow.WatchEvent
---@field type seekrflow.WatchEventType|"job_added"|"job_done"
---@field job_id string the job the event is about
---@field round integer? job_added, job_done: the job's round (1, then 2 and up when watched again)
---@field job table? job_added: the list entry the job was found by (`all`)
---@field again true? job_added: a round after the first (the job moved again after it ended)
---@field previous_reason string? job_added with `again`: how the round before ended
---@field reason string? job_done: how the round ended
---@field result seekrflow.WatchManyJobResult? job_done: the round's result

---@class seekrflow.WatchManyJobResult: seekrflow.WatchResult
---@field job_id string
---@field round integer 1, then one more each time the job is watched again
---@field previous seekrflow.WatchManyJobResult? the round before (without its own `previous`)

---@class seekrflow.WatchMany
local Many, check_self = require("seekrflow.class").new("m", "a loop from watch_many.new", raise)

-- Whether a job with this status is still moving (the same rule that ends a watcher).
local function moving(self, status)
  if status == nil then return true end
  if self.until_set[status] then return false end
  for _, s in ipairs(watch.TERMINAL_STATUSES) do
    if s == status then return false end
  end
  return true
end

local function emit(self, event, detail)
  self.step_events[#self.step_events + 1] = event
  self.o.on_event(event, detail)
end

-- A round of a job: from its job_added (now) to its job_done.
local function start_round(self, job, list_entry, now)
  job.due, job.in_flight, job.done, job.added_at, job.ended_at, job.last_error = now, false, false, now, nil, nil
  if list_entry and type(list_entry.status) == "string" then job.status = list_entry.status end
  self.active = self.active + 1
  local previous = job.previous
  emit(self, { type = "job_added", job_id = job.id, job = list_entry, time = now, round = job.round,
    again = previous and true or nil, previous_reason = previous and previous.reason })
end

local function add_job(self, id, list_entry, now)
  local job = {
    id = id, watcher = watch.new(self.client, id, self.o.per_job), round = 1,
    name = list_entry and type(list_entry.name) == "string" and list_entry.name or nil,
  }
  self.jobs[id] = job
  self.order[#self.order + 1] = id
  start_round(self, job, list_entry, now)
end

-- The reasons a job's own status gave: after one of these a job may move again (the user
-- fixed it, added files, started alignment). A round that ended at its deadline or on
-- errors is final: watching it again would only repeat that.
local AGAIN_AFTER = { reached = true, needs_review = true, failed = true, cancelled = true }

-- Whether a list entry (on the page sent as number `sent`) shows an ended job moving again:
-- on a page asked for after the round ended, a status at which the job is being worked on
-- (watch.in_progress: a resting one such as ready_to_start may never reach the round's
-- until_statuses), other than the one the round ended at, and newer than the detail the
-- round ended with when both tell their updated_at (a list that lags behind the detail is
-- no new round). At most MAX_ROUNDS rounds: a list that keeps lagging without updated_at
-- cannot start rounds forever.
local function moved_again(self, job, entry, sent)
  if not job.done or job.ended_serial > sent or not watch.in_progress(entry.status) then return false end
  if job.round >= watch_many.MAX_ROUNDS then return false end
  local ended = self.results[job.id]
  if not AGAIN_AFTER[ended.reason] then return false end
  local detail = type(ended.detail) == "table" and ended.detail or {}
  if entry.status == detail.status then return false end
  local listed, last = epoch_seconds(entry.updated_at), epoch_seconds(detail.updated_at)
  return not (listed and last and listed <= last)
end

-- The job moved again: a new round, its watcher going on from what the last one saw. The
-- last round's result stays as the new one's `previous` (only the one before, so a job that
-- keeps flapping holds two rounds, not all of them); counts lose its reason until this
-- round ends.
local function watch_again(self, job, entry, now)
  local ended = self.results[job.id]
  self.results[job.id] = nil
  self.counts[ended.reason] = self.counts[ended.reason] - 1
  if self.counts[ended.reason] == 0 then self.counts[ended.reason] = nil end
  local previous = {}
  for k, v in pairs(ended) do previous[k] = v end
  previous.previous = nil
  job.previous = previous
  job.round = job.round + 1
  job.watcher = job.watcher:again()
  self.restarts = self.restarts + 1
  start_round(self, job, entry, now)
end

local function end_job(self, job, result, now)
  job.done = true
  job.ended_at = now
  self.serial = self.serial + 1
  job.ended_serial = self.serial
  self.active = self.active - 1
  result.job_id = job.id
  result.round = job.round
  result.previous = job.previous
  self.results[job.id] = result
  self.counts[result.reason] = (self.counts[result.reason] or 0) + 1
  emit(self, { type = "job_done", job_id = job.id, reason = result.reason, result = result, time = now,
    round = job.round }, result.detail)
  local d = self.discovery
  if d and self.active == 0 and not self.reason then
    -- Every job found so far is done. The loop ends after one more look at the list that
    -- starts from now on (a round already under way may have missed a job just created),
    -- a look at the whole list: a job anywhere in it may have moved again.
    self.need_round = d.rounds + ((d.in_flight or d.offset > 0) and 2 or 1)
    d.whole_next = true
    if not d.in_flight and d.offset == 0 then d.due = math.min(d.due, now) end
  end
end

local function is_rate_limited(err)
  return type(err) == "table" and tonumber(err.status) == 429
end

-- A 429 tells about the whole client, not one job: every poll waits out its Retry-After,
-- and intervals stay stretched until polls succeed again.
local function slow_down(self, err, now)
  self.slow = math.min(self.slow * 2, MAX_SLOW)
  local wait = tonumber(err.retry_after) or 0
  wait = math.max(wait, self.o.min_interval * self.slow)
  if now + wait > self.throttle_until then self.throttle_until = now + wait end
end

local function on_poll(self, job, detail, err)
  job.in_flight = false
  if job.done then return end
  local now = self.o.clock()
  if detail ~= nil then
    self.slow = math.max(1, self.slow * 0.9)
  elseif is_rate_limited(err) then
    slow_down(self, err, now)
  end
  job.last_error = detail == nil and err or nil
  local events, done = job.watcher:feed(detail, err)
  local latest = job.watcher:result().detail
  if latest and type(latest.name) == "string" then job.name = latest.name end
  for _, event in ipairs(events) do
    event.job_id = job.id
    emit(self, event, latest)
  end
  if done then
    end_job(self, job, job.watcher:result(), now)
  elseif detail ~= nil then
    local left = job.watcher:next_delay()
    -- stretched after a 429, but never past the job's own deadline
    local deadline = self.o.per_job.timeout and (job.added_at + self.o.per_job.timeout - now) or huge
    job.due = now + math.min(left * self.slow, math.max(left, deadline))
  else
    -- the watcher's delay already holds the server's Retry-After
    job.due = now + job.watcher:next_delay()
  end
end

-- One entry of the job list: watches it when it moves and is not watched (a job not seen
-- moving before, or one that moved again after its round ended). Returns whether the id is
-- new to the loop, and whether it is older than `since`.
local function look_at(self, entry, now)
  local created = epoch_seconds(entry.created_at)
  if self.since and created and created < self.since then return false, true end
  local id = entry.id
  local fresh = not self.known[id]
  self.known[id] = true
  if not moving(self, entry.status) then return fresh, false end
  local job = self.jobs[id]
  if job then
    if moved_again(self, job, entry, self.discovery.sent_serial) then watch_again(self, job, entry, now) end
  elseif #self.order < self.o.max_jobs then
    add_job(self, id, entry, now)
  elseif not self.skipped_ids[id] then
    -- counted once, however many looks see it moving
    self.skipped_ids[id] = true
    self.skipped = self.skipped + 1
  end
  return fresh, false
end

-- One page of the job list (targets.all).
local function on_page(self, page, err)
  local d = self.discovery
  d.in_flight = false
  if self.reason then return end
  local now = self.o.clock()
  if page == nil then
    if is_rate_limited(err) then slow_down(self, err, now) end
    d.errors = d.errors + 1
    d.last_error = err
    -- the list is how `all` finds its jobs: keep trying, ever more slowly
    d.due = now + math.min(self.o.discover_interval * 2 ^ math.min(d.errors, 6), 300)
    d.offset, d.pages = 0, 0
    if d.whole then d.whole_next = true end -- the look begins again, as whole as it was
    -- a 401, 403 or a refused argument will not change: say so at once; the first round
    -- gives up after max_poll_errors, a later one only when no job is left (check_end)
    if not watch.is_retryable(err) or (d.first_round and d.errors > (self.o.per_job.max_poll_errors or 5)) then
      d.failed = true
    end
    return
  end
  d.errors = 0
  local data = type(page) == "table" and page.data or nil
  if type(data) ~= "table" then data = {} end
  local fresh, older = false, false
  for _, entry in ipairs(data) do
    if type(entry) == "table" and type(entry.id) == "string" and entry.id ~= "" then
      local new_id, old = look_at(self, entry, now)
      fresh, older = fresh or new_id, older or old
    end
  end
  d.pages = d.pages + 1
  -- Pages are newest first. A whole look reads until the list (or `since`, or max_pages)
  -- ends; the others only until a page brings nothing new: new jobs come in at the top.
  local more = #data >= watch_many.LIST_PAGE and not older and (d.whole or fresh)
    and d.pages < d.max_pages
  if more then
    d.offset = d.offset + #data
    d.due = now
  else
    -- A job anywhere in the list may move again, so every so many looks is a whole one:
    -- as many looks as the last whole one read pages, about two pages a look on average.
    if d.whole then d.whole_in = d.pages - 1 else d.whole_in = d.whole_in - 1 end
    d.first_round = false
    d.offset, d.pages = 0, 0
    d.due = now + self.o.discover_interval * self.slow
    d.rounds = d.rounds + 1
  end
end

local function finish(self, reason, now)
  self.reason = reason
  self.finished_at = now
  self.io:cancel_all()
  for _, id in ipairs(self.order) do
    local job = self.jobs[id]
    if not job.done then
      local result = job.watcher:result()
      result.reason = reason
      end_job(self, job, result, now)
    end
  end
end

local function launch(self, request, deliver)
  self.requests = self.requests + 1
  self.in_flight = self.in_flight + 1
  if self.in_flight > self.max_in_flight then self.max_in_flight = self.in_flight end
  self.io:launch(request, function(value, err)
    self.in_flight = self.in_flight - 1
    deliver(value, err)
  end)
end

-- Makes an async request; a method that refuses its arguments gives its error instead.
local function make_request(fn, ...)
  local ok, request, err = pcall(fn, ...)
  if not ok then
    if not errors().is_error(request) then error(request, 0) end
    return nil, request
  end
  if request == nil then return nil, err end
  return request
end

local function start_poll(self, job)
  job.in_flight = true
  local data_jobs = self.client.data_jobs
  local request, err = make_request(data_jobs.retrieve, data_jobs, job.id, self.o.retrieve_opts)
  if not request then return on_poll(self, job, nil, err) end
  launch(self, request, function(detail, e) on_poll(self, job, detail, e) end)
end

local function start_page(self)
  local d = self.discovery
  d.in_flight = true
  if d.offset == 0 then
    d.whole = d.whole_next or d.whole_in <= 0 -- whole_in starts at 0: the first look is whole
    d.whole_next = false
  end
  self.serial = self.serial + 1
  d.sent_serial = self.serial
  local data_jobs = self.client.data_jobs
  local request, err = make_request(data_jobs.list, data_jobs, {
    job_type = self.job_type, sort_by = "created_at", sort_order = "desc",
    limit = watch_many.LIST_PAGE, offset = d.offset,
  }, self.o.retrieve_opts)
  if not request then return on_page(self, nil, err) end
  launch(self, request, function(page, e) on_page(self, page, e) end)
end

-- The job due soonest that is not in flight (ties: the one added first).
local function next_due_job(self)
  local best
  for _, id in ipairs(self.order) do
    local job = self.jobs[id]
    if not job.done and not job.in_flight and (best == nil or job.due < best.due) then best = job end
  end
  return best
end

-- Starts what is due, within the concurrency bound; returns the seconds until the next
-- thing falls due (huge when nothing will without an answer first).
local function schedule(self, now)
  local d = self.discovery
  local gate = self.throttle_until
  while self.in_flight < self.o.concurrency and not self.reason do
    local job = next_due_job(self)
    local job_at = job and math.max(job.due, gate) or huge
    local page_at = (d and not d.in_flight and not d.failed) and math.max(d.due, gate) or huge
    if page_at <= now and page_at <= job_at then
      start_page(self)
    elseif job_at <= now then
      start_poll(self, job)
    else
      return math.min(job_at, page_at) - now
    end
  end
  return huge
end

local function check_end(self, now)
  if self.reason then return true end
  if self.stopping or self.o.should_stop() then
    finish(self, "interrupted", now)
  elseif self.deadline and now >= self.deadline then
    finish(self, "timed_out", now)
  elseif self.discovery and self.discovery.failed then
    finish(self, "error", now)
  elseif self.active == 0 and self.discovery == nil then
    finish(self, "done", now)
  elseif self.active == 0 and not self.o.follow and self.discovery.rounds >= self.need_round then
    finish(self, "done", now)
  elseif self.active == 0 and not self.o.follow
      and self.discovery.errors > (self.o.per_job.max_poll_errors or 5) then
    -- every job is done, but whether new ones came cannot be known: say so, do not wait on
    finish(self, "error", now)
  end
  return self.reason ~= nil
end

local function new_loop(client, targets, opts, io)
  check_client(client)
  local t = check_targets(targets)
  local o = resolve(client, opts)
  local self = setmetatable({
    client = client, o = o, io = io, jobs = {}, order = {}, results = {}, counts = {},
    known = {}, skipped_ids = {}, active = 0, in_flight = 0, max_in_flight = 0, requests = 0, skipped = 0,
    restarts = 0, serial = 0,
    slow = 1, throttle_until = -huge, step_events = {}, stopping = false,
    since = t.since, job_type = t.job_type, until_set = {}, need_round = 1,
  }, Many)
  for _, s in ipairs(o.until_statuses) do self.until_set[s] = true end
  self.started = o.clock()
  if o.timeout then self.deadline = self.started + o.timeout end
  if t.all then
    self.discovery = { due = self.started, offset = 0, pages = 0, rounds = 0, errors = 0,
      first_round = true, whole_in = 0, in_flight = false,
      max_pages = math.ceil(o.max_jobs / watch_many.LIST_PAGE) + 10 }
  else
    -- added at the first step, so on_event never runs before the caller has the loop
    self.pending_ids = t.ids
  end
  return self
end

-- One pass: what the I/O brought in, then the end checks, then new requests.
-- Returns the events of this pass, whether the loop is done, and the seconds until
-- something is due (nil when only an answer in flight can move things on).
local function take_events(self)
  local events = self.step_events
  self.step_events = {}
  return events
end

local function run_once(self)
  if self.pending_ids then
    local ids, now = self.pending_ids, self.o.clock()
    self.pending_ids = nil
    for _, id in ipairs(ids) do add_job(self, id, nil, now) end
  end
  self.io:pump()
  local now = self.o.clock()
  if check_end(self, now) then return take_events(self), true, 0 end
  local wait = schedule(self, now)
  if self.deadline then wait = math.min(wait, math.max(0, self.deadline - now)) end
  -- starting a request may have found its arguments refused: that may end jobs (or all)
  if check_end(self, self.o.clock()) then return take_events(self), true, 0 end
  return take_events(self), false, wait ~= huge and wait or nil
end

--- One non-blocking pass of the loop: collects finished requests, ends jobs, starts what
--- is due. Call again within the returned number of seconds (sooner is fine).
---@return seekrflow.WatchManyEvent[] events of this pass (each with job_id)
---@return boolean done
---@return number wait seconds the host may wait before the next step
function Many:step()
  check_self(self, "step")
  if self.reason then return {}, true, 0 end
  local events, done, wait = run_once(self)
  local io_wait = self.io:wait_hint()
  if io_wait and (wait == nil or io_wait < wait) then wait = io_wait end
  return events, done, wait or 0.05
end

--- The result so far; final once step() returned done.
---@return seekrflow.WatchManyResult
function Many:result()
  check_self(self, "result")
  local jobs = {}
  for id, result in pairs(self.results) do jobs[id] = result end
  for _, id in ipairs(self.order) do
    if not jobs[id] then
      local job = self.jobs[id]
      local r = job.watcher:result()
      r.job_id, r.round, r.previous = id, job.round, job.previous
      jobs[id] = r
    end
  end
  local order = {}
  for i, id in ipairs(self.order) do order[i] = id end
  local counts = {}
  for k, v in pairs(self.counts) do counts[k] = v end
  return {
    reason = self.reason, jobs = jobs, order = order, counts = counts, skipped = self.skipped,
    restarts = self.restarts, requests = self.requests, max_in_flight = self.max_in_flight,
    elapsed = (self.finished_at or self.o.clock()) - self.started,
    error = self.discovery and self.discovery.last_error or nil,
  }
end

-- The job's last detail: its round's, or until that has one, the round before's (and
-- then false: its status is older than the list entry that began this round).
local function last_detail(job)
  local own = job.watcher:result().detail
  if own ~= nil then return own, true end
  return job.previous and job.previous.detail, false
end

--- The name and last detail of a job watched by this loop (nil for an unknown id).
---@param job_id string
---@return table? detail
---@return string? name
function Many:job(job_id)
  check_self(self, "job")
  local job = self.jobs[job_id]
  if not job then return nil end
  return (last_detail(job)), job.name
end

---@class seekrflow.WatchManyRow
---@field id string the job id
---@field name string the job's name (its id until known)
---@field status string? the job's status as last seen
---@field completed integer files ingested (Markdown files count here)
---@field failed integer files whose ingestion failed
---@field running integer files being ingested
---@field queued integer files waiting (or of unknown state)
---@field alignment_status string? the alignment job's status, when there is one
---@field alignment_progress number? its progress, 0-100
---@field reason string? the job's watch reason once it ended
---@field error any? the error that ended it, or the last poll's error while it goes on
---@field elapsed number seconds watched in this round (frozen when it ended)
---@field round integer the job's round: 2 and up once it is watched again
---@field urgency integer 1 ended badly (error, failed, cancelled), 2 polls failing, 3 needs review
--- or has failed files, 4 timed out or interrupted, 5 still moving, 6 reached

local function urgency(row)
  local reason = row.reason
  if reason == "error" or reason == "failed" or reason == "cancelled" then return 1 end
  if reason == nil and row.error ~= nil then return 2 end
  if reason == "needs_review" or (reason == nil and row.failed > 0) then return 3 end
  if reason == "timed_out" or reason == "interrupted" then return 4 end
  if reason == nil then return 5 end
  return 6
end

local function by_urgency(a, b)
  if a.urgency ~= b.urgency then return a.urgency < b.urgency end
  if a.name ~= b.name then return a.name < b.name end
  return a.id < b.id
end

local function row_of(self, job, now)
  local detail_fns = require "seekrflow.detail"
  local d, current = last_detail(job)
  local result = self.results[job.id]
  local row = { id = job.id, name = job.name or job.id, status = job.status, completed = 0, failed = 0,
    running = 0, queued = 0, reason = result and result.reason,
    error = result and result.error or job.last_error,
    elapsed = (job.ended_at or now) - job.added_at, round = job.round }
  if type(d) == "table" then
    if current and type(d.status) == "string" then row.status = d.status end
    for _, _, _, status in detail_fns.each_file(d) do
      if status == "completed" then row.completed = row.completed + 1
      elseif status == "failed" then row.failed = row.failed + 1
      elseif status == "running" then row.running = row.running + 1
      else row.queued = row.queued + 1 end
    end
    local a = d.alignment_job
    if type(a) == "table" then
      row.alignment_status = type(a.status) == "string" and a.status or "?"
      row.alignment_progress = tonumber(a.progress)
    end
  end
  row.urgency = urgency(row)
  return row
end

--- One row per job, most urgent first: what a table or a dashboard of the loop shows.
--- Strings in rows come from the server: neutralise them before a terminal shows them.
---@return seekrflow.WatchManyRow[]
function Many:rows()
  check_self(self, "rows")
  local now = self.finished_at or self.o.clock()
  local rows = {}
  for _, id in ipairs(self.order) do rows[#rows + 1] = row_of(self, self.jobs[id], now) end
  table.sort(rows, by_urgency)
  return rows
end

--- Blocks for at most `seconds` (what step() returned, or less): on the sockets of the
--- requests in flight, so an answer ends the wait early, else through the sleep option.
--- Only for loops from watch_many.new.
---@param seconds number
function Many:wait(seconds)
  check_self(self, "wait")
  if type(seconds) ~= "number" or seconds ~= seconds then raise("m:wait(seconds) needs a number") end
  if self.io.busy and self.io:busy() then
    -- answers in flight: wait on their sockets, but not past the next due poll
    self.client:wait(math.max(1, math.min(seconds, 1) * 1000))
  elseif seconds > 0 then
    self.o.sleep(seconds)
  end
end

--- Asks the loop to stop: the next step ends every job with "interrupted".
function Many:stop()
  check_self(self, "stop")
  if not self.reason then self.stopping = true end
end

-- ------------------------------------------------------------------------------------------
-- I/O: async requests advanced by req:step() (blocking and host-stepped loops)
-- ------------------------------------------------------------------------------------------

local function step_io()
  local io = { pending = {}, wait_ms = nil }
  function io:launch(request, deliver)
    self.pending[#self.pending + 1] = { request = request, deliver = deliver }
    local done, ms = request:step()
    if not done and (self.wait_ms == nil or ms < self.wait_ms) then self.wait_ms = ms end
  end
  function io:pump()
    local finished, still = {}, {}
    self.wait_ms = nil
    for _, entry in ipairs(self.pending) do
      local done, ms = entry.request:step()
      if done then
        finished[#finished + 1] = entry
      else
        still[#still + 1] = entry
        if self.wait_ms == nil or ms < self.wait_ms then self.wait_ms = ms end
      end
    end
    self.pending = still
    for _, entry in ipairs(finished) do
      -- a raising client throws the error; an errors = "return" client gives nil, err
      local ok, value, err = pcall(entry.request.result, entry.request)
      if not ok then value, err = nil, value end
      entry.request:close()
      entry.deliver(value, err)
    end
  end
  function io:cancel_all()
    for _, entry in ipairs(self.pending) do
      entry.request:cancel()
      entry.request:close()
    end
    self.pending = {}
  end
  function io:wait_hint()
    if #self.pending == 0 then return nil end
    return (self.wait_ms or 0) / 1000
  end
  function io:busy() return #self.pending > 0 end
  return io
end

--- Creates a loop the host drives with m:step(). It does nothing until stepped.
--- The client must not be in socket mode (use watch_many.luv for that).
---@param client seekrflow.Client
---@param targets string[]|{ all: true, job_type: string?, since: (string|number)? }
---@param opts seekrflow.WatchManyOptions?
---@return seekrflow.WatchMany
function watch_many.new(client, targets, opts)
  return new_loop(client, targets, opts, step_io())
end

--- Watches every target until each job is done, the deadline passes or should_stop says so.
--- Raises only for invalid arguments; every outcome is in the result.
---@param client seekrflow.Client
---@param targets string[]|{ all: true, job_type: string?, since: (string|number)? }
---@param opts seekrflow.WatchManyOptions?
---@return seekrflow.WatchManyResult
function watch_many.wait(client, targets, opts)
  local m = watch_many.new(client, targets, opts)
  while true do
    local _, done, wait = m:step()
    if done then return m:result() end
    m:wait(wait)
  end
end

-- ------------------------------------------------------------------------------------------
-- I/O on a seekrflow.luv driver
-- ------------------------------------------------------------------------------------------

--- Runs the loop on a seekrflow.luv driver without blocking: on_done(result) when it ends.
--- Options are watch.many's (no `sleep`: the loop waits on luv timers).
---@param driver seekrflow.LuvDriver
---@param targets string[]|{ all: true, job_type: string?, since: (string|number)? }
---@param opts seekrflow.WatchManyOptions?
---@param on_done fun(result: seekrflow.WatchManyResult)?
---@return { loop: seekrflow.WatchMany, cancel: fun() } handle: cancel() ends every job "interrupted"
function watch_many.luv(driver, targets, opts, on_done)
  if type(driver) ~= "table" or type(driver.send) ~= "function" or driver.uv == nil then
    raise("watch_many.luv needs a seekrflow.luv driver (require('seekrflow.luv').new(client))")
  end
  if opts ~= nil and type(opts) == "table" and opts.sleep ~= nil then
    raise("watch_many.luv waits on the loop; it takes no sleep option")
  end
  local uv = driver.uv
  local timer = uv.new_timer()
  local handles, kick = {}, nil
  local io = {}
  function io.launch(_, request, deliver)
    local entry = {}
    handles[entry] = true
    entry.handle = driver:send(request, function(value, err)
      handles[entry] = nil
      deliver(value, err)
      kick()
    end)
  end
  function io.pump() end
  function io.cancel_all()
    for entry in pairs(handles) do
      if entry.handle then entry.handle.cancel() end
    end
    handles = {}
  end
  function io.wait_hint() return nil end
  local m = new_loop(driver.client, targets, opts, io)
  local running, again, finished = false, false, false
  local function close_timer()
    if not timer:is_closing() then
      timer:stop()
      timer:close()
    end
  end
  kick = function()
    if finished then return end
    if driver.closed then
      -- the driver (or its client) was closed: it cancelled our requests; end quietly
      finished = true
      close_timer()
      return
    end
    if running then
      again = true
      return
    end
    running = true
    repeat
      again = false
      local _, done, wait = run_once(m)
      if done then
        finished = true
        close_timer()
        running = false
        if on_done then
          local ok, err = pcall(on_done, m:result())
          if not ok then driver:_report(err) end
        end
        return
      end
      timer:stop()
      if wait then timer:start(math.max(0, floor(wait * 1000 + 0.5)), 0, kick) end
    until not again
    running = false
  end
  -- a callback's error must not leave the loop half-stepped: report it, go on
  local guarded = kick
  kick = function()
    local ok, err = pcall(guarded)
    if not ok then
      running = false
      driver:_report(err)
    end
  end
  kick()
  return {
    loop = m,
    cancel = function()
      m:stop()
      kick()
    end,
  }
end

return watch_many
