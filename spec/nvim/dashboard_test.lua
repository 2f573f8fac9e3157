-- The dashboard: :SeekrflowWatch with several ids, :SeekrflowDashboard --all, against the
-- simulator's many-jobs scenario, inside a real (headless) Neovim.
local h = require "nvim.helpers"
local sim = h.sim

local ERROR = vim.log.levels.ERROR

local function plugin()
  local p = require "seekrflow.nvim"
  p.setup { base_url = sim.base_url, api_key = sim.api_key }
  return p
end

local function scenario(n)
  local body, status = sim.control("POST", "/_sim/scenarios/many_jobs", { jobs = n, prefix = "nv" })
  h.eq(200, status, "scenario status")
  return body.jobs
end

local function dashboard_buffer()
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(buf):find("seekrflow://dashboard", 1, true) then return buf end
  end
end

return function(test)
  test(":SeekrflowWatch with several ids fills the dashboard live, most urgent first", function()
    local jobs = scenario(8)
    local notes = h.capture_notify()
    plugin()
    local dashboard = require "seekrflow.nvim.dashboard"
    local ticks, stop_ticker = h.ticker()
    local ids = {}
    for i, j in ipairs(jobs) do ids[i] = j.id end
    vim.cmd("SeekrflowWatch " .. table.concat(ids, " "))
    local buf = dashboard_buffer()
    h.ok(buf, "no dashboard buffer")
    h.ok(vim.fn.bufwinid(buf) ~= -1, "the dashboard is not shown in a window")
    h.poll(20000, function() return not dashboard.watching() end, "the dashboard's watch to end")
    h.run_for(300) -- the last redraw
    stop_ticker()
    h.ok(ticks.n > 5, "the editor's timers did not run during the watch")
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    h.contains(lines[1], "8 jobs, 0 moving")
    h.contains(lines[1], "(done)")
    -- rows start after the header, the key hint and a blank line; failing jobs come first
    h.eq(3 + 8, #lines, "one line per job")
    h.contains(lines[4], "! nv-002-failing")
    h.contains(lines[4], "needs_review")
    h.contains(lines[4], "✗1")
    for _, j in ipairs(jobs) do h.contains(table.concat(lines, "\n"), "[" .. j.id .. "]") end
    -- the cursor on a row names its job
    local win = vim.fn.bufwinid(buf)
    vim.api.nvim_set_current_win(win)
    vim.api.nvim_win_set_cursor(win, { 4, 0 })
    h.eq(jobs[2].id, dashboard.job_at_cursor())
    vim.api.nvim_win_set_cursor(win, { 1, 0 })
    h.eq(nil, dashboard.job_at_cursor())
    h.ok(h.find_note(notes, "dashboard watch done"), "no end notification")
    for _, n in ipairs(notes) do h.ok(n.level ~= ERROR, "unexpected error: " .. n.msg) end
  end)

  test(":SeekrflowDashboard --all finds every moving job; bad arguments are an ERROR notification", function()
    scenario(6)
    local notes = h.capture_notify()
    plugin()
    local dashboard = require "seekrflow.nvim.dashboard"
    vim.cmd("SeekrflowDashboard --all")
    h.poll(20000, function() return not dashboard.watching() end, "the dashboard's watch to end")
    h.run_for(300)
    local text = h.buffer_text(dashboard_buffer())
    h.contains(text, "seekrflow --all: 5 jobs") -- the sixth, Markdown only, is ready at once: not moving
    h.contains(text, "nv-001-healthy")
    vim.cmd("SeekrflowWatch --bogus")
    h.ok(h.find_note(notes, "unknown flag --bogus", ERROR), "no error for an unknown flag")
    vim.cmd("SeekrflowDashboard dj-1 --all")
    h.ok(h.find_note(notes, "not both", ERROR), "no error for ids with --all")
  end)
end
