--- How `seekrflow watch` shows progress. It draws the rows of `seekrflow.progress` (the one
--- model of a watch's progress, shared with the Neovim float) and reads no detail itself.
---
--- On a terminal: a frame (job, per-file state, queue positions, alignment,
--- elapsed time) redrawn in place, never scrolled. Elsewhere (a pipe, a log
--- file, CI): one line per change, so the output reads as a history.
local text = require "seekrflow.text"
local progress = require "seekrflow.progress"

local live = {}

local ESC = string.char(27)

--- The progress view of a detail seen once (for `show`, or a caller holding only a detail).
---@param detail table
---@param elapsed number?
---@return seekrflow.progress.View
function live.view_of(detail, elapsed)
  local tracker = progress.new(type(detail) == "table" and detail.id or "?", { clock = function() return 0 end })
  tracker:update({ type = "snapshot" }, detail)
  local v = tracker:view()
  v.elapsed = elapsed or 0
  return v
end

-- A detail given where a view is expected (older callers) is turned into its view.
local function as_view(v, state)
  if type(v) == "table" and v.counts_text == nil then return live.view_of(v, state and state.elapsed) end
  return v
end

local function file_line(row, paint)
  local look = progress.LOOK[row.state] or progress.LOOK.unknown
  return ("  %s %-24s %s"):format(paint(look[2], look[1]), text.clip(row.name, 24), paint(look[2], row.text))
end

--- The frame for a progress view, as lines. opts.created replaces the elapsed time (a
--- snapshot, not a watch).
---@param v seekrflow.progress.View
---@param paint fun(style: string?, s: string): string
---@param opts { created: string? }?
---@return string[]
function live.frame(v, paint, opts)
  opts = opts or {}
  local lines = {}
  lines[#lines + 1] = paint("bold", ("%s  %s"):format(v.job_id, v.name or ""))
  lines[#lines + 1] = ("  status %s%s   %s"):format(
    paint(v.status == "needs_review" and "yellow" or "bold", v.status or "connecting…"),
    v.status_message and ("  " .. paint("dim", v.status_message)) or "",
    opts.created and ("created " .. text.terminal_safe(opts.created)) or ("elapsed " .. text.duration(v.elapsed)))
  for _, row in ipairs(v.files) do lines[#lines + 1] = file_line(row, paint) end
  if v.alignment then lines[#lines + 1] = "  " .. v.alignment.text end
  if v.last_event then lines[#lines + 1] = paint("dim", "  last event: " .. v.last_event) end
  if v.poll_error then lines[#lines + 1] = paint("yellow", "  " .. v.poll_error) end
  return lines
end

--- A terminal view: each draw replaces the previous frame.
function live.terminal(write, paint, columns)
  local view = { drawn = 0 }
  function view:draw(v, state)
    local lines = live.frame(as_view(v, state), paint)
    local buffer = {}
    if self.drawn > 0 then
      -- back to the first line of the last frame, and clear below it
      buffer[1] = "\r" .. ESC .. "[" .. self.drawn .. "A" .. ESC .. "[J"
    end
    for _, line in ipairs(lines) do
      -- a wrapped line would break the count of lines to move back over
      buffer[#buffer + 1] = text.clip(line, columns - 1) .. "\n"
    end
    write(table.concat(buffer))
    self.drawn = #lines
  end
  return view
end

--- One line per change, for pipes and logs.
function live.lines(write, paint)
  local view = {}
  local function say(elapsed, line)
    write(("%s %s\n"):format(paint("dim", text.duration(elapsed or 0)), line))
  end
  --- The state found by the first poll, compactly: the job, each attached
  --- file as it stands, and the latest event (not the whole history).
  function view.snapshot(_, v)
    say(v.elapsed, ("job %s %s%s"):format(v.job_id, paint("bold", v.status or "?"),
      v.status_message and ("  (" .. v.status_message .. ")") or ""))
    for _, row in ipairs(v.files) do
      if row.state == "failed" then
        say(v.elapsed, paint("red", ("  ✗ %s failed: %s"):format(row.name, row.error_message or "?")))
      elseif row.state == "markdown" then
        say(v.elapsed, ("  %s ready (Markdown)"):format(row.name))
      else
        say(v.elapsed, ("  %s %s"):format(row.name, row.text))
      end
    end
    if v.last_event then say(v.elapsed, "  latest event: " .. v.last_event) end
  end
  --- One watch event, as progress describes it.
  function view.event(_, event, v)
    local line, style = progress.describe(event)
    say(v.elapsed, paint(style, line))
  end
  return view
end

return live
