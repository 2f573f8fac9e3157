-- seekrflow.progress: the one progress model the CLI's live view and the Neovim float draw.
local progress = require "seekrflow.progress"
local core = require "seekrflow.core"

local HOSTILE = "\27]0;PWNED\7\27[2J"

local function detail(fields)
  local d = {
    id = "dj-1", name = "Docs " .. HOSTILE, status = "file_processing", status_message = "2 files " .. HOSTILE,
    files = {
      { file_id = "f1", record_id = "r1", name = "queued.pdf" },
      { file_id = "f2", record_id = "r2", name = "running.pdf" },
      { file_id = "f3", record_id = "r3", name = "done.pdf" },
      { file_id = "f4", record_id = "r4", name = "bad " .. HOSTILE .. ".pdf" },
      { file_id = "f5", name = "notes.md" },
      { file_id = "f6", name = "mystery.pdf" },
      { file_id = "f7", name = "listed-failed.pdf", status = "failed", suggested_fix = "Upload it again." },
    },
    ingestion_jobs = { { id = "ij-1", records = {
      { record_id = "r1", status = "queued", queue_position = 2, filename = "queued.pdf" },
      { record_id = "r2", status = "running", filename = "running.pdf" },
      { record_id = "r3", status = "completed", filename = "done.pdf",
        processing_at = "2026-01-01T00:00:00Z", completed_at = "2026-01-01T00:01:05Z" },
      { record_id = "r4", status = "failed", filename = "bad.pdf", error_message = "Broken " .. HOSTILE,
        suggested_fix = "Fix " .. HOSTILE },
    } } },
    alignment_job = { status = "running", current_step = "generating", progress = 41.6, eta_minutes = 3 },
  }
  for k, v in pairs(fields or {}) do d[k] = v end
  return d
end

local function no_controls(s)
  assert.is_nil(tostring(s):find("[%z\1-\31\127]"), s)
end

describe("seekrflow.progress", function()
  it("gives one row per attached file with its state, as seekrflow.detail decides", function()
    local rows = progress.file_rows(detail(), 100, { r2 = 88 })
    local by = {}
    for _, r in ipairs(rows) do by[r.file_id] = r end
    assert.equal(7, #rows)
    assert.same({ "queued", 2, "queued #2" }, { by.f1.state, by.f1.queue_position, by.f1.text })
    assert.same({ "running", 12, "running  0:12" }, { by.f2.state, by.f2.running_for, by.f2.text })
    assert.same({ "completed", 65, "completed  1:05" }, { by.f3.state, by.f3.took, by.f3.text })
    assert.equal("failed", by.f4.state)
    assert.equal("Broken \\x1b]0;PWNED\\x07\\x1b[2J", by.f4.error_message)
    assert.equal("markdown", by.f5.state)
    assert.equal("unknown", by.f6.state)
    assert.equal("failed", by.f7.state)
    assert.equal("Upload it again.", by.f7.suggested_fix)
    for _, r in ipairs(rows) do
      no_controls(r.name)
      no_controls(r.text)
    end
  end)

  it("works whatever the detail's field names, decoded or plain", function()
    local d = detail { records = "x", each_file = 1, failed_records = true, each_event = {}, current_record = "y" }
    for _, x in ipairs { d, core.json_decode(core.json_encode(d), "data_job") } do
      local rows = progress.file_rows(x)
      assert.equal(7, #rows)
      assert.equal("queued", rows[1].state)
    end
    assert.same({}, progress.file_rows(nil))
    assert.same({}, progress.file_rows({ files = "x" }))
  end)

  it("counts files per state and describes the alignment", function()
    local counts, text = progress.counts(progress.file_rows(detail()))
    assert.equal(2, counts.failed)
    assert.equal("1 running, 1 queued, 2 failed, 1 completed, 1 Markdown, 1 unknown", text)
    local a = progress.alignment(detail())
    assert.equal("alignment running  generating  42%  eta 3 min", a.text)
    assert.is_nil(progress.alignment({}))
  end)

  it("tracks a watch: status, elapsed, last event, poll errors, the end", function()
    local now = 10
    local p = progress.new("dj-1", { clock = function() return now end })
    local v = p:view()
    assert.is_nil(v.status)
    assert.equal(0, v.elapsed)
    assert.is_false(v.done)
    local d = detail()
    p:update({ type = "record_added", record = d.ingestion_jobs[1].records[2] }, d)
    p:update({ type = "timeline", event = { event_type = "Created", message = "made " .. HOSTILE } }, d)
    now = 25
    v = p:view()
    assert.equal("file_processing", v.status)
    assert.equal(15, v.elapsed)
    assert.equal("running  0:15", v.files[2].text)
    assert.equal("Created — made \\x1b]0;PWNED\\x07\\x1b[2J", v.last_event)
    no_controls(v.name)
    no_controls(v.status_message)
    p:update({ type = "poll_error", error = { message = "down" }, delay = 2 })
    assert.equal("could not reach the server (down); retrying in 2.0 s", p:view().poll_error)
    p:update({ type = "job_status", to = "needs_review" }, d)
    assert.is_nil(p:view().poll_error)
    p:finish({ reason = "error", error = { message = "HTTP 404 " .. HOSTILE } })
    now = 99
    v = p:view()
    assert.is_true(v.done)
    assert.equal("error", v.reason)
    assert.equal(15, v.elapsed) -- frozen at the end
    assert.equal("HTTP 404 \\x1b]0;PWNED\\x07\\x1b[2J", v.end_error)
  end)

  it("describes every watch event in one neutralised line", function()
    local r = { record_id = "r", filename = "a " .. HOSTILE, status = "failed", error_message = "bad",
      suggested_fix = "fix it", queue_position = 3 }
    local cases = {
      { { type = "job_status", from = "file_processing", to = "needs_review", message = "m" },
        "job file_processing → needs_review  (m)" },
      { { type = "record_added", record = r }, "+ a \\x1b]0;PWNED\\x07\\x1b[2J failed #3" },
      { { type = "record_status", record = r, from = "running", to = "failed" },
        "✗ a \\x1b]0;PWNED\\x07\\x1b[2J failed: bad  fix: fix it", "red" },
      { { type = "queue_position", record = r, from = 3, to = 2 }, "a \\x1b]0;PWNED\\x07\\x1b[2J queue #3 → #2" },
      { { type = "file_added", file = { name = "x.pdf" } }, "file attached: x.pdf" },
      { { type = "file_removed", file = { file_id = "f" } }, "file removed: f" },
      { { type = "timeline", event = { event_type = "Created", message = "ok" } }, "event: Created — ok" },
      { { type = "alignment", alignment_job = { status = "running", progress = 10 } }, "alignment running  10%" },
      { { type = "poll_error", error = "boom", delay = 1 }, "could not reach the server (boom); retrying in 1.0 s",
        "yellow" },
    }
    for _, c in ipairs(cases) do
      local text, style = progress.describe(c[1])
      assert.equal(c[2], text)
      assert.equal(c[3], style)
    end
  end)
end)
