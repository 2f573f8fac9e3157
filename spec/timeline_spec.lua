-- seekrflow.timeline (the layout every chart draws) and seekrflow.time (the
-- one timestamp parser): fixed details first, then a detail the simulator
-- produced for real.
local sim = require "helpers.sim"
local core = require "seekrflow.core"
local text = require "seekrflow.text"
local timeline = require "seekrflow.timeline"

local T0 = text.parse_time("2025-11-14T07:35:00Z")

-- "2025-11-14T07:35:00Z" plus s seconds, as the service writes it.
local function at(s)
  local whole = math.floor(s)
  local frac = s - whole
  return os.date("!%Y-%m-%dT%H:%M:%S", T0 + whole) .. (frac > 0 and ("%.6f"):format(frac):sub(2) or "") .. "Z"
end

-- A detail decoded the way the client decodes one.
local function decode(t)
  return core.json_decode(core.json_encode(t), "data_job")
end

-- A job from a list of files: { name, status, queued, started, finished, extra = {…} } with times
-- in seconds after T0 (nil: absent); a file without status is Markdown (no record).
local function job(files, fields)
  local out_files, records = {}, {}
  for i, f in ipairs(files) do
    local file = { file_id = "file-" .. i, name = f[1], type = f[1]:match("%.(%w+)$") }
    if f[2] then
      file.record_id = "ijf-" .. i
      local r = {
        record_id = file.record_id, ingestion_job_id = "ij-1", filename = f[1], status = f[2],
        created_at = f[3] and at(f[3]), processing_at = f[4] and at(f[4]), deleted = false,
      }
      if f[5] then
        if f[2] == "failed" then r.failed_at = at(f[5]) else r.completed_at = at(f[5]) end
      end
      if f[2] == "failed" then
        r.error_message, r.suggested_fix = "The file appears to be empty.", "Upload a file with content."
      end
      for k, v in pairs(f.extra or {}) do r[k] = v end
      records[#records + 1] = r
    end
    out_files[i] = file
  end
  local t = {
    id = "dj-1", name = "Support docs", job_type = "principle_files", status = "needs_review",
    created_at = at(0), updated_at = at(0), files = out_files,
    ingestion_jobs = { { id = "ij-1", status = "completed", records = records } },
    timeline = {},
  }
  for k, v in pairs(fields or {}) do t[k] = v end
  return decode(t)
end

local function row_named(layout, label)
  for _, row in ipairs(layout.rows) do
    if row.label == label then return row end
  end
  error("no row " .. label)
end

local function phases(row)
  local out = {}
  for _, s in ipairs(row.segments) do out[#out + 1] = ("%s %g-%g"):format(s.phase, s.from, s.to) end
  return table.concat(out, ", ")
end

local function has_note(row, pattern)
  for _, n in ipairs(row.notes) do
    if n:find(pattern) then return true end
  end
  return false
end

describe("text.parse_time, the one timestamp reader", function()
  it("reads UTC with Z, with offsets and with fractional seconds", function()
    -- 2025-11-14T07:35:00Z as each form writes it
    for _, written in ipairs({ "2025-11-14T07:35:00Z", "2025-11-14T07:35:00+00:00", "2025-11-14T07:35:00",
      "2025-11-14 07:35:00z", "2025-11-14T09:35:00+02:00", "2025-11-14T02:05:00-05:30", "2025-11-14T02:05:00-0530",
      "2025-11-14T10:35:00+03" }) do
      assert.equal(1763105700, text.parse_time(written), written)
    end
    for _, case in ipairs({ { "2025-11-14T07:35:00.700005Z", 1763105700.700005 },
      { "2025-11-14T07:35:00,5+00:00", 1763105700.5 } }) do
      assert.near(case[2], text.parse_time(case[1]), 1e-6, case[1])
    end
    assert.equal(0, text.parse_time("1970-01-01T00:00:00Z"))
    assert.equal(951782400, text.parse_time("2000-02-29T00:00:00Z"))
  end)

  it("refuses what is not a time instead of guessing", function()
    for _, bad in ipairs({ "", "yesterday", "2025-11-14", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z",
      "2025-11-31T00:00:00Z", "2025-11-14T24:00:00Z", "2025-11-14T07:60:00Z", "2025-11-14T07:35:00+24:00",
      "2025-11-14T07:35:00 UTC", "2025-11-14T07:35:00.Z", "2025-11-14T07:35:00Z\0", " 2025-11-14T07:35:00Z",
      "2025-11-14T07:35:00." .. string.rep("9", 100) .. "Z" }) do
      assert.is_nil(text.parse_time(bad), bad)
    end
    assert.is_nil(text.parse_time(nil))
    assert.is_nil(text.parse_time(1763105700))
    assert.is_nil(text.parse_time({}))
  end)

end)

describe("text.parse_time under random input", function()
  it("agrees with os.date on random instants and offsets, and never raises on random bytes", function()
    math.randomseed(13)
    for _ = 1, 2000 do
      local t = math.floor(math.random() * 4102444800) -- 1970 to 2100 (5.1 takes no wider interval)
      local offset = math.random(-23, 23) * 3600 + math.random(0, 3) * 15 * 60 * (math.random(0, 1) * 2 - 1)
      if math.abs(offset) >= 24 * 3600 then offset = 0 end
      local sign = offset < 0 and "-" or "+"
      local a = math.abs(offset)
      local iso = os.date("!%Y-%m-%dT%H:%M:%S", t + offset) ..
        ("%s%02d:%02d"):format(sign, math.floor(a / 3600), math.floor(a % 3600 / 60))
      assert.equal(t, text.parse_time(iso), iso)
    end
    local valid = "2025-11-14T07:35:00.5+01:00"
    for _ = 1, 5000 do
      local bytes = {}
      if math.random() < 0.5 then
        -- a valid timestamp with random bytes changed
        for i = 1, #valid do bytes[i] = valid:byte(i) end
        for _ = 1, math.random(1, 3) do bytes[math.random(1, #valid)] = math.random(0, 255) end
      else
        for i = 1, math.random(0, 80) do bytes[i] = math.random(0, 255) end
      end
      local s = string.char((table.unpack or unpack)(bytes)) -- luacheck: ignore 113
      local ok, t = pcall(text.parse_time, s)
      assert.is_true(ok, t)
      assert.is_true(t == nil or (type(t) == "number" and t == t), s)
    end
  end)
end)

describe("seekrflow.timeline.layout", function()
  it("draws queue waits and runs, in queue order, with the longest of each", function()
    local l = timeline.layout(job({
      { "late.pdf", "completed", 10, 70, 100 },
      { "first.pdf", "completed", 0, 5, 65 },
      { "slow.docx", "completed", 0, 65, 200 },
    }))
    assert.equal(3, #l.rows)
    assert.equal("first.pdf", l.rows[1].label)
    assert.equal("slow.docx", l.rows[2].label)
    assert.equal("late.pdf", l.rows[3].label)
    assert.equal("queued 0-5, completed 5-65", phases(l.rows[1]))
    assert.equal("queued 10-70, completed 70-100", phases(row_named(l, "late.pdf")))
    assert.equal(T0, l.start)
    assert.equal(200, l.span)
    assert.equal(65, l.summary.longest_wait.seconds)
    assert.equal("slow.docx", l.summary.longest_wait.label)
    assert.equal(135, l.summary.longest_run.seconds)
    assert.equal(200, l.summary.total)
    assert.equal(3, l.summary.outcomes.completed)
    assert.equal("3 files: 3 completed · total 3:20 · longest wait 1:05 (slow.docx) · longest run 2:15 (slow.docx)",
      timeline.summary_line(l))
    assert.equal("wait 1:00, run 0:30", timeline.row_durations(row_named(l, "late.pdf")))
  end)

  it("marks failures with their message and fix, also a failure before the file ever ran", function()
    local l = timeline.layout(job({
      { "ok.pdf", "completed", 0, 1, 30 },
      { "empty.pptx", "failed", 0, 2, 4 },
      { "lost.pdf", "failed", 0, nil, 3 },
    }))
    local empty = row_named(l, "empty.pptx")
    assert.equal("failed", empty.outcome)
    assert.equal("queued 0-2, failed 2-4", phases(empty))
    assert.equal("The file appears to be empty.", empty.error_message)
    assert.equal("Upload a file with content.", empty.suggested_fix)
    local lost = row_named(l, "lost.pdf")
    assert.equal("failed", lost.outcome)
    assert.equal("queued 0-3, failed 3-3", phases(lost))
    assert.equal(2, l.summary.outcomes.failed)
    assert.matches("2 failed", timeline.summary_line(l))
  end)

  it("keeps going with missing and unreadable timestamps, and says so", function()
    local l = timeline.layout(job({
      { "ok.pdf", "completed", 0, 10, 20 },
      { "no-start.pdf", "completed", 0, nil, 15 },
      { "no-queue.pdf", "completed", nil, 5, 12 },
      { "no-times.pdf", "completed" },
      { "garbled.pdf", "completed", 0, 3, nil, extra = { completed_at = "soon", processing_at = 42 } },
    }))
    assert.equal("queued 0-15", phases(row_named(l, "no-start.pdf")))
    assert.is_true(has_note(row_named(l, "no-start.pdf"), "started running is missing"))
    assert.equal("completed 5-12", phases(row_named(l, "no-queue.pdf")))
    assert.is_true(has_note(row_named(l, "no-queue.pdf"), "queued is missing"))
    local none = row_named(l, "no-times.pdf")
    assert.equal("", phases(none))
    assert.is_true(has_note(none, "time it finished is missing"))
    local garbled = row_named(l, "garbled.pdf")
    assert.is_true(has_note(garbled, "completed_at is not a readable time"))
    assert.is_true(has_note(garbled, "processing_at is not a readable time"))
    assert.equal(2, l.summary.untimed)
    assert.matches("2 without times", timeline.summary_line(l))
    -- rows without a time come last, in the detail's order
    assert.equal("no-times.pdf", l.rows[4].label)
    assert.equal("garbled.pdf", l.rows[5].label)
  end)

  it("never lets time run backwards when clocks disagree", function()
    local l = timeline.layout(job({
      { "backwards.pdf", "completed", 0, 60, 50 },
      { "early-start.pdf", "failed", 30, 10, 40 },
      { "ok.pdf", "completed", 0, 1, 2 },
    }))
    local b = row_named(l, "backwards.pdf")
    assert.equal("queued 0-60, completed 60-60", phases(b))
    assert.equal(0, b.run)
    assert.is_true(has_note(b, "finished before it started"))
    local e = row_named(l, "early-start.pdf")
    assert.equal("queued 30-30, failed 30-40", phases(e))
    assert.is_true(has_note(e, "processing_at is before created_at"))
    assert.equal(2, l.summary.skewed)
    assert.is_true(b.skewed)
    assert.is_nil(row_named(l, "ok.pdf").skewed)
    for _, row in ipairs(l.rows) do
      for _, s in ipairs(row.segments) do assert.is_true(s.from <= s.to and s.from >= 0 and s.to <= l.span) end
    end
  end)

  it("shows Markdown files without records as ready, with no bar", function()
    local l = timeline.layout(job({ { "notes.md" }, { "doc.pdf", "completed", 0, 1, 9 } }))
    local md = row_named(l, "notes.md")
    assert.equal("ready", md.outcome)
    assert.same({}, md.segments)
    assert.is_true(has_note(md, "Markdown"))
    assert.equal(1, l.summary.outcomes.ready)
    assert.equal(0, l.summary.untimed)
  end)

  it("extends open bars to now, never before the latest time the detail shows", function()
    local d = job({ { "running.pdf", "running", 0, 20 }, { "waiting.pdf", "queued", 5 },
      { "done.pdf", "completed", 0, 1, 50 } }, { status = "file_processing" })
    local l = timeline.layout(d, { now = T0 + 100 })
    assert.equal("queued 0-20, running 20-100", phases(row_named(l, "running.pdf")))
    assert.is_true(row_named(l, "running.pdf").open)
    assert.equal("queued 5-100", phases(row_named(l, "waiting.pdf")))
    assert.equal("wait 1:35, still queued", timeline.row_durations(row_named(l, "waiting.pdf")))
    assert.equal(100, l.now)
    -- a client clock behind the server's: the bars end at the latest server time
    l = timeline.layout(d, { now = T0 - 3600 })
    assert.equal("queued 0-20, running 20-50", phases(row_named(l, "running.pdf")))
  end)

  it("puts the alignment job on its own row and timeline events as markers", function()
    local d = job({ { "doc.pdf", "completed", 0, 2, 60 } }, {
      status = "completed",
      alignment_job = { id = "al-1", status = "completed", created_at = at(90), completed_at = at(300) },
      timeline = {
        { timestamp = at(0), event_type = "Created", message = "Data job created." },
        { timestamp = at(2), event_type = "File Processing Started", message = "Started processing files." },
        { timestamp = "not a time", event_type = "Broken", message = "x" },
        { timestamp = at(90), event_type = "Alignment Started", message = "Alignment started." },
      },
    })
    local l = timeline.layout(d)
    local last = l.rows[#l.rows]
    assert.equal("alignment", last.kind)
    assert.equal("completed 90-300", phases(last))
    assert.equal(3, #l.events)
    assert.equal(1, l.events_omitted)
    assert.same({ 0, 2, 90 }, { l.events[1].at, l.events[2].at, l.events[3].at })
    assert.equal("File Processing Started", l.events[2].event_type)
    -- events at the same instant keep the server's order, whatever their number
    local same = {}
    for i = 1, 50 do same[i] = { timestamp = at(5), event_type = "E" .. i, message = "m" } end
    l = timeline.layout(job({}, { timeline = same }))
    for i = 1, 50 do assert.equal("E" .. i, l.events[i].event_type) end
    -- a cancelled alignment ends at its last update
    d = job({}, { alignment_job = { id = "al-1", status = "cancelled", created_at = at(0), updated_at = at(40) } })
    assert.equal("failed 0-40", phases(timeline.layout(d).rows[1]))
  end)

  it("has axis ticks at round steps covering the span", function()
    local l = timeline.layout(job({ { "a.pdf", "completed", 0, 100, 1000 } }), { max_ticks = 6 })
    assert.equal(1000, l.span)
    local labels = {}
    for _, t in ipairs(l.ticks) do labels[#labels + 1] = t.label end
    assert.equal("0:00 5:00 10:00 15:00", table.concat(labels, " "))
    assert.equal(600, l.ticks[3].at)
  end)

  it("lays out one file, and a detail with nothing in it", function()
    local l = timeline.layout(job({ { "only.pdf", "completed", 0, 1, 2 } }))
    assert.equal(1, #l.rows)
    assert.equal("1 file: 1 completed · total 0:02 · longest wait 0:01 (only.pdf) · longest run 0:01 (only.pdf)",
      timeline.summary_line(l))
    l = timeline.layout({})
    assert.same({}, l.rows)
    assert.is_nil(l.start)
    assert.equal("0 files · total 0:00", timeline.summary_line(l))
    assert.same({ { at = 0, label = "0:00" } }, l.ticks)
  end)

  it("groups 20,000 files into bounded rows and says so", function()
    local files, records = {}, {}
    for i = 1, 20000 do
      local failed = i % 1000 == 0
      files[i] = { file_id = "file-" .. i, record_id = "ijf-" .. i, name = ("doc-%05d.pdf"):format(i) }
      records[i] = { record_id = "ijf-" .. i, filename = files[i].name, status = failed and "failed" or "completed",
        created_at = at(0), processing_at = at(i / 10), [failed and "failed_at" or "completed_at"] = at(i / 10 + 30) }
    end
    local d = { id = "dj-big", files = files, ingestion_jobs = { { id = "ij-1", records = records } } }
    local l = timeline.layout(d, { max_rows = 50 })
    assert.equal(50, #l.rows)
    assert.same({ files = 20000, rows = 50, per_row = 400 }, l.grouped)
    assert.equal("20000 files grouped into 50 rows of up to 400 each, in queue order", l.note)
    assert.equal(20000, l.summary.files)
    assert.equal(20, l.summary.outcomes.failed)
    local first = l.rows[1]
    assert.equal("group", first.kind)
    assert.equal(400, first.count)
    assert.equal("files 1–400", first.label)
    assert.equal("completed", first.outcome)
    assert.equal(400, first.outcomes.completed)
    -- file 1000 failed: its group is drawn as failed
    assert.equal("failed", l.rows[3].outcome)
    assert.equal(1, l.rows[3].outcomes.failed)
    local failed_groups = 0
    for _, row in ipairs(l.rows) do
      if row.outcomes.failed > 0 then failed_groups = failed_groups + 1 end
    end
    assert.equal(20, failed_groups)
    assert.equal("longest wait 0:40", timeline.row_durations(first):match("longest wait [^,]+"))
  end)

  it("takes each file's status from the detail module, the same as file_status", function()
    local detail = require "seekrflow.detail"
    local d = job({ { "a.pdf", "completed", 0, 1, 2 }, { "b.md" }, { "c.pdf", "failed", 0, 1, 2 } })
    d.files[3].record_id = nil -- matched by name: files[].status is not there, the record's counts
    local n = 0
    for file, _, _, status in detail.each_file(d) do
      n = n + 1
      assert.equal(detail.file_status(d, file), status)
    end
    assert.equal(3, n)
    assert.equal("failed", row_named(timeline.layout(d), "c.pdf").outcome)
  end)

  it("works whatever fields the server adds, and refuses what is not a detail", function()
    local d = job({ { "doc.pdf", "completed", 0, 1, 2 } }, { each_file = 1, records = "x", each_event = true })
    assert.equal(1, #timeline.layout(d).rows)
    for _, bad in ipairs({ "x", 1, true }) do
      local ok, err = pcall(timeline.layout, bad)
      assert.is_false(ok)
      assert.equal("invalid_argument", err.kind)
    end
    local ok, err = pcall(timeline.layout, {}, { max_rows = 0 })
    assert.is_false(ok)
    assert.matches("max_rows", tostring(err))
    ok, err = pcall(timeline.layout, {}, { colour = true })
    assert.is_false(ok)
    assert.matches("unknown option colour", tostring(err))
  end)
end)

describe("seekrflow.timeline on a simulated job", function()
  before_each(function() sim.reset() end)

  it("draws what the simulator did: waits, runs, a failure, Markdown, events", function()
    local client = sim.client()
    local id = sim.job_with_files(client, sim.outcome_files())
    local d = sim.settled(client, id)
    client:close()
    local l = timeline.layout(d)
    assert.equal(3, #l.rows)
    assert.equal("completed", row_named(l, "handbook.pdf").outcome)
    assert.equal("failed", row_named(l, "empty.pptx").outcome)
    assert.equal("ready", row_named(l, "notes.md").outcome)
    assert.is_true(#row_named(l, "handbook.pdf").segments >= 1)
    assert.is_true(#l.events >= 2)
    assert.is_true(l.summary.total > 0)
    assert.equal(0, l.summary.skewed)
  end)
end)
