--- seekrflow.progress: the one model of a watch's progress, as rows to draw.
---
---     local progress = require "seekrflow.progress"
---     local p = progress.new("dj-…")               -- clock: seekrflow.monotonic
---     watch.wait(client, "dj-…", { on_event = function(event, detail) p:update(event, detail) end })
---     local view = p:view()                          -- then draw view.files, view.head, …
---
--- It keeps the latest detail and what the watch events told (a poll that
--- failed, the last timeline entry, when this watch first saw each record
--- running) and turns them into a view: a head (job, status, counts,
--- elapsed), one row per attached file (its current record, as
--- seekrflow.detail decides), the alignment, and notes. The `seekrflow watch`
--- live view and the Neovim float only draw these rows, so both show the same
--- thing.
---
--- Every string in a view that came from the server has been through
--- seekrflow.text.terminal_safe: a view can be drawn as it is. Pure Lua
--- apart from seekrflow.detail (and the default clock), loaded on first use.
local text = require "seekrflow.text"

local progress = {}

local safe = text.terminal_safe

--- The states a file row can have, in the order the counts are given.
progress.STATES = { "running", "queued", "failed", "completed", "markdown", "unknown" }

--- Symbol and colour style (a seekrflow.text painter style) per state; the
--- Neovim float maps the same states to highlight groups.
progress.LOOK = {
  queued = { "…", "dim" }, running = { "⟳", "cyan" }, completed = { "✓", "green" },
  failed = { "✗", "red" }, markdown = { "✓", "green" }, unknown = { "?", "yellow" },
}

local function detail_fns() return require "seekrflow.detail" end

local function default_clock() return require("seekrflow").monotonic end

---@class seekrflow.progress.FileRow
---@field name string the file's name (or id), neutralised
---@field file_id string?
---@field state "queued"|"running"|"completed"|"failed"|"markdown"|"unknown"
---@field queue_position integer? queued: position in the queue
---@field running_for number? running: seconds since this watch saw it start
---@field took number? completed: seconds from processing_at to completed_at
---@field error_message string? failed: the server's message, neutralised
---@field suggested_fix string? failed: the server's fix, neutralised
---@field text string what to show after the name: "queued #2", "running  0:12", "failed  <message>", …

---@class seekrflow.progress.View
---@field job_id string
---@field name string? the job's name, neutralised
---@field status string? the job's status ("connecting…" before the first answer)
---@field status_message string? neutralised
---@field elapsed number seconds since the watch began (until it ended, once it did)
---@field done boolean the watch has ended
---@field reason string? the watch's end reason once done
---@field files seekrflow.progress.FileRow[] in attachment order
---@field counts table<string, integer> files per state
---@field counts_text string "1 running, 2 queued, 1 failed" (states with files only)
---@field alignment { status: string, step: string?, progress: number?, eta_minutes: number?, text: string }?
---@field last_event string? the latest timeline entry, "type — message", neutralised
---@field poll_error string? the latest failed poll while retrying, neutralised
---@field end_error string? the error the watch ended with, neutralised

-- One file row from a files[] entry, its current record and its status (what
-- detail.each_file yields: one index over the records for all the files).
local function file_row(file, record, state, now, running_since)
  if state == "completed" and record == nil and detail_fns().is_markdown(file) then state = "markdown" end
  local server_status = state
  if not progress.LOOK[state] then state = "unknown" end
  local row = {
    name = safe(file.name or (record and record.filename) or file.file_id or "?"),
    file_id = type(file.file_id) == "string" and file.file_id or nil,
    state = state,
  }
  if state == "queued" then
    row.queue_position = record and tonumber(record.queue_position) or nil
    row.text = row.queue_position and ("queued #" .. row.queue_position) or "queued"
  elseif state == "running" then
    -- timed from when this watch saw it start: the server's clock and ours may differ
    local since = record and running_since and running_since[record.record_id]
    row.running_for = since and now and math.max(0, now - since) or nil
    row.text = "running" .. (row.running_for and ("  " .. text.duration(row.running_for)) or "")
  elseif state == "completed" then
    local a, b = record and text.parse_time(record.processing_at), record and text.parse_time(record.completed_at)
    row.took = a and b and b >= a and (b - a) or nil
    row.text = "completed" .. (row.took and ("  " .. text.duration(row.took)) or "")
  elseif state == "failed" then
    row.error_message = record and record.error_message ~= nil and safe(record.error_message) or nil
    local fix = (record and record.suggested_fix) or file.suggested_fix
    row.suggested_fix = fix ~= nil and safe(fix) or nil
    row.text = "failed" .. (row.error_message and ("  " .. row.error_message) or "")
  elseif state == "markdown" then
    row.text = "ready (Markdown, no ingestion needed)"
  else
    -- a status the API may add later ("deduplicating") is shown as the server said it
    row.text = type(server_status) == "string" and safe(server_status) or "status unknown"
  end
  return row
end

--- One row per attached file of a detail, in attachment order.
---@param detail table
---@param now number? the clock now (for running_for)
---@param running_since table<string, number>? record id -> clock when seen running
---@return seekrflow.progress.FileRow[]
function progress.file_rows(detail, now, running_since)
  local rows = {}
  if type(detail) ~= "table" then return rows end
  for file, record, _, state in detail_fns().each_file(detail) do
    rows[#rows + 1] = file_row(file, record, state, now, running_since)
  end
  return rows
end

--- Files per state, and the same as text ("1 running, 2 queued").
---@param rows seekrflow.progress.FileRow[]
---@return table<string, integer> counts
---@return string text
function progress.counts(rows)
  local n = {}
  for _, row in ipairs(rows) do n[row.state] = (n[row.state] or 0) + 1 end
  local parts = {}
  for _, state in ipairs(progress.STATES) do
    if n[state] then parts[#parts + 1] = n[state] .. " " .. (state == "markdown" and "Markdown" or state) end
  end
  return n, table.concat(parts, ", ")
end

--- The alignment job of a detail, or nil.
---@param detail table?
function progress.alignment(detail)
  local a = type(detail) == "table" and detail.alignment_job or nil
  if type(a) ~= "table" then return nil end
  local out = {
    status = safe(a.status or "?"),
    step = a.current_step ~= nil and safe(a.current_step) or nil,
    progress = tonumber(a.progress),
    eta_minutes = tonumber(a.eta_minutes),
  }
  local parts = { "alignment " .. out.status }
  if out.step then parts[#parts + 1] = out.step end
  if out.progress then parts[#parts + 1] = ("%d%%"):format(math.floor(out.progress + 0.5)) end
  if out.eta_minutes then parts[#parts + 1] = ("eta %d min"):format(math.floor(out.eta_minutes + 0.5)) end
  out.text = table.concat(parts, "  ")
  return out
end

--- One line of text for a watch event (for a log of changes), and the style
--- to paint it with (nil, "red" or "yellow"). Neutralised.
---@param event seekrflow.WatchEvent
---@return string text
---@return string? style
function progress.describe(event)
  local t = type(event) == "table" and event.type or nil
  local function name_of(r) return safe(type(r) == "table" and (r.filename or r.record_id) or "?") end
  local function pos(r) return type(r) == "table" and r.queue_position and (" #" .. safe(r.queue_position)) or "" end
  if t == "job_status" then
    return ("job %s%s%s"):format(event.from and (safe(event.from) .. " → ") or "", safe(event.to),
      event.message and ("  (" .. safe(event.message) .. ")") or "")
  elseif t == "record_added" then
    local r = event.record
    return ("+ %s %s%s"):format(name_of(r), safe(r and r.status), pos(r))
  elseif t == "record_status" then
    local r = event.record
    if event.to == "failed" then
      return ("✗ %s failed: %s%s"):format(name_of(r), safe(r and r.error_message or "?"),
        r and r.suggested_fix and ("  fix: " .. safe(r.suggested_fix)) or ""), "red"
    end
    return ("%s %s → %s"):format(name_of(event.record), safe(event.from), safe(event.to))
  elseif t == "queue_position" then
    return ("%s queue #%s → #%s"):format(name_of(event.record), safe(event.from), safe(event.to))
  elseif t == "file_added" or t == "file_removed" then
    local f = event.file or {}
    return ("file %s: %s"):format(t == "file_added" and "attached" or "removed", safe(f.name or f.file_id or "?"))
  elseif t == "timeline" then
    local e = type(event.event) == "table" and event.event or {}
    return ("event: %s — %s"):format(safe(e.event_type or "?"), safe(e.message or ""))
  elseif t == "alignment" then
    local a = progress.alignment({ alignment_job = event.alignment_job })
    return a and a.text or "alignment"
  elseif t == "poll_error" then
    return ("could not reach the server (%s); retrying in %.1f s"):format(
      safe(text.message_of(event.error)), tonumber(event.delay) or 0), "yellow"
  end
  return safe(t or "event")
end

local Tracker = {}
Tracker.__index = Tracker

--- Starts following one watch.
---@param job_id string
---@param opts { clock: (fun(): number)? }? clock: seconds, default seekrflow.monotonic
---@return seekrflow.progress.Tracker
function progress.new(job_id, opts)
  opts = opts or {}
  ---@class seekrflow.progress.Tracker
  local self = setmetatable({
    job_id = tostring(job_id), clock = opts.clock or default_clock(), running_since = {}, events = 0,
  }, Tracker)
  self.started = self.clock()
  return self
end

--- Takes one watch event and the detail it came with (watch's on_event).
---@param event seekrflow.WatchEvent
---@param detail table?
function Tracker:update(event, detail)
  self.events = self.events + 1
  if type(detail) == "table" then self.detail = detail end
  local kind = type(event) == "table" and event.type or nil
  if kind == "poll_error" then
    self.poll_error = progress.describe(event)
    return
  end
  self.poll_error = nil
  if kind == "record_added" or kind == "record_status" then
    local r = event.record
    if type(r) == "table" and r.status == "running" and r.record_id ~= nil
        and not self.running_since[r.record_id] then
      self.running_since[r.record_id] = self.clock()
    end
  elseif kind == "timeline" and type(event.event) == "table" then
    local e = event.event
    self.last_event = safe(e.event_type or "?") .. (e.message and (" — " .. safe(e.message)) or "")
  end
end

--- Marks the watch as ended, with its result (or the error it could not run with).
---@param result seekrflow.WatchResult?
---@param err any?
function Tracker:finish(result, err)
  self.ended = self.ended or self.clock()
  self.result = result
  if result and type(result.detail) == "table" then self.detail = result.detail end
  if err ~= nil then
    self.end_error = safe(text.message_of(err))
  elseif result and result.reason == "error" and result.error ~= nil then
    self.end_error = safe(text.message_of(result.error))
  end
end

--- The view to draw now.
---@return seekrflow.progress.View
function Tracker:view()
  local now = self.ended or self.clock()
  local d = self.detail
  local files = progress.file_rows(d, now, self.running_since)
  local counts, counts_text = progress.counts(files)
  local has = type(d) == "table"
  return {
    job_id = safe(self.job_id),
    name = has and d.name ~= nil and safe(d.name) or nil,
    status = has and d.status ~= nil and safe(d.status) or nil,
    status_message = has and d.status_message ~= nil and safe(d.status_message) or nil,
    elapsed = math.max(0, now - self.started),
    done = self.ended ~= nil,
    reason = self.result and self.result.reason or nil,
    files = files,
    counts = counts,
    counts_text = counts_text,
    alignment = progress.alignment(d),
    last_event = self.last_event,
    poll_error = self.poll_error,
    end_error = self.end_error,
  }
end

return progress
