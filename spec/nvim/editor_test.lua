-- The plugin as a Neovim user meets it: :help, commands without setup,
-- several watches, completion, the action keys, messages that never block.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim

local INFO, WARN = vim.log.levels.INFO, vim.log.levels.WARN
local root = os.getenv("SEEKRFLOW_ROOT") or vim.fn.getcwd()

local plugin = h.plugin

-- A fresh Neovim with the checkout on 'runtimepath' as a plugin manager leaves
-- it: no setup call. Runs `script` (Lua) and returns what it printed.
local function fresh_nvim(script, env)
  local cmd = { "env" }
  for k, v in pairs(env or {}) do cmd[#cmd + 1] = k .. "=" .. v end
  for _, a in ipairs { vim.v.progpath, "--headless", "-u", "NONE", "-i", "NONE",
    "--cmd", "set runtimepath^=" .. vim.fn.fnameescape(root), "--cmd", "runtime! plugin/seekrflow.lua",
    "-c", "lua " .. script, "-c", "qall!" } do
    cmd[#cmd + 1] = a
  end
  return vim.fn.system(cmd)
end

local jobs_buffer = h.jobs_buffer

return function(test)
  test(":help seekrflow, :help :SeekrflowWatch and :help seekrflow-setup open the manual", function()
    local dir = vim.fn.tempname()
    vim.fn.mkdir(dir .. "/doc", "p")
    vim.fn.writefile(vim.fn.readfile(root .. "/doc/seekrflow.txt"), dir .. "/doc/seekrflow.txt")
    vim.opt.runtimepath:append(dir)
    vim.cmd("helptags " .. vim.fn.fnameescape(dir .. "/doc"))
    for _, topic in ipairs { "seekrflow", ":SeekrflowWatch", "seekrflow-setup", ":SeekrflowJobs",
      ":SeekrflowFailures", ":SeekrflowWatchStop", ":SeekrflowRetry", ":SeekrflowRemoveFailed", ":SeekrflowStart",
      "seekrflow-options", "seekrflow-float_linger", "seekrflow.watch()", "seekrflow.confirm()", "seekrflow-keys" } do
      local ok, err = pcall(vim.cmd, "help " .. topic)
      assert.is_true(ok, ":help " .. topic .. ": " .. tostring(err))
      assert.equal("help", vim.bo.buftype)
      assert.matches("seekrflow.txt", vim.api.nvim_buf_get_name(0), 1, true)
      vim.cmd("helpclose")
    end
    vim.opt.runtimepath:remove(dir)
    vim.fn.delete(dir, "rf")
  end)

  test("without setup: commands exist, nothing is sent at startup, and they work from the environment", function()
    local client = h.client()
    local created = client.data_jobs:create { name = "no setup job", job_type = "principle_files" }
    local before = sim.stats().requests
    local out = fresh_nvim(table.concat({
      "io.stdout:write('commands=', vim.fn.exists(':SeekrflowWatch'), vim.fn.exists(':SeekrflowJobs'),",
      " vim.fn.exists(':SeekrflowFailures'), vim.fn.exists(':SeekrflowRetry'), '\\n')",
      "io.stdout:write('loaded=', tostring(package.loaded['seekrflow.core'] ~= nil), '\\n')",
      "vim.cmd('SeekrflowJobs')",
      "vim.wait(5000, function() return vim.fn.bufnr('seekrflow://jobs') ~= -1 end, 20)",
      "local b = vim.fn.bufnr('seekrflow://jobs')",
      "io.stdout:write('list=', table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '|'), '\\n')",
    }, " "), { SEEKR_API_KEY = sim.api_key, SEEKR_BASE_URL = sim.base_url })
    assert.matches("commands=2222", out, 1, true)
    assert.matches("loaded=false", out, 1, true) -- startup loads no C
    assert.matches(created.id, out, 1, true)
    assert.is_true(sim.stats().requests > before)
  end)

  test(":checkhealth seekrflow without setup finds the built core", function()
    local out = fresh_nvim(table.concat({
      "vim.cmd('silent checkhealth seekrflow')",
      "io.stdout:write(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n'), '\\n')",
    }, " "), { SEEKR_API_KEY = sim.api_key, SEEKR_BASE_URL = sim.base_url })
    assert.no.matches("does not load", out, 1, true)
    assert.matches("built for", out, 1, true)
    assert.matches("base URL reachable", out, 1, true)
    assert.no.matches(sim.api_key, out, 1, true)
  end)

  test("several watches at once (one :SeekrflowWatch each): one float each, stacked, each ending on its own", function()
    local client = h.client()
    local a = h.job_with_broken_files(client)
    local b = sim.job_with_files(client, { { "fine.pdf", "%PDF-1.7 fine" } })
    local notes = h.capture_notify()
    local p = plugin { float_linger = 5 }
    vim.cmd("SeekrflowWatch " .. a)
    vim.cmd("SeekrflowWatch " .. b)
    local first, all = p.watching()
    assert.equal(a, first)
    assert.same({ a, b }, all)
    local floats = h.floats()
    assert.equal(2, #floats)
    h.wait(3000, function()
      local rows = {}
      for _, win in ipairs(h.floats()) do
        local row = vim.api.nvim_win_get_config(win).row
        rows[#rows + 1] = type(row) == "table" and row[false] or row
      end
      return #rows == 2 and rows[1] ~= rows[2]
    end, "the floats to stack")
    h.wait(15000, function() return p.watching() == nil end, "both watches to end")
    assert.is_truthy(h.find_note(notes, a .. " needs review"))
    assert.is_truthy(h.find_note(notes, b .. " is ready_to_start"))
    -- the final frame of each: no file left queued or running
    for _, win in ipairs(h.floats()) do
      local text = h.buffer_text(vim.api.nvim_win_get_buf(win))
      assert.no.matches("queued", text, 1, true)
      assert.no.matches("running", text, 1, true)
      assert.matches("done in", text, 1, true)
    end
    p.watch { a, b }
    vim.cmd("SeekrflowWatchStop " .. a)
    assert.same({ b }, select(2, p.watching()))
    vim.cmd("SeekrflowWatchStop")
    assert.is_nil(p.watching())
  end)

  test("job ids complete from the recent list, refreshed in the background", function()
    local client = h.client()
    local created = client.data_jobs:create { name = "completion job", job_type = "principle_files" }
    h.capture_notify()
    plugin()
    local before = h.route_count("GET /v1/flow/data-jobs")
    -- the first completion starts the listing and does not wait for it
    vim.fn.getcompletion("SeekrflowWatch ", "cmdline")
    h.wait(5000, function()
      return vim.tbl_contains(vim.fn.getcompletion("SeekrflowWatch ", "cmdline"), created.id)
    end, "the job id among the completions")
    assert.is_true(h.route_count("GET /v1/flow/data-jobs") > before)
    local prefix = created.id:sub(1, 8)
    for _, id in ipairs(vim.fn.getcompletion("SeekrflowFailures " .. prefix, "cmdline")) do
      assert.equal(prefix, id:sub(1, #prefix))
    end
    -- fresh: another completion sends nothing
    local count = h.route_count("GET /v1/flow/data-jobs")
    vim.fn.getcompletion("SeekrflowWatch ", "cmdline")
    h.run_for(200)
    assert.equal(count, h.route_count("GET /v1/flow/data-jobs"))
  end)

  test("the job list shows its keys; x removes failed files after asking, f on the header says why not", function()
    local id, client = h.needs_review_job()
    local notes = h.capture_notify()
    local p = plugin()
    local asked = {}
    p.confirm = function(question) asked[#asked + 1] = question; return true end
    vim.cmd("SeekrflowJobs")
    h.wait(5000, function() return jobs_buffer() ~= nil end, "the job list")
    local buf = jobs_buffer()
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    assert.matches("r retry", lines[1], 1, true)
    assert.matches("x remove failed", lines[1], 1, true)
    assert.matches("s start", lines[1], 1, true)
    vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
    vim.api.nvim_win_set_cursor(0, { 2, 0 })
    vim.api.nvim_feedkeys("f", "x", false)
    assert.is_truthy(h.find_note(notes, "no job on this line", INFO))
    for n, line in ipairs(lines) do
      if line:find(id, 1, true) then vim.api.nvim_win_set_cursor(0, { n, 0 }) end
    end
    -- s: cannot start yet (failed files), says why and sends nothing
    vim.api.nvim_feedkeys("s", "x", false)
    h.wait(5000, function() return h.find_note(notes, "cannot start", WARN) ~= nil end, "why it cannot start")
    assert.equal(0, #asked)
    vim.api.nvim_feedkeys("x", "x", false)
    h.wait(5000, function() return h.find_note(notes, "removed 2 failed files from " .. id) ~= nil end,
      "the removal report")
    assert.matches("Remove 2 failed files from " .. id, asked[1], 1, true)
    assert.matches("ready_to_start", h.find_note(notes, "removed 2 failed files").msg, 1, true)
    -- now s starts it
    vim.api.nvim_feedkeys("s", "x", false)
    h.wait(5000, function() return h.find_note(notes, "started " .. id) ~= nil end, "the start report")
    assert.matches("Start alignment of " .. id, asked[2], 1, true)
    assert.not_equal("ready_to_start", client.data_jobs:retrieve(id).status)
  end)

  test("in the failures quickfix list, r retries transient failures after asking; a no is a no", function()
    local id = h.needs_review_job({ { "good.pdf", "%PDF-1.7 fine" }, { "flaky.pdf", "%PDF-1.7 SIM:TRANSIENT" } })
    local notes = h.capture_notify()
    local p = plugin()
    local answer = false
    p.confirm = function() return answer end
    local done
    p.failures(id, function(n) done = n end)
    h.wait(5000, function() return done ~= nil end, "the failures list")
    assert.matches("r retry", vim.fn.getqflist({ title = 1 }).title, 1, true)
    local qf_win
    for _, info in ipairs(vim.fn.getwininfo()) do
      if info.quickfix == 1 then qf_win = info.winid end
    end
    assert.is_truthy(qf_win, "the quickfix window is not open")
    vim.api.nvim_set_current_win(qf_win)
    local adds = h.route_count("POST /v1/flow/data-jobs/{id}/add-files")
    vim.api.nvim_feedkeys("r", "x", false)
    h.wait(5000, function() return h.find_note(notes, "cancelled: nothing sent") ~= nil end, "the refusal")
    assert.equal(adds, h.route_count("POST /v1/flow/data-jobs/{id}/add-files"))
    answer = true
    vim.api.nvim_feedkeys("r", "x", false)
    h.wait(5000, function() return h.find_note(notes, "added 1 file again to " .. id) ~= nil end, "the retry report")
    assert.equal(adds + 1, h.route_count("POST /v1/flow/data-jobs/{id}/add-files"))
  end)

  test("the end of a watch never stops the editor at a hit-enter prompt (cmdheight=1)", function()
    local id = h.job_with_broken_files(h.client())
    vim.api.nvim_set_option("cmdheight", 1)
    local p = plugin { float_linger = 0 }
    vim.cmd("messages clear")
    vim.cmd("SeekrflowWatch " .. id)
    h.wait(15000, function() return p.watching() == nil end, "the watch to end")
    h.run_for(100)
    local mode = vim.api.nvim_get_mode()
    assert.is_false(mode.blocking)
    assert.not_equal("r", mode.mode:sub(1, 1))
    local messages = vim.split(vim.fn.execute("messages"), "\n", { plain = true })
    local last = messages[#messages]
    assert.matches(id, last, 1, true)
    assert.is_true(vim.fn.strdisplaywidth(last) < vim.o.columns, "longer than the message area: " .. last)
  end)
end
