-- The dashboard: :SeekrflowWatch with several ids, :SeekrflowDashboard --all, against the
-- simulator's many-jobs scenario, inside a real (headless) Neovim.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim

local ERROR = vim.log.levels.ERROR
local NAME = "seekrflow://dashboard"

return function(test)
  test(":SeekrflowWatch with several ids fills the dashboard live, most urgent first", function()
    local jobs = sim.many_jobs { jobs = 8, prefix = "nv" }
    local notes = h.capture_notify()
    h.plugin()
    local dashboard = require "seekrflow.nvim.dashboard"
    local ticks, stop_ticker = h.ticker()
    local ids = {}
    for i, j in ipairs(jobs) do ids[i] = j.id end
    vim.cmd("SeekrflowWatch " .. table.concat(ids, " "))
    local buf = h.buffer_named(NAME)
    assert.is_truthy(buf, "no dashboard buffer")
    assert.is_truthy(vim.fn.bufwinid(buf) ~= -1, "the dashboard is not shown in a window")
    h.poll(20000, function() return not dashboard.watching() end, "the dashboard's watch to end")
    h.run_for(300) -- the last redraw
    stop_ticker()
    assert.is_truthy(ticks.n > 5, "the editor's timers did not run during the watch")
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    assert.matches("8 jobs, 0 moving", lines[1], 1, true)
    assert.matches("(done)", lines[1], 1, true)
    -- rows start after the header, the key hint and a blank line; failing jobs come first
    assert.equal(3 + 8, #lines, "one line per job")
    assert.matches("! nv-002-failing", lines[4], 1, true)
    assert.matches("needs_review", lines[4], 1, true)
    assert.matches("✗1", lines[4], 1, true)
    for _, j in ipairs(jobs) do assert.matches("[" .. j.id .. "]", table.concat(lines, "\n"), 1, true) end
    -- the cursor on a row names its job
    local win = vim.fn.bufwinid(buf)
    vim.api.nvim_set_current_win(win)
    for _, key in ipairs({ "<CR>", "f", "w", "r", "x", "s", "S", "q" }) do
      assert.is_true(vim.fn.maparg(key, "n") ~= "", "no " .. key .. " key in the dashboard")
    end
    vim.api.nvim_win_set_cursor(win, { 4, 0 })
    assert.equal(jobs[2].id, dashboard.job_at_cursor())
    vim.api.nvim_win_set_cursor(win, { 1, 0 })
    assert.equal(nil, dashboard.job_at_cursor())
    assert.is_truthy(h.find_note(notes, "dashboard watch done"), "no end notification")
    for _, n in ipairs(notes) do assert.is_truthy(n.level ~= ERROR, "unexpected error: " .. n.msg) end
  end)

  test("the dashboard's header says its watch stopped when close() or setup() ends it", function()
    sim.config { time_scale = 0 } -- the jobs stay moving
    local jobs = sim.many_jobs { jobs = 3, prefix = "nc" }
    local notes = h.capture_notify()
    h.plugin()
    local dashboard = require "seekrflow.nvim.dashboard"
    local ids = {}
    for i, j in ipairs(jobs) do ids[i] = j.id end
    vim.cmd("SeekrflowWatch " .. table.concat(ids, " "))
    local buf = h.buffer_named(NAME)
    local function head() return vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] end
    h.poll(10000, function() return head():find("3 jobs", 1, true) ~= nil end, "the dashboard's rows")
    assert.no.matches("stopped", head(), 1, true)
    require("seekrflow.nvim").close()
    assert.is_false(dashboard.watching())
    assert.matches("(stopped", head(), 1, true)
    h.run_for(500) -- nothing scheduled before close() draws it live again
    assert.matches("(stopped", head(), 1, true)
    -- watching again, then setup(): the same
    vim.cmd("SeekrflowDashboard " .. table.concat(ids, " "))
    h.poll(5000, function() return not head():find("stopped", 1, true) end, "the header of a new watch")
    h.plugin()
    assert.matches("(stopped", head(), 1, true)
    for _, n in ipairs(notes) do assert.is_truthy(n.level ~= ERROR, "unexpected error: " .. n.msg) end
  end)

  test(":SeekrflowDashboard --all finds every moving job; bad arguments are an ERROR notification", function()
    sim.many_jobs { jobs = 6, prefix = "nv" }
    local notes = h.capture_notify()
    h.plugin()
    local dashboard = require "seekrflow.nvim.dashboard"
    vim.cmd("SeekrflowDashboard --all")
    h.poll(20000, function() return not dashboard.watching() end, "the dashboard's watch to end")
    h.run_for(300)
    local text = h.buffer_text(h.buffer_named(NAME))
    assert.matches("seekrflow --all: 5 jobs", text, 1, true) -- the sixth, Markdown only, is ready at once: not moving
    assert.matches("nv-001-healthy", text, 1, true)
    vim.cmd("SeekrflowWatch --bogus")
    assert.is_truthy(h.find_note(notes, "unknown flag --bogus", ERROR), "no error for an unknown flag")
    vim.cmd("SeekrflowDashboard dj-1 --all")
    assert.is_truthy(h.find_note(notes, "not both", ERROR), "no error for ids with --all")
  end)
end
