--- seekrflow.report: a data job as one standalone SVG picture.
---
---     local report = require "seekrflow.report"
---     assert(report.write("report.svg", client.data_jobs:retrieve "dj-…"))
---
--- The picture is the timeline layout (seekrflow.timeline) drawn with file
--- names, the job's status and what blocks it, durations on hover (`<title>`),
--- the timeline events, and every failure with its suggested fix and what to
--- do next (seekrflow.summary). It is one file that needs nothing else: no
--- scripts, no links, no external fonts, images or styles, so it opens the
--- same offline, in a browser, an image viewer or a CI artifact page.
---
--- Everything the server sent is untrusted: it passes text.terminal_safe
--- (control characters, bidi controls and invalid UTF-8 become visible
--- escapes) and is then XML-escaped, so no name can end an element, inject
--- markup or put a character XML forbids into the file.
local errors = require "seekrflow.errors"
local summary = require "seekrflow.summary"
local text = require "seekrflow.text"
local timeline = require "seekrflow.timeline"

local report = {}

---@class seekrflow.report.Options
---@field now number? epoch seconds where bars still running end (default: the latest time in the detail)
---@field width integer? picture width in pixels (default 1100, at least 700)
---@field max_rows integer? at most this many file rows; more files are grouped (default 120)
---@field generated_at number? epoch seconds written in the footer (default: now)

local COLOURS = {
  queued = "#c3cad5", running = "#e9a820", completed = "#2f9e5f", failed = "#d64545",
  ready = "#7a8aa0", unknown = "#9aa3ad",
}
local STATUS_COLOURS = {
  ready_to_start = COLOURS.completed, completed = COLOURS.completed, needs_review = COLOURS.failed,
  failed = COLOURS.failed, cancelled = COLOURS.failed, stopped = COLOURS.failed,
  file_processing = COLOURS.running, running = COLOURS.running, pending = COLOURS.running, queued = COLOURS.running,
}
local OUTCOME_WORDS = {
  queued = "queued", running = "running", completed = "done", failed = "failed",
  ready = "ready (Markdown)", unknown = "unknown",
}

local PAD, ROW_H, LABEL_W, RIGHT_W = 24, 22, 250, 170
-- Average advance of a 12 px sans-serif character, for cutting text to fit.
local CHAR_W = 6.8
local MAX_EVENT_LINES = 30
local MAX_NAMES = 10

-- U+FFFE and U+FFFF are well-formed UTF-8 that XML still forbids.
local NONCHARACTER = "\239\191[\190\191]"
local XML_ENTITIES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;" }

--- Untrusted text as XML character data or an attribute value: made inert
--- by text.terminal_safe, cut to `columns` code points when given, escaped.
--- With keep_newlines, line feeds stay (tooltips have several lines).
---@param s any
---@param columns integer?
---@param keep_newlines boolean?
---@return string
function report.xml_text(s, columns, keep_newlines)
  local safe = text.terminal_safe(s, keep_newlines):gsub(NONCHARACTER, function(c)
    return ("\\u{%04X}"):format(c:byte(3) == 190 and 0xFFFE or 0xFFFF)
  end)
  if columns then safe = text.clip(safe, columns) end
  return (safe:gsub("[&<>\"']", XML_ENTITIES))
end
local xml = report.xml_text

local function num(v)
  return ("%.1f"):format(v):gsub("%.0$", "")
end

-- Words of s on lines of at most `columns` code points (a word longer than
-- a line is cut), at most max_lines lines.
local function wrap(s, columns, max_lines)
  local lines, line = {}, ""
  for word in s:gmatch("%S+") do
    if text.width(word) > columns then word = text.clip(word, columns) end
    if line == "" then
      line = word
    elseif text.width(line) + 1 + text.width(word) <= columns then
      line = line .. " " .. word
    else
      lines[#lines + 1] = line
      line = word
    end
  end
  if line ~= "" then lines[#lines + 1] = line end
  if #lines > max_lines then
    lines[max_lines] = text.clip(lines[max_lines] .. " …", columns)
    for i = #lines, max_lines + 1, -1 do lines[i] = nil end
  end
  return lines
end

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(errors.new("invalid_argument", "report.svg: options must be a table, got " .. type(opts)), 0)
  end
  for key, value in pairs(opts) do
    local known = key == "now" or key == "width" or key == "max_rows" or key == "generated_at"
    if not known then
      error(errors.new("invalid_argument", ("report.svg: unknown option %s (known: now, width, max_rows, generated_at)")
        :format(tostring(key))), 0)
    end
    if type(value) ~= "number" or value ~= value then
      error(errors.new("invalid_argument", ("report.svg: %s must be a number"):format(key)), 0)
    end
  end
  if opts.width and opts.width < 700 then
    error(errors.new("invalid_argument", "report.svg: width must be at least 700 pixels"), 0)
  end
  return opts
end

-- The text of a row's tooltip: name, outcome, durations, error, notes.
local function row_title(row)
  local parts = { row.label .. " — " .. (OUTCOME_WORDS[row.outcome] or row.outcome) }
  if row.kind == "group" then
    local counts = {}
    for _, outcome in ipairs({ "completed", "failed", "running", "queued", "ready", "unknown" }) do
      local n = row.outcomes[outcome]
      if n > 0 then counts[#counts + 1] = ("%d %s"):format(n, OUTCOME_WORDS[outcome]) end
    end
    parts[1] = ("%s — %d files: %s"):format(row.label, row.count, table.concat(counts, ", "))
  end
  local durations = timeline.row_durations(row)
  if durations ~= "" then parts[#parts + 1] = durations end
  if row.error_message then parts[#parts + 1] = row.error_message end
  if row.suggested_fix and row.outcome == "failed" then parts[#parts + 1] = "Fix: " .. row.suggested_fix end
  for _, note in ipairs(row.notes) do parts[#parts + 1] = note end
  return table.concat(parts, "\n")
end

-- The short text right of a bar.
local function row_side(row)
  if row.kind == "group" then
    local failed = row.outcomes.failed
    return ("%d files%s"):format(row.count, failed > 0 and (", %d failed"):format(failed) or "")
  end
  if row.outcome == "ready" then return "ready, no ingestion" end
  local word = OUTCOME_WORDS[row.outcome] or row.outcome
  local skew = row.skewed and ", clock skew" or ""
  if row.run then return ("%s %s%s"):format(word, text.duration(row.run), skew) end
  if row.wait then return ("%s, waited %s%s"):format(word, text.duration(row.wait), skew) end
  return word .. skew
end

--- The SVG document of a data job detail.
---@param d table a data job detail
---@param opts seekrflow.report.Options?
---@return string svg
function report.svg(d, opts)
  opts = check_options(opts)
  local layout = timeline.layout(d, { now = opts.now, max_rows = opts.max_rows or 120 })
  local s = summary.of(d)
  local W = math.floor(opts.width or 1100)
  local bar_x = PAD + LABEL_W
  local bar_w = W - bar_x - RIGHT_W - PAD
  local text_columns = math.floor((W - 2 * PAD) / CHAR_W)
  local out = {}
  local function add(...)
    for i = 1, select("#", ...) do out[#out + 1] = select(i, ...) end
  end
  local function x_of(t) return bar_x + t / layout.span * bar_w end
  local function line_of_text(x, y, content, attrs)
    add(('<text x="%s" y="%s"%s>%s</text>\n'):format(num(x), num(y), attrs or "", content))
  end

  -- Header: name, id, type, status, what blocks the job, the summary line.
  local y = PAD + 20
  local job = layout.job
  line_of_text(PAD, y, xml(job.name or job.id or "data job", text_columns - 10), ' font-size="20" font-weight="bold"')
  y = y + 26
  local status = job.status or "unknown"
  local pill_w = 14 + text.width(text.terminal_safe(status)) * 7.2
  add(('<rect x="%d" y="%s" width="%s" height="20" rx="10" fill="%s"/>\n')
    :format(PAD, num(y - 14), num(pill_w), STATUS_COLOURS[status] or COLOURS.unknown))
  line_of_text(PAD + 7, y, xml(status, 40), ' fill="#ffffff" font-weight="bold"')
  line_of_text(PAD + pill_w + 10, y, xml(("%s · %s"):format(job.id or "?", job.job_type or "?"), text_columns - 30),
    ' fill="#4a5566"')
  y = y + 22
  if job.status_message then
    for _, l in ipairs(wrap(text.terminal_safe(job.status_message), text_columns, 3)) do
      line_of_text(PAD, y, xml(l), ' fill="#4a5566"')
      y = y + 17
    end
  end
  for _, blocker in ipairs(s.blockers) do
    for _, l in ipairs(wrap(text.terminal_safe("Blocked: " .. blocker.message), text_columns, 2)) do
      line_of_text(PAD, y, xml(l), ' fill="#a33333"')
      y = y + 17
    end
  end
  y = y + 4
  -- the summary, broken between its parts to fit the width
  local summary_text = ""
  local function summary_out()
    line_of_text(PAD, y, xml(summary_text, text_columns), ' font-size="13"')
    y = y + 18
  end
  for part in (timeline.summary_line(layout, text.terminal_safe) .. " · "):gmatch("(.-) · ") do
    if summary_text ~= "" and text.width(summary_text) + 3 + text.width(part) > text_columns - 4 then
      summary_out()
      summary_text = part
    else
      summary_text = summary_text == "" and part or (summary_text .. " · " .. part)
    end
  end
  if summary_text ~= "" then summary_out() end
  if layout.note then
    line_of_text(PAD, y, xml(layout.note .. " (hover a row for its counts)"), ' fill="#4a5566"')
    y = y + 18
  end

  -- Legend.
  y = y + 6
  local lx = PAD
  for _, item in ipairs({ { "queued", "waiting in the queue" }, { "running", "running" }, { "completed", "done" },
    { "failed", "failed" }, { "ready", "Markdown, no ingestion" } }) do
    add(('<rect x="%s" y="%s" width="14" height="10" rx="2" fill="%s"/>\n')
      :format(num(lx), num(y - 9), COLOURS[item[1]]))
    line_of_text(lx + 19, y, item[2], ' fill="#4a5566" font-size="11"')
    lx = lx + 27 + #item[2] * 6
  end
  add(('<path d="M%s %sl4 7h-8z" fill="#3b5bdb"/>\n'):format(num(lx + 4), num(y - 9)))
  line_of_text(lx + 13, y, "timeline event", ' fill="#4a5566" font-size="11"')
  y = y + 20

  -- Axis: tick labels, a strip for the event markers, then grid lines
  -- through every row.
  local axis_y = y + 10
  local strip_y = axis_y + 4
  local rows_y = strip_y + 22
  local rows_h = #layout.rows * ROW_H
  for _, tick in ipairs(layout.ticks) do
    local x = x_of(tick.at)
    line_of_text(x, axis_y, xml(tick.label), ' fill="#4a5566" font-size="11" text-anchor="middle"')
  end

  for i, row in ipairs(layout.rows) do
    local ry = rows_y + (i - 1) * ROW_H
    if row.kind == "alignment" and i > 1 then
      add(('<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#8792a2" stroke-width="1"/>\n')
        :format(PAD, num(ry), W - PAD, num(ry)))
    end
    if i % 2 == 0 then
      add(('<rect x="%d" y="%s" width="%d" height="%d" fill="#f3f5f8"/>\n'):format(PAD, num(ry), W - 2 * PAD, ROW_H))
    end
  end
  for _, tick in ipairs(layout.ticks) do
    local x = x_of(tick.at)
    add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#dde2e8" stroke-width="1"/>\n')
      :format(num(x), num(axis_y + 4), num(x), num(rows_y + rows_h)))
  end
  for _, event in ipairs(layout.events) do
    local x = x_of(event.at)
    add(('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#3b5bdb" stroke-opacity="0.35" stroke-dasharray="3 3"/>\n')
      :format(num(x), num(rows_y), num(x), num(rows_y + rows_h)))
  end

  -- Rows: one group per row, its tooltip first.
  local label_columns = math.floor((LABEL_W - 12) / CHAR_W)
  for i, row in ipairs(layout.rows) do
    local ry = rows_y + (i - 1) * ROW_H
    add(("<g>\n<title>%s</title>\n"):format(xml(row_title(row), nil, true)))
    local weight = (row.kind ~= "file") and ' font-weight="bold"' or ""
    line_of_text(PAD + 6, ry + 15, xml(row.label, label_columns), weight)
    for _, seg in ipairs(row.segments) do
      local x1, x2 = x_of(seg.from), x_of(seg.to)
      add(('<rect x="%s" y="%s" width="%s" height="12" rx="2" fill="%s"/>\n')
        :format(num(math.min(x1, bar_x + bar_w - 2)), num(ry + 5), num(math.max(2, x2 - x1)), COLOURS[seg.phase]))
    end
    if #row.segments == 0 then
      local why = row.outcome == "ready" and "Markdown: ready without ingestion" or "no times to draw"
      line_of_text(bar_x + 4, ry + 15, why, ' fill="#7a8aa0" font-style="italic" font-size="11"')
    elseif row.outcome == "failed" then
      local last = row.segments[#row.segments]
      local x = x_of(last.to) + math.max(0, 2 - (x_of(last.to) - x_of(last.from)))
      add(('<path d="M%s %sl6 6m0 -6l-6 6" stroke="%s" stroke-width="2"/>\n')
        :format(num(x + 3), num(ry + 8), COLOURS.failed))
    end
    local side_colour = row.outcome == "failed" and COLOURS.failed or "#4a5566"
    line_of_text(bar_x + bar_w + 14, ry + 15, xml(row_side(row)), (' fill="%s" font-size="11"'):format(side_colour))
    add("</g>\n")
  end

  -- Event markers above the rows, numbered like the list below the chart
  -- (a number is left out where it would overlap the previous one).
  local last_number_x = -math.huge
  for n, event in ipairs(layout.events) do
    local x = x_of(event.at)
    add(('<g>\n<title>%s</title>\n'):format(xml(("%d. %s %s — %s"):format(n, text.duration(event.at),
      event.event_type or "event", event.message or ""))))
    if x - last_number_x >= 10 + 6 * #tostring(n) then
      line_of_text(x, strip_y + 9, tostring(n), ' fill="#3b5bdb" font-size="10" text-anchor="middle"')
      last_number_x = x
    end
    add(('<path d="M%s %sl4 -7h-8z" fill="#3b5bdb"/>\n</g>\n'):format(num(x), num(rows_y - 1)))
  end
  y = rows_y + rows_h + 28

  -- The events as a list.
  if #layout.events > 0 or layout.events_omitted > 0 then
    line_of_text(PAD, y, "Timeline", ' font-size="15" font-weight="bold"')
    y = y + 20
    for n, event in ipairs(layout.events) do
      if n > MAX_EVENT_LINES then
        line_of_text(PAD, y, ("… and %d more events"):format(#layout.events - MAX_EVENT_LINES), ' fill="#4a5566"')
        y = y + 17
        break
      end
      local line = ("%d.  %s  %s — %s"):format(n, text.duration(event.at), event.event_type or "event",
        event.message or "")
      line_of_text(PAD, y, xml(line, text_columns))
      y = y + 17
    end
    if layout.events_omitted > 0 then
      line_of_text(PAD, y, ("%d events without a readable time (or over the limit) are not shown")
        :format(layout.events_omitted), ' fill="#4a5566"')
      y = y + 17
    end
    y = y + 12
  end

  -- Failures with their fixes, grouped by cause.
  if #s.causes > 0 then
    line_of_text(PAD, y, "What failed and how to fix it", ' font-size="15" font-weight="bold"')
    y = y + 22
    for _, group in ipairs(s.causes) do
      local head = ("%d %s · %s"):format(group.count, text.plural(group.count, "file", "files"),
        group.error_message or "no error message")
      for _, l in ipairs(wrap(text.terminal_safe(head), text_columns, 3)) do
        line_of_text(PAD, y, xml(l), (' fill="%s" font-weight="bold"'):format(COLOURS.failed))
        y = y + 17
      end
      local lines = {}
      if group.suggested_fix then lines[#lines + 1] = "Suggested fix: " .. group.suggested_fix end
      local action = group.files[1] and group.files[1].action_text
      if action then lines[#lines + 1] = "What to do: " .. action end
      local names = {}
      for k, entry in ipairs(group.files) do
        if k > MAX_NAMES then
          names[#names + 1] = ("and %d more"):format(#group.files - MAX_NAMES)
          break
        end
        names[#names + 1] = text.clip(text.terminal_safe(entry.filename or entry.file_id or "?"), 60)
      end
      lines[#lines + 1] = "Files: " .. table.concat(names, ", ")
      for _, block in ipairs(lines) do
        for _, l in ipairs(wrap(text.terminal_safe(block), text_columns - 4, 4)) do
          line_of_text(PAD + 16, y, xml(l))
          y = y + 17
        end
      end
      y = y + 8
    end
  end

  y = y + 6
  local generated = text.iso_time(opts.generated_at or os.time()):gsub("%.%d+Z$", "Z")
  local origin = layout.start and (", 0:00 is " .. text.iso_time(layout.start):gsub("%.%d+Z$", "Z")) or ""
  line_of_text(PAD, y, xml(("seekrflow report · generated %s · times are the service's (UTC%s)"):format(generated,
    origin), text_columns), ' fill="#8792a2" font-size="11"')
  local height = math.floor(y + PAD)

  return table.concat({
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">\n')
      :format(W, height, W, height),
    ("<title>%s</title>\n"):format(xml("SeekrFlow data job " .. (job.name or job.id or "") .. " — " .. status)),
    ('<rect width="%d" height="%d" fill="#ffffff"/>\n'):format(W, height),
    '<g font-family="DejaVu Sans, Verdana, Helvetica, Arial, sans-serif" font-size="12" fill="#1f2933">\n',
    table.concat(out),
    "</g>\n</svg>\n",
  })
end

--- Writes the report of a detail to path: a temporary file next to it, then
--- renamed, so a reader never sees half a picture.
---@param path string
---@param d table a data job detail
---@param opts seekrflow.report.Options?
---@return true? ok
---@return seekrflow.Error? err
function report.write(path, d, opts)
  if type(path) ~= "string" or path == "" or path:find("\0", 1, true) then
    return nil, errors.new("invalid_argument", "report.write: the output path must be a non-empty string without NUL")
  end
  local svg = report.svg(d, opts)
  local tmp = path .. ".tmp-" .. tostring(os.time())
  local f, open_err = io.open(tmp, "wb")
  if not f then
    -- io.open names the temporary file; the user knows only the path they gave
    local reason = tostring(open_err)
    if reason:sub(1, #tmp + 2) == tmp .. ": " then reason = reason:sub(#tmp + 3) end
    return nil, errors.new("invalid_argument", ("cannot write %s: %s"):format(path, reason))
  end
  local ok, write_err = f:write(svg)
  local closed, close_err = f:close()
  if not ok or not closed then
    os.remove(tmp)
    return nil, errors.new("invalid_argument", ("cannot write %s: %s"):format(path, tostring(write_err or close_err)))
  end
  local renamed, rename_err = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    return nil, errors.new("invalid_argument", ("cannot write %s: %s"):format(path, tostring(rename_err)))
  end
  return true
end

return report
