--- The Neovim dashboard: `:SeekrflowDashboard [JOB… | --all [--type T]]` and
--- `:SeekrflowWatch` with several ids or `--all`. One scratch buffer lists every job being
--- watched, one line per job, most urgent first, redrawn as events arrive. The watch is
--- seekrflow.watch_many on the plugin's luv driver, so the editor never blocks.
---
--- Keys in the buffer, on a job's line: <CR> or f  its failures into the quickfix list,
--- w  watch it alone in a float, and the job list's actions (each asks first): r retry the
--- transient failures, x remove the failed files, s start alignment. S stops the watch,
--- q closes the window. When the plugin closes its driver under the watch (close(), setup
--- again), the header says at once that the watch stopped.
local watch_many = require "seekrflow.watch_many"
local text = require "seekrflow.text"
local buffer = require "seekrflow.nvim.buffer"
local actions = require "seekrflow.nvim.actions"

local dashboard = {}

local HINT = "<CR>/f failures · w watch · " .. actions.HINT .. " · S stop · q close"
local REDRAW_MS = 150

-- One dashboard per Neovim: its buffer, the running watch, the rows last drawn, and whether
-- close() ended that watch (the header says so; no result ever comes).
local state = { buf = nil, handle = nil, rows = {}, result = nil, targets_text = "", redraw_pending = false,
  closed_under = false }

local STOPPED = "stopped watching"

local safe = text.terminal_safe

--- Targets from a command's arguments: ids, or `--all` with an optional `--type T`.
---@param fargs string[]
---@return table targets for watch_many
function dashboard.targets(fargs)
  local all, job_type, ids = false, nil, {}
  local i = 1
  while i <= #fargs do
    local a = fargs[i]
    if a == "--all" then
      all = true
    elseif a == "--type" then
      job_type = fargs[i + 1]
      if not job_type then error({ message = "--type needs a job type, e.g. --type principle_files" }, 0) end
      i = i + 1
    elseif a:sub(1, 7) == "--type=" then
      job_type = a:sub(8)
    elseif a:sub(1, 2) == "--" then
      error({ message = ("unknown flag %s: give job ids, or --all [--type TYPE]"):format(a) }, 0)
    else
      ids[#ids + 1] = a
    end
    i = i + 1
  end
  if all and #ids > 0 then error({ message = "give job ids or --all, not both" }, 0) end
  if job_type and not all then error({ message = "--type goes with --all" }, 0) end
  if all then return { all = true, job_type = job_type } end
  if #ids == 0 then error({ message = "give one or more job ids, or --all [--type TYPE]" }, 0) end
  return ids
end

local function seconds_text(s)
  s = math.max(0, math.floor(s or 0))
  return ("%d:%02d"):format(math.floor(s / 60), s % 60)
end

local SYMBOL = { reached = "✓", needs_review = "!", failed = "✗", cancelled = "✗", error = "✗",
  timed_out = "…", interrupted = "-" }

--- The buffer's lines for rows of seekrflow.watch_many (m:rows()).
---@param rows seekrflow.WatchManyRow[]
---@param result seekrflow.WatchManyResult?
---@return string[]
function dashboard.lines(rows, result, targets_text)
  local moving = 0
  for _, row in ipairs(rows) do if row.reason == nil then moving = moving + 1 end end
  local head = ("seekrflow %s: %d jobs, %d moving"):format(targets_text, #rows, moving)
  if result and result.reason then head = head .. "  (" .. result.reason .. ")" end
  local lines = { head, HINT, "" }
  for _, row in ipairs(rows) do
    local files = ("✓%d"):format(row.completed)
    if row.failed > 0 then files = files .. (" ✗%d"):format(row.failed) end
    if row.running > 0 then files = files .. (" ⟳%d"):format(row.running) end
    if row.queued > 0 then files = files .. (" …%d"):format(row.queued) end
    local status = safe(row.status or "?")
    if row.reason == "error" and row.error then
      status = "error: " .. safe(type(row.error) == "table" and row.error.message or row.error)
    end
    local align = ""
    if row.alignment_status then
      local p = row.alignment_progress
      align = "  align " .. safe(row.alignment_status) .. (p and (" " .. math.floor(p + 0.5) .. "%") or "")
    end
    local symbol = row.reason and SYMBOL[row.reason] or (row.error and "?") or (row.failed > 0 and "!") or "⟳"
    -- one buffer line per job: a newline in a server string would break the row mapping
    lines[#lines + 1] = (("%s %s  %s  %s%s  %s  [%s]"):format(symbol, safe(row.name), status, files, align,
      seconds_text(row.elapsed), safe(row.id)):gsub("[\r\n]", " "))
  end
  return lines
end

local function buffer_valid()
  return state.buf ~= nil and vim.api.nvim_buf_is_valid(state.buf)
end

local function draw()
  state.redraw_pending = false
  if not buffer_valid() then return end
  local loop = state.handle and state.handle.loop
  if loop then state.rows = loop:rows() end
  local lines = dashboard.lines(state.rows, state.result, state.targets_text)
  if state.closed_under then lines[1] = lines[1] .. "  (" .. STOPPED .. ")" end
  buffer.set_lines(state.buf, lines)
end

-- Redraws at most every REDRAW_MS, on the main loop (events arrive in luv callbacks).
local function request_draw()
  if state.redraw_pending then return end
  state.redraw_pending = true
  vim.defer_fn(draw, REDRAW_MS)
end

--- The job id of the dashboard line under the cursor, or nil on the header lines.
function dashboard.job_at_cursor()
  if not buffer_valid() then return nil end
  local line = vim.api.nvim_get_current_line()
  return line:match("%[([^%[%]]+)%]$")
end

local function ensure_buffer(plugin)
  if not buffer_valid() then
    -- hidden, not wiped, when its window closes: the watch goes on drawing into it
    state.buf = buffer.scratch("seekrflow://dashboard", "seekrflow-dashboard", "hide")
    local function map(key, fn, desc)
      vim.keymap.set("n", key, fn, { buffer = state.buf, nowait = true, silent = true, desc = desc })
    end
    local function job_here()
      local id = dashboard.job_at_cursor()
      if id then return id end
      return nil, "put the cursor on a job's line"
    end
    local failures = actions.on_job(plugin, job_here, function(id) plugin.failures(id) end)
    map("<CR>", failures, "seekrflow: failures of this job")
    map("f", failures, "seekrflow: failures of this job")
    local watch = actions.on_job(plugin, job_here, function(id) plugin.watch(id) end)
    map("w", watch, "seekrflow: watch this job in a float")
    actions.map(plugin, state.buf, job_here, { nowait = true, silent = true })
    map("S", function() dashboard.stop() end, "seekrflow: stop the dashboard's watch")
    map("q", function() vim.cmd("close") end, "seekrflow: close the dashboard")
  end
  buffer.show(state.buf)
end

--- Stops the dashboard's watch (the buffer stays, with the last rows).
function dashboard.stop()
  if state.handle then
    local handle = state.handle
    state.handle = nil
    handle.cancel()
    state.rows = handle.loop:rows()
  end
end

-- close() closed the driver under the watch: it ended without a result (nothing of it fires
-- any more), so the header says here, at once, that it stopped.
local function closed_under()
  local handle = state.handle
  if not handle then return end
  state.handle = nil
  state.rows = handle.loop:rows()
  state.closed_under = true
  draw()
end

--- Opens (or reuses) the dashboard buffer and watches targets on the plugin's driver.
---@param plugin table require("seekrflow.nvim")
---@param driver seekrflow.LuvDriver
---@param targets table ids or { all = true, job_type = … }
---@param opts table? watch_many options (on_event is the dashboard's)
function dashboard.open(plugin, driver, targets, opts)
  dashboard.stop()
  ensure_buffer(plugin)
  state.result, state.closed_under = nil, false
  state.targets_text = targets.all and ("--all" .. (targets.job_type and (" --type " .. targets.job_type) or ""))
    or (#targets == 1 and targets[1] or (#targets .. " jobs"))
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.on_event = function() request_draw() end
  local handle
  handle = watch_many.luv(driver, targets, o, function(result)
    state.result = result
    plugin._on_close(dashboard, nil)
    if state.handle == handle then state.handle = nil end
    state.rows = handle and handle.loop:rows() or state.rows
    vim.schedule(function()
      draw()
      local n = result.counts
      plugin._notify(("dashboard watch %s — %d ready, %d need review, %d other"):format(result.reason,
        n.reached or 0, n.needs_review or 0, #result.order - (n.reached or 0) - (n.needs_review or 0)),
        vim.log.levels.INFO)
    end)
  end)
  state.handle = handle
  state.driver = driver
  if not state.result then plugin._on_close(dashboard, closed_under) end
  draw()
  return state.buf
end

--- Whether the dashboard is watching.
function dashboard.watching()
  -- a closed driver (the plugin's close()) ends the watch without a word
  return state.handle ~= nil and not (state.driver and state.driver.closed)
end

return dashboard
