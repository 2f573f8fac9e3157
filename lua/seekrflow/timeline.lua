--- seekrflow.timeline: a data job's ingestion as a picture, laid out once.
---
---     local timeline = require "seekrflow.timeline"
---     local layout = timeline.layout(client.data_jobs:retrieve "dj-…", { max_rows = 40 })
---
--- One row per file: the wait in the queue (created_at to processing_at), the
--- run (processing_at to completed_at or failed_at), and how it ended; the
--- alignment job as its own row; the job's timeline events as markers; axis
--- ticks; a summary (total, longest wait, longest run). The terminal chart,
--- the SVG report and the Neovim buffer all draw this layout and nothing
--- else, so they show the same picture.
---
--- Pure Lua and no I/O. Times in the layout are seconds after `layout.start`
--- (an epoch time); strings copied from the detail (file names, messages)
--- are the server's, unchanged: whoever draws them neutralises them for
--- their medium. Missing or unreadable timestamps, clock skew (a record that
--- finishes before it starts) and files without records never raise; each
--- row says what was odd about it in `notes`.
local detail_fns = require "seekrflow.detail"
local errors = require "seekrflow.errors"
local text = require "seekrflow.text"

local timeline = {}

---@alias seekrflow.timeline.Outcome
---| "queued"    # waiting in the ingestion queue
---| "running"   # being processed (or alignment running)
---| "completed"
---| "failed"    # failed (alignment: also cancelled or stopped)
---| "ready"     # Markdown: alignment-ready without ingestion
---| "unknown"   # no record, or a status this client does not know

---@alias seekrflow.timeline.Phase "queued"|"running"|"completed"|"failed"

---@class seekrflow.timeline.Segment
---@field phase seekrflow.timeline.Phase
---@field from number seconds after layout.start
---@field to number seconds after layout.start (>= from)

---@class seekrflow.timeline.Row
---@field kind "file"|"group"|"alignment"
---@field label string the file name (the server's text), "alignment", or "files 1–400" for a group
---@field outcome seekrflow.timeline.Outcome
---@field segments seekrflow.timeline.Segment[] in time order, not overlapping; empty when nothing is known
---@field open boolean the last segment is still going (it ends at layout.now)
---@field wait number? seconds queued (a group: its longest)
---@field run number? seconds processing (a group: its longest)
---@field file_id string?
---@field record_id string?
---@field status string? the record's (or alignment job's) status as sent
---@field error_message string?
---@field suggested_fix string?
---@field notes string[] what was odd about this row, in plain words (never server text)
---@field skewed boolean? its timestamps contradict each other (clock skew); it is drawn without time running backwards
---@field count integer? a group: how many files it stands for
---@field outcomes table<string, integer>? a group: files per outcome

---@class seekrflow.timeline.Event
---@field at number seconds after layout.start
---@field event_type string?
---@field message string?

---@class seekrflow.timeline.Tick
---@field at number seconds after layout.start
---@field label string elapsed time as text.duration writes it: "0:00", "0:30", "1:00", …

---@class seekrflow.timeline.Extreme
---@field seconds number
---@field label string the file's name

---@class seekrflow.timeline.Summary
---@field files integer files attached to the job
---@field outcomes table<string, integer> files per outcome
---@field total number seconds from the first to the last instant shown
---@field longest_wait seekrflow.timeline.Extreme?
---@field longest_run seekrflow.timeline.Extreme?
---@field skewed integer rows whose timestamps contradict each other
---@field untimed integer rows with no usable timestamp

---@class seekrflow.timeline.Layout
---@field job {id: string?, name: string?, status: string?, status_message: string?, job_type: string?}
---@field start number? epoch seconds of the left edge; nil when nothing has a time
---@field span number seconds from the left to the right edge (> 0)
---@field now number? seconds after start where open bars end
---@field rows seekrflow.timeline.Row[] files (or groups of files), then the alignment row
---@field events seekrflow.timeline.Event[] timeline events with a usable time, oldest first
---@field events_omitted integer events left out (no usable time, or over the limit)
---@field ticks seekrflow.timeline.Tick[]
---@field grouped {files: integer, rows: integer, per_row: integer}? set when files were grouped
---@field note string? one line saying how rows were grouped, when they were
---@field summary seekrflow.timeline.Summary

---@class seekrflow.timeline.Options
---@field now number? epoch seconds of "now" for bars still going (default: the latest time in the detail)
---@field max_rows integer? at most this many file rows; more files are grouped (default 60)
---@field max_ticks integer? at most this many axis ticks (default 6)
---@field max_events integer? at most this many event markers (default 200)

local DEFAULTS = { max_rows = 60, max_ticks = 6, max_events = 200 }

-- Axis steps in seconds: the first that gives at most max_ticks ticks wins.
local STEPS = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
  21600, 43200, 86400, 172800, 604800, 2592000, 31536000 }

local ALIGNMENT_OUTCOME = {
  pending = "queued", queued = "queued", running = "running", completed = "completed",
  failed = "failed", cancelled = "failed", stopped = "failed",
}

local function str(v)
  if type(v) == "string" then return v end
  return nil
end

local function fail(message)
  error(errors.new("invalid_argument", message), 0)
end

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then fail("timeline.layout: options must be a table, got " .. type(opts)) end
  for key, value in pairs(opts) do
    if key == "now" then
      if type(value) ~= "number" or value ~= value then
        fail("timeline.layout: now must be a number (epoch seconds)")
      end
    elseif DEFAULTS[key] then
      if type(value) ~= "number" or value < 1 or value ~= math.floor(value) then
        fail(("timeline.layout: %s must be a whole number of at least 1, got %s"):format(key, tostring(value)))
      end
    else
      fail(("timeline.layout: unknown option %s (known: now, max_rows, max_ticks, max_events)"):format(tostring(key)))
    end
  end
  return opts
end

-- A timestamp field: the epoch time, or nil plus a note when it is present
-- but unreadable (absent is normal and needs no note).
local function read_time(value, notes, field)
  if value == nil then return nil end
  local t = text.parse_time(value)
  if t == nil then notes[#notes + 1] = field .. " is not a readable time" end
  return t
end

-- The row of a file with an ingestion record. Times stay absolute here.
local function record_row(row, record, status)
  local notes = row.notes
  row.status = status
  row.record_id = row.record_id or str(record.record_id)
  row.error_message, row.suggested_fix = str(record.error_message), str(record.suggested_fix) or row.suggested_fix
  local queued = read_time(record.created_at, notes, "created_at")
  local started = read_time(record.processing_at, notes, "processing_at")
  local completed = read_time(record.completed_at, notes, "completed_at")
  local failed = read_time(record.failed_at, notes, "failed_at")
  local ended
  if status == "failed" then
    ended, row.outcome = failed or completed, "failed"
  elseif status == "completed" then
    ended, row.outcome = completed or failed, "completed"
  elseif status == "running" or status == "queued" then
    row.outcome = status
  else
    -- a status this client does not know: trust the timestamps
    ended = failed or completed
    row.outcome = (failed and "failed") or (completed and "completed") or (started and "running")
      or (queued and "queued") or "unknown"
  end
  if (row.outcome == "completed" or row.outcome == "failed") and not ended then
    notes[#notes + 1] = "finished, but the time it finished is missing"
  end
  if row.outcome == "queued" and started then started = nil end

  -- Clock skew: never draw time running backwards; the row says so instead.
  if queued and started and started < queued then
    notes[#notes + 1] = "processing_at is before created_at (clock skew)"
    row.skewed = true
    started = queued
  end
  local begun = started or queued
  if begun and ended and ended < begun then
    notes[#notes + 1] = "finished before it started (clock skew)"
    row.skewed = true
    ended = begun
  end
  if queued == nil and (started or ended) then notes[#notes + 1] = "the time it was queued is missing" end
  if started == nil and ended and row.outcome ~= "failed" then
    notes[#notes + 1] = "the time it started running is missing"
  end

  local open = ended == nil and (row.outcome == "running" or row.outcome == "queued")
  row.open = open
  row.abs = { queued = queued, started = started, ended = ended }
end

-- The alignment job's row, or nil when the detail has none.
local function alignment_row(alignment)
  if type(alignment) ~= "table" then return nil end
  local row = { kind = "alignment", label = "alignment", notes = {}, segments = {} }
  local status = str(alignment.status)
  row.status = status
  row.outcome = ALIGNMENT_OUTCOME[status] or "unknown"
  row.error_message = str(alignment.status_message)
  local created = read_time(alignment.created_at, row.notes, "created_at")
  local ended = read_time(alignment.completed_at, row.notes, "completed_at")
    or read_time(alignment.stopped_at, row.notes, "stopped_at")
  if ended == nil and row.outcome == "failed" then
    -- failed and cancelled carry no time of their own: the last update is it
    ended = read_time(alignment.updated_at, row.notes, "updated_at")
  end
  if created and ended and ended < created then
    row.notes[#row.notes + 1] = "finished before it started (clock skew)"
    row.skewed = true
    ended = created
  end
  row.open = ended == nil and (row.outcome == "running" or row.outcome == "queued")
  -- The alignment job has no separate start time: its whole life is one bar.
  row.abs = { started = created, ended = ended }
  return row
end

-- Segments (absolute times) of a row, given "now" for open bars.
local function absolute_segments(row, now)
  local a = row.abs
  local out = {}
  local finish = a.ended or (row.open and now) or nil
  local run_phase = row.outcome == "queued" and "queued" or (row.open and "running") or row.outcome
  if run_phase == "ready" or run_phase == "unknown" then run_phase = "running" end
  if a.queued then
    local until_ = a.started or (row.outcome == "queued" and finish) or a.ended or nil
    if until_ and until_ >= a.queued then
      out[#out + 1] = { phase = "queued", from = a.queued, to = until_ }
      if until_ > a.queued then row.wait = until_ - a.queued end
    end
    if a.started == nil and row.outcome == "queued" then return out end
  end
  if a.started then
    local to = finish or a.started
    out[#out + 1] = { phase = run_phase, from = a.started, to = math.max(to, a.started) }
    if finish then row.run = math.max(0, finish - a.started) end
  elseif a.ended and #out == 0 then
    -- only the end is known: a point
    out[#out + 1] = { phase = run_phase, from = a.ended, to = a.ended }
  elseif a.ended and out[#out] and row.outcome == "failed" then
    -- failed while still queued (never started): a point at the end
    out[#out + 1] = { phase = "failed", from = a.ended, to = a.ended }
  end
  return out
end

local function nice_step(span, max_ticks)
  for _, step in ipairs(STEPS) do
    if span / step <= max_ticks then return step end
  end
  return span / max_ticks
end

local function outcome_counts()
  return { queued = 0, running = 0, completed = 0, failed = 0, ready = 0, unknown = 0 }
end

-- Worst first: a group is drawn in the colour of its worst file.
local SEVERITY = { failed = 6, unknown = 5, running = 4, queued = 3, completed = 2, ready = 1 }

-- Replaces file rows by at most max_rows groups of neighbours in time order.
local function group_rows(rows, max_rows)
  local n = #rows
  local per = math.ceil(n / max_rows)
  local groups = {}
  for first = 1, n, per do
    local last_index = math.min(n, first + per - 1)
    local g = {
      kind = "group", count = last_index - first + 1, outcomes = outcome_counts(), notes = {}, segments = {},
      label = ("files %d–%d"):format(first, last_index), outcome = "ready", open = false,
    }
    local q_from, r_from, last
    for i = first, last_index do
      local row = rows[i]
      g.outcomes[row.outcome] = (g.outcomes[row.outcome] or 0) + 1
      if SEVERITY[row.outcome] > SEVERITY[g.outcome] then g.outcome = row.outcome end
      if row.wait and (g.wait == nil or row.wait > g.wait) then g.wait = row.wait end
      if row.run and (g.run == nil or row.run > g.run) then g.run = row.run end
      g.open = g.open or row.open
      for _, s in ipairs(row.segments) do
        if s.phase == "queued" then
          q_from = math.min(q_from or s.from, s.from)
        else
          r_from = math.min(r_from or s.from, s.from)
        end
        last = math.max(last or s.to, s.to)
      end
    end
    -- The envelope of the group: queued from its first arrival to its first
    -- start, then busy until its last file ended.
    if q_from and (r_from == nil or q_from < r_from) then
      g.segments[#g.segments + 1] = { phase = "queued", from = q_from, to = r_from or last }
    end
    if r_from then
      local phase = g.outcome
      if phase == "ready" or phase == "unknown" or phase == "queued" then phase = "completed" end
      if g.open then phase = "running" end
      g.segments[#g.segments + 1] = { phase = phase, from = r_from, to = last }
    end
    if #g.segments == 0 then g.notes[#g.notes + 1] = "no file in this group has a usable time" end
    groups[#groups + 1] = g
  end
  return groups, per
end

--- Lays out a data job detail as a timeline.
---@param d table a data job detail (decoded by the client, or any table of that shape)
---@param opts seekrflow.timeline.Options?
---@return seekrflow.timeline.Layout
function timeline.layout(d, opts)
  if type(d) ~= "table" then fail("timeline.layout: expected a data job detail (a table), got " .. type(d)) end
  opts = check_options(opts)
  local max_rows = opts.max_rows or DEFAULTS.max_rows
  local max_ticks = opts.max_ticks or DEFAULTS.max_ticks
  local max_events = opts.max_events or DEFAULTS.max_events

  local layout = {
    job = { id = str(d.id), name = str(d.name), status = str(d.status), status_message = str(d.status_message),
      job_type = str(d.job_type) },
    rows = {}, events = {}, events_omitted = 0, ticks = {},
  }
  local lo, hi = math.huge, -math.huge
  local function see(t)
    if t then
      if t < lo then lo = t end
      if t > hi then hi = t end
    end
  end

  -- Files, each with its current record (the detail module's rule).
  local files = {}
  for file, record, _, file_status in detail_fns.each_file(d) do
    local status = str(file_status)
    local row = {
      kind = "file", notes = {}, segments = {}, file_id = str(file.file_id), record_id = str(file.record_id),
      suggested_fix = str(file.suggested_fix), index = #files + 1,
    }
    row.label = str(file.name) or (record and str(record.filename)) or row.file_id or "(unnamed file)"
    if record then
      record_row(row, record, status)
    elseif detail_fns.is_markdown(file) then
      row.outcome, row.abs = "ready", {}
      row.notes[#row.notes + 1] = "Markdown: ready for alignment without ingestion"
    else
      row.status = status
      row.outcome = (row.status == "failed" or row.status == "completed" or row.status == "running"
        or row.status == "queued") and row.status or "unknown"
      row.abs = {}
      row.notes[#row.notes + 1] = "no ingestion record"
    end
    for _, t in pairs(row.abs) do see(t) end
    files[#files + 1] = row
  end
  local alignment = alignment_row(d.alignment_job)
  if alignment then
    for _, t in pairs(alignment.abs) do see(t) end
  end

  -- Events: markers where their time is readable, in time order.
  local events = {}
  for event in detail_fns.each_event(d) do
    local t = type(event) == "table" and text.parse_time(event.timestamp) or nil
    if t and #events < max_events then
      events[#events + 1] = { t = t, event_type = str(event.event_type), message = str(event.message) }
      see(t)
    else
      layout.events_omitted = layout.events_omitted + 1
    end
  end

  -- Now: where open bars end. Never before the latest time the detail shows
  -- (the client's clock may be behind the server's).
  local now
  for _, row in ipairs(files) do if row.open then now = true end end
  if alignment and alignment.open then now = true end
  if now then
    local latest = math.max(hi, text.parse_time(d.updated_at) or -math.huge)
    now = opts.now and math.max(opts.now, latest) or latest
    if now == -math.huge then now = nil end
    see(now)
  end

  for _, row in ipairs(files) do row.segments = absolute_segments(row, now) end
  if alignment then alignment.segments = absolute_segments(alignment, now) end

  -- Systemd-analyze order: by the time each file joined the queue; files
  -- without a time last, in the order the detail lists them.
  table.sort(files, function(a, b)
    local ta, tb = a.segments[1] and a.segments[1].from, b.segments[1] and b.segments[1].from
    if ta and tb and ta ~= tb then return ta < tb end
    if (ta == nil) ~= (tb == nil) then return ta ~= nil end
    return a.index < b.index
  end)

  -- Summary over every file, before any grouping.
  local summary = { files = #files, outcomes = outcome_counts(), skewed = 0, untimed = 0 }
  for _, row in ipairs(files) do
    summary.outcomes[row.outcome] = summary.outcomes[row.outcome] + 1
    if row.skewed then summary.skewed = summary.skewed + 1 end
    if #row.segments == 0 and row.outcome ~= "ready" then summary.untimed = summary.untimed + 1 end
    if row.wait and (summary.longest_wait == nil or row.wait > summary.longest_wait.seconds) then
      summary.longest_wait = { seconds = row.wait, label = row.label }
    end
    if row.run and (summary.longest_run == nil or row.run > summary.longest_run.seconds) then
      summary.longest_run = { seconds = row.run, label = row.label }
    end
  end
  if alignment and alignment.skewed then summary.skewed = summary.skewed + 1 end
  layout.summary = summary

  if #files > max_rows then
    local groups, per = group_rows(files, max_rows)
    layout.grouped = { files = #files, rows = #groups, per_row = per }
    layout.note = ("%d files grouped into %d rows of up to %d each, in queue order"):format(#files, #groups, per)
    files = groups
  end

  -- Relative times from here on.
  if lo == math.huge then
    layout.span = 1
    summary.total = 0
  else
    layout.start = lo
    layout.span = math.max(hi - lo, 1e-3)
    summary.total = hi - lo
  end
  local function rel(t) return t - lo end
  for _, row in ipairs(files) do
    for _, s in ipairs(row.segments) do s.from, s.to = rel(s.from), rel(s.to) end
    row.abs, row.index = nil, nil
    layout.rows[#layout.rows + 1] = row
  end
  if alignment then
    for _, s in ipairs(alignment.segments) do s.from, s.to = rel(s.from), rel(s.to) end
    alignment.abs = nil
    layout.rows[#layout.rows + 1] = alignment
  end
  -- The server sends events in time order; a stable sort keeps its order
  -- for events at the same instant (and mends any that are not sorted).
  for i, e in ipairs(events) do e.index = i end
  table.sort(events, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    return a.index < b.index
  end)
  for i, e in ipairs(events) do
    events[i] = { at = rel(e.t), event_type = e.event_type, message = e.message }
  end
  layout.events = events
  if now then layout.now = rel(now) end

  -- nothing with a time: one tick, not a made-up scale
  local step = layout.start and nice_step(layout.span, max_ticks) or 2 * layout.span
  local i = 0
  while i * step <= layout.span + step * 1e-9 do
    layout.ticks[#layout.ticks + 1] = { at = i * step, label = text.duration(i * step) }
    i = i + 1
  end
  return layout
end

--- The summary as one line: "6 files: 3 completed, 2 failed, 1 ready ·
--- total 4m10s · longest wait 1m02s (scan.pdf) · longest run 2m10s (handbook.pdf)".
--- `escape` is applied to the file names (they are the server's text).
---@param layout seekrflow.timeline.Layout
---@param escape (fun(s: string): string)?
---@return string
function timeline.summary_line(layout, escape)
  escape = escape or function(s) return s end
  local s = layout.summary
  local counts = {}
  for _, outcome in ipairs({ "completed", "failed", "running", "queued", "ready", "unknown" }) do
    local n = s.outcomes[outcome]
    if n > 0 then counts[#counts + 1] = ("%d %s"):format(n, outcome) end
  end
  local parts = { ("%d file%s%s%s"):format(s.files, s.files == 1 and "" or "s", #counts > 0 and ": " or "",
    table.concat(counts, ", ")) }
  parts[#parts + 1] = "total " .. text.duration(s.total)
  for _, extreme in ipairs({ { "longest wait", s.longest_wait }, { "longest run", s.longest_run } }) do
    local what, e = extreme[1], extreme[2]
    if e then parts[#parts + 1] = ("%s %s (%s)"):format(what, text.duration(e.seconds), escape(e.label)) end
  end
  if s.skewed > 0 then parts[#parts + 1] = ("%d with clock skew"):format(s.skewed) end
  if s.untimed > 0 then parts[#parts + 1] = ("%d without times"):format(s.untimed) end
  return table.concat(parts, " · ")
end

--- A row's durations as text: "waited 1m02s, ran 2m10s" (a group: its longest).
---@param row seekrflow.timeline.Row
---@return string
function timeline.row_durations(row)
  local parts = {}
  local longest = row.kind == "group" and "longest " or ""
  if row.wait then parts[#parts + 1] = ("%swait %s"):format(longest, text.duration(row.wait)) end
  if row.run then
    parts[#parts + 1] = ("%s%s %s"):format(longest, row.open and "running for" or "run", text.duration(row.run))
  elseif row.open and row.wait then
    parts[#parts + 1] = "still queued"
  end
  return table.concat(parts, ", ")
end

return timeline
