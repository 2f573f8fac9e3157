--- The Neovim timeline: `:SeekrflowTimeline JOB` draws a job's files, alignment and events
--- on a time axis in a scratch buffer, the same picture as `seekrflow timeline JOB --chart`
--- (seekrflow.timeline's layout drawn by seekrflow.chart), with highlight groups for colours.
--- The detail is fetched on the plugin's luv driver, so the editor never blocks.
---
--- Keys in the buffer: r  fetch again and redraw (also to the window's new width)
---                     f  the job's failures into the quickfix list
---                     S  save the picture as an SVG report (asks where)
---                     q  close the window
local chart = require "seekrflow.chart"
local text = require "seekrflow.text"
local timeline = require "seekrflow.timeline"
local buffer = require "seekrflow.nvim.buffer"

local nvim_timeline = {}

local HINT = "r refresh  f failures  S save as SVG  q close"
local MAX_ROWS = 200

--- Highlight group of each chart style, and what it links to by default.
nvim_timeline.HIGHLIGHTS = {
  queued = { "SeekrflowTimelineQueued", "Comment" },
  running = { "SeekrflowTimelineRunning", "DiagnosticWarn" },
  completed = { "SeekrflowTimelineDone", "DiagnosticOk" },
  failed = { "SeekrflowTimelineFailed", "DiagnosticError" },
  ready = { "SeekrflowTimelineReady", "DiagnosticInfo" },
  event = { "SeekrflowTimelineEvent", "Special" },
  axis = { "SeekrflowTimelineAxis", "LineNr" },
  title = { "SeekrflowTimelineTitle", "Title" },
  note = { "SeekrflowTimelineNote", "Comment" },
}

local namespace
local function highlights()
  if namespace then return namespace end
  namespace = vim.api.nvim_create_namespace("seekrflow_timeline")
  for _, hl in pairs(nvim_timeline.HIGHLIGHTS) do
    -- DiagnosticOk is newer than some supported Neovims: fall back to String
    local link = hl[2]
    if vim.fn.hlexists(link) == 0 then link = "String" end
    vim.api.nvim_set_hl(0, hl[1], { link = link, default = true })
  end
  return namespace
end

-- The buffer's text and highlights from a drawing: one line per drawing line.
local function lines_of(drawing)
  local lines, marks = {}, {}
  for i, pieces in ipairs(drawing) do
    local parts, col = {}, 0
    for _, piece in ipairs(pieces) do
      parts[#parts + 1] = piece[1]
      local hl = piece[2] and nvim_timeline.HIGHLIGHTS[piece[2]]
      if hl and #piece[1] > 0 then marks[#marks + 1] = { i, col, col + #piece[1], hl[1] } end
      col = col + #piece[1]
    end
    lines[i] = table.concat(parts)
  end
  return lines, marks
end

-- One buffer per job, reused by a second :SeekrflowTimeline of the same job.
local buffers = {}

-- Draws a detail into buf at the width of its window.
local function draw(buf, job_id, detail)
  local win = buffer.show(buf)
  local width = math.max(40, vim.api.nvim_win_get_width(win) - 1)
  local layout = timeline.layout(detail, { now = os.time(), max_rows = MAX_ROWS })
  local lines, marks = lines_of(chart.draw(layout, { width = width }))
  table.insert(lines, 1, ("seekrflow timeline %s   %s"):format(text.terminal_safe(job_id), HINT))
  local ns = highlights()
  buffer.set_lines(buf, lines)
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  vim.api.nvim_buf_add_highlight(buf, ns, nvim_timeline.HIGHLIGHTS.note[1], 0, 0, -1)
  for _, m in ipairs(marks) do vim.api.nvim_buf_add_highlight(buf, ns, m[4], m[1], m[2], m[3]) end
  vim.api.nvim_win_set_height(win, math.min(#lines, math.max(10, math.floor(vim.o.lines / 2))))
end

local function buffer_for(plugin, job_id, reopen)
  local entry = buffers[job_id]
  if entry and vim.api.nvim_buf_is_valid(entry.buf) then return entry end
  local buf = buffer.scratch("seekrflow://timeline/" .. job_id, "seekrflow-timeline")
  entry = { buf = buf }
  buffers[job_id] = entry
  vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function()
    if buffers[job_id] == entry then buffers[job_id] = nil end
  end })
  local function map(key, fn, desc) vim.keymap.set("n", key, fn, { buffer = buf, desc = "seekrflow: " .. desc }) end
  map("q", "<cmd>close<cr>", "close the timeline")
  map("r", function() reopen() end, "fetch the job again and redraw")
  map("f", function() plugin.failures(job_id) end, "failures of this job")
  map("S", function()
    if not entry.detail then return plugin._notify("nothing to save yet", vim.log.levels.INFO) end
    local path = vim.fn.input("Save the SVG report as: ", job_id:gsub("[^%w%.%-_]", "_") .. ".svg", "file")
    if path == "" then return end
    local ok, err = require("seekrflow.report").write(vim.fn.expand(path), entry.detail, { now = os.time() })
    if ok then
      plugin._notify("report written to " .. path, vim.log.levels.INFO)
    else
      plugin._notify(text.message_of(err), vim.log.levels.ERROR)
    end
  end, "save the picture as an SVG report")
  return entry
end

--- Fetches a job and draws its timeline in a scratch buffer (see the module's keys).
---@param plugin table require("seekrflow.nvim")
---@param driver seekrflow.LuvDriver
---@param job_id string
---@param on_done fun(buf: integer?)? called after drawing (nil on error)
function nvim_timeline.open(plugin, driver, job_id, on_done)
  if type(job_id) ~= "string" or job_id == "" then
    error({ message = "usage: :SeekrflowTimeline JOB (a data job id)" }, 0)
  end
  local function reopen() nvim_timeline.open(plugin, driver, job_id) end
  driver:send(driver.client.data_jobs:retrieve(job_id, { async = true }), function(detail, err)
    vim.schedule(function()
      if detail == nil then
        plugin._notify(("%s: %s"):format(job_id, text.message_of(err)), vim.log.levels.ERROR)
        if on_done then on_done(nil) end
        return
      end
      local entry = buffer_for(plugin, job_id, reopen)
      entry.detail = detail
      draw(entry.buf, job_id, detail)
      if on_done then on_done(entry.buf) end
    end)
  end)
end

return nvim_timeline
