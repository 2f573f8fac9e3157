--- seekrflow.chart: the timeline layout drawn as text, for a terminal and
--- for a Neovim buffer.
---
---     local chart = require "seekrflow.chart"
---     local drawing = chart.draw(timeline.layout(d, { max_rows = 50 }), { width = 100 })
---     for _, line in ipairs(chart.render(drawing, text.painter(true))) do print(line) end
---
--- A drawing is a list of lines, each a list of pieces { text, style }; the
--- CLI paints styles as ANSI colours (chart.render), Neovim as highlight
--- groups over the same text. Every phase has its own glyph, so the picture
--- reads the same without colour:
---
---     ░ queued   ▒ running   █ done   ✗ failed
---
--- Server text (file names, event types and messages) passes
--- text.terminal_safe before it is placed, and is cut to its column.
local text = require "seekrflow.text"
local timeline = require "seekrflow.timeline"

local chart = {}

---@alias seekrflow.chart.Style "queued"|"running"|"completed"|"failed"|"ready"|"event"|"axis"|"title"|"note"|"label"

---@class seekrflow.chart.Piece
---@field [1] string the text
---@field [2] seekrflow.chart.Style? how to show it

---@alias seekrflow.chart.Line seekrflow.chart.Piece[]

--- One glyph per phase (one column each).
chart.GLYPHS = { queued = "░", running = "▒", completed = "█", failed = "✗" }

--- The ANSI painter style of each chart style (seekrflow.text.painter).
chart.COLOURS = {
  queued = "dim", running = "yellow", completed = "green", failed = "red", ready = "blue",
  event = "cyan", axis = "dim", title = "bold", note = "dim",
}

local MIN_WIDTH = 40
-- Event symbols: 1-9, then a-z; more events share "+".
local SYMBOLS = "123456789abcdefghijklmnopqrstuvwxyz"
local MAX_EVENT_LINES = 12

local SIDE_WORDS = { completed = "done", failed = "failed", running = "running", queued = "queued",
  ready = "ready", unknown = "?" }

local function safe(s, columns)
  return text.clip(text.terminal_safe(s), columns)
end

-- The short text right of a bar: outcome and the time that matters.
local function side_text(row)
  if row.kind == "group" then
    local failed = row.outcomes.failed
    return failed > 0 and ("%d, %d failed"):format(row.count, failed) or ("%d files"):format(row.count)
  end
  local word = SIDE_WORDS[row.outcome] or row.outcome
  if row.outcome == "ready" then return "ready (md)" end
  local skew = row.skewed and " skew" or ""
  if row.run then return word .. " " .. text.duration(row.run) .. skew end
  if row.wait then return word .. " " .. text.duration(row.wait) .. skew end
  return word .. skew
end

-- The cells of a bar area `cells` wide: one phase (or nil) per cell.
local function bar_cells(row, span, cells)
  local out = {}
  local function cell(t)
    return math.max(0, math.min(cells - 1, math.floor(t / span * cells)))
  end
  for _, seg in ipairs(row.segments) do
    local c1, c2 = cell(seg.from), cell(seg.to)
    -- a segment ending exactly at a cell boundary does not spill into the next cell
    if c2 > c1 and seg.to / span * cells == c2 then c2 = c2 - 1 end
    for c = c1, c2 do out[c + 1] = seg.phase end
  end
  return out
end

-- Pieces of a run of cells, one piece per stretch of the same phase.
local function cells_to_pieces(cells, count, pieces)
  local i = 1
  while i <= count do
    local phase = cells[i]
    local j = i
    while j + 1 <= count and cells[j + 1] == phase do j = j + 1 end
    local glyph = phase and chart.GLYPHS[phase] or " "
    pieces[#pieces + 1] = { string.rep(glyph, j - i + 1), phase }
    i = j + 1
  end
end

---@class seekrflow.chart.Options
---@field width integer? columns of the whole drawing (default 100, at least 40)

--- Draws a layout as lines of styled pieces.
---@param layout seekrflow.timeline.Layout
---@param opts seekrflow.chart.Options?
---@return seekrflow.chart.Line[]
function chart.draw(layout, opts)
  opts = opts or {}
  local width = math.max(MIN_WIDTH, math.floor(opts.width or 100))
  local label_w = math.min(28, math.max(12, math.floor(width / 4)))
  local side_w = 16
  local bar_w = width - label_w - side_w - 2
  local span = layout.span
  local lines = {}
  local function add(pieces) lines[#lines + 1] = pieces end
  local function cell_of(t) return math.max(0, math.min(bar_w - 1, math.floor(t / span * bar_w))) end

  -- Header: the job, then the summary.
  local job = layout.job
  local head = { { safe(job.name or job.id or "data job", width - 20), "title" } }
  if job.name and job.id then head[#head + 1] = { "  " .. safe(job.id, 50), "note" } end
  head[#head + 1] = { "  " .. safe(job.status or "unknown", 30), job.status == "needs_review" and "failed" or nil }
  add(head)
  -- the summary, broken between its parts to fit the width
  local summary = ""
  for part in (timeline.summary_line(layout, text.terminal_safe) .. " · "):gmatch("(.-) · ") do
    part = text.clip(part, width)
    if summary ~= "" and text.width(summary) + 3 + text.width(part) > width then
      add({ { summary } })
      summary = part
    else
      summary = summary == "" and part or (summary .. " · " .. part)
    end
  end
  if summary ~= "" then add({ { summary } }) end
  if layout.note then add({ { text.clip(layout.note, width), "note" } }) end
  add({})

  -- Axis: tick labels where they fit, then the rule with a mark per tick.
  local labels, rule = {}, {}
  for c = 1, bar_w do labels[c], rule[c] = " ", "─" end
  local free_from = 1
  for _, tick in ipairs(layout.ticks) do
    local c = cell_of(tick.at) + 1
    rule[c] = "┼"
    -- a label that would run past the end ends at the end instead
    local from = math.min(c, bar_w - #tick.label + 1)
    if from >= free_from then
      for k = 1, #tick.label do labels[from + k - 1] = tick.label:sub(k, k) end
      free_from = from + #tick.label + 1
    end
  end
  rule[1] = "├"
  add({ { string.rep(" ", label_w + 1) }, { table.concat(labels), "axis" } })
  add({ { string.rep(" ", label_w + 1) }, { table.concat(rule), "axis" } })

  -- Rows.
  for _, row in ipairs(layout.rows) do
    local label = safe(row.label, label_w)
    local label_style = (row.kind ~= "file") and "title" or (row.outcome == "failed" and "failed" or "label")
    local pieces = { { text.pad(label, label_w), label_style }, { " " } }
    if #row.segments == 0 then
      local why = row.outcome == "ready" and "Markdown: no ingestion needed" or "no times to draw"
      pieces[#pieces + 1] = { text.pad(text.clip(why, bar_w), bar_w), "note" }
    else
      cells_to_pieces(bar_cells(row, span, bar_w), bar_w, pieces)
    end
    pieces[#pieces + 1] = { " " }
    pieces[#pieces + 1] = { text.clip(side_text(row), side_w), row.outcome == "failed" and "failed" or "note" }
    add(pieces)
  end

  -- Events: a symbol per event on its own row, then the list.
  if #layout.events > 0 then
    local marks = {}
    for c = 1, bar_w do marks[c] = " " end
    for n, event in ipairs(layout.events) do
      local c = cell_of(event.at) + 1
      local symbol = SYMBOLS:sub(n, n)
      if symbol == "" then symbol = "+" end
      marks[c] = marks[c] == " " and symbol or "*"
    end
    add({ { text.pad("events", label_w), "title" }, { " " }, { table.concat(marks), "event" } })
  end

  add({})
  local legend, used = {}, 0
  for _, phase in ipairs({ "queued", "running", "completed", "failed" }) do
    local word = " " .. (SIDE_WORDS[phase] or phase) .. "  "
    legend[#legend + 1] = { chart.GLYPHS[phase], phase }
    legend[#legend + 1] = { word }
    used = used + 1 + #word
  end
  local events_key = "1 2 … events (* several at once)"
  if #layout.events > 0 and used + text.width(events_key) <= width then
    legend[#legend + 1] = { events_key, "event" }
  end
  add(legend)

  for n, event in ipairs(layout.events) do
    if n > MAX_EVENT_LINES then
      add({ { ("  … and %d more events"):format(#layout.events - MAX_EVENT_LINES), "note" } })
      break
    end
    local symbol = SYMBOLS:sub(n, n)
    if symbol == "" then symbol = "+" end
    local line = ("%s %s — %s"):format(text.duration(event.at), text.terminal_safe(event.event_type or "event"),
      text.terminal_safe(event.message or ""))
    add({ { "  " .. symbol, "event" }, { " " .. text.clip(line, width - 4) } })
  end
  return lines
end

--- The drawing as strings, each styled piece painted (text.painter(false)
--- or no painter gives plain text).
---@param lines seekrflow.chart.Line[]
---@param paint (fun(style: string?, s: string): string)?
---@return string[]
function chart.render(lines, paint)
  local out = {}
  for i, pieces in ipairs(lines) do
    local parts = {}
    for k, piece in ipairs(pieces) do
      local style = piece[2] and chart.COLOURS[piece[2]]
      parts[k] = (paint and style) and paint(style, piece[1]) or piece[1]
    end
    out[i] = (table.concat(parts):gsub("%s+$", ""))
  end
  return out
end

return chart
