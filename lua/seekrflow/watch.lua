--- seekrflow.watch: follow a data job until it reaches a status, reporting what changed.
---
---     local watch = require "seekrflow.watch"
---     local result = watch.wait(client, "dj-…", { on_event = print_event, timeout = 600 })
---     print(result.reason)            -- "reached", "needs_review", "failed", "timed_out", …
---
--- `watch.wait` blocks, sleeping through the `sleep` option between polls. Hosts with an
--- event loop use `watch.new` instead and drive it: `w:poll()` (or `w:feed(detail, err)`
--- with a detail they fetched themselves), then wait `w:next_delay()` seconds and repeat
--- until the second result is true.
---
--- The server returns the whole detail on every poll; the watcher keeps what it has seen and
--- reports only the differences, as event tables.
---
--- Lua for 5.1–5.4 and LuaJIT. The C core is required lazily (for reading details through
--- seekrflow.detail, the default clock and sleep, and error values), so this file loads
--- without it.
local watch = {}

--- Statuses after which a job never changes again.
watch.TERMINAL_STATUSES = { "completed", "failed", "cancelled", "stopped" }

--- Where `watch.wait` stops unless told otherwise: ingestion settled, or alignment ended.
watch.DEFAULT_UNTIL = { "ready_to_start", "needs_review", "completed", "failed", "cancelled", "stopped" }

-- Every status the API documents (DataJobStatus ∪ AlignmentJobStatus). until_statuses is
-- checked against it so a typo fails at once instead of waiting forever.
local KNOWN_STATUSES = {
  file_processing = true, needs_review = true, ready_to_start = true, pending = true,
  queued = true, running = true, cancelled = true, failed = true, completed = true, stopped = true,
}

local TERMINAL = {}
for _, s in ipairs(watch.TERMINAL_STATUSES) do TERMINAL[s] = true end

local REASONS = {
  ready_to_start = "reached", completed = "reached", needs_review = "needs_review",
  failed = "failed", stopped = "failed", cancelled = "cancelled",
}

-- A clipped sleep lands on the deadline only up to float rounding; closer than this
-- counts as there, so a fake clock cannot leave the watcher polling with ~0 s sleeps.
local DEADLINE_SLACK = 1e-6

local function errors() return require "seekrflow.errors" end
-- seekrflow.detail reads details (a C module, loaded on first use like the rest of the core)
local function detail_fns() return require "seekrflow.detail" end

local function raise(message)
  error(errors().new("invalid_argument", "watch: " .. message), 0)
end

--- The reason a watch ends with when the job has this status, or nil for a status that is
--- not an end in itself (`file_processing`, `queued`, `running`, `pending`, unknown ones).
---@param status string?
---@return string? reason "reached", "needs_review", "failed" or "cancelled"
function watch.reason_for(status)
  return REASONS[status]
end

--- Whether a job with this status is being worked on: files ingesting (`file_processing`),
--- alignment `pending`, `queued` or `running`. A documented status that is not an end in
--- itself (watch.reason_for gives nil); unknown statuses are not.
---@param status string?
---@return boolean
function watch.in_progress(status)
  return KNOWN_STATUSES[status] == true and REASONS[status] == nil
end

-- ------------------------------------------------------------------------------------------
-- options
-- ------------------------------------------------------------------------------------------

---@class seekrflow.WatchOptions
---@field until_statuses string[]? statuses to stop at; default watch.DEFAULT_UNTIL
---@field timeout number? seconds before giving up (reason "timed_out"); default none
---@field min_interval number? first and shortest poll interval, seconds; default 1
---@field max_interval number? longest poll interval, seconds; default max(10, min_interval)
---@field backoff number? interval factor after a poll where nothing changed; default 1.5
---@field on_event fun(event: seekrflow.WatchEvent, detail: table?)? called for each event
---@field sleep fun(seconds: number)? how watch.wait waits; default seekrflow.sleep
---@field clock fun(): number? seconds, for deadlines and event times; default seekrflow.monotonic
---@field max_poll_errors integer? consecutive failed polls tolerated; default 5
---@field should_stop fun(): boolean? checked before each poll; true ends with "interrupted"
---@field retrieve_opts table? per-call options for client.data_jobs:retrieve
---@field errors "raise"|"return"? watch.wait only: "raise" (default) raises an error no retry can fix
---(401, 403, 404, 400/422, invalid arguments); "return" returns it as reason "error"

local options = require "seekrflow.options"

local function status_list(v)
  local wanted = "a non-empty list of job statuses"
  if type(v) ~= "table" or #v == 0 then return wanted end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then return wanted end
  for _, s in ipairs(v) do
    if not KNOWN_STATUSES[s] then
      return wanted .. " (unknown status " .. string.format("%q", tostring(s)) .. ")"
    end
  end
end

-- One check per option name; also the list of names an unknown option is compared with.
local CHECKS = {
  until_statuses = status_list,
  timeout = options.number_at_least(0, true),
  min_interval = options.number_at_least(0, false),
  max_interval = options.number_at_least(0, false),
  backoff = options.number_at_least(1, true),
  on_event = options.callable,
  sleep = options.callable,
  clock = options.callable,
  max_poll_errors = options.integer(0),
  should_stop = options.callable,
  retrieve_opts = "table",
  errors = options.one_of("raise", "return"),
}

local function never() return false end
local function ignore() end

-- Defaults that need the C core are looked up only when the caller did not inject them.
local function default_clock() return require("seekrflow").monotonic end
local function default_sleep() return require("seekrflow").sleep end

local function resolve(opts)
  local problem = options.problem(opts, CHECKS)
  if problem then raise(problem) end
  opts = opts or {}
  local o = {
    until_statuses = opts.until_statuses or watch.DEFAULT_UNTIL,
    timeout = opts.timeout,
    min_interval = opts.min_interval or 1,
    backoff = opts.backoff or 1.5,
    on_event = opts.on_event or ignore,
    sleep = opts.sleep or default_sleep(),
    clock = opts.clock or default_clock(),
    max_poll_errors = opts.max_poll_errors or 5,
    should_stop = opts.should_stop or never,
    retrieve_opts = opts.retrieve_opts,
    errors = opts.errors or "raise",
  }
  -- A caller who only raises min_interval (a CLI's --interval 30) means "poll every 30 s",
  -- not a range error against the default maximum.
  o.max_interval = opts.max_interval or math.max(10, o.min_interval)
  if o.max_interval < o.min_interval then
    raise("max_interval (" .. o.max_interval .. ") must be >= min_interval (" .. o.min_interval .. ")")
  end
  return o
end

local function check_target(client, job_id)
  if client == watch then raise("call watch.wait / watch.new with a dot, not a colon") end
  local t = type(client)
  local ok, data_jobs = false, nil
  if t == "table" or t == "userdata" then
    ok, data_jobs = pcall(function() return client.data_jobs end)
  end
  if not ok or (type(data_jobs) ~= "table" and type(data_jobs) ~= "userdata") then
    raise("client must be a seekrflow client (seekrflow.new { … }), got " .. t)
  end
  if type(job_id) ~= "string" or job_id == "" then
    raise("job_id must be a non-empty string, got " .. tostring(job_id))
  end
end

-- ------------------------------------------------------------------------------------------
-- events: the difference between what was seen and a new detail
-- ------------------------------------------------------------------------------------------

---@alias seekrflow.WatchEventType
---| "job_status"
---| "record_added"
---| "record_status"
---| "queue_position"
---| "file_added"
---| "file_removed"
---| "timeline"
---| "alignment"
---| "poll_error"

---@class seekrflow.WatchEvent
---@field type seekrflow.WatchEventType
---@field time number the clock when the poll was made
---@field from any? previous value (job_status, record_status, queue_position)
---@field to any? new value
---@field message string? job_status: the job's status_message
---@field record table? record_added, record_status, queue_position
---@field ingestion_job table? the ingestion job of that record
---@field file table? file_added, file_removed
---@field event table? timeline: the TimelineEvent
---@field alignment_job table? alignment
---@field from_step string? alignment
---@field to_step string? alignment
---@field progress number? alignment
---@field error any? poll_error
---@field delay number? poll_error: seconds until the next poll
---@field attempt integer? poll_error: consecutive failures so far

local function diff_files(seen, detail, add)
  -- Files are read only through seekrflow.detail: a detail without files[] has none attached
  -- (the API may leave an empty list out), so the last file's removal is reported too.
  local present = {}
  for f in detail_fns().each_file(detail) do
    local id = f.file_id
    if id ~= nil then
      present[id] = true
      if seen.files[id] == nil then
        seen.file_order[#seen.file_order + 1] = id
        add { type = "file_added", file = f }
      end
      seen.files[id] = f
    end
  end
  local kept = {}
  for _, id in ipairs(seen.file_order) do
    if present[id] then
      kept[#kept + 1] = id
    else
      add { type = "file_removed", file = seen.files[id] }
      seen.files[id] = nil
    end
  end
  seen.file_order = kept
end

local function diff_record(seen, ij, r, add)
  -- record_id is required by the schema; the fallback only keeps a broken server visible.
  local key = r.record_id or (tostring(ij.id) .. "/" .. tostring(r.filename))
  local prev = seen.records[key]
  if prev == nil then
    add { type = "record_added", record = r, ingestion_job = ij }
  elseif r.status ~= prev.status then
    add { type = "record_status", record = r, ingestion_job = ij, from = prev.status, to = r.status }
  elseif r.status == "queued" and r.queue_position ~= prev.queue_position then
    add { type = "queue_position", record = r, ingestion_job = ij,
          from = prev.queue_position, to = r.queue_position }
  end
  seen.records[key] = { status = r.status, queue_position = r.queue_position }
end

local function diff_records(seen, detail, add)
  -- Records of removed files stay in the detail with deleted = true; file_removed
  -- already tells that story, so records() (which skips them) is what counts.
  for ij, r in detail_fns().records(detail) do diff_record(seen, ij, r, add) end
end

local function diff_alignment(seen, detail, add)
  local a = detail.alignment_job
  if type(a) ~= "table" then return end
  local prev = seen.alignment
  if prev and prev.status == a.status and prev.current_step == a.current_step
      and prev.progress == a.progress then
    return
  end
  add { type = "alignment", alignment_job = a, from_step = prev and prev.current_step,
        to_step = a.current_step, progress = a.progress }
  seen.alignment = { status = a.status, current_step = a.current_step, progress = a.progress }
end

local function diff_timeline(seen, detail, add)
  -- The server sends the whole timeline each time and events carry no id; identical
  -- timestamp, type and message are taken to be the same event.
  for e in detail_fns().each_event(detail) do
    local key = tostring(e.timestamp) .. "\0" .. tostring(e.event_type) .. "\0" .. tostring(e.message)
    if not seen.timeline[key] then
      seen.timeline[key] = true
      add { type = "timeline", event = e }
    end
  end
end

local function diff_status(seen, detail, add)
  if seen.first or detail.status ~= seen.status then
    add { type = "job_status", from = seen.status, to = detail.status, message = detail.status_message }
  end
  seen.first = false
  seen.status = detail.status
end

-- Causes before effects: a record failing comes before the job turning needs_review.
local function diff(seen, detail, add)
  diff_files(seen, detail, add)
  diff_records(seen, detail, add)
  diff_alignment(seen, detail, add)
  diff_timeline(seen, detail, add)
  diff_status(seen, detail, add)
end

-- ------------------------------------------------------------------------------------------
-- the watcher
-- ------------------------------------------------------------------------------------------

---@alias seekrflow.WatchReason "reached"|"needs_review"|"failed"|"cancelled"|"timed_out"|"interrupted"|"error"

---@class seekrflow.WatchResult
---@field detail table? the last detail fetched successfully
---@field reason seekrflow.WatchReason? nil while watching
---@field error any? the error of the last poll, if it failed (always set for reason "error")
---@field polls integer polls made (failed ones included)
---@field elapsed number seconds since the watcher was created (frozen when it finished)
---@field events seekrflow.WatchEvent[] every event so far, in order (shared, do not modify)

---@class seekrflow.Watcher
local Watcher, check_self = require("seekrflow.class").new("w", "a watcher from watch.new", raise)

local function is_retryable(err)
  if type(err) ~= "table" then return false end
  if err.retryable == true or err.kind == "connection" or err.kind == "timeout" then return true end
  local status = tonumber(err.status)
  return status ~= nil and (status == 429 or (status >= 500 and status <= 599))
end
--- Whether a failed poll is worth repeating (connection, timeout, 429, 5xx); also watch.many's rule.
watch.is_retryable = is_retryable

local function remaining(self, now)
  if self.deadline == nil then return math.huge end
  return self.deadline - now
end

local function finish(self, reason, now)
  self.done = true
  self.reason = reason
  self.finished_at = now
end

local function stop_reason(self, status)
  -- Terminal statuses end the watch even when not asked for: nothing can change after them.
  if self.until_set[status] or TERMINAL[status] then
    return REASONS[status] or "reached"
  end
end

local function on_detail(self, detail, now, add)
  self.failures = 0
  self.last_error = nil
  self.detail = detail
  local changed = false
  diff(self.seen, detail, function(event)
    changed = true
    add(event)
  end)
  if changed then
    self.interval = self.o.min_interval
  else
    self.interval = math.min(self.interval * self.o.backoff, self.o.max_interval)
  end
  self.delay = self.interval
  local reason = stop_reason(self, detail.status)
  if reason then
    finish(self, reason, now)
  elseif remaining(self, now) <= DEADLINE_SLACK then
    finish(self, "timed_out", now)
  end
end

local function on_error(self, err, now, add)
  self.failures = self.failures + 1
  self.last_error = err
  if type(err) == "table" and err.kind == "cancelled" then
    -- The client was closed or the request cancelled by its owner: a stop, not a failure.
    return finish(self, "interrupted", now)
  end
  if not is_retryable(err) or self.failures > self.o.max_poll_errors then
    return finish(self, "error", now)
  end
  -- A failed poll changed nothing, so it backs off like one; the server's Retry-After wins.
  self.interval = math.min(self.interval * self.o.backoff, self.o.max_interval)
  local delay = self.interval
  local retry_after = type(err) == "table" and tonumber(err.retry_after) or nil
  if retry_after and retry_after > delay then delay = retry_after end
  self.delay = delay
  local left = remaining(self, now)
  if left <= DEADLINE_SLACK then return finish(self, "timed_out", now) end
  add { type = "poll_error", error = err, delay = math.min(delay, left), attempt = self.failures }
end

-- Records one poll's outcome, then hands its events to on_event. The callback runs after
-- the state is updated, so w:result() inside it already reflects this poll.
local function ingest(self, detail, err)
  local now = self.o.clock()
  self.polls = self.polls + 1
  local events = {}
  local function add(event)
    event.time = now
    events[#events + 1] = event
    self.events[#self.events + 1] = event
  end
  if detail ~= nil then on_detail(self, detail, now, add) else on_error(self, err, now, add) end
  for _, event in ipairs(events) do self.o.on_event(event, self.detail) end
  return events, self.done
end

local function interrupted(self)
  if self.stopping or self.o.should_stop() then
    finish(self, "interrupted", self.o.clock())
    return true
  end
  return false
end

-- One blocking GET. Either error mode works: a raised seekrflow error and a returned one
-- end up the same. Anything else raised (a bug, the interpreter's Ctrl-C) is not ours to hide.
local function fetch(self)
  local data_jobs = self.client.data_jobs
  local ok, detail, err = pcall(data_jobs.retrieve, data_jobs, self.job_id, self.o.retrieve_opts)
  if not ok then
    if not errors().is_error(detail) then error(detail, 0) end
    return nil, detail
  end
  if detail == nil and err == nil then
    err = errors().new("decode", "data_jobs:retrieve returned neither a detail nor an error")
  end
  return detail, err
end

--- Creates a step-wise watcher. It does nothing until polled or fed.
---@param client seekrflow.Client
---@param job_id string
---@param opts seekrflow.WatchOptions?
---@return seekrflow.Watcher
function watch.new(client, job_id, opts)
  check_target(client, job_id)
  local o = resolve(opts)
  local self = setmetatable({
    client = client, job_id = job_id, o = o,
    until_set = {}, events = {},
    polls = 0, failures = 0, interval = o.min_interval, delay = 0,
    done = false, stopping = false,
    seen = { first = true, records = {}, files = {}, file_order = {}, timeline = {} },
  }, Watcher)
  for _, s in ipairs(o.until_statuses) do self.until_set[s] = true end
  self.started = o.clock()
  if o.timeout then self.deadline = self.started + o.timeout end
  return self
end

--- Fetches the detail once (blocking) and feeds it in.
---@return seekrflow.WatchEvent[] events found by this poll
---@return boolean done true once the watch has ended (see w:result().reason)
function Watcher:poll()
  check_self(self, "poll")
  if self.done then return {}, true end
  if interrupted(self) then return {}, true end
  return ingest(self, fetch(self))
end

--- Feeds a detail the host fetched itself, or nil and the error the fetch gave.
---@param detail table?
---@param err any the fetch's error when detail is nil
---@return seekrflow.WatchEvent[] events
---@return boolean done
function Watcher:feed(detail, err)
  check_self(self, "feed")
  if detail ~= nil and type(detail) ~= "table" then raise("feed: detail must be a table or nil") end
  if detail == nil and err == nil then raise("feed: give a detail, or nil and the error") end
  if self.done then return {}, true end
  if interrupted(self) then return {}, true end
  return ingest(self, detail, err)
end

--- Seconds to wait before the next poll: the backoff interval (or a longer Retry-After),
--- never past the deadline; 0 before the first poll, after w:stop() and once done.
---@return number
function Watcher:next_delay()
  check_self(self, "next_delay")
  if self.done or self.stopping then return 0 end
  local left = remaining(self, self.o.clock())
  if left < self.delay then return math.max(left, 0) end
  return self.delay
end

--- The result so far; final once a poll or feed returned done.
---@return seekrflow.WatchResult
function Watcher:result()
  check_self(self, "result")
  return {
    detail = self.detail,
    reason = self.reason,
    error = self.last_error,
    polls = self.polls,
    elapsed = (self.finished_at or self.o.clock()) - self.started,
    events = self.events,
  }
end

--- Asks the watcher to stop: the next poll or feed ends it with reason "interrupted"
--- without fetching. No effect once it is done.
function Watcher:stop()
  check_self(self, "stop")
  if not self.done then self.stopping = true end
end

--- A new watcher of the same job, with the same options, that goes on from what this one
--- saw: its events tell only what changed since this watcher's last detail (its first
--- job_status goes from the status this one ended at). For a job that moves again after its
--- watch ended (seekrflow.watch_many's rounds). This watcher is left as it is.
---@return seekrflow.Watcher
function Watcher:again()
  check_self(self, "again")
  local w = watch.new(self.client, self.job_id, self.o)
  local seen = self.seen
  local copy = { first = seen.first, status = seen.status, alignment = seen.alignment,
    records = {}, files = {}, file_order = {}, timeline = {} }
  -- entries are replaced, never changed in place, so a copy of each map is enough
  for _, name in ipairs({ "records", "files", "file_order", "timeline" }) do
    for k, v in pairs(seen[name]) do copy[name][k] = v end
  end
  w.seen = copy
  return w
end

--- Watches a job until it reaches a stop status, times out, is interrupted or fails.
---
--- Raises (the seekrflow error, whose `where` and tostring name the caller's line) for
--- invalid arguments and, unless `errors = "return"`, for an error no retry can fix: 401,
--- 403, 404, 400, 422, a rejected id. Every other outcome is in the result's `reason`:
--- "reached", "needs_review", "failed", "cancelled" and "timed_out" come with the last
--- `detail`; "error" (transient failures past `max_poll_errors`, or any error with
--- `errors = "return"`) comes with `error` and maybe no `detail`; "interrupted" with what
--- was seen so far.
---@param client seekrflow.Client
---@param job_id string
---@param opts seekrflow.WatchOptions?
---@return seekrflow.WatchResult
function watch.wait(client, job_id, opts)
  local w = watch.new(client, job_id, opts)
  local sleep = w.o.sleep
  while true do
    local _, done = w:poll()
    if done then
      local result = w:result()
      if result.reason == "error" and w.o.errors == "raise" and not is_retryable(result.error) then
        error(result.error, 0)
      end
      return result
    end
    local delay = w:next_delay()
    if delay > 0 then sleep(delay) end
  end
end

--- Watches many jobs at once on one client: see seekrflow.watch_many.
watch.many = function(...) return require("seekrflow.watch_many").wait(...) end

return watch
