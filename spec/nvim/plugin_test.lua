-- The plugin: commands, the float, notifications and the quickfix list,
-- against the simulator, inside a real (headless) Neovim.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim

local ERROR, WARN = vim.log.levels.ERROR, vim.log.levels.WARN
local BAD_KEY = "sk-nvim-not-a-real-key-7781"

local plugin = h.plugin

local function qf()
  return vim.fn.getqflist({ title = 1, items = 1 })
end

-- The two failed files of h.job_with_broken_files, each once, with error and fix.
local function assert_failures_listed(id)
  local list = qf()
  assert.equal("seekrflow failures " .. id .. "  (r retry · x remove failed · s start)", list.title,
    "quickfix title, with the keys it offers")
  assert.equal(id, vim.fn.getqflist({ context = 1 }).context.seekrflow_job, "the job in the list's context")
  assert.equal(2, #list.items, "one quickfix entry per failed file")
  local by_name = {}
  for _, item in ipairs(list.items) do
    local name = item.text:match("^([^:]+):")
    assert.is_truthy(name, "entry text does not start with a file name: " .. item.text)
    assert.equal(nil, by_name[name], "two entries for " .. name)
    by_name[name] = item.text
    assert.equal(0, item.bufnr, "an entry points at a buffer")
  end
  assert.matches(h.CORRUPT, by_name["broken.pdf"], 1, true)
  assert.matches("fix: " .. h.CORRUPT_FIX, by_name["broken.pdf"], 1, true)
  assert.matches(h.EMPTY, by_name["empty.pdf"], 1, true)
  assert.matches("fix: " .. h.EMPTY_FIX, by_name["empty.pdf"], 1, true)
end

local function assert_no_traceback(notes)
  for _, n in ipairs(notes) do
    assert.no.matches("stack traceback", n.msg, 1, true)
    assert.no.matches(".lua:", n.msg, 1, true)
  end
end

return function(test)
  test("setup does no I/O and defines the commands and the VimLeavePre hook", function()
    local notes = h.capture_notify()
    local before = sim.stats().requests
    -- a port nothing listens on and no key: setup must not notice
    require("seekrflow.nvim").setup { base_url = "http://127.0.0.1:9/v1" }
    assert.equal(before, sim.stats().requests, "requests made by setup")
    assert.equal(0, #notes, "notifications from setup")
    for _, name in ipairs({ "SeekrflowWatch", "SeekrflowWatchStop", "SeekrflowJobs", "SeekrflowFailures" }) do
      assert.equal(2, vim.fn.exists(":" .. name), ":" .. name .. " is not defined")
    end
    assert.equal(1, #vim.api.nvim_get_autocmds({ group = "seekrflow", event = "VimLeavePre" }), "VimLeavePre autocmds")
    local ok, err = pcall(require("seekrflow.nvim").setup, { nope = true })
    assert.is_truthy(not ok, "an unknown option was accepted")
    assert.matches("unknown option \"nope\"", tostring(err), 1, true)
  end)

  test("a checkout on the runtimepath finds its build/luajit core after setup (plugin-manager install)", function()
    local root = os.getenv("SEEKRFLOW_ROOT") or vim.fn.getcwd()
    -- a fresh Neovim, as a plugin manager leaves it: the checkout on 'runtimepath', nothing on package.cpath
    local script = table.concat({
      "local ok, err = pcall(require, 'seekrflow')",
      "io.stdout:write('before=', tostring(ok), '\\n')",
      "require('seekrflow.nvim').setup {}",
      "ok, err = pcall(require('seekrflow.nvim')._require_core)",
      "io.stdout:write('after=', tostring(ok), ' ', ok and err.built_for or tostring(err), '\\n')",
    }, " ")
    local output = vim.fn.system({ vim.v.progpath, "--headless", "-u", "NONE", "-i", "NONE",
      "--cmd", "set runtimepath^=" .. vim.fn.fnameescape(root), "-c", "lua " .. script, "-c", "qall!" })
    assert.matches("before=false", output, 1, true)
    assert.matches("after=true LuaJIT", output, 1, true)
  end)

  test(":SeekrflowWatch shows an unfocused float, reaches needs_review and fills the quickfix list", function()
    local id = h.job_with_broken_files(h.client())
    local notes = h.capture_notify()
    plugin { float_linger = 0.5 }
    local win, buf = vim.api.nvim_get_current_win(), vim.api.nvim_get_current_buf()
    vim.cmd("SeekrflowWatch " .. id)
    local floats = h.floats()
    assert.equal(1, #floats, "floating windows right after :SeekrflowWatch")
    local float = floats[1]
    local config = vim.api.nvim_win_get_config(float)
    assert.equal(false, config.focusable, "the float is focusable")
    assert.equal("editor", config.relative)
    assert.equal(win, vim.api.nvim_get_current_win(), "the float took the focus")
    assert.equal(buf, vim.api.nvim_get_current_buf(), "the current buffer changed")
    assert.matches(id, h.buffer_text(vim.api.nvim_win_get_buf(float)), 1, true)

    h.wait(15000, function() return h.find_note(notes, "needs review") ~= nil end, "the needs-review notification")
    local note = h.find_note(notes, "needs review")
    assert.equal(WARN, note.level, "needs-review level")
    assert.matches(id, note.msg, 1, true)
    assert.matches("quickfix", note.msg, 1, true)
    assert_failures_listed(id)
    -- the float showed each file's final state, and the window never moved
    assert.is_truthy(vim.api.nvim_win_is_valid(float), "the float closed before lingering")
    local text = h.buffer_text(vim.api.nvim_win_get_buf(float))
    assert.matches("needs_review", text, 1, true)
    assert.matches("broken.pdf", text, 1, true)
    assert.matches("failed", text, 1, true)
    assert.matches("good.pdf", text, 1, true)
    assert.matches("completed", text, 1, true)
    assert.equal(win, vim.api.nvim_get_current_win(), "the focus moved during the watch")
    h.wait(3000, function() return #h.floats() == 0 end, "the float to close after float_linger")
    for _, n in ipairs(notes) do assert.is_truthy(n.level ~= ERROR, "unexpected error: " .. n.msg) end
  end)

  test(":SeekrflowWatch of a healthy job ends with an INFO notification and leaves the quickfix list alone", function()
    local id = sim.job_with_files(h.client(), { { "fine.pdf", "%PDF-1.7 fine" }, { "notes.md", "# notes" } })
    local notes = h.capture_notify()
    plugin { float_linger = 0 }
    vim.cmd("SeekrflowWatch " .. id)
    h.wait(15000, function() return h.find_note(notes, "ready_to_start") ~= nil end, "the end notification")
    assert.equal(vim.log.levels.INFO, h.find_note(notes, "ready_to_start").level)
    assert.equal("", qf().title, "the quickfix list was set")
    h.wait(1000, function() return #h.floats() == 0 end, "the float to close")
  end)

  test("notify = false silences the progress notifications, not the errors", function()
    local id = sim.job_with_files(h.client(), { { "fine.pdf", "%PDF-1.7 fine" } })
    local notes = h.capture_notify()
    plugin { notify = false, float = false }
    vim.cmd("SeekrflowWatch " .. id)
    assert.equal(0, #h.floats(), "a float with float = false")
    assert.equal(id, require("seekrflow.nvim").watching())
    h.wait(15000, function() return require("seekrflow.nvim").watching() == nil end, "the watch to end")
    assert.equal(0, #notes, "notifications with notify = false")
    vim.cmd("SeekrflowFailures dj-missing")
    h.wait(5000, function() return h.find_note(notes, sim.NOT_FOUND, ERROR) ~= nil end, "the 404 notification")
  end)

  test(":SeekrflowWatch shows queue positions and file states while ingesting", function()
    sim.config { time_scale = 0 } -- frozen: everything stays queued
    local id = h.job_with_broken_files(h.client())
    h.capture_notify()
    plugin { watch = { min_interval = 0.2 } }
    vim.cmd("SeekrflowWatch " .. id)
    local float = h.floats()[1]
    assert.is_truthy(float, "no float")
    local buf = vim.api.nvim_win_get_buf(float)
    h.wait(5000, function() return h.buffer_text(buf):find("queued #3", 1, true) ~= nil end,
      "queue positions in the float")
    local text = h.buffer_text(buf)
    assert.matches("file_processing", text, 1, true)
    assert.matches("good.pdf", text, 1, true)
    assert.matches("queued #1", text, 1, true)
    vim.cmd("SeekrflowWatchStop")
  end)

  test(":SeekrflowFailures fills the quickfix list and opens it", function()
    local id = h.needs_review_job()
    local notes = h.capture_notify()
    plugin()
    vim.cmd("SeekrflowFailures " .. id)
    h.wait(5000, function() return qf().title:find("seekrflow failures " .. id, 1, true) == 1 end, "the quickfix list")
    assert_failures_listed(id)
    local open = false
    for _, info in ipairs(vim.fn.getwininfo()) do
      if info.quickfix == 1 then open = true end
    end
    assert.is_truthy(open, "the quickfix window is not open")
    assert.equal(0, #notes, "notifications")
  end)

  test(":SeekrflowJobs lists a created job in a scratch buffer", function()
    local client = h.client()
    local created = client.data_jobs:create { name = "nvim listed job", job_type = "principle_files" }
    local notes = h.capture_notify()
    plugin()
    vim.cmd("SeekrflowJobs")
    local buf = h.wait_for_job_list(created.id)
    local line
    for _, l in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
      if l:find(created.id, 1, true) then line = l end
    end
    assert.matches("needs_review", line, 1, true)
    assert.matches("principle_files", line, 1, true)
    assert.matches("nvim listed job", line, 1, true)
    assert.equal("nofile", vim.api.nvim_buf_get_option(buf, "buftype"))
    assert.equal(0, #notes, "notifications")
  end)

  test("server text with escapes, C1 and bidi controls is neutralised in the float, list, quickfix, notes", function()
    local HOSTILE = "\27]0;PWNED\7\27[2J\27[32mALL GOOD\194\155\226\128\174"
    local function clean(text, where)
      assert.is_truthy(not text:find("[%z\1-\9\11-\31\127]"),
        where .. " has a control character: " .. vim.inspect(text))
      assert.is_truthy(not text:find("\194[\128-\159]"), where .. " has a C1 control: " .. vim.inspect(text))
      assert.is_truthy(not text:find("\226\128\174", 1, true), where .. " has a bidi override: " .. vim.inspect(text))
    end
    local client = h.client()
    local id = sim.job_with_files(client, {
      { "good.pdf", "%PDF-1.7 fine" }, { HOSTILE .. ".pdf", "not a pdf at all" },
    }, { name = "job " .. HOSTILE })
    local notes = h.capture_notify()
    plugin { float_linger = 5 }
    vim.cmd("SeekrflowWatch " .. id)
    h.wait(15000, function() return h.find_note(notes, "needs review") ~= nil end, "the needs-review notification")
    local float = h.floats()[1]
    assert.is_truthy(float, "no float")
    local text = h.buffer_text(vim.api.nvim_win_get_buf(float))
    clean(text, "the float")
    assert.matches("\\x1b]0;PWNED\\x07", text, 1, true)
    local list = qf()
    assert.equal(1, #list.items, "quickfix entries")
    clean(list.items[1].text, "the quickfix entry")
    assert.matches("\\u{009B}\\u{202E}.pdf", list.items[1].text, 1, true)
    for _, n in ipairs(notes) do clean(n.msg, "a notification") end

    vim.cmd("SeekrflowJobs")
    local buf = h.wait_for_job_list(id)
    clean(h.buffer_text(buf), "the job list")
    assert.matches("job \\x1b]0;PWNED", h.buffer_text(buf), 1, true)
  end)

  test("a 401 is an ERROR notification with the status and without the key", function()
    local notes = h.capture_notify()
    plugin { api_key = BAD_KEY, float_linger = 0 }
    vim.cmd("SeekrflowJobs")
    h.wait(5000, function() return h.find_note(notes, "401", ERROR) ~= nil end, "the 401 notification")
    vim.cmd("SeekrflowWatch dj-anything")
    h.wait(5000, function()
      local n = h.find_note(notes, "dj-anything", ERROR)
      return n ~= nil and n.msg:find("401", 1, true) ~= nil
    end, "the 401 notification of the watch")
    for _, n in ipairs(notes) do assert.no.matches(BAD_KEY, n.msg, 1, true, "the key leaked") end
    assert_no_traceback(notes)
    h.wait(1000, function() return #h.floats() == 0 end, "the float to close after the watch failed")
  end)

  test("a 404 is an ERROR notification with the status", function()
    local notes = h.capture_notify()
    plugin { float_linger = 0 }
    vim.cmd("SeekrflowFailures dj-does-not-exist")
    h.wait(5000, function() return h.find_note(notes, sim.NOT_FOUND, ERROR) ~= nil end, "the 404 notification")
    assert.matches("dj-does-not-exist", h.find_note(notes, sim.NOT_FOUND, ERROR).msg, 1, true)
    assert.matches("not found", h.find_note(notes, sim.NOT_FOUND, ERROR).msg, 1, true) -- whatever the status
    vim.cmd("SeekrflowWatch dj-also-missing")
    h.wait(5000, function()
      local n = h.find_note(notes, "dj-also-missing", ERROR)
      return n ~= nil and n.msg:find(sim.NOT_FOUND, 1, true) ~= nil
    end, "the 404 notification of the watch")
    -- an id the library refuses before sending anything is reported the same way
    vim.cmd("SeekrflowFailures dj/bad")
    h.wait(2000, function() return h.find_note(notes, "dj/bad", ERROR) ~= nil end, "the invalid id notification")
    for _, n in ipairs(notes) do assert.no.matches(sim.api_key, n.msg, 1, true, "the key leaked") end
    assert_no_traceback(notes)
  end)

  test(":SeekrflowWatchStop cancels: no more requests and no more notifications", function()
    sim.config { time_scale = 0 } -- frozen: the job stays in file_processing
    local id = h.job_with_broken_files(h.client())
    local notes = h.capture_notify()
    plugin { watch = { min_interval = 0.1, max_interval = 0.3 } }
    vim.cmd("SeekrflowWatch " .. id)
    h.poll(5000, function() return h.route_count(h.DETAIL_ROUTE) >= 2 end, "two polls")
    vim.cmd("SeekrflowWatchStop")
    assert.is_truthy(h.find_note(notes, "stopped watching " .. id), "no stop notification")
    assert.equal(0, #h.floats(), "the float is still open")
    h.run_for(300) -- a poll in flight at the stop may still reach the server
    local count, seen = h.route_count(h.DETAIL_ROUTE), #notes
    h.run_for(1500) -- a watch still running would poll about five times in this
    assert.equal(count, h.route_count(h.DETAIL_ROUTE), "polls after :SeekrflowWatchStop")
    assert.equal(seen, #notes, "notifications after :SeekrflowWatchStop")
    vim.cmd("SeekrflowWatchStop")
    assert.is_truthy(h.find_note(notes, "no watch is running"), "a second stop is not reported")
  end)

  test("close() during a watch with a request in flight: nothing fires afterwards", function()
    local id = h.job_with_broken_files(h.client())
    sim.fault { route = h.DETAIL_ROUTE, kind = "latency", delay_ms = 800 }
    local notes = h.capture_notify()
    local p = plugin()
    vim.cmd("SeekrflowWatch " .. id)
    h.run_for(100)
    local seen = #notes
    p.close()
    assert.equal(0, #h.floats(), "the float is still open")
    h.run_for(1200)
    assert.equal(seen, #notes, "notifications after close()")
    assert.equal("", qf().title, "quickfix list set after close()")
    -- the next command makes a new driver
    vim.cmd("SeekrflowFailures " .. id)
    h.wait(5000, function() return qf().title ~= "" end, "a command after close()")
  end)
end
