-- :SeekrflowTimeline: the job's picture in a buffer, the same layout the CLI and the SVG
-- report draw, fetched without blocking the editor, inside a real (headless) Neovim.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim
local row = require("helpers.util").row_line

local ERROR = vim.log.levels.ERROR
local WARN = vim.log.levels.WARN

local function timeline_buffer(id) return h.buffer_named("seekrflow://timeline/" .. id) end

-- The simulator's log: how many times the job's detail was fetched.
local function retrieves(id)
  local n = 0
  for _, r in ipairs(sim.requests()) do
    if r.route == h.DETAIL_ROUTE and r.path:find(id, 1, true) then n = n + 1 end
  end
  return n
end

-- Fails if the job's detail is fetched again within `ms` (a poll already in flight may land first).
local function assert_no_more_retrieves(id, ms, what)
  h.run_for(300)
  local count = retrieves(id)
  h.run_for(ms)
  assert.equal(count, retrieves(id), what)
end

-- A job frozen in ingestion (the simulator's clock stopped) with its timeline open and following.
local function frozen_job_followed(plugin_opts)
  sim.config { time_scale = 0 }
  local id = sim.job_with_files(h.client(), sim.outcome_files())
  local notes = h.capture_notify()
  local o = { watch = { min_interval = 0.1, max_interval = 0.2 } }
  for k, v in pairs(plugin_opts or {}) do o[k] = v end
  h.plugin(o)
  vim.cmd("SeekrflowTimeline " .. id)
  h.poll(10000, function() return timeline_buffer(id) ~= nil end, "the timeline buffer")
  h.poll(5000, function() return retrieves(id) >= 3 end, "the timeline to poll the job")
  return id, timeline_buffer(id), notes
end

return function(test)
  test(":SeekrflowTimeline draws each file's wait and run, highlighted, with keys to act", function()
    local client = h.client()
    local id = sim.job_with_files(client, sim.outcome_files("\27]0;PWNED\7notes.md"))
    h.poll(15000, function() return client.data_jobs:retrieve(id).status ~= "file_processing" end,
      "ingestion to end")
    local notes = h.capture_notify()
    h.plugin()
    vim.cmd("SeekrflowTimeline " .. id)
    h.poll(10000, function() return timeline_buffer(id) ~= nil end, "the timeline buffer")
    local buf = timeline_buffer(id)
    assert.is_truthy(vim.fn.bufwinid(buf) ~= -1, "the timeline is not shown in a window")
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    assert.matches("seekrflow timeline " .. id, lines[1], 1, true)
    assert.matches("r refresh", lines[1], 1, true)
    assert.matches("3 files: 1 completed, 1 failed, 1 ready", table.concat(lines, "\n"), 1, true)
    assert.matches("█", row(lines, "handbook.pdf"), 1, true)
    assert.matches("✗", row(lines, "empty.pptx"), 1, true)
    -- a hostile name is shown inert
    assert.matches("Markdown", row(lines, "\\x1b]0;PWNED\\x07"), 1, true)
    assert.is_nil(h.buffer_text(buf):find("\27", 1, true))
    -- the failed bar carries the failure highlight
    local ns = vim.api.nvim_get_namespaces().seekrflow_timeline
    local found = false
    for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
      if m[4].hl_group == "SeekrflowTimelineFailed" then found = true end
    end
    assert.is_true(found, "no failure highlight")
    assert.is_false(vim.api.nvim_buf_get_option(buf, "modifiable"))
    -- f fills the quickfix list with the failures; r redraws the same buffer
    vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
    vim.api.nvim_feedkeys("f", "x", false)
    h.poll(10000, function() return #vim.fn.getqflist() > 0 end, "the failures in the quickfix list")
    assert.matches("empty.pptx", vim.fn.getqflist()[1].text, 1, true)
    vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
    vim.api.nvim_feedkeys("r", "x", false)
    h.run_for(500)
    assert.equal(buf, timeline_buffer(id))
    for _, n in ipairs(notes) do assert.is_truthy(n.level ~= ERROR, "unexpected error: " .. n.msg) end
  end)

  test(":SeekrflowTimeline of an unknown job is an ERROR notification, without a buffer", function()
    local notes = h.capture_notify()
    h.plugin()
    vim.cmd("SeekrflowTimeline dj-missing")
    h.poll(10000, function() return h.find_note(notes, "not found", ERROR) end, "the error notification")
    assert.is_nil(timeline_buffer("dj-missing"))
  end)

  test(":SeekrflowTimeline follows a moving job without r, keeping the cursor, and stops once it settles", function()
    local id, buf, notes = frozen_job_followed()
    local first = h.buffer_text(buf)
    assert.matches("[live]", first:match("^[^\n]*"), 1, true)
    assert.no.matches("1 completed, 1 failed", first, 1, true)
    local win = vim.fn.bufwinid(buf)
    vim.api.nvim_set_current_win(win)
    vim.api.nvim_win_set_cursor(win, { 3, 2 })
    sim.config { time_scale = h.time_scale } -- the job moves on
    h.poll(10000, function() return h.buffer_text(buf):find("1 completed, 1 failed", 1, true) ~= nil end,
      "the picture to follow the job")
    assert.equal(buf, timeline_buffer(id))
    assert.same({ 3, 2 }, vim.api.nvim_win_get_cursor(win))
    h.poll(5000, function() return not h.buffer_text(buf):match("^[^\n]*"):find("[live]", 1, true) end,
      "the title line to stop saying live")
    assert.equal("needs_review", sim.settled(h.client(), id).status)
    assert_no_more_retrieves(id, 1000, "polls after the job settled")
    -- r still fetches once and redraws, and does not follow a settled job
    local count = retrieves(id)
    vim.api.nvim_feedkeys("r", "x", false)
    h.poll(5000, function() return retrieves(id) > count end, "r to fetch the job")
    assert_no_more_retrieves(id, 1000, "polls after r on a settled job")
    assert.equal(buf, timeline_buffer(id))
    for _, n in ipairs(notes) do assert.is_truthy(n.level ~= ERROR and n.level ~= WARN, "unexpected: " .. n.msg) end
  end)

  test(":SeekrflowTimeline stops following when its buffer is wiped or hidden, and on the plugin's close", function()
    local id, buf = frozen_job_followed()
    vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
    vim.api.nvim_feedkeys("q", "x", false) -- the window closes; the buffer is wiped
    assert.is_nil(timeline_buffer(id))
    assert_no_more_retrieves(id, 1000, "polls after the buffer was wiped")
    -- a buffer kept when hidden (a user's bufhidden): hiding it ends the follow all the same
    local function follow_again(what)
      vim.cmd("SeekrflowTimeline " .. id)
      h.poll(10000, function() return timeline_buffer(id) ~= nil end, "the timeline buffer " .. what)
      local count = retrieves(id)
      h.poll(5000, function() return retrieves(id) > count + 1 end, "the timeline to poll the job " .. what)
      return timeline_buffer(id)
    end
    buf = follow_again("again")
    vim.api.nvim_buf_set_option(buf, "bufhidden", "hide")
    vim.api.nvim_win_close(vim.fn.bufwinid(buf), true)
    assert.is_true(vim.api.nvim_buf_is_valid(buf))
    assert_no_more_retrieves(id, 1000, "polls after the buffer was hidden")
    -- a third follow, ended by close() (what VimLeavePre runs)
    follow_again("a third time")
    require("seekrflow.nvim").close()
    assert_no_more_retrieves(id, 1000, "polls after close()")
  end)

  test(":SeekrflowTimeline's title stops saying [live] at once when close() or setup() ends the follow", function()
    local function title(buf) return h.buffer_text(buf):match("^[^\n]*") end
    local id, buf = frozen_job_followed()
    h.poll(5000, function() return title(buf):find("[live]", 1, true) ~= nil end, "the title to say live")
    require("seekrflow.nvim").close()
    assert.no.matches("[live]", title(buf), 1, true)
    assert.matches("stopped following: r to refresh", title(buf), 1, true)
    assert.matches("seekrflow timeline " .. id, title(buf), 1, true)
    assert.matches("r refresh", title(buf), 1, true) -- the rest of the title line stays
    -- r follows again (a new driver); setup() ends that follow the same way
    vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
    vim.api.nvim_feedkeys("r", "x", false)
    h.poll(5000, function() return title(buf):find("[live]", 1, true) ~= nil end, "r to follow again")
    h.plugin({ watch = { min_interval = 0.1, max_interval = 0.2 } })
    assert.no.matches("[live]", title(buf), 1, true)
    assert.matches("stopped following", title(buf), 1, true)
    assert_no_more_retrieves(id, 1000, "polls after setup()")
    assert.no.matches("[live]", title(buf), 1, true)
  end)

  test(":SeekrflowTimeline hidden with bufhidden=hide says it stopped, and follows again once shown", function()
    local function title(buf) return h.buffer_text(buf):match("^[^\n]*") end
    local id, buf = frozen_job_followed()
    h.poll(5000, function() return title(buf):find("[live]", 1, true) ~= nil end, "the title to say live")
    vim.api.nvim_buf_set_option(buf, "bufhidden", "hide")
    vim.api.nvim_win_close(vim.fn.bufwinid(buf), true)
    assert.is_true(vim.api.nvim_buf_is_valid(buf))
    assert.matches("stopped following", title(buf), 1, true)
    assert_no_more_retrieves(id, 1000, "polls while hidden")
    assert.no.matches("[live]", title(buf), 1, true)
    -- :b shows it again: it fetches the job and follows it again, in that window
    local count = retrieves(id)
    vim.cmd("buffer " .. buf)
    h.poll(5000, function() return retrieves(id) > count + 1 end, "polls once shown again")
    h.poll(5000, function() return title(buf):find("[live]", 1, true) ~= nil end, "the title to say live again")
    assert.equal(buf, timeline_buffer(id))
    assert.equal(1, #vim.fn.win_findbuf(buf), "showing it again opened another window")
    -- the job moves on: the picture follows it
    sim.config { time_scale = h.time_scale }
    h.poll(10000, function() return h.buffer_text(buf):find("1 completed, 1 failed", 1, true) ~= nil end,
      "the picture to follow the job once shown again")
  end)

  test("live redraws of the timeline and the dashboard keep no undo history", function()
    local function undo_states(buf)
      return vim.api.nvim_buf_call(buf, function() return vim.fn.undotree().seq_last end)
    end
    local id, buf = frozen_job_followed()
    sim.config { time_scale = h.time_scale }
    h.poll(10000, function() return h.buffer_text(buf):find("1 completed, 1 failed", 1, true) ~= nil end,
      "the picture to follow the job")
    assert.equal(-1, vim.api.nvim_buf_get_option(buf, "undolevels"))
    assert.equal(0, undo_states(buf), "undo states of the timeline " .. id)
    local jobs = sim.many_jobs { jobs = 3, prefix = "nu" }
    local ids = {}
    for i, j in ipairs(jobs) do ids[i] = j.id end
    vim.cmd("SeekrflowDashboard " .. table.concat(ids, " "))
    local dashboard = require "seekrflow.nvim.dashboard"
    h.poll(20000, function() return not dashboard.watching() end, "the dashboard's watch to end")
    h.run_for(300)
    local board = h.buffer_named("seekrflow://dashboard")
    assert.equal(-1, vim.api.nvim_buf_get_option(board, "undolevels"))
    assert.equal(0, undo_states(board), "undo states of the dashboard")
  end)

  test("a timeline opened again, or close()d, before its first picture still calls on_done(nil)", function()
    local id = h.job_with_broken_files(h.client())
    local p = h.plugin()
    local timeline = require "seekrflow.nvim.timeline"
    local driver = h.driver()
    local function recorder(calls) return function(buf) calls[#calls + 1] = buf or false end end
    sim.fault { route = h.DETAIL_ROUTE, kind = "latency", delay_ms = 1000 }
    local first, second = {}, {}
    timeline.open(p, driver, id, recorder(first))
    h.run_for(200)
    assert.same({}, first, "the first fetch answered early: the fault did not apply")
    timeline.open(p, driver, id, recorder(second))
    h.poll(10000, function() return #second > 0 end, "the second open's picture")
    assert.same({ false }, first, "the superseded open's on_done: once, nothing shown")
    assert.same({ timeline_buffer(id) }, second)
    -- the first's slow answer lands and changes nothing for its caller
    h.poll(5000, function() return #sim.control("GET", "/_sim/faults") == 0 end, "the fault to be used")
    h.run_for(1200)
    assert.same({ false }, first)
    assert.same({ timeline_buffer(id) }, second)
    -- close() before the first picture of a refresh: the same
    sim.fault { route = h.DETAIL_ROUTE, kind = "latency", delay_ms = 1000 }
    local third = {}
    timeline.open(p, driver, id, recorder(third))
    h.run_for(200)
    assert.same({}, third, "the refresh answered early: the fault did not apply")
    p.close()
    assert.same({ false }, third)
    assert.equal(1, #second, "a drawn run's on_done is not called again")
  end)

  test(":SeekrflowTimeline says once that refreshing fails, however many polls fail", function()
    local id, buf, notes = frozen_job_followed({ client = { max_retries = 0 } })
    local count = retrieves(id)
    for _ = 1, 3 do sim.fault { route = h.DETAIL_ROUTE, kind = "status", status = 503 } end
    h.poll(5000, function() return retrieves(id) >= count + 5 end, "polls through the failures")
    local warned = {}
    for _, n in ipairs(notes) do if n.level == WARN then warned[#warned + 1] = n.msg end end
    assert.equal(1, #warned, "warnings: " .. table.concat(warned, " | "))
    assert.matches(id, warned[1], 1, true)
    assert.matches("503", warned[1], 1, true)
    assert.matches("[live]", h.buffer_text(buf):match("^[^\n]*"), 1, true) -- and it goes on
  end)

  test(":SeekrflowTimeline with notify = false says nothing when refreshing fails", function()
    local _, _, quiet = frozen_job_followed({ client = { max_retries = 0 }, notify = false })
    for _ = 1, 3 do sim.fault { route = h.DETAIL_ROUTE, kind = "status", status = 503 } end
    h.poll(5000, function() return #sim.control("GET", "/_sim/faults") == 0 end, "the faults to be used")
    h.run_for(300)
    assert.equal(0, #quiet, "notifications with notify = false")
  end)
end
