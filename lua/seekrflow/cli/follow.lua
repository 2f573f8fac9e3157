--- Following one job until it settles: `seekrflow watch`, and the composite steps that end
--- with a watch (`start --watch`, `add-files --wait`, `create … --watch`).
---
--- On a terminal a frame redrawn in place; in a pipe one line per change; with --json one
--- event per line (see the README's event table) and a final `result` line, also on Ctrl-C.
local seekrflow = require "seekrflow"
local text = require "seekrflow.text"

local follow = {}

local EXIT, WATCH_EXIT

function follow.setup(deps)
  EXIT, WATCH_EXIT = deps.EXIT, deps.WATCH_EXIT
end

local safe = text.terminal_safe

--- A wall clock with sub-second precision: the epoch second the watch started plus the
--- monotonic time since, so timestamps never jump back while the watch runs.
function follow.wall_clock()
  local epoch, mono = os.time(), seekrflow.monotonic()
  return function(monotonic)
    return text.iso_time(epoch + ((monotonic or seekrflow.monotonic()) - mono))
  end
end

-- Two decimals are plenty for elapsed seconds in a log.
function follow.seconds(x)
  return math.floor(x * 100 + 0.5) / 100
end

---@class seekrflow.cli.JsonEvent : seekrflow.WatchEvent one line of `seekrflow watch --json`
---@field type string the watch event's type (job_status, record_added, record_status, queue_position,
---  file_added, file_removed, timeline, alignment, poll_error)
---@field job_id string the job watched
---@field time string ISO-8601 UTC time with milliseconds ("2026-11-30T03:25:18.250Z")
---@field elapsed number seconds since the watch started

---@class seekrflow.cli.JsonResult the last line of `seekrflow watch --json`, also on Ctrl-C
---@field type "result"
---@field job_id string
---@field time string ISO-8601 UTC
---@field elapsed number seconds since the watch started
---@field reason seekrflow.WatchReason
---@field status string? the job's last status
---@field failures seekrflow.summary.Entry[] every failed file, as seekrflow.summary.of gives them
---@field exit_code integer the command's exit code
---@field polls integer?
---@field error table? the error that ended the watch (reason "error")

--- The JSON line for a watch event: the event's own fields, with the job id, an ISO-8601
--- `time` and `elapsed` seconds since the watch began instead of the monotonic clock value.
---@param event table
---@param job_id string? the job (nil: the event's own job_id)
---@param iso fun(monotonic: number?): string from follow.wall_clock()
---@param started number the monotonic time the watch started
---@return seekrflow.cli.JsonEvent
function follow.json_event(event, job_id, iso, started)
  local out = {}
  for k, v in pairs(event) do out[k] = v end
  local at = event.time or seekrflow.monotonic()
  out.job_id = job_id or event.job_id
  out.time = iso(at)
  out.elapsed = follow.seconds(at - started)
  return out
end

--- True for the stand-alone interpreter's Ctrl-C error.
function follow.is_interrupt(e)
  return type(e) == "string" and e:find("interrupted!", 1, true) ~= nil
end

--- Watches job `id`; returns the exit code. opts: until_statuses, timeout, min_interval,
--- max_interval (seconds), as in seekrflow.watch.
---@param ctx table
---@param id string
---@param opts table
---@return integer
function follow.run(ctx, id, opts)
  local watch = require "seekrflow.watch"
  local summary = require "seekrflow.summary"
  local progress = require "seekrflow.progress"
  local live = require "seekrflow.cli.live"
  local f = ctx.flags
  local client = ctx.client()
  local started = seekrflow.monotonic()
  local iso = follow.wall_clock()
  local tracker = progress.new(id)
  local view
  if f.json then
    view = nil
  elseif ctx.isatty then
    view = live.terminal(ctx.write, ctx.paint, ctx.columns)
  else
    view = live.lines(ctx.write, ctx.paint)
  end

  local function refresh()
    if view and view.draw and tracker.detail then view:draw(tracker:view()) end
  end

  -- Events of the first poll describe the state as found, history included;
  -- line mode shows them as one snapshot, then only what changes.
  local first_poll_time, snapshot_pending = nil, true
  local function flush_snapshot()
    if snapshot_pending and view and view.snapshot and tracker.detail then view:snapshot(tracker:view()) end
    snapshot_pending = false
  end

  local function on_event(event, detail)
    tracker:update(event, detail)
    if first_poll_time == nil then first_poll_time = event.time end
    if view and view.snapshot and snapshot_pending then
      if event.time == first_poll_time and event.type ~= "poll_error" then return end
      flush_snapshot()
    end
    if f.json then
      ctx.json(follow.json_event(event, id, iso, started))
    elseif view.event then
      view:event(event, tracker:view())
    end
  end

  local function sleep(s)
    flush_snapshot()
    -- sleep in short slices so the terminal view's clock keeps ticking
    local deadline = seekrflow.monotonic() + s
    refresh()
    while true do
      local left = deadline - seekrflow.monotonic()
      if left <= 0 then return end
      seekrflow.sleep(math.min(left, ctx.isatty and 1 or left))
      refresh()
    end
  end

  local ok, result = pcall(watch.wait, client, id, {
    until_statuses = opts.until_statuses, timeout = opts.timeout,
    min_interval = opts.min_interval, max_interval = opts.max_interval,
    on_event = on_event, sleep = sleep,
  })
  if not ok then
    -- Ctrl-C still gets a final line (and the summary so far); anything else is re-raised.
    if not follow.is_interrupt(result) then error(result, 0) end
    result = { reason = "interrupted", elapsed = seekrflow.monotonic() - started, polls = nil }
  end
  tracker:finish(result)
  local latest = tracker.detail
  flush_snapshot()
  if not f.json then refresh() end
  local s = latest and summary.of(latest)
  local code = WATCH_EXIT[result.reason] or EXIT.error
  if result.reason == "error" and result.error and (result.error.class == "unauthorized"
      or result.error.class == "forbidden") then
    code = EXIT.auth
  end
  if s then require("seekrflow.cli.ci").report(ctx, s, result.reason) end
  if f.json then
    ctx.json({ type = "result", job_id = id, reason = result.reason, status = latest and latest.status,
      error = result.error, polls = result.polls, elapsed = follow.seconds(result.elapsed or 0),
      time = iso(), exit_code = code,
      failures = s and setmetatable(s.failed, seekrflow.array_mt) or setmetatable({}, seekrflow.array_mt) })
    return code
  end
  local paint = ctx.paint
  ctx.print("")
  local status = safe(latest and latest.status)
  local verdicts = {
    reached = paint("green", "✓ " .. status),
    needs_review = paint("yellow", "! needs review"),
    failed = paint("red", "✗ alignment failed"),
    cancelled = paint("red", "✗ cancelled"),
    timed_out = paint("yellow", "… still " .. status .. " after the time limit"),
    interrupted = "interrupted",
    error = paint("red", "✗ " .. safe(result.error)),
  }
  ctx.print(("%s  (%s, %d polls)"):format(verdicts[result.reason] or result.reason,
    text.duration(result.elapsed), result.polls or 0))
  if s and (#s.failed > 0 or result.reason == "needs_review") then
    ctx.print("")
    ctx.write(summary.render(s, { color = ctx.color, width = ctx.width }))
  end
  return code
end

return follow
