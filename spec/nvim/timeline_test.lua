-- :SeekrflowTimeline: the job's picture in a buffer, the same layout the CLI and the SVG
-- report draw, fetched without blocking the editor, inside a real (headless) Neovim.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim
local row = require("helpers.util").row_line

local ERROR = vim.log.levels.ERROR

local function timeline_buffer(id) return h.buffer_named("seekrflow://timeline/" .. id) end

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
end
