--- The Neovim timeline: `:SeekrflowTimeline JOB` draws a job's files, alignment and events
--- on a time axis in a scratch buffer, the same picture as `seekrflow timeline JOB --chart`
--- (seekrflow.timeline's layout drawn by seekrflow.chart), with highlight groups for colours.
--- The detail is fetched on the plugin's luv driver, so the editor never blocks; while the
--- job moves, the plugin's watch follows it and the picture is redrawn in place (the title
--- line says "[live]"), until the job settles or the buffer is hidden (shown again, it
--- follows again). Whatever ends a follow, the title line says so at once.
---
--- Keys in the buffer: r  fetch again, redraw (also to the window's new width), follow again
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

-- One view per job: the plugin, its buffer (made with the first picture), the detail last
-- drawn, the follow in progress (`run`), whether hiding the buffer ended that follow
-- (`paused`: showing it again follows again) and the note the title line carries. A second
-- :SeekrflowTimeline of the same job, or r, reuses the buffer and starts a new follow.
local views = {}

-- The title line's note once a follow was ended from outside: the buffer hidden, or the
-- plugin's close() (setup again, VimLeavePre).
local STOPPED = "stopped following: r to refresh"

-- The windows showing buf, in any tab page.
local function windows_of(buf)
  return vim.fn.win_findbuf(buf)
end

local function title_of(view, job_id)
  local note = view.note and ("  [" .. view.note .. "]") or ""
  return ("seekrflow timeline %s%s   %s"):format(text.terminal_safe(job_id), note, HINT)
end

-- Draws the view's detail into its buffer at the width of its window. `show` (a command or
-- r): split a window off for it when none shows it. A live redraw never opens a window, and
-- every window's cursor stays where it was.
local function draw(view, job_id, show)
  local buf = view.buf
  local win, opened
  if show then
    win, opened = buffer.show(buf)
  else
    win = windows_of(buf)[1]
    if not win then return end
  end
  local width = math.max(40, vim.api.nvim_win_get_width(win) - 1)
  local layout = timeline.layout(view.detail, { now = os.time(), max_rows = MAX_ROWS })
  local lines, marks = lines_of(chart.draw(layout, { width = width }))
  table.insert(lines, 1, title_of(view, job_id))
  -- replacing every line may move a window's cursor and scroll it (it depends on the
  -- Neovim version): each window showing the picture keeps its view
  local views_of_windows = {}
  for _, w in ipairs(windows_of(buf)) do views_of_windows[w] = vim.api.nvim_win_call(w, vim.fn.winsaveview) end
  local ns = highlights()
  buffer.set_lines(buf, lines)
  for w, saved in pairs(views_of_windows) do
    vim.api.nvim_win_call(w, function() vim.fn.winrestview(saved) end)
  end
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  vim.api.nvim_buf_add_highlight(buf, ns, nvim_timeline.HIGHLIGHTS.note[1], 0, 0, -1)
  for _, m in ipairs(marks) do vim.api.nvim_buf_add_highlight(buf, ns, m[4], m[1], m[2], m[3]) end
  if opened then
    vim.api.nvim_win_set_height(win, math.min(#lines, math.max(10, math.floor(vim.o.lines / 2))))
  end
end

-- Redraws only the title line, with the view's note: a hidden buffer too (no window, no width).
local function retitle(view, job_id)
  local buf = view.buf
  if not (buf and vim.api.nvim_buf_is_valid(buf)) then return end
  buffer.set_lines(buf, { title_of(view, job_id) }, 0, 1)
  local ns = highlights()
  vim.api.nvim_buf_clear_namespace(buf, ns, 0, 1)
  vim.api.nvim_buf_add_highlight(buf, ns, nvim_timeline.HIGHLIGHTS.note[1], 0, 0, -1)
end

-- Ends the follow in progress, if any: the poll in flight is cancelled, nothing of that
-- follow fires later, and close() has nothing more to tell the view. Whether there was one.
local function stop(view)
  local run = view.run
  if not run then return false end
  view.run = nil
  view.plugin._on_close(view, nil)
  if run.task then run.task:cancel() end
  return true
end

-- A run ended from outside (opened again, hidden, close()): one that had not drawn its
-- first picture yet never will, so its caller hears now, on_done(nil), as for no picture.
-- Whether a run was in progress.
local function abandon(view)
  local run = view.run
  if not stop(view) then return false end
  if not run.drawn and run.on_done then run.on_done(nil) end
  return true
end

-- A follow ended from outside (hidden, close()): the title line stops saying [live] now,
-- not at the next r. Whether a follow was in progress.
local function stopped_following(view, job_id)
  if not abandon(view) then return false end
  view.note = STOPPED
  retitle(view, job_id)
  return true
end

local function make_buffer(plugin, view, job_id)
  local buf = buffer.scratch("seekrflow://timeline/" .. job_id, "seekrflow-timeline")
  view.buf = buf
  -- a picture nobody sees is not worth a request: hidden (then wiped, by default) ends the
  -- follow; a buffer kept hidden (a user's bufhidden) follows again once a window shows it
  vim.api.nvim_create_autocmd("BufHidden", { buffer = buf, callback = function()
    if stopped_following(view, job_id) then view.paused = true end
  end })
  vim.api.nvim_create_autocmd("BufWinEnter", { buffer = buf, callback = function()
    if not view.paused then return end
    view.paused = false
    -- through the command, like r: fetched again, on a driver made again if close() ran since
    plugin._command("SeekrflowTimeline", { args = job_id })
  end })
  vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function()
    stop(view)
    if views[job_id] == view then views[job_id] = nil end
  end })
  local function map(key, fn, desc) vim.keymap.set("n", key, fn, { buffer = buf, desc = "seekrflow: " .. desc }) end
  map("q", "<cmd>close<cr>", "close the timeline")
  -- through the command: a driver closed since (setup, close) is made again
  map("r", function() plugin._command("SeekrflowTimeline", { args = job_id }) end,
    "fetch the job again and redraw")
  map("f", function() plugin.failures(job_id) end, "failures of this job")
  map("S", function()
    if not view.detail then return plugin._notify("nothing to save yet", vim.log.levels.INFO) end
    local path = vim.fn.input("Save the SVG report as: ", job_id:gsub("[^%w%.%-_]", "_") .. ".svg", "file")
    if path == "" then return end
    local ok, err = require("seekrflow.report").write(vim.fn.expand(path), view.detail, { now = os.time() })
    if ok then
      plugin._notify("report written to " .. path, vim.log.levels.INFO)
    else
      plugin._notify(text.message_of(err), vim.log.levels.ERROR)
    end
  end, "save the picture as an SVG report")
end

-- The title line's note once a follow has ended, by the watch's reason; nil: settled.
local END_NOTE = { timed_out = "stopped: timed out", error = "refresh failed: r to try again" }

--- Fetches a job and draws its timeline in a scratch buffer (see the module's keys), then
--- follows the job: the plugin's watch (seekrflow.luv's driver:watch, with the `watch`
--- options of setup) polls it and the picture is redrawn in place whenever something
--- changed, until the job settles (the watch's until_statuses: by default ready to start,
--- needs review, or a final status), the watch times out or gives up, the buffer is hidden
--- or wiped, or the plugin closes its driver (close(), setup again): the title line says
--- which at once. A buffer kept while hidden follows again when a window shows it again.
--- Refresh errors are notified once per follow, as a warning.
---@param plugin table require("seekrflow.nvim")
---@param driver seekrflow.LuvDriver
---@param job_id string
---@param on_done fun(buf: integer?)? called once, after the first picture; nil when there is
--- none: the fetch failed, or the run was superseded (opened again, hidden, close()) first
function nvim_timeline.open(plugin, driver, job_id, on_done)
  if type(job_id) ~= "string" or job_id == "" then
    error({ message = "usage: :SeekrflowTimeline JOB (a data job id)" }, 0)
  end
  local view = views[job_id]
  if view then
    abandon(view)
    if view.buf and not vim.api.nvim_buf_is_valid(view.buf) then view.buf = nil end
  else
    view = { plugin = plugin }
    views[job_id] = view
  end
  view.paused = false
  ---@class seekrflow.nvim.TimelineRun
  local run = { pending = false, drawn = false, warned = false, on_done = on_done }

  local function warn_once(err)
    if run.warned then return end
    run.warned = true
    plugin._notify(("timeline %s: %s"):format(job_id, text.message_of(err)), vim.log.levels.WARN)
  end

  -- The first picture's end: the buffer and on_done(buf), or an ERROR and on_done(nil).
  local function no_picture(err)
    if views[job_id] == view then views[job_id] = nil end
    plugin._notify(("%s: %s"):format(job_id, text.message_of(err)), vim.log.levels.ERROR)
    if on_done then on_done(nil) end
  end

  -- What the watch reported since the last render, on the main thread.
  local function render()
    run.pending = false
    if view.run ~= run then return end
    local poll_error = run.poll_error
    run.poll_error = nil
    if run.detail then view.detail = run.detail end
    local result = run.result
    if run.finished then stop(view) end
    local failed = run.finished and (result == nil or result.reason == "error")
    local err = failed and ((result and result.error) or run.error)
    if not view.buf then
      -- before the first picture a failed poll is tried again without a word
      if failed then return no_picture(err) end
      if not view.detail then
        if run.finished then no_picture(result.error or ("the watch ended: " .. tostring(result.reason))) end
        return
      end
      make_buffer(plugin, view, job_id)
    end
    if run.finished then
      view.note = END_NOTE[result and result.reason or "error"]
      if failed then warn_once(err) end
    else
      view.note = "live"
      if poll_error then warn_once(poll_error) end
    end
    if not vim.api.nvim_buf_is_valid(view.buf) then return end
    draw(view, job_id, not run.drawn)
    if not run.drawn then
      run.drawn = true
      if on_done then on_done(view.buf) end
    end
  end

  -- From the driver's callbacks: one render per burst, on the main thread.
  local function request_render()
    if run.pending then return end
    run.pending = true
    vim.schedule(render)
  end

  local opts = {}
  local cfg = plugin.config()
  for k, v in pairs(cfg and cfg.watch or {}) do opts[k] = v end
  opts.on_event = function(event, detail)
    if event.type == "poll_error" then run.poll_error = event.error else run.detail = detail end
    request_render()
  end
  view.run = run
  plugin._on_close(view, function() stopped_following(view, job_id) end)
  local ok, task = pcall(driver.watch, driver, job_id, opts, function(result, err)
    run.finished, run.result, run.error = true, result, err
    if result and result.detail then run.detail = result.detail end
    request_render()
  end)
  if not ok then
    -- e.g. a watch option setup let through that seekrflow.watch refuses
    stop(view)
    if not view.buf and views[job_id] == view then views[job_id] = nil end
    error(task, 0)
  end
  run.task = task
end

return nvim_timeline
