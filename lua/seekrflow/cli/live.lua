--- How `seekrflow watch` shows progress.
---
--- On a terminal: a frame (job, per-file state, queue positions, alignment,
--- elapsed time) redrawn in place, never scrolled. Elsewhere (a pipe, a log
--- file, CI): one line per change, so the output reads as a history.
local render = require "seekrflow.cli.render"
local detail_fns = require "seekrflow.detail"

local safe = render.safe

local live = {}

local ESC = string.char(27)

local SYMBOLS = {
  queued = { "…", "dim" }, running = { "⟳", "cyan" }, completed = { "✓", "green" },
  failed = { "✗", "red" }, markdown = { "✓", "green" },
}

--- Rows for every attached file, in attachment order, with its current record.
local function file_rows(detail)
  local rows = {}
  for file, record in detail_fns.each_file(detail) do rows[#rows + 1] = { file = file, record = record } end
  return rows
end

local function record_line(row, paint, state)
  local record, name = row.record, safe(row.file.name or row.file.file_id)
  local status = record and record.status or (row.file.record_id == nil and "markdown") or row.file.status or "?"
  local symbol = SYMBOLS[status] or { "?", "yellow" }
  local detail_text
  if status == "queued" then
    detail_text = record.queue_position and ("queued #" .. safe(record.queue_position)) or "queued"
  elseif status == "running" then
    -- timed from when this watch saw it start: the server's clock and ours may differ
    local since = state.running_since and state.running_since[record.record_id]
    detail_text = "running" .. (since and state.now and ("  " .. render.duration(state.now - since)) or "")
  elseif status == "completed" then
    local a, b = render.parse_time(record.processing_at), render.parse_time(record.completed_at)
    detail_text = "completed" .. (a and b and ("  " .. render.duration(b - a)) or "")
  elseif status == "failed" then
    detail_text = "failed  " .. safe(record.error_message or "")
  elseif status == "markdown" then
    detail_text = "ready (Markdown, no ingestion needed)"
  else
    detail_text = safe(status)
  end
  return ("  %s %-24s %s"):format(paint(symbol[2], symbol[1]), render.clip(name, 24), paint(symbol[2], detail_text))
end

local function alignment_line(detail)
  local a = detail.alignment_job
  if not a then return nil end
  local parts = { "alignment " .. safe(a.status) }
  if a.current_step then parts[#parts + 1] = safe(a.current_step) end
  if type(a.progress) == "number" then parts[#parts + 1] = ("%d%%"):format(math.floor(a.progress + 0.5)) end
  if type(a.eta_minutes) == "number" then parts[#parts + 1] = ("eta %d min"):format(a.eta_minutes) end
  return "  " .. table.concat(parts, "  ")
end

--- The frame for a detail, as lines.
function live.frame(detail, state, paint)
  local lines = {}
  lines[#lines + 1] = paint("bold", ("%s  %s"):format(safe(detail.id or "?"), safe(detail.name or "")))
  lines[#lines + 1] = ("  status %s%s   elapsed %s"):format(
    paint(detail.status == "needs_review" and "yellow" or "bold", safe(detail.status)),
    detail.status_message and ("  " .. paint("dim", safe(detail.status_message))) or "",
    render.duration(state.elapsed or 0))
  for _, row in ipairs(file_rows(detail)) do lines[#lines + 1] = record_line(row, paint, state) end
  local align = alignment_line(detail)
  if align then lines[#lines + 1] = align end
  if state.last_event then
    lines[#lines + 1] = paint("dim", "  last event: " .. state.last_event)
  end
  if state.note then lines[#lines + 1] = paint("yellow", "  " .. state.note) end
  return lines
end

--- A terminal view: each draw replaces the previous frame.
function live.terminal(write, paint, columns)
  local view = { drawn = 0 }
  function view:draw(detail, state)
    local lines = live.frame(detail, state, paint)
    local buffer = {}
    if self.drawn > 0 then
      -- back to the first line of the last frame, and clear below it
      buffer[1] = "\r" .. ESC .. "[" .. self.drawn .. "A" .. ESC .. "[J"
    end
    for _, line in ipairs(lines) do
      -- a wrapped line would break the count of lines to move back over
      buffer[#buffer + 1] = render.clip(line, columns - 1) .. "\n"
    end
    write(table.concat(buffer))
    self.drawn = #lines
  end
  return view
end

--- One line per change, for pipes and logs.
function live.lines(write, paint)
  local view = {}
  local function say(state, text)
    write(("%s %s\n"):format(paint("dim", render.duration(state.elapsed or 0)), text))
  end
  --- The state found by the first poll, compactly: the job, each attached
  --- file as it stands, and the latest event (not the whole history).
  function view.snapshot(_, detail, state)
    say(state, ("job %s %s%s"):format(safe(detail.id), paint("bold", safe(detail.status)),
      detail.status_message and ("  (" .. safe(detail.status_message) .. ")") or ""))
    for _, row in ipairs(file_rows(detail)) do
      local r, name = row.record, safe(row.file.name or row.file.file_id)
      if not r then
        say(state, ("  %s ready (Markdown)"):format(name))
      elseif r.status == "failed" then
        say(state, paint("red", ("  ✗ %s failed: %s"):format(name, safe(r.error_message or "?"))))
      else
        say(state, ("  %s %s%s"):format(name, safe(r.status),
          r.queue_position and (" #" .. safe(r.queue_position)) or ""))
      end
    end
    local last
    for event in detail_fns.each_event(detail) do last = event end
    if last then say(state, ("  latest event: %s — %s"):format(safe(last.event_type), safe(last.message or ""))) end
  end
  function view.event(_, event, state)
    local t = event.type
    if t == "job_status" then
      say(state, ("job %s%s%s"):format(event.from and (safe(event.from) .. " → ") or "",
        paint("bold", safe(event.to)),
        event.message and ("  (" .. safe(event.message) .. ")") or ""))
    elseif t == "record_added" then
      local r = event.record
      say(state, ("+ %s %s%s"):format(safe(r.filename), safe(r.status),
        r.queue_position and (" #" .. safe(r.queue_position)) or ""))
    elseif t == "record_status" then
      local r = event.record
      if event.to == "failed" then
        say(state, paint("red", ("✗ %s failed: %s"):format(safe(r.filename), safe(r.error_message or "?")))
          .. (r.suggested_fix and ("  fix: " .. safe(r.suggested_fix)) or ""))
      else
        say(state, ("%s %s → %s"):format(safe(r.filename), safe(event.from), safe(event.to)))
      end
    elseif t == "queue_position" then
      say(state, ("%s queue #%s → #%s"):format(safe(event.record.filename), safe(event.from), safe(event.to)))
    elseif t == "file_added" then
      say(state, ("file attached: %s"):format(safe(event.file.name or event.file.file_id)))
    elseif t == "file_removed" then
      say(state, ("file removed: %s"):format(safe(event.file.name or event.file.file_id)))
    elseif t == "timeline" then
      say(state, ("event: %s — %s"):format(safe(event.event.event_type), safe(event.event.message or "")))
    elseif t == "alignment" then
      local a = event.alignment_job
      say(state, ("alignment %s%s%s"):format(safe(a.status), a.current_step and (", " .. safe(a.current_step)) or "",
        type(a.progress) == "number" and (", " .. math.floor(a.progress + 0.5) .. "%") or ""))
    elseif t == "poll_error" then
      say(state, paint("yellow", ("could not reach the server (%s); retrying in %.1f s"):format(
        safe(event.error and event.error.message or "?"), event.delay or 0)))
    end
  end
  return view
end

return live
