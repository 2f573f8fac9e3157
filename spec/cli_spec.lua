-- The seekrflow command, against the simulator over real HTTP.
local sim = require "helpers.sim"
local cli_helper = require "helpers.cli"
local seekrflow = sim.seekrflow

local ROOT, ESC = cli_helper.ROOT, cli_helper.ESC
local run, shell, command_line = cli_helper.run, cli_helper.shell, cli_helper.command_line

local util = require "helpers.util"
local lines_of, temp_dir, write_file = util.lines, util.temp_dir, util.write_file

--- A job with these files attached (sim.job_with_files on a client of its own).
local function job_with(files, fields)
  local client = sim.client()
  local id, ids = sim.job_with_files(client, files, fields)
  client:close()
  return id, ids
end

--- Waits until job id's ingestion has ended (on a client of its own); returns id.
local function settle(id)
  local client = sim.client()
  sim.settled(client, id)
  client:close()
  return id
end

--- A job with a system prompt and these files attached, once its ingestion has ended.
local function settled_job(files, fields)
  return settle(job_with(files, fields or { system_prompt = "p" }))
end

local dir -- the current test's temporary folder

-- Inside a describe block: each test starts with an emptied simulator and a folder of its own.
local function simulator_and_dir_per_test()
  before_each(function()
    sim.reset()
    dir = temp_dir()
  end)
  after_each(function() util.remove_dir(dir) end)
end

describe("seekrflow command", function()
  simulator_and_dir_per_test()

  it("prints help and exits 0; no command is a usage error", function()
    local code, out = run({ "--help" }, { no_auth = true })
    assert.equal(0, code)
    assert.matches("\n   watch ", out)
    assert.matches("Exit codes", out)
    code = run({}, { no_auth = true })
    assert.equal(2, code)
    for _, name in ipairs({ "list", "show", "watch", "failures", "files", "timeline", "create", "update", "upload",
      "add-files", "remove-files", "start", "cancel", "delete", "outputs" }) do
      code, out = run({ name, "--help" }, { no_auth = true })
      assert.equal(0, code, name)
      assert.matches("Usage: seekrflow " .. name:gsub("%-", "%%-"), out)
    end
  end)

  it("rejects unknown commands, flags and missing arguments with exit 2", function()
    assert.equal(2, (run({ "frobnicate" })))
    local code, _, err = run({ "list", "--limit" })
    assert.equal(2, code)
    assert.matches("'%-%-limit' requires an argument", err)
    code, _, err = run({ "show" })
    assert.equal(2, code)
    assert.matches("missing argument 'job'", err)
    assert.equal(2, (run({ "list", "--colour" })))
    code, _, err = run({ "show", "bad/id" })
    assert.equal(2, code)
    assert.matches("contains '/'", err)
  end)

  it("exits 4 on a bad key and 1 on an unknown job", function()
    local code, _, err = run({ "list" }, { api_key = "nope" })
    assert.equal(4, code)
    assert.matches("401", err)
    assert.matches("SEEKR_API_KEY", err)
    assert.is_nil(err:find("nope", 1, true))
    code, _, err = run({ "show", "dj-missing" })
    assert.equal(1, code)
    assert.matches("not found", err)
    code, _, err = run({ "show", "dj-missing", "--json" })
    assert.equal(1, code)
    local decoded = seekrflow.json_decode(err).error
    assert.equal(sim.NOT_FOUND, decoded.status) -- 404, or 422 from a spec-minimal server
    assert.equal("not_found", decoded.class)
  end)

  it("creates, lists, shows, updates and deletes, in text and JSON", function()
    local code, out = run({ "create", "--name", "From the CLI", "--type", "principle_files" })
    assert.equal(0, code)
    local id = out:match("^(dj%-%S+)\n$")
    assert.is_string(id)
    code, out = run({ "list" })
    assert.equal(0, code)
    assert.matches(id:gsub("%-", "%%-"), out)
    assert.matches("From the CLI", out)
    code, out = run({ "list", "--json" })
    assert.equal(0, code)
    local jobs = seekrflow.json_decode(out)
    assert.equal(id, jobs[1].id)
    code, out = run({ "update", id, "--system-prompt", "Be brief." })
    assert.equal(0, code)
    assert.matches("^updated " .. id:gsub("%-", "%%-"), out)
    code, out = run({ "show", id, "--json" })
    assert.equal(0, code) -- informational: exit 0 whatever the state
    code = run({ "show", id, "--exit-status" })
    assert.equal(3, code) -- no files yet: needs review
    assert.equal("Be brief.", seekrflow.json_decode(out).system_prompt)
    assert.equal(0, (run({ "delete", id })))
    assert.equal(1, (run({ "show", id })))
  end)

  it("uploads, attaches, reports failures and removes them", function()
    local good = write_file(dir, "good.pdf", "%PDF-1.7 good")
    local bad = write_file(dir, "bad.pdf", "not a pdf")
    local code, out = run({ "create", "--name", "j", "--type", "principle_files", "--system-prompt", "p" })
    assert.equal(0, code)
    local id = out:match("(dj%-%S+)")
    code, out = run({ "upload", good, bad })
    assert.equal(0, code)
    local ids = lines_of(out) -- ids only, one per line, ready for add-files
    assert.equal(2, #ids)
    assert.matches("^file%-%S+$", ids[1])
    assert.matches("^file%-%S+$", ids[2])
    code = run({ "add-files", id, ids[1], ids[2] })
    assert.equal(0, code)
    settle(id)
    code, out = run({ "failures", id })
    assert.equal(3, code)
    assert.matches("bad.pdf", out)
    assert.matches("Upload a valid, unprotected PDF.", out)
    assert.is_nil(out:find("good.pdf", 1, true)) -- only what failed
    assert.is_nil(out:find(ESC, 1, true)) -- no colour when not a terminal
    code, out = run({ "failures", id, "--json" })
    assert.equal(3, code)
    assert.equal(1, #seekrflow.json_decode(out).failed)
    code = run({ "remove-files", id, "--failed" })
    assert.equal(0, code)
    code, out = run({ "files", id })
    assert.equal(0, code)
    assert.is_nil(out:find("bad.pdf", 1, true))
    code, out = run({ "failures", id })
    assert.equal(0, code)
    assert.matches("ready", out:lower())
  end)

  describe("watch", function()
    it("prints one line per change when not on a terminal, then the summary", function()
      -- The simulator's clock is frozen and moved on from here, so every
      -- state is seen however slow the machine is.
      sim.config { time_scale = 0 }
      local ok, failure = pcall(function()
        local id = job_with({ { "a.pdf", "%PDF-1.7 a" }, { "empty.docx", "" } }, { system_prompt = "p" })
        local out_file = dir .. "/watch.out"
        local cmd = ("%s > %q 2>&1; echo \"exit:$?\" >> %q"):format(
          command_line("watch " .. id .. " --interval 0.05 --max-interval 0.1"), out_file, out_file)
        assert(os.execute("(" .. cmd .. ") &"))
        local function output() return util.read_file(out_file) or "" end
        local function wait_for(pattern, what)
          return sim.eventually(function() return output():find(pattern) end, 20, what)
        end
        wait_for("latest event", "the first snapshot")
        assert.matches("a%.pdf queued #1", output())
        sim.control("POST", "/_sim/advance", { seconds = 3 }) -- a worker takes both files
        wait_for("a%.pdf queued → running", "a.pdf to start")
        sim.control("POST", "/_sim/advance", { seconds = 10 }) -- the empty file fails after 5 s
        wait_for("✗ empty%.docx failed", "empty.docx to fail")
        sim.control("POST", "/_sim/advance", { seconds = 30 })
        wait_for("exit:%d+", "watch to end")
        local text = output()
        assert.matches("exit:3", text)
        assert.matches("a%.pdf running → completed", text)
        assert.matches("✗ empty%.docx failed: The file appears to be empty%.", text)
        assert.matches("event: File Processing Completed", text)
        assert.matches("job file_processing → needs_review", text)
        assert.matches("Upload a copy with content", text) -- the failure summary
        assert.is_nil(text:find(ESC, 1, true))
        -- each change once, not a snapshot per poll
        local _, running_lines = text:gsub("a%.pdf queued → running", "")
        assert.equal(1, running_lines)
        local _, polls = text:gsub("latest event", "")
        assert.equal(1, polls)
      end)
      sim.config { time_scale = sim.time_scale }
      assert(ok, failure)
    end)

    it("follows alignment to completion and exits 0", function()
      local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p" })
      local client = sim.client()
      sim.settled(client, id)
      -- the clock stands still until the watch has shown each phase, so no machine is too slow to
      -- see it: queued at the first poll, then 10 s on (5 s queued) running, then on to the end
      sim.config { time_scale = 0 }
      client.data_jobs:start(id)
      client:close()
      local phase = "queued"
      local function follow_the_watch(shown)
        if phase == "queued" then
          phase = "running"
          sim.control("POST", "/_sim/advance", { seconds = 10 })
        elseif phase == "running" and shown:find("alignment running", 1, true) then
          phase = "ending"
          sim.config { time_scale = sim.time_scale }
        end
      end
      local code, out = run({ "watch", id, "--interval", "0.05", "--max-interval", "0.2",
        "--timeout", sim.deadline(60) .. "s" }, { on_output = follow_the_watch })
      sim.config { time_scale = sim.time_scale }
      assert.equal(0, code, out)
      assert.matches("alignment running", out)
      assert.matches("✓ completed", out)
      code, out = run({ "outputs", id })
      assert.equal(0, code)
      assert.matches("fine%-tune", out)
    end)

    it("exits 5 when alignment fails", function()
      local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p SIM:ALIGNMENT_FAIL" })
      local client = sim.client()
      sim.settled(client, id)
      client.data_jobs:start(id)
      client:close()
      assert.equal(5, (run({ "watch", id, "--interval", "0.05", "--max-interval", "0.2" })))
    end)

    it("exits 6 when the time limit passes", function()
      local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p" })
      sim.config { time_scale = 0 }
      local code, out = run({ "watch", id, "--interval", "0.05", "--timeout-after", "0.5" })
      sim.config { time_scale = sim.time_scale }
      assert.equal(6, code)
      assert.matches("time limit", out)
    end)

    it("gives machine-readable events with --json", function()
      local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p" })
      local code, out = run({ "watch", id, "--json", "--interval", "0.05", "--max-interval", "0.2" })
      assert.equal(0, code)
      local events = {}
      for _, line in ipairs(lines_of(out)) do events[#events + 1] = seekrflow.json_decode(line) end
      local types = {}
      for _, e in ipairs(events) do types[e.type] = (types[e.type] or 0) + 1 end
      assert.is_true(types.job_status >= 1)
      assert.is_true(types.record_added >= 1)
      assert.equal(1, types.result)
      assert.equal("result", events[#events].type)
      assert.equal("reached", events[#events].reason)
      assert.equal("ready_to_start", events[#events].status)
    end)

    it("redraws in place on a terminal instead of scrolling", function()
      local id = job_with({ { "a.pdf", "%PDF-1.7 a" }, { "b.pdf", "%PDF-1.7 b" } }, { system_prompt = "p" })
      -- the simulator's clock stands still: the watch redraws until its deadline, however slow the
      -- machine (valgrind) and however fast the simulator
      sim.config { time_scale = 0 }
      local code, out = run({ "watch", id, "--interval", "0.05", "--max-interval", "0.1",
        "--timeout", sim.deadline(1) .. "s" }, { isatty = true, columns = 80 })
      sim.config { time_scale = sim.time_scale }
      assert.equal(6, code)
      local _, redraws = out:gsub(ESC .. "%[%d+A" .. ESC .. "%[J", "")
      assert.is_true(redraws >= 2, "the frame was not redrawn")
      for _, line in ipairs(lines_of(out:gsub(ESC .. "%[[%d;]*[A-Za-z]", ""))) do
        assert.is_true(require("seekrflow.text").width(line) <= 80, "line wider than the terminal: " .. line)
      end
    end)
  end)

  it("cancels a running alignment and reports it", function()
    local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p" })
    local client = sim.client()
    sim.settled(client, id)
    sim.config { time_scale = 0 } -- keep the alignment running until cancelled
    local ok, failure = pcall(function()
      client.data_jobs:start(id)
      local code, out = run({ "cancel", id })
      assert.equal(0, code)
      assert.matches("^cancelled " .. id:gsub("%-", "%%-"), out)
      code, out = run({ "show", id, "--json", "--exit-status" })
      assert.equal(5, code) -- cancelled
      assert.equal("cancelled", seekrflow.json_decode(out).status)
    end)
    sim.config { time_scale = sim.time_scale }
    client:close()
    assert(ok, failure)
  end)

  it("runs the simulator as a subcommand", function()
    local code, out = shell("sim --help")
    assert.equal(0, code)
    assert.matches("%-%-port", out)
    assert.matches("%-%-time%-scale", out)
    code = shell("sim --no-such-flag")
    assert.equal(2, code)
  end)

  it("works as a process with the documented exit codes", function()
    local code, out = shell("--version")
    assert.equal(0, code)
    assert.matches("^seekrflow %d", out)
    code = shell("show dj-missing")
    assert.equal(1, code)
    code = shell("list --limit 0")
    assert.equal(2, code)
    local id = job_with({ { "x.docx", "" } }, { system_prompt = "p" })
    code, out = shell("watch " .. id .. " --interval 0.05 --max-interval 0.2")
    assert.equal(3, code, out)
  end)
end)

describe("seekrflow watch on a real terminal", function()
  if not cli_helper.installed("tmux", "tmux is not installed (apt-get install tmux)") then return end

  -- one tmux server serves every run of this user: a name no other run can have at once
  local unique = os.tmpname()
  os.remove(unique)
  local session = "seekrflow-spec-" .. unique:match("[^/]+$"):gsub("[^%w]", "")

  local function capture()
    local p = assert(io.popen("tmux capture-pane -p -t " .. session))
    local text = p:read("*a")
    p:close()
    return text
  end

  after_each(function()
    os.execute("tmux kill-session -t " .. session .. " >/dev/null 2>&1")
    sim.config { time_scale = sim.time_scale }
  end)

  it("redraws the frame in place instead of scrolling", function()
    sim.reset()
    local client = sim.client()
    local id = sim.job_with_files(client, { { "a.pdf", "%PDF-1.7 a" }, { "b.pdf", "%PDF-1.7 b" },
      { "c.pdf", "%PDF-1.7 c" } }, { system_prompt = "p" })
    client:close()
    sim.config { time_scale = 2 } -- slow enough to look at mid-watch, even on a loaded machine
    local cmd = command_line("watch " .. id .. " --interval 0.2 --max-interval 0.5") .. "; sleep 30"
    assert(os.execute(("tmux new-session -d -s %s -x 100 -y 30 %q"):format(session, cmd)))
    local frames = {}
    sim.eventually(function()
      local screen = capture()
      if screen:find("elapsed", 1, true) and screen ~= frames[#frames] then frames[#frames + 1] = screen end
      return #frames >= 3
    end, 20, "the live view to change")
    for _, screen in ipairs(frames) do
      local _, headers = screen:gsub(id:gsub("%-", "%%-"), "")
      assert.equal(1, headers, "the frame was scrolled, not redrawn:\n" .. screen)
      assert.matches("^" .. id:gsub("%-", "%%-"), screen) -- still at the top of the screen
      assert.matches("status file_processing", screen)
    end
  end)
end)

describe("seekrflow command line", function()
  simulator_and_dir_per_test()

  it("takes global flags before or after the command, and short flags", function()
    local id = job_with({}, { name = "flags" })
    local code, out = run({ "--json", "list" })
    assert.equal(0, code)
    assert.equal(id, seekrflow.json_decode(out)[1].id)
    code, out = run({ "list", "-j", "-l", "1" })
    assert.equal(0, code)
    assert.equal(1, #seekrflow.json_decode(out))
    code, out = run({ "show", id, "--no-color", "--json" })
    assert.equal(0, code)
    assert.equal("flags", seekrflow.json_decode(out).name)
  end)

  it("suggests the command or flag that was meant", function()
    local code, _, err = run({ "lsit" }, { no_auth = true })
    assert.equal(2, code)
    assert.matches("Did you mean 'list'", err)
    code, _, err = run({ "list", "--limt", "3" })
    assert.equal(2, code)
    assert.matches("Did you mean '%-%-limit'", err)
    code, _, err = run({ "-j", "list", "--limit", "0" })
    assert.equal(2, code)
    local e = seekrflow.json_decode(err).error
    assert.equal("usage", e.kind)
    assert.equal("list", e.command)
    assert.matches("%-%-limit", e.message)
  end)

  it("has a version command, help for each command, and completions for three shells", function()
    local outputs = {}
    -- each command line, then the patterns its output matches
    for _, case in ipairs({
      { { "version" }, "^seekrflow %d" }, { { "-V" }, "^seekrflow %d" },
      { { "help", "watch" }, "Usage: seekrflow watch" },
      { { "completion", "bash" }, "complete %-F", "add%-files" },
      { { "completion", "zsh" }, "#compdef seekrflow" }, { { "completion", "fish" }, "complete %-c seekrflow" },
    }) do
      local argv = table.concat(case[1], " ")
      local code, out = run(case[1], { no_auth = true })
      assert.equal(0, code, argv)
      for i = 2, #case do assert.matches(case[i], out) end
      outputs[argv] = out
    end
    -- the bash script loads and completes
    local script = write_file(dir, "seekrflow.bash", outputs["completion bash"])
    local p = io.popen(("bash -c 'source %q; COMP_WORDS=(seekrflow add); COMP_CWORD=1; _seekrflow; "
      .. "echo \"${COMPREPLY[*]}\"'"):format(script))
    assert.equal("add-files", p:read("*l"))
    p:close()
  end)

  it("takes durations wherever a time is taken, and --timeout is the watch deadline", function()
    local values = require "seekrflow.cli.values"
    for duration, seconds in pairs({ ["90"] = 90, ["90s"] = 90, ["15m"] = 900, ["1h"] = 3600, ["1h30m"] = 5400,
      ["250ms"] = 0.25 }) do
      assert.equal(seconds, values.seconds(duration), duration)
    end
    for _, bad in ipairs({ "0", "0s", "-1", "1y", "", "m", "1e999", "nan" }) do
      assert.is_nil(values.seconds(bad), bad)
    end
    local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p" })
    sim.config { time_scale = 0 } -- nothing moves: only the deadline ends the watch
    local started = seekrflow.monotonic()
    local code, out = run({ "watch", id, "--interval", "50ms", "--timeout", "0.5s" })
    sim.config { time_scale = sim.time_scale }
    assert.equal(6, code)
    assert.matches("time limit", out)
    assert.is_true(seekrflow.monotonic() - started < 5, "--timeout did not bound the watch")
    local err = select(3, run({ "watch", id, "--timeout", "soon" }))
    code = run({ "watch", id, "--timeout", "soon" })
    assert.equal(2, code)
    assert.matches("%-%-timeout", err)
  end)

  it("speaks in flags on usage errors, without an unrelated API key hint (issue 7 item 17)", function()
    for _, argv in ipairs({ { "list", "--request-timeout", "0" }, { "list", "--base-url", "ftp://x" },
      { "list", "--team", "a b" }, { "watch", "dj-1", "--timeout", "0" } }) do
      argv[#argv + 1] = "--api-key=sim-key"
      local code, _, err = run(argv, { no_auth = true })
      local line = table.concat(argv, " ")
      assert.equal(2, code, line .. ": " .. err)
      assert.is_nil(err:find("SEEKR_API_KEY", 1, true), line .. " ends with the API key hint: " .. err)
      assert.is_nil(err:find("base_url", 1, true), line .. ": " .. err)
      assert.is_nil(err:find("team_id", 1, true), line .. ": " .. err)
      assert.matches("%-%-", err)
    end
    -- the library's function names never lead a message: the command's name does
    for _, argv in ipairs({ { "watch", "dj-1", "--until", "foo" }, { "show", "." },
      { "list", "--team", "a b" } }) do
      local _, _, err = run(argv)
      local line = table.concat(argv, " ")
      assert.matches("^seekrflow " .. argv[1] .. ": [^:]", err, 1, line)
      for _, name in ipairs({ "watch: watch:", "seekrflow.new", "data_jobs:", "new_client" }) do
        assert.is_nil(err:find(name, 1, true), line .. ": " .. err)
      end
    end
    -- a base URL without /v1, and https:// to the plain-http simulator: hints, in flags
    local code, _, err = run({ "list", "--base-url", sim.url, "--api-key", "sim-key" }, { no_auth = true })
    assert.equal(1, code)
    assert.matches("/v1", err)
    code, _, err = run({ "list", "--base-url", (sim.base_url:gsub("^http:", "https:")), "--api-key", "sim-key" },
      { no_auth = true })
    assert.equal(1, code)
    assert.matches("use an http:// %-%-base%-url", err)
    code, _, err = run({ "list" }, { no_auth = true })
    assert.equal(4, code) -- no key at all: the hint is the point
    assert.matches("SEEKR_API_KEY", err)
    assert.is_nil(err:find("seekrflow.new", 1, true))
  end)

  it("refuses file names as file ids, and uploads every --upload path (issue 7 item 5)", function()
    local id = job_with({}, { system_prompt = "p" })
    local a = write_file(dir, "a.pdf", "%PDF-1.7 a")
    local b = write_file(dir, "b.pdf", "%PDF-1.7 b")
    local c = write_file(dir, "c.pdf", "%PDF-1.7 c")
    sim.control("DELETE", "/_sim/requests")
    local code, _, err = run({ "add-files", id, a })
    assert.equal(2, code)
    assert.matches("is a file on disk", err)
    assert.matches("%-%-upload", err)
    code, _, err = run({ "add-files", id, "report.pdf" })
    assert.equal(2, code)
    assert.matches("does not look like a file id", err)
    assert.equal(0, #sim.requests_for("POST /v1/flow/data-jobs/{id}/add-files"))
    code = run({ "add-files", id, "--upload", a, b, c })
    assert.equal(0, code)
    local client = sim.client()
    local detail = client.data_jobs:retrieve(id)
    client:close()
    assert.equal(3, #detail.files)
    local adds = sim.requests_for("POST /v1/flow/data-jobs/{id}/add-files")
    assert.equal(1, #adds)
    assert.equal(3, #seekrflow.json_decode(adds[1].body).file_ids)
  end)

  it("makes server text harmless on the terminal; --json stays exact (issue 7 item 15)", function()
    local hostile = ESC .. "]0;PWNED" .. string.char(7) .. ESC .. "[2J" .. ESC .. "[32mALL GOOD"
    local id = settled_job({ { "x" .. hostile .. ".pdf", "%PDF-1.7 x" } }, { name = "job" .. hostile })
    for _, argv in ipairs({ { "list" }, { "show", id }, { "files", id }, { "timeline", id }, { "failures", id },
      { "watch", id, "--interval", "50ms" } }) do
      for _, tty in ipairs({ false, true }) do
        local _, out = run(argv, { isatty = tty })
        local plain = out:gsub(ESC .. "%[[%d;]*m", "") -- our own colours
        assert.is_nil(plain:find(ESC, 1, true), table.concat(argv, " ") .. " printed a raw escape: " .. plain)
        assert.is_nil(plain:find(string.char(7), 1, true))
      end
    end
    local _, out = run({ "show", id, "--json" })
    assert.equal("job" .. hostile, seekrflow.json_decode(out).name)
  end)

  it("fails when standard output cannot be written (issue 7 item 16)", function()
    job_with({}, {})
    local code = shell("list --json", "> /dev/full 2>&1")
    assert.is_not.equal(0, code)
    local out
    code, out = shell("list", "2>&1 > /dev/full")
    assert.is_not.equal(0, code)
    assert.matches("cannot write", out)
  end)

  it("prints upload ids one per line in a pipe, a table on a terminal", function()
    local a = write_file(dir, "a.pdf", "%PDF-1.7 a")
    local code, out = run({ "upload", a })
    assert.equal(0, code)
    assert.matches("^file%-[%w%-]+\n$", out)
    code, out = run({ "upload", a, "--table" })
    assert.equal(0, code)
    assert.matches("FILE ID", out)
    assert.matches("a%.pdf", out)
    code, out = run({ "upload", a }, { isatty = true })
    assert.equal(0, code)
    assert.matches("FILE ID", out)
  end)

  it("creates, uploads, attaches and watches in one line; add-files --wait; start --watch", function()
    local a = write_file(dir, "a.pdf", "%PDF-1.7 a")
    local code, out = run({ "create", "-n", "one line", "--type", "principle_files", "--system-prompt", "p",
      "--upload", a, "--watch", "--interval", "50ms", "--timeout", "30s" })
    assert.equal(0, code, out)
    local id = out:match("created (dj%-%S+)")
    assert.is_string(id)
    assert.matches("✓ ready_to_start", out)
    -- a document the service refuses: the job id is in the error, so no second job is made
    local odd = write_file(dir, "noextension", "text")
    local err, _
    code, _, err = run({ "create", "-n", "refused", "--type", "principle_files", "--upload", odd })
    assert.equal(1, code)
    assert.matches("data job dj%-%S+ was created, but attaching the documents failed", err)
    local b = write_file(dir, "b.pdf", "%PDF-1.7 b")
    code, out = run({ "add-files", id, "-u", b, "--wait", "--timeout", "30s" })
    assert.equal(0, code, out)
    assert.matches("✓ ready_to_start", out)
    code, out = run({ "start", id, "--watch", "--timeout", "1m" })
    assert.equal(0, code, out)
    assert.matches("✓ completed", out)
    -- then the outputs, to a folder: one saved path per line in a pipe
    local outputs_dir = dir .. "/out"
    assert(os.execute("mkdir " .. outputs_dir))
    code, out = run({ "download", id, "--dir", outputs_dir })
    assert.equal(0, code, out)
    local paths = lines_of(out)
    assert.is_true(#paths >= 1)
    for _, path in ipairs(paths) do
      assert.equal(outputs_dir, path:match("^(.*)/[^/]+$"))
      local f = assert(io.open(path, "rb"))
      assert.is_true(#f:read("*a") > 0)
      f:close()
    end
    code, out = run({ "download", id, "--dir", outputs_dir, "--json" })
    assert.equal(0, code)
    assert.equal(#paths, #seekrflow.json_decode(out))
    -- a folder given with a trailing slash: the same paths, no "//"
    code, out = run({ "download", id, "--dir", outputs_dir .. "/" })
    assert.equal(0, code, out)
    assert.same(paths, lines_of(out))
    code = run({ "download", id, "--dir", dir .. "/missing" })
    assert.equal(2, code)
  end)

  it("gives JSON events with ISO-8601 times, elapsed seconds, the job id and the failures", function()
    local id = job_with({ { "a.pdf", "%PDF-1.7 a" }, { "empty.docx", "" } }, { system_prompt = "p" })
    local code, out = run({ "watch", id, "--json", "--interval", "50ms" })
    assert.equal(3, code)
    local events = {}
    for _, line in ipairs(lines_of(out)) do events[#events + 1] = seekrflow.json_decode(line) end
    for _, e in ipairs(events) do
      assert.equal(id, e.job_id)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$", e.time)
      assert.is_number(e.elapsed)
    end
    local result = events[#events]
    assert.equal("result", result.type)
    assert.equal("needs_review", result.reason)
    assert.equal(3, result.exit_code)
    assert.equal(1, #result.failures)
    assert.equal("empty.docx", result.failures[1].filename)
  end)

  it("ends a --json watch with a result line on Ctrl-C too", function()
    local id = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p" })
    sim.config { time_scale = 0 } -- nothing moves: only Ctrl-C ends the watch
    local out_file, pid_file = dir .. "/watch.out", dir .. "/watch.pid"
    local ok, failure = pcall(function()
      local cmd = ("(%s > %q 2>&1 & echo $! > %q; wait $!; echo \"exit:$?\" >> %q) &"):format(
        command_line("watch " .. id .. " --json --interval 50ms"), out_file, pid_file, out_file)
      assert(os.execute(cmd))
      local function output() return util.read_file(out_file) or "" end
      sim.eventually(function() return output():find("job_status", 1, true) end, 20, "the first events")
      local f = assert(io.open(pid_file, "rb"))
      local pid = f:read("*l")
      f:close()
      os.execute("kill -INT " .. pid)
      sim.eventually(function() return output():find("exit:%d+") end, 20, "the watch to end")
      local text = output()
      assert.matches("exit:130", text)
      local lines = lines_of((text:gsub("exit:%d+%s*$", "")))
      local last = seekrflow.json_decode(lines[#lines])
      assert.equal("result", last.type)
      assert.equal("interrupted", last.reason)
      assert.equal(id, last.job_id)
      assert.equal(130, last.exit_code)
    end)
    sim.config { time_scale = sim.time_scale }
    assert(ok, failure)
  end)

  it("annotates failures for GitHub Actions and writes the step summary", function()
    local id = job_with({ { "a.pdf", "%PDF-1.7 a" }, { "empty.docx", "" } }, { system_prompt = "p" })
    local step_summary = dir .. "/summary.md"
    local env = { GITHUB_ACTIONS = "true", GITHUB_STEP_SUMMARY = step_summary }
    local code, out = run({ "watch", id, "--interval", "50ms" }, { env = function(name) return env[name] end })
    assert.equal(3, code)
    assert.matches("::error title=empty%.docx failed in " .. id:gsub("%-", "%%-") .. "::empty%.docx: ", out)
    local f = assert(io.open(step_summary, "rb"))
    local md = f:read("*a")
    f:close()
    assert.matches("| empty%.docx | `file%-", md)
    assert.matches("needs_review", md)
    -- elsewhere, nothing of the kind
    code, out = run({ "failures", id }, { env = function() return nil end })
    assert.equal(3, code)
    assert.is_nil(out:find("::error", 1, true))
  end)

  it("says when there is nothing to retry or remove, and what it removed", function()
    local id = settled_job({ { "a.pdf", "%PDF-1.7 a" }, { "empty.docx", "" } })
    sim.control("DELETE", "/_sim/requests")
    local code, out = run({ "add-files", id, "--retry-failed" })
    assert.equal(0, code)
    assert.matches("nothing to retry", out)
    assert.equal(0, #sim.requests_for("POST /v1/flow/data-jobs/{id}/add-files"))
    code, out = run({ "remove-files", id, "--failed" })
    assert.equal(0, code)
    assert.matches("removed 1 failed file from " .. id:gsub("%-", "%%-") .. ": empty%.docx %(file%-", out)
    code, out = run({ "remove-files", id, "--failed" })
    assert.equal(0, code)
    assert.matches("nothing to remove", out)
  end)

  it("watches several jobs, or --all, and summarises failures across jobs", function()
    local a = job_with({ { "a.pdf", "%PDF-1.7 a" } }, { system_prompt = "p", name = "first" })
    local b = job_with({ { "empty.docx", "" } }, { system_prompt = "p", name = "second" })
    local code, out = run({ "watch", a, b, "--interval", "50ms", "--timeout", "30s" })
    assert.equal(3, code, out) -- the worst: b needs review
    assert.matches("second", out)
    code, out = run({ "failures", "--all" })
    assert.equal(3, code)
    assert.matches("empty%.docx", out)
    code = run({ "watch", a, "--all" })
    assert.equal(2, code)
    code = run({ "watch" })
    assert.equal(2, code)
  end)

  it("advises its own shortcuts, and never removing a file it also re-adds", function()
    local id = settled_job({ { "flaky.docx", "Baggage. SIM:TRANSIENT" }, { "empty.docx", "" } })
    local code, out = run({ "failures", id })
    assert.equal(3, code)
    local pattern = id:gsub("%-", "%%-")
    assert.matches("seekrflow add%-files " .. pattern .. " %-%-retry%-failed", out)
    assert.matches("seekrflow remove%-files " .. pattern .. " %-%-failed", out)
    assert.is_nil(out:find("remove%-files " .. pattern .. " file%-"), out)
    -- and the advice works: retry, then remove what is left
    assert.equal(0, (run({ "add-files", id, "--retry-failed" })))
    code, out = run({ "remove-files", id, "--failed" })
    assert.equal(0, code)
    assert.matches("empty%.docx", out)
    assert.is_nil(out:find("flaky.docx", 1, true), out)
  end)

  it("saves downloads under safe local names", function()
    local uploads = require "seekrflow.cli.uploads"
    assert.equal("qa.jsonl", uploads.local_name("qa.jsonl", "file-1"))
    assert.equal("passwd", uploads.local_name("../../etc/passwd", "file-1"))
    assert.equal("x.pdf", uploads.local_name("a\\b/x.pdf", "file-1"))
    assert.equal("ev]0;il.txt", uploads.local_name("ev" .. ESC .. "]0;il" .. string.char(7) .. ".txt", "file-1"))
    for _, bad in ipairs({ "", ".", "..", "dir/", ".bashrc", 5, string.rep("a", 300) }) do
      assert.equal("file-1", uploads.local_name(bad, "file-1"))
    end
  end)

  it("names the right headers package for each Lua", function()
    for _, package in ipairs({ "lua5.3", "lua5.1", "luajit" }) do
      local p = io.popen(("cd %q && make -s LUA=%s LUA_INCDIR=/nonexistent check-headers 2>&1"):format(ROOT, package))
      local text = p:read("*a")
      p:close()
      local want = ({ ["lua5.3"] = "liblua5.3%-dev", ["lua5.1"] = "liblua5.1%-0%-dev",
        luajit = "libluajit%-5.1%-dev" })[package]
      assert.matches("apt%-get install " .. want, text)
    end
  end)
end)
