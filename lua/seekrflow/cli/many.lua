--- Many jobs from the shell: `seekrflow watch JOB JOB…`, `seekrflow watch --all [--type T]`
--- and `seekrflow failures --all`.
---
--- On a terminal the watch is a table redrawn in place, one row per job, most urgent first,
--- cut to the terminal's width and height. In a pipe it prints one line per change (job
--- status, a file's outcome, alignment, errors, a job's end; a job watched again after its
--- watch ended, as `watching again (STATUS, was REASON)`); with --json one event per line
--- and a final `result` line (also on Ctrl-C).
---
--- The exit code is the worst outcome among the jobs, in this order (worst first):
---   130 interrupted, 4 authentication (401/403), 1 an error, 5 alignment failed or cancelled,
---   6 timed out, 3 needs review, 0 ready or completed (also when there was no job to watch).
local seekrflow = require "seekrflow"
local text = require "seekrflow.text"
local ci = require "seekrflow.cli.ci"

local many = {}

local safe = text.terminal_safe
local ESC = string.char(27)

-- Outcomes from worst to best, with their exit codes.
many.OUTCOMES = {
  { "interrupted", 130 }, { "auth", 4 }, { "error", 1 }, { "failed", 5 }, { "cancelled", 5 },
  { "timed_out", 6 }, { "needs_review", 3 }, { "reached", 0 },
}
local RANK, CODE = {}, {}
for i, o in ipairs(many.OUTCOMES) do
  RANK[o[1]] = i
  CODE[o[1]] = o[2]
end

-- A job's outcome: its watch reason, with 401/403 errors told apart (they need a new key).
local function outcome_of(result)
  local reason = result.reason or "reached"
  local err = result.error
  if reason == "error" and type(err) == "table" and (err.class == "unauthorized" or err.class == "forbidden") then
    return "auth"
  end
  return reason
end

--- The exit code for a many-jobs watch: the worst job outcome, or 130 when interrupted.
---@param result seekrflow.WatchManyResult
---@return integer
function many.exit_code(result)
  if result.reason == "interrupted" then return CODE.interrupted end
  if result.reason == "error" then return CODE[outcome_of(result)] end -- the job list could not be read
  local worst = #many.OUTCOMES
  for _, id in ipairs(result.order) do
    local rank = RANK[outcome_of(result.jobs[id])] or RANK.error
    if rank < worst then worst = rank end
  end
  return many.OUTCOMES[worst][2]
end

-- ------------------------------------------------------------------------------------------
-- drawing the loop's rows (seekrflow.watch_many's m:rows(), most urgent first)
-- ------------------------------------------------------------------------------------------

local function seconds_text(s)
  s = math.max(0, math.floor(s or 0))
  local h, m = math.floor(s / 3600), math.floor(s / 60) % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, s % 60) end
  return ("%d:%02d"):format(m, s % 60)
end

local SYMBOL = {
  reached = { "✓", "green" }, needs_review = { "!", "yellow" }, failed = { "✗", "red" },
  cancelled = { "✗", "red" }, error = { "✗", "red" }, timed_out = { "…", "yellow" },
  interrupted = { "-", "dim" },
}

local function symbol_of(row)
  if row.reason then return SYMBOL[row.reason] or { "?", "yellow" } end
  if row.error then return { "?", "yellow" } end
  if row.failed > 0 then return { "!", "yellow" } end
  return { "⟳", "cyan" }
end

local function files_text(row)
  local parts = { "✓" .. row.completed }
  if row.failed > 0 then parts[#parts + 1] = "✗" .. row.failed end
  if row.running > 0 then parts[#parts + 1] = "⟳" .. row.running end
  if row.queued > 0 then parts[#parts + 1] = "…" .. row.queued end
  return table.concat(parts, " ")
end

local function pad(s, n)
  s = text.clip(s, n)
  return s .. string.rep(" ", math.max(0, n - text.width(s)))
end

local function error_text(e)
  return safe(type(e) == "table" and e.message or e)
end

local function alignment_text(row)
  if not row.alignment_status then return "" end
  local p = row.alignment_progress
  return "align " .. safe(row.alignment_status) .. (p and (" " .. math.floor(p + 0.5) .. "%") or "")
end

local function status_text(row)
  if row.reason == "error" and row.error then return "error: " .. error_text(row.error) end
  return safe(row.status or "?")
end

-- Column widths from what the rows hold (status and files at most 24 columns), and what
-- is left for the name (at least 8, else the line is cut at the terminal's edge).
local function widths(rows, columns)
  local w = { status = 6, files = 2, align = 0 }
  for _, row in ipairs(rows) do
    w.status = math.max(w.status, math.min(24, text.width(status_text(row))))
    w.files = math.max(w.files, text.width(files_text(row)))
    w.align = math.max(w.align, text.width(alignment_text(row)))
  end
  -- symbol, gaps and the elapsed time (h:mm:ss)
  local fixed = 2 + 2 + w.status + 2 + w.files + (w.align > 0 and (2 + w.align) or 0) + 2 + 7
  w.name = math.max(8, columns - fixed)
  return w
end

-- One row as a line of at most `columns` columns.
local function row_line(row, paint, columns, w)
  local sym = symbol_of(row)
  local parts = { paint(sym[2], sym[1]) .. " " .. pad(safe(row.name), w.name), pad(status_text(row), w.status),
    pad(files_text(row), w.files) }
  if w.align > 0 then parts[#parts + 1] = pad(alignment_text(row), w.align) end
  parts[#parts + 1] = seconds_text(row.elapsed)
  return text.clip(table.concat(parts, "  "), columns)
end

--- The table's lines: a header, then the rows (most urgent first) cut to `max_rows` lines.
---@param rows seekrflow.WatchManyRow[]
function many.frame(rows, paint, columns, max_rows, elapsed)
  local moving, review, bad, ready = 0, 0, 0, 0
  for _, row in ipairs(rows) do
    local u = row.urgency
    if u == 3 then review = review + 1
    elseif row.reason == nil then moving = moving + 1
    elseif u == 6 then ready = ready + 1
    else bad = bad + 1 end
  end
  local lines = { text.clip(paint("bold", ("%d jobs: %d moving, %d need review, %d failed or stopped, %d done")
    :format(#rows, moving, review, bad, ready)) .. "   " .. seconds_text(elapsed), columns) }
  local room = math.max(1, max_rows - 1)
  local w = widths(rows, columns)
  for i, row in ipairs(rows) do
    if i == room and #rows > room then
      lines[#lines + 1] = paint("dim", ("… %d more jobs"):format(#rows - room + 1))
      break
    end
    lines[#lines + 1] = row_line(row, paint, columns, w)
  end
  return lines
end

-- ------------------------------------------------------------------------------------------
-- views
-- ------------------------------------------------------------------------------------------

local function terminal_view(ctx, state)
  local core = require "seekrflow.core"
  local view = { drawn = 0, last = -math.huge }
  function view.draw(force)
    local now = seekrflow.monotonic()
    if not force and now - view.last < 0.2 then return end
    view.last = now
    -- the size now: a terminal resized during the watch gets frames that fit it (a line
    -- that wrapped would break the count of lines to move back over)
    local cols, height = core.terminal_size(1)
    local columns = math.max(10, (cols or ctx.columns or 100) - 1)
    height = height or 24
    local lines = many.frame(state.m:rows(), ctx.paint, columns, math.max(3, height - 2), now - state.started)
    local buffer = {}
    if view.drawn > 0 then buffer[1] = "\r" .. ESC .. "[" .. view.drawn .. "A" .. ESC .. "[J" end
    for _, line in ipairs(lines) do buffer[#buffer + 1] = line .. "\n" end
    ctx.write(table.concat(buffer))
    view.drawn = #lines
  end
  function view.event() view.draw(false) end
  return view
end

local function lines_view(ctx, state)
  local paint = ctx.paint
  local view = {}
  local function say(id, message)
    ctx.write(("%s %s %s\n"):format(paint("dim", seconds_text(seekrflow.monotonic() - state.started)),
      paint("bold", safe(state.name_of(id))), message))
  end
  function view.event(e)
    local t = e.type
    if t == "job_added" then
      -- a later round (the job moved again after its watch ended) says so, and how the last ended
      local notes = {}
      if e.job and e.job.status then notes[1] = safe(e.job.status) end
      if e.again and e.previous_reason then notes[#notes + 1] = "was " .. safe(e.previous_reason) end
      say(e.job_id, (e.again and "watching again" or "watching")
        .. (#notes > 0 and (" (" .. table.concat(notes, ", ") .. ")") or ""))
    elseif t == "job_status" then
      say(e.job_id, ("%s%s%s"):format(e.from and (safe(e.from) .. " → ") or "", safe(e.to),
        e.message and ("  (" .. safe(e.message) .. ")") or ""))
    elseif (t == "record_status" or t == "record_added") and e.record.status == "failed" then
      -- a record first seen already failed (it failed between two polls) is a change too
      local r = e.record
      say(e.job_id, paint("red", ("✗ %s failed: %s"):format(safe(r.filename), safe(r.error_message or "?"))))
    elseif (t == "record_status" or t == "record_added") and e.record.status == "completed" then
      say(e.job_id, ("✓ %s"):format(safe(e.record.filename)))
    elseif t == "file_removed" then
      say(e.job_id, ("file removed: %s"):format(safe(e.file.name or e.file.file_id)))
    elseif t == "alignment" then
      local a = e.alignment_job
      say(e.job_id, ("alignment %s%s%s"):format(safe(a.status), a.current_step and (", " .. safe(a.current_step)) or "",
        tonumber(a.progress) and (", " .. math.floor(a.progress + 0.5) .. "%") or ""))
    elseif t == "poll_error" then
      say(e.job_id, paint("yellow", ("could not poll (%s); retrying in %.1f s"):format(
        safe(type(e.error) == "table" and e.error.message or e.error), e.delay or 0)))
    elseif t == "job_done" then
      say(e.job_id, ("done: %s"):format(safe(e.reason)))
    end
  end
  function view.draw() end
  return view
end

local follow = require "seekrflow.cli.follow"
local wall_clock, round2 = follow.wall_clock, follow.seconds

-- The JSON line of an event, as for one job (follow.json_event), a job's whole result summed
-- up rather than repeated.
local function json_event(e, iso, started)
  local out = e
  if e.type == "job_done" then
    out = {}
    for k, v in pairs(e) do out[k] = v end
    local r = e.result
    out.result = nil
    out.status = r.detail and r.detail.status
    out.error = r.error
    out.polls = r.polls
  end
  return follow.json_event(out, nil, iso, started)
end

-- ------------------------------------------------------------------------------------------
-- seekrflow watch JOB… / --all
-- ------------------------------------------------------------------------------------------

local is_interrupt = follow.is_interrupt

local function final_summary(ctx, result, rows)
  local paint = ctx.paint
  ctx.print("")
  local counts = {}
  for _, row in ipairs(rows) do counts[row.reason or "?"] = (counts[row.reason or "?"] or 0) + 1 end
  local tallies = {}
  for _, o in ipairs(many.OUTCOMES) do
    if counts[o[1]] then tallies[#tallies + 1] = counts[o[1]] .. " " .. (o[1]:gsub("_", " ")) end
  end
  ctx.print(paint("bold", ("%d %s watched%s%s  (%s)"):format(#rows, #rows == 1 and "job" or "jobs",
    #tallies > 0 and ": " or "", table.concat(tallies, ", "), seconds_text(result.elapsed))))
  if result.reason == "error" then
    local e = result.error
    ctx.print(paint("red", "✗ could not read the job list: " .. safe(type(e) == "table" and e.message or e)))
  end
  local next_ids = {}
  for _, row in ipairs(rows) do
    if row.reason ~= "reached" then
      local sym = symbol_of(row)
      local parts = { paint(sym[2], sym[1]) .. " " .. safe(row.name) }
      if row.name ~= row.id then parts[#parts + 1] = paint("dim", safe(row.id)) end
      parts[#parts + 1] = (tostring(row.reason or "?"):gsub("_", " "))
      if row.reason == "error" and row.error then
        parts[#parts + 1] = error_text(row.error)
      elseif row.status ~= row.reason and row.status ~= "?" then
        parts[#parts + 1] = "(" .. safe(row.status) .. ")"
      end
      if row.failed > 0 then
        parts[#parts + 1] = ("%d %s failed"):format(row.failed, row.failed == 1 and "file" or "files")
      end
      ctx.print(table.concat(parts, "  "))
      if row.failed > 0 or row.reason == "needs_review" then next_ids[#next_ids + 1] = row.id end
    end
  end
  if #next_ids == 1 then
    ctx.print("Next: seekrflow failures " .. safe(next_ids[1]))
  elseif #next_ids > 1 then
    ctx.print("Next: seekrflow failures --all   (or seekrflow failures JOB for one job)")
  end
end

-- In GitHub Actions: each job with failed files or needing review gets its annotations
-- and its Markdown summary (seekrflow.cli.ci), as a single-job watch does.
local function report_to_ci(ctx, m, rows)
  if ctx.getenv("GITHUB_ACTIONS") ~= "true" then return end
  local summary = require "seekrflow.summary"
  for _, row in ipairs(rows) do
    local d = m:job(row.id)
    if d and (row.failed > 0 or row.status == "needs_review") then ci.report(ctx, summary.of(d), row.reason) end
  end
end

--- Watches many jobs; returns the exit code.
---@param ctx table the command's context
---@param targets string[]|{ all: true, job_type: string? }
---@param opts table until_statuses, timeout, min_interval, max_interval, concurrency
---@return integer
function many.watch(ctx, targets, opts)
  local client = ctx.client()
  local started = seekrflow.monotonic()
  local iso = wall_clock()
  local f = ctx.flags
  local m
  local state = { started = started, names = {} }
  function state.name_of(id)
    local _, name = m:job(id)
    return name or state.names[id] or id
  end
  local view
  if not f.json then view = ctx.isatty and terminal_view(ctx, state) or lines_view(ctx, state) end
  local function on_event(e)
    if e.type == "job_added" and e.job and type(e.job.name) == "string" then state.names[e.job_id] = e.job.name end
    if f.json then ctx.json(json_event(e, iso, started)) else view.event(e) end
  end
  m = require("seekrflow.watch_many").new(client, targets, {
    until_statuses = opts.until_statuses, timeout = opts.timeout, min_interval = opts.min_interval,
    max_interval = opts.max_interval, concurrency = opts.concurrency, on_event = on_event,
    discover_interval = opts.discover_interval,
  })
  state.m = m
  local ok, err = pcall(function()
    while true do
      local _, done, wait = m:step()
      if done then return end
      view = view or { draw = function() end }
      view.draw(false)
      -- short waits on a terminal so the elapsed times keep ticking
      m:wait(ctx.isatty and math.min(wait, 1) or wait)
    end
  end)
  if not ok then
    if not is_interrupt(err) then error(err, 0) end
    m:stop()
    m:step() -- ends every job "interrupted" and cancels what is in flight
  end
  local result = m:result()
  local code = many.exit_code(result)
  local rows = m:rows()
  report_to_ci(ctx, m, rows)
  if f.json then
    local jobs = {}
    for _, row in ipairs(rows) do
      jobs[#jobs + 1] = { job_id = row.id, name = row.name, reason = row.reason, status = row.status,
        files_completed = row.completed, files_failed = row.failed, error = row.error }
    end
    ctx.json({ type = "result", reason = result.reason, exit_code = code, counts = result.counts,
      jobs = setmetatable(jobs, seekrflow.array_mt), skipped = result.skipped, requests = result.requests,
      elapsed = round2(result.elapsed), time = iso() })
    return code
  end
  if view and ctx.isatty then view.draw(true) end
  final_summary(ctx, result, rows)
  return code
end

-- ------------------------------------------------------------------------------------------
-- seekrflow failures --all
-- ------------------------------------------------------------------------------------------

-- Statuses whose jobs can have failures worth showing.
local WITH_FAILURES = { needs_review = true, file_processing = true, failed = true }

--- The failure summary of every job that needs review, is ingesting or failed; returns the
--- exit code (3 when any job has failures or needs review, else 0).
---@param ctx table
---@param opts { job_type: string?, max_jobs: integer? }
---@return integer
function many.failures(ctx, opts)
  local summary = require "seekrflow.summary"
  local client = ctx.client()
  local max_jobs = opts.max_jobs or 100
  local candidates, scanned = {}, 0
  for job in client.data_jobs:iter { job_type = opts.job_type, sort_by = "created_at", sort_order = "desc",
      max_items = 1000 } do
    scanned = scanned + 1
    if WITH_FAILURES[job.status] then candidates[#candidates + 1] = job end
    if #candidates >= max_jobs then break end
  end
  local found, out = 0, {}
  for _, job in ipairs(candidates) do
    local d = client.data_jobs:retrieve(job.id)
    local s = summary.of(d)
    if #s.failed > 0 or d.status == "needs_review" then
      found = found + 1
      ci.report(ctx, s)
      if ctx.flags.json then
        out[#out + 1] = { job_id = job.id, name = d.name, status = d.status, summary = s }
      else
        if found > 1 then ctx.print("") end
        ctx.write(summary.render(s, { color = ctx.color, width = ctx.width }))
      end
    end
  end
  if ctx.flags.json then
    ctx.json(setmetatable(out, seekrflow.array_mt))
  elseif found == 0 then
    ctx.print(("No failures: none of the %d jobs looked at needs review."):format(scanned))
  end
  local EXIT = require("seekrflow.cli.commands").EXIT
  return found > 0 and EXIT.needs_review or EXIT.ok
end

return many
