-- seekrflow.chart (the timeline as text) on fixed details, then the
-- commands that draw it, `timeline JOB --chart` and `report JOB -o FILE`,
-- against the simulator over real HTTP.
local sim = require "helpers.sim"
local util = require "helpers.util"
local core, cli, chart, text, timeline = util.modules("core", "cli", "chart", "text", "timeline")
local seekrflow = sim.seekrflow

local ESC = string.char(27)
local T0 = text.parse_time("2025-11-14T07:35:00Z")
local function at(s) return os.date("!%Y-%m-%dT%H:%M:%SZ", T0 + s) end

-- A decoded detail; files are { name, status, queued, started, finished } in seconds after T0.
local function job(files, fields)
  local out, records = {}, {}
  for i, f in ipairs(files) do
    out[i] = { file_id = "file-" .. i, record_id = f[2] and ("ijf-" .. i) or nil, name = f[1] }
    if f[2] then
      records[#records + 1] = { record_id = "ijf-" .. i, filename = f[1], status = f[2], created_at = at(f[3]),
        processing_at = f[4] and at(f[4]), completed_at = f[2] == "completed" and at(f[5]) or nil,
        failed_at = f[2] == "failed" and at(f[5]) or nil }
    end
  end
  local t = { id = "dj-1", name = "Support docs", status = "needs_review", files = out,
    ingestion_jobs = { { id = "ij-1", records = records } },
    timeline = { { timestamp = at(0), event_type = "Created", message = "Data job created." } } }
  for k, v in pairs(fields or {}) do t[k] = v end
  return core.json_decode(core.json_encode(t), "data_job")
end

local function draw(d, width, max_rows)
  return chart.render(chart.draw(timeline.layout(d, { max_rows = max_rows }), { width = width or 80 }))
end

describe("seekrflow.chart", function()
  it("draws each phase with its own glyph, to the width, with an axis, events and a summary", function()
    local lines = draw(job({
      { "done.pdf", "completed", 0, 10, 100 },
      { "broken.pdf", "failed", 0, 50, 60 },
      { "busy.pdf", "running", 0, 40 },
      { "notes.md" },
    }, { status = "file_processing", updated_at = at(100) }), 80)
    for _, line in ipairs(lines) do
      assert.is_true(text.width(line) <= 80, line)
      assert.is_nil(line:find(ESC, 1, true))
    end
    local done = util.row_line(lines, "done.pdf")
    assert.matches("░+█+", done)
    assert.matches("done 1:30$", done)
    local broken = util.row_line(lines, "broken.pdf")
    assert.matches("░+✗+", broken)
    assert.matches("failed 0:10$", broken)
    assert.matches("░+▒+", util.row_line(lines, "busy.pdf"))
    assert.matches("running 1:00$", util.row_line(lines, "busy.pdf"))
    assert.matches("Markdown: no ingestion needed", util.row_line(lines, "notes.md"))
    assert.matches("^%s+├[─┼]+$", util.line_with(lines, "├"))
    assert.matches("^%s+0:00", util.line_with(lines, "0:00 "))
    assert.matches("^events%s+1", util.line_with(lines, "events"))
    assert.matches("1 0:00 Created — Data job created.", util.line_with(lines, "Created"))
    assert.truthy(util.line_with(lines, "4 files: 1 completed, 1 failed, 1 running, 1 ready"))
    assert.truthy(util.line_with(lines, "░ queued  ▒ running  █ done  ✗ failed  1 2 … events"))
    -- the bars share one time scale: the failure starts half-way along the
    -- bar area (80 columns: a 20-column label, a space, 42 cells)
    local cells = {}
    for glyph in broken:sub(22):gmatch("[%z\1-\127\194-\244][\128-\191]*") do cells[#cells + 1] = glyph end
    local first_fail
    for i, g in ipairs(cells) do if g == "✗" and not first_fail then first_fail = i end end
    assert.equal(22, first_fail)
  end)

  it("says which rows have clock skew, and ends the axis with its last label", function()
    local lines = draw(job({ { "backwards.pdf", "completed", 0, 60, 50 }, { "ok.pdf", "completed", 0, 1, 120 } }), 80)
    assert.matches("done 0:00 skew$", util.row_line(lines, "backwards.pdf"))
    assert.matches("2:00$", util.line_with(lines, "0:00 "))
  end)

  it("paints outcomes when colour is on", function()
    local lines = chart.render(chart.draw(timeline.layout(job({ { "a.pdf", "failed", 0, 1, 2 } })), { width = 60 }),
      text.painter(true))
    assert.truthy(util.line_with(lines, ESC .. "[31m✗"))
  end)

  it("makes hostile names inert and keeps their column", function()
    local lines = draw(job({ { "\27]0;PWNED\7\27[2Jx\226\128\174fdp.exe", "completed", 0, 1, 2 } },
      { name = "\27[32mALL GOOD" }), 60)
    local all = table.concat(lines, "\n")
    assert.is_nil(all:find(ESC, 1, true))
    assert.is_nil(all:find("\7", 1, true))
    assert.is_nil(all:find("\226\128\174", 1, true))
    assert.truthy(all:find("\\x1b[32mALL GOOD", 1, true))
    local row = util.row_line(lines, "\\x1b]0;PWNED")
    assert.matches("░?█+", row)
  end)

  it("draws one file, no file, and 20,000 files in bounded rows saying so", function()
    local lines = draw(job({ { "only.pdf", "completed", 0, 1, 2 } }), 50)
    assert.truthy(util.line_with(lines, "1 file: 1 completed"))
    lines = draw(job({}), 50)
    assert.truthy(util.line_with(lines, "0 files"))
    local files = {}
    for i = 1, 20000 do files[i] = { ("f%05d.pdf"):format(i), "completed", 0, math.floor(i / 100), 300 } end
    lines = draw(job(files), 100, 40)
    assert.truthy(util.line_with(lines, "20000 files grouped into 40 rows of up to 500 each"))
    assert.truthy(util.line_with(lines, "files 19501–20000"))
    assert.is_true(#lines < 70)
  end)
end)

-- The command in-process; returns exit code, stdout, stderr.
local function run(argv, opts)
  opts = opts or {}
  local out, err = {}, {}
  local full = { "--base-url=" .. sim.base_url, "--api-key=" .. sim.api_key }
  for _, a in ipairs(argv) do full[#full + 1] = a end
  local code = cli.main(full, {
    write = function(s) out[#out + 1] = s end,
    err = function(s) err[#err + 1] = s end,
    isatty = opts.isatty or false, columns = opts.columns or 100, env = function() return nil end,
  })
  return code, table.concat(out), table.concat(err)
end

describe("seekrflow timeline --chart and report", function()
  local dir, id

  before_each(function()
    sim.reset()
    dir = util.temp_dir()
    local client = sim.client()
    id = sim.job_with_files(client, sim.outcome_files())
    sim.settled(client, id)
    client:close()
  end)

  after_each(function() util.remove_dir(dir) end)

  it("draws the job in the terminal, to its width, in colour only on a terminal", function()
    local code, out, err = run({ "timeline", id, "--chart" }, { columns = 72 })
    assert.equal(0, code, err)
    local lines = util.lines(out)
    assert.truthy(util.line_with(lines, "3 files: 1 completed, 1 failed, 1 ready"))
    assert.matches("█", util.row_line(lines, "handbook.pdf"))
    assert.matches("✗", util.row_line(lines, "empty.pptx"))
    assert.truthy(util.line_with(lines, "seekrflow failures " .. id))
    for _, line in ipairs(lines) do assert.is_true(text.width(line) <= 72, line) end
    assert.is_nil(out:find(ESC, 1, true))
    code, out = run({ "timeline", id, "--chart" }, { isatty = true, columns = 90 })
    assert.equal(0, code)
    assert.truthy(out:find(ESC .. "[32m█", 1, true))
    -- without --chart the command still lists the events
    code, out = run({ "timeline", id })
    assert.equal(0, code)
    assert.matches("File Processing Started", out)
  end)

  it("prints the layout as JSON, and groups rows with --rows", function()
    local code, out = run({ "timeline", id, "--chart", "--json" })
    assert.equal(0, code)
    local layout = seekrflow.json_decode(out)
    assert.equal(3, #layout.rows)
    assert.equal(3, layout.summary.files)
    assert.truthy(out:find('"notes":[]', 1, true))
    code, out = run({ "timeline", id, "--chart", "--rows", "2" })
    assert.equal(0, code)
    assert.matches("3 files grouped into 2 rows", out)
    local _, _, err = run({ "timeline", id, "--chart", "--rows", "0" })
    assert.matches("%-%-rows", err)
  end)

  it("writes the SVG report, well-formed, and says where", function()
    local path = dir .. "/report.svg"
    local code, out, err = run({ "report", id, "-o", path })
    assert.equal(0, code, err)
    assert.equal(("Report written to %s (3 files, needs_review)\n"):format(path), out)
    local p = io.popen(("env -u LD_PRELOAD xmllint --noout --nonet %q 2>&1; echo rc=$?"):format(path))
    local check = p:read("*a")
    p:close()
    assert.equal("rc=0\n", check)
    local f = assert(io.open(path, "rb"))
    local svg = f:read("*a")
    f:close()
    assert.truthy(svg:find("<title>empty.pptx — failed", 1, true))
    assert.truthy(svg:find("Suggested fix: Upload a file with content.", 1, true))
    code, out = run({ "report", id, "-o", "-" })
    assert.equal(0, code)
    assert.matches("^<%?xml", out)
    code, out = run({ "report", id, "-o", path, "--json" })
    assert.equal(0, code)
    assert.same({ path = path, job_id = id, status = "needs_review", files = 3, failed = 1 },
      seekrflow.json_decode(out))
  end)

  it("says clearly when it cannot write, or the job does not exist", function()
    local code, _, err = run({ "report", id, "-o", dir .. "/missing/report.svg" })
    assert.equal(2, code)
    assert.matches("cannot write .*missing/report.svg: No such file or directory", err)
    assert.is_nil(err:find(".tmp-", 1, true))
    code, _, err = run({ "report", "dj-missing", "-o", dir .. "/x.svg" })
    assert.equal(1, code)
    assert.matches("not found", err)
    code, _, err = run({ "report", id, "--width", "10" })
    assert.equal(2, code)
    assert.matches("%-%-width", err)
    local help
    code, help = run({ "report", "--help" })
    assert.equal(0, code)
    assert.matches("Usage: seekrflow report", help)
  end)
end)
