-- `seekrflow watch JOB JOB…`, `watch --all` and `failures --all` (lua/seekrflow/cli/many.lua),
-- against the simulator's many-jobs scenario over real HTTP.
local sim = require "helpers.sim"
local cli_helper = require "helpers.cli"
local text = require "seekrflow.text"
local util = require "helpers.util"
local seekrflow = sim.seekrflow

local run, ESC = cli_helper.run, cli_helper.ESC

local scenario = sim.many_jobs

local function ids_of(jobs)
  local ids = {}
  for i, j in ipairs(jobs) do ids[i] = j.id end
  return ids
end

local function argv(...)
  local list = {}
  for _, part in ipairs({ ... }) do
    if type(part) == "table" then
      for _, v in ipairs(part) do list[#list + 1] = v end
    else
      list[#list + 1] = part
    end
  end
  return list
end

describe("seekrflow watch with many jobs", function()
  sim.keep_config()
  before_each(function() sim.reset() end)

  it("prints one line per change in a pipe, a summary, and exits with the worst outcome", function()
    local jobs = scenario { jobs = 8 }
    local code, out = run(argv("watch", ids_of(jobs), "--interval", "50ms", "--timeout", "60s"))
    assert.equal(3, code, out) -- two jobs need review, the others are ready
    for _, j in ipairs(jobs) do assert.matches(j.id .. " watching", out, 1, true) end
    assert.matches("many%-002%-failing ✗ broken%.pdf failed: Internal processing failure%.", out)
    assert.matches("many%-002%-failing done: needs_review", out)
    assert.matches("many%-001%-healthy done: reached", out)
    assert.matches("8 jobs watched: 2 needs review, 6 reached", out, 1, true)
    assert.matches("Next: seekrflow failures --all", out, 1, true)
    -- every job ends exactly once
    for _, j in ipairs(jobs) do
      local _, n = out:gsub(j.name:gsub("%-", "%%-") .. " done: ", "")
      assert.equal(1, n, j.name)
    end
  end)

  it("ranks outcomes: an error beats needs review, a 401 beats an error", function()
    local jobs = scenario { jobs = 2 }
    local code, out = run(argv("watch", ids_of(jobs), "dj-missing", "--interval", "50ms"))
    assert.equal(1, code, out)
    assert.matches("dj%-missing  error  HTTP 404", out)
    code = run(argv("watch", ids_of(jobs), "--interval", "50ms"), { api_key = "sk-wrong" })
    assert.equal(4, code)
    -- --all with a wrong key: the job list's 401 ends the watch at once, as an authentication error
    code, out = run({ "watch", "--all" }, { api_key = "sk-wrong" })
    assert.equal(4, code, out)
    assert.matches("could not read the job list: HTTP 401", out, 1, true)
    assert.equal(1, sim.stats().routes["GET /v1/flow/data-jobs"], "a 401 on the job list was retried")
  end)

  it("writes one JSON event per line, each with its job id, then a result line", function()
    local jobs = scenario { jobs = 3 }
    local code, out = run(argv("--json", "watch", ids_of(jobs), "--interval", "50ms"))
    assert.equal(3, code, out)
    local lines = util.lines(out)
    local added, done = {}, {}
    for i, line in ipairs(lines) do
      local e = seekrflow.json_decode(line)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", e.time)
      if i < #lines then
        assert.is_string(e.job_id)
        assert.is_number(e.elapsed)
        if e.type == "job_added" then added[#added + 1] = e.job_id end
        if e.type == "job_done" then
          done[e.job_id] = e.reason
          assert.is_nil(e.result) -- summed up, not the whole history again
          assert.is_string(e.status)
        end
      else
        assert.equal("result", e.type)
        assert.equal(3, e.exit_code)
        assert.equal(3, #e.jobs)
        assert.same({ reached = 2, needs_review = 1 }, e.counts)
      end
    end
    assert.same(ids_of(jobs), added)
    assert.same({ [jobs[1].id] = "reached", [jobs[2].id] = "needs_review", [jobs[3].id] = "reached" }, done)
  end)

  it("draws a table on a terminal: most urgent first, within the width, server text neutralised", function()
    local jobs = scenario { jobs = 4, prefix = ESC .. "]0;PWNED" .. string.char(7) .. ESC .. "[2J" }
    local code, out = run(argv("watch", ids_of(jobs), "--interval", "50ms"), { isatty = true, columns = 70 })
    assert.equal(3, code, out)
    assert.is_nil(out:find(ESC .. "]", 1, true), "an OSC sequence reached the terminal")
    assert.is_nil(out:find(ESC .. "[2J", 1, true), "a clear-screen reached the terminal")
    assert.matches("\\x1b]0;PWNED", out, 1, true)
    assert.matches(ESC .. "%[%d+A", out) -- redrawn in place
    -- the last frame: the header, then the failing job first
    local last_frame = out
    while true do
      local at = last_frame:find(ESC .. "[J", 1, true)
      if not at then break end
      last_frame = last_frame:sub(at + 3)
    end
    local last = util.lines(last_frame)
    assert.matches("4 jobs: 0 moving, 1 need review", last[1], 1, true)
    assert.matches("failing", last[2], 1, true)
    -- the frames (the summary after them is printed once and may wrap like any text)
    for _, line in ipairs(util.lines(out:match("^(.*)\n\n"))) do
      local visible = line:gsub("\r" .. ESC .. "%[%d+A" .. ESC .. "%[J", "")
      assert.is_true(text.width(visible) <= 70, "wider than the terminal: " .. visible)
    end
  end)

  it("with --all watches every moving job of the team", function()
    sim.config { time_scale = 0 } -- frozen: what moves at the start still moves at the deadline
    scenario { jobs = 6 }
    local code, out = run({ "watch", "--all", "--interval", "50ms", "--timeout", "1s" })
    assert.equal(6, code, out)
    assert.matches("5 jobs watched: 5 timed out", out, 1, true) -- the Markdown-only job was ready
    assert.is_nil(out:find("many-006-markdown", 1, true))
    assert.matches("many-005-healthy watching (file_processing)", out, 1, true)
  end)

  -- Watches --all while the user fixes the job's failed file once its first round ended
  -- needs_review; `said(out, what)` tells when the output shows "first round moving",
  -- "first round ended" and "second round begun". The simulator is frozen except between
  -- those, so the job still moves when the watch looks. Returns the exit code and output.
  local function watched_again(args, said)
    local user = sim.client()
    local id, file_ids = sim.job_with_files(user, { { "ok.pdf", "%PDF-1.4 fine" }, { "broken.pptx", "" } },
      { name = "again" })
    sim.config { time_scale = 0 }
    local step = "moving"
    local code, out = run(args, {
      on_output = function(out)
        if step == "moving" and said(out, "moving") then
          step = "ended"
          sim.config { time_scale = sim.time_scale }
        elseif step == "ended" and said(out, "ended") then
          step = "again"
          sim.config { time_scale = 0 }
          user.data_jobs:remove_files(id, { file_ids[2] })
          user.data_jobs:add_files(id, { sim.file("fixed.pdf", "%PDF-1.4 fixed").id })
        elseif step == "again" and said(out, "again") then
          step = "done"
          sim.config { time_scale = sim.time_scale }
        end
      end,
    })
    user:close()
    assert.equal("done", step, out)
    return code, out, id
  end

  it("tells a job watched again after its watch ended: a pipe says so, JSON has round and again", function()
    local args = { "watch", "--all", "--interval", "50ms", "--timeout", sim.deadline(120) .. "s" }
    local code, out = watched_again(args, function(so_far, step)
      if step == "moving" then return so_far:find("again watching (file_processing)", 1, true) end
      if step == "ended" then return so_far:find("again done: needs_review", 1, true) end
      return so_far:find("again watching again", 1, true)
    end)
    assert.equal(0, code, out)
    assert.matches("again watching again (file_processing, was needs_review)\n", out, 1, true)
    assert.matches("again done: reached", out, 1, true)
    local _, plain = out:gsub("again watching %(", "")
    assert.equal(1, plain, out) -- the first round's line only
    assert.matches("1 job watched: 1 reached", out, 1, true)

    local id
    code, out, id = watched_again(argv("--json", args), function(so_far, step)
      if step == "moving" then return so_far:find('"type":"job_added"', 1, true) end
      if step == "ended" then return so_far:find('"reason":"needs_review"', 1, true) end
      return select(2, so_far:gsub('"type":"job_added"', "")) == 2
    end)
    assert.equal(0, code, out)
    local added = {}
    for _, line in ipairs(util.lines(out)) do
      local e = seekrflow.json_decode(line)
      if e.type == "job_added" then added[#added + 1] = e end
    end
    assert.equal(2, #added)
    assert.same({ id, 1 }, { added[1].job_id, added[1].round })
    assert.is_nil(added[1].again)
    assert.same({ id, 2, true, "needs_review" }, { added[2].job_id, added[2].round, added[2].again,
      added[2].previous_reason })
    assert.is_nil(out:find("watching", 1, true)) -- JSON lines only
  end)

  it("failures --all prints the failure summary of every job that needs review", function()
    -- frozen until the watch has listed the jobs, so every job still moves when it does, however
    -- slow the machine; then the simulator runs them to their end
    sim.config { time_scale = 0 }
    scenario { jobs = 10 }
    local listed = false
    assert.equal(3, (run({ "watch", "--all", "--interval", "50ms", "--timeout", sim.deadline(120) .. "s" }, {
      on_output = function()
        if not listed then
          listed = true
          sim.config { time_scale = sim.time_scale }
        end
      end,
    })))
    local code, out = run({ "failures", "--all" })
    assert.equal(3, code)
    assert.matches("many%-002%-failing", out)
    assert.matches("many%-008%-failing", out)
    assert.matches("Internal processing failure", out)
    assert.is_nil(out:find("many-001-healthy", 1, true))
  end)

  it("in GitHub Actions annotates each failed file and appends each failing job's summary", function()
    local jobs = scenario { jobs = 3 }
    local dir = util.temp_dir()
    local step_summary = dir .. "/summary.md"
    local env = { GITHUB_ACTIONS = "true", GITHUB_STEP_SUMMARY = step_summary }
    local code, out = run(argv("watch", ids_of(jobs), "--interval", "50ms"),
      { env = function(name) return env[name] end })
    assert.equal(3, code, out)
    assert.matches("::error title=broken.pdf failed in " .. jobs[2].id .. "::broken.pdf: Internal processing failure.",
      out, 1, true)
    local _, annotations = out:gsub("::error ", "")
    assert.equal(1, annotations) -- the healthy jobs have nothing to say
    local f = assert(io.open(step_summary, "rb"))
    local markdown = f:read("*a")
    f:close()
    util.remove_dir(dir)
    assert.matches("### seekrflow: many-002-failing", markdown, 1, true)
    assert.matches("| broken.pdf |", markdown, 1, true)
    assert.is_nil(markdown:find("many-001-healthy", 1, true))
  end)

  it("ends on Ctrl-C with a summary and exit code 130", function()
    if not cli_helper.installed("timeout", "no timeout(1) to send SIGINT") then return end
    sim.config { time_scale = 0 } -- nothing finishes: only Ctrl-C ends the watch
    -- --foreground: timeout(1) signals only the command; otherwise it signals the command
    -- and then its whole process group, and the interpreter dies of the second SIGINT
    scenario { jobs = 3 }
    local cmd = cli_helper.command_line("watch --all --interval 100ms",
      "timeout --foreground --preserve-status -s INT 1.5") .. " 2>&1; echo \"exit:$?\""
    local p = assert(io.popen(cmd))
    local output = p:read("*a")
    p:close()
    assert.matches("exit:130", output, 1, true)
    assert.matches("3 jobs watched: 3 interrupted", output, 1, true)
  end)
end)
