-- seekrflow.report: the standalone SVG. Every picture is checked with the
-- tools a user would open it with: xmllint (well-formed XML) and
-- rsvg-convert (it renders to a PNG).
local sim = require "helpers.sim"
local util = require "helpers.util"
local core = require "seekrflow.core"
local text = require "seekrflow.text"
local report = require "seekrflow.report"

local T0 = text.parse_time("2025-11-14T07:35:00Z")
local function at(s) return os.date("!%Y-%m-%dT%H:%M:%SZ", T0 + s) end

local function decode(t) return core.json_decode(core.json_encode(t), "data_job") end

-- A job whose files are { name, status, queued, started, finished } (seconds after T0).
local function job(files, fields)
  local out, records = {}, {}
  for i, f in ipairs(files) do
    out[i] = { file_id = "file-" .. i, record_id = f[2] and ("ijf-" .. i) or nil, name = f[1] }
    if f[2] then
      records[#records + 1] = {
        record_id = "ijf-" .. i, filename = f[1], status = f[2], created_at = at(f[3]), processing_at = at(f[4]),
        completed_at = f[2] == "completed" and at(f[5]) or nil, failed_at = f[2] == "failed" and at(f[5]) or nil,
        error_message = f[2] == "failed" and "The file appears to be empty." or nil,
        suggested_fix = f[2] == "failed" and "Upload a file with content." or nil,
      }
    end
  end
  local t = { id = "dj-1", name = "Support docs", job_type = "principle_files", status = "needs_review",
    system_prompt = "You are helpful.", files = out, ingestion_jobs = { { id = "ij-1", records = records } },
    timeline = { { timestamp = at(0), event_type = "Created", message = "Data job created." } } }
  for k, v in pairs(fields or {}) do t[k] = v end
  return decode(t)
end

local dir
-- The tools run outside the memory checkers this suite may run under
-- (make asan preloads ASan into every child): their leaks are not ours.
local function run(cmd)
  local p = assert(io.popen("env -u LD_PRELOAD " .. cmd .. " 2>&1; echo \"rc=$?\""))
  local output = p:read("*a")
  p:close()
  return tonumber(output:match("rc=(%d+)%s*$")), output
end

-- Writes svg, checks it with xmllint and renders it; returns the PNG's size.
local function check_svg(svg, name)
  local path = util.write_file(dir, (name or "report") .. ".svg", svg)
  local rc, output = run(("xmllint --noout --nonet %q"):format(path))
  assert(rc == 0, "xmllint: " .. output)
  local png = dir .. "/" .. (name or "report") .. ".png"
  rc, output = run(("rsvg-convert %q -o %q"):format(path, png))
  assert(rc == 0, "rsvg-convert: " .. output)
  local f = assert(io.open(png, "rb"))
  local data = f:read("*a")
  f:close()
  assert.equal("\137PNG\r\n\26\n", data:sub(1, 8))
  return #data
end

-- Each of `texts` stands in the picture, as written (not a pattern).
local function assert_has(svg, texts)
  for _, t in ipairs(texts) do assert.truthy(svg:find(t, 1, true), "missing: " .. t) end
end

-- None of `texts` stands in the picture.
local function assert_lacks(svg, texts)
  for _, t in ipairs(texts) do assert.is_nil(svg:find(t, 1, true), "found: " .. t) end
end

-- What makes a picture standalone and inert.
local function assert_standalone(svg)
  assert_lacks(svg, { "<script", "href", "url(", "@import", "<foreignObject", "src=" })
  -- no markup refers to anything but the SVG namespace name, which is never fetched
  for tag in svg:gmatch("<[^>]*>") do
    if tag:find(":", 1, true) and not tag:find("^<%?xml ") then
      assert.equal('<svg xmlns="http://www.w3.org/2000/svg"', tag:match('^<svg xmlns="[^"]*"'), tag)
    end
  end
end

describe("seekrflow.report", function()
  before_each(function() dir = util.temp_dir() end)
  after_each(function() util.remove_dir(dir) end)

  it("draws a job: status, file names, durations on hover, failures with their fixes", function()
    local svg = report.svg(job({
      { "handbook.pdf", "completed", 0, 30, 120 },
      { "empty.pptx", "failed", 0, 60, 65 },
      { "notes.md" },
    }), { generated_at = T0 })
    check_svg(svg)
    assert_standalone(svg)
    assert_has(svg, {
      ">needs_review<",
      "<title>handbook.pdf — done\nwait 0:30, run 1:30</title>",
      "<title>empty.pptx — failed\nwait 1:00, run 0:05\nThe file appears to be empty.\n"
        .. "Fix: Upload a file with content.</title>",
      "Suggested fix: Upload a file with content.",
      "What to do: Upload a copy with content",
      "Markdown: ready without ingestion",
      "3 files: 1 completed, 1 failed, 1 ready",
      "1. 0:00 Created — Data job created.",
      "generated 2025-11-14T07:35:00Z",
    })
  end)

  it("marks clock skew beside the bar and breaks a long summary over lines", function()
    local svg = report.svg(job({ { "backwards-" .. string.rep("x", 60) .. ".pdf", "completed", 0, 60, 50 },
      { "ok-" .. string.rep("y", 60) .. ".pdf", "completed", 0, 1, 120 } }))
    check_svg(svg, "skew")
    assert.truthy(svg:find(">done 0:00, clock skew<", 1, true))
    assert.truthy(svg:find(">1 with clock skew<", 1, true) or svg:find(" · 1 with clock skew<", 1, true))
    -- the summary keeps every part whole, on as many lines as it needs
    assert.truthy(svg:find("longest run 1:59 (ok-" .. string.rep("y", 60) .. ".pdf)", 1, true))
  end)

  it("draws the alignment row, an empty job and a single file", function()
    local svg = report.svg(job({ { "doc.pdf", "completed", 0, 2, 60 } }, { status = "running",
      alignment_job = { id = "al-1", status = "running", created_at = at(90) } }), { now = T0 + 200 })
    check_svg(svg, "alignment")
    assert.truthy(svg:find("<title>alignment — running\nrunning for 1:50</title>", 1, true))
    check_svg(report.svg({}), "empty")
    check_svg(report.svg(job({ { "one.pdf", "completed", 0, 1, 2 } })), "one")
  end)

  it("stays small and bounded for 20,000 files, and says they were grouped", function()
    local files = {}
    for i = 1, 20000 do
      local start = math.floor(i / 10)
      files[i] = { ("doc-%05d.pdf"):format(i), i % 500 == 0 and "failed" or "completed", 0, start, start + 20 }
    end
    local svg = report.svg(job(files))
    check_svg(svg, "big")
    assert.truthy(#svg < 400 * 1024, "size " .. #svg)
    assert_has(svg, { "20000 files grouped into 120 rows of up to 167 each", "40 files · The file appears to be empty.",
      "and 30 more" })
  end)

  it("is safe with hostile names: escaped, control characters made visible, nothing XML forbids", function()
    local hostile = {
      "\27]0;PWNED\7\27[2J\27[32mALL GOOD.pdf",
      "<script>alert(1)</script>.pdf",
      "a & b <c> \"d\" 'e'.pdf",
      "]]><!ENTITY x SYSTEM \"file:///etc/passwd\">.pdf",
      "ctl\1\2\8\11\12\31\127.pdf",
      "c1\194\133\194\155x.pdf",
      "bidi\226\128\174fdp.exe",
      "bad utf8 \255\254\192\128 \237\160\128.pdf",
      "nonchar \239\191\190\239\191\191.pdf",
      string.rep("long-", 200) .. ".pdf",
    }
    local files = {}
    for i, name in ipairs(hostile) do files[i] = { name, i % 2 == 0 and "failed" or "completed", 0, i, i + 5 } end
    local svg = report.svg(job(files, {
      name = "\27[31m<job> & ]]>", status = "needs_review\27[0m", status_message = "</text><script>x</script>",
      timeline = { { timestamp = at(0), event_type = "<b>\0", message = "\27]8;;http://evil.example\7link" } },
    }))
    check_svg(svg, "hostile")
    assert_standalone(svg)
    for what, pattern in pairs({ ["a raw control character"] = "[%z\1-\9\11-\31\127]",
      ["a C1 control"] = "\194[\128-\159]", ["a bidi control"] = "\226\128[\170-\174]",
      ["U+FFFE/U+FFFF"] = "\239\191[\190\191]" }) do
      assert.is_nil(svg:find(pattern), what)
    end
    assert_lacks(svg, { "<!ENTITY", "]]>" })
    assert_has(svg, {
      "\\x1b]0;PWNED\\x07",
      "&lt;script&gt;alert(1)&lt;/script&gt;.pdf",
      "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;.pdf",
      "bidi\\u{202E}fdp.exe",
      "nonchar \\u{FFFE}\\u{FFFF}.pdf",
    })
    -- the page is one well-formed UTF-8 text (Lua 5.3 and later can tell)
    local utf8 = rawget(_G, "utf8")
    if utf8 then assert.truthy(utf8.len(svg)) end
  end)

  it("keeps random bytes in names well-formed XML (a small fuzz, checked by xmllint)", function()
    math.randomseed(7)
    local files = {}
    for i = 1, 300 do
      local bytes = {}
      for k = 1, math.random(1, 40) do bytes[k] = math.random(0, 255) end
      -- every third name mixes in the sequences that matter most
      local name = string.char((table.unpack or unpack)(bytes)) -- luacheck: ignore 113
      if i % 3 == 0 then name = name .. "]]>&<\27[2J\239\191\191\226\128\174\0" end
      files[i] = { name, i % 2 == 0 and "failed" or "completed", 0, i, i + 3 }
    end
    local svg = report.svg(job(files), { max_rows = 400 })
    check_svg(svg, "fuzz")
    assert.is_nil(svg:find("[%z\1-\9\11-\31\127]"))
    local utf8 = rawget(_G, "utf8")
    if utf8 then assert.truthy(utf8.len(svg)) end
  end)

  it("writes the file whole or not at all, and says why it could not", function()
    local path = dir .. "/out.svg"
    assert.is_true(report.write(path, job({ { "a.pdf", "completed", 0, 1, 2 } })))
    local f = assert(io.open(path, "rb"))
    assert.truthy(f:read("*a"):find("</svg>\n$"))
    f:close()
    local ok, err = report.write(dir .. "/missing/out.svg", job({}))
    assert.is_nil(ok)
    assert.equal("invalid_argument", err.kind)
    assert.matches("cannot write .*missing/out.svg", tostring(err))
    -- nothing left behind: no temporary file, no directory made
    assert.equal("out.svg\nrc=0\n", select(2, run(("ls -A %q"):format(dir))))
    ok, err = report.write("a\0b", job({}))
    assert.is_nil(ok)
    assert.matches("without NUL", tostring(err))
    local raised = select(2, pcall(report.svg, job({}), { width = 10 }))
    assert.matches("at least 700", tostring(raised))
  end)

  it("draws a job the simulator ran", function()
    sim.reset()
    local client = sim.client()
    local id = sim.job_with_files(client, { { "handbook.pdf", "%PDF-1.7\n" .. string.rep("Refund.\n", 300) },
      { "scan.pdf", "JFIF: an image renamed to .pdf\n" } })
    local d = sim.settled(client, id)
    client:close()
    local svg = report.svg(d)
    check_svg(svg, "sim")
    assert_standalone(svg)
    assert_has(svg, { "<title>handbook.pdf — done\n", "Suggested fix: Upload a valid, unprotected PDF." })
  end)
end)
