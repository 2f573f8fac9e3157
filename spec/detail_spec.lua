-- seekrflow.detail: the one place that reads a detail (records, current record,
-- Markdown), as plain functions over any table of the right shape.
local detail = require "seekrflow.detail"
local core = require "seekrflow.core"
local util = require "helpers.util"
local arg_error = util.arg_error

local function record(id, filename, status, extra)
  local r = { record_id = id, filename = filename, status = status, ingestion_job_id = "ij-1" }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function collect_files(d)
  local out = {}
  for file, rec, ij in detail.each_file(d) do
    out[#out + 1] = { file = file, record = rec, ingestion_job = ij }
  end
  return out
end

describe("seekrflow.detail", function()
  it("is the C table, with every function of the agreed interface", function()
    assert.equal(core.detail, detail)
    for _, name in ipairs { "records", "failed_records", "each_file", "current_record", "is_markdown",
      "each_event", "file_status" } do
      assert.is_function(detail[name], name)
    end
  end)

  it("works on plain tables without any metatable", function()
    local d = {
      ingestion_jobs = { { id = "ij-1",
        records = { record("r1", "a.pdf", "failed"), record("r2", "b.pdf", "completed") } } },
      files = { { file_id = "f1", record_id = "r1", name = "a.pdf", type = "pdf" } },
      timeline = { { event_type = "created" }, { event_type = "ingested" } },
    }
    local n, failed, events = 0, {}, {}
    for _ in detail.records(d) do n = n + 1 end
    for ij, r in detail.failed_records(d) do failed[#failed + 1] = ij.id .. "/" .. r.record_id end
    for e in detail.each_event(d) do events[#events + 1] = e.event_type end
    assert.equal(2, n)
    assert.same({ "ij-1/r1" }, failed)
    assert.same({ "created", "ingested" }, events)
    local files = collect_files(d)
    assert.equal("r1", files[1].record.record_id)
    assert.equal("ij-1", files[1].ingestion_job.id)
  end)

  it("is never broken by server fields named like the helpers", function()
    local d = core.json_decode([[{"id":"dj-1","records":"x","each_file":1,"failed_records":true,
      "each_event":{},"current_record":"y","file_status":7,"is_markdown":"no",
      "ingestion_jobs":[{"id":"ij-1","each_record":5,"records":[
        {"record_id":"r1","filename":"a.pdf","status":"failed","is_failed":"nope","is_finished":0}]}],
      "files":[{"file_id":"f1","record_id":"r1","name":"a.pdf","is_markdown":3}],
      "timeline":[{"event_type":"x"}]}]], "data_job")
    local n = 0
    for _, r in detail.records(d) do
      n = n + 1
      assert.is_true(detail.is_failed(r))
      assert.is_true(detail.is_finished(r))
    end
    for _ in detail.failed_records(d) do n = n + 1 end
    for _ in detail.each_event(d) do n = n + 1 end
    for _ in detail.each_record(d.ingestion_jobs[1]) do n = n + 1 end
    assert.equal(4, n)
    local files = collect_files(d)
    assert.equal("r1", files[1].record.record_id)
    assert.equal("r1", (detail.current_record(d, d.files[1])).record_id)
    assert.equal("failed", (detail.file_status(d, d.files[1])))
    assert.is_false(detail.is_markdown(d.files[1]))
  end)

  it("are still the methods of decoded details, jobs, records and files", function()
    local d = core.json_decode([[{"id":"dj-1","ingestion_jobs":[{"id":"ij-1","records":[
      {"record_id":"r1","filename":"a.pdf","status":"failed"}]}],
      "files":[{"file_id":"f1","record_id":"r1"},{"file_id":"f2","name":"n.md"}]}]], "data_job")
    local n = 0
    for _ in d:failed_records() do n = n + 1 end
    for _ in d:each_file() do n = n + 1 end
    for _ in d.ingestion_jobs[1]:each_record() do n = n + 1 end
    assert.equal(4, n)
    assert.is_true(d.ingestion_jobs[1].records[1]:is_failed())
    assert.is_true(d.files[2]:is_markdown())
    assert.equal("r1", d:current_record(d.files[1]).record_id)
  end)

  describe("the current record", function()
    it("is the record files[] names; deleted and older records are history", function()
      local d = {
        ingestion_jobs = {
          { id = "ij-1", records = { record("r1", "a.pdf", "failed"),
            record("r9", "gone.pdf", "failed", { deleted = true }) } },
          { id = "ij-2", records = { record("r2", "a.pdf", "completed") } },
        },
        files = { { file_id = "f1", record_id = "r2", name = "a.pdf", type = "pdf", status = "failed" },
          { file_id = "f9", record_id = "r9", name = "gone.pdf" } },
      }
      local files = collect_files(d)
      assert.equal("r2", files[1].record.record_id)
      assert.equal("ij-2", files[1].ingestion_job.id)
      assert.is_nil(files[2].record) -- a deleted record is never current
      -- the linked record's status wins over a stale files[].status
      assert.equal("completed", (detail.file_status(d, d.files[1])))
    end)

    -- Issue 12 item 3: record_id is optional in DataJobFile.
    it("without record_id, a PDF is matched by file name and is not Markdown", function()
      local d = {
        status = "needs_review",
        ingestion_jobs = { { id = "ij-1", file_ids = { "file-a" },
          records = { record("ijf-1", "a.pdf", "failed", { error_message = "The file appears to be empty." }) } } },
        files = { { file_id = "file-a", name = "a.pdf", type = "pdf", status = "failed" } },
      }
      assert.is_false(detail.is_markdown(d.files[1]))
      local files = collect_files(d)
      assert.equal("ijf-1", files[1].record.record_id)
      assert.equal("ij-1", files[1].ingestion_job.id)
      local status, rec = detail.file_status(d, d.files[1])
      assert.equal("failed", status)
      assert.equal("The file appears to be empty.", rec.error_message)
    end)

    it("without record_id, matches the record produced for the file id first", function()
      local d = {
        ingestion_jobs = { { id = "ij-1", records = {
          record("ijf-1", "a.pdf", "failed", { alignment_file_id = "file-other" }),
          record("ijf-2", "renamed.pdf", "running", { alignment_file_id = "file-a" }),
        } } },
        files = { { file_id = "file-a", name = "a.pdf", type = "pdf" } },
      }
      local rec, ij = detail.current_record(d, d.files[1])
      assert.equal("ijf-2", rec.record_id)
      assert.equal("ij-1", ij.id)
      assert.equal("running", (detail.file_status(d, d.files[1]))) -- no files[].status: the record's
    end)

    it("without record_id, never takes a same-named record of a job that does not list the file", function()
      local d = {
        ingestion_jobs = { { id = "ij-1", file_ids = { "file-b" }, records = { record("ijf-1", "a.pdf", "failed") } } },
        files = { { file_id = "file-a", name = "a.pdf", type = "pdf", status = "queued" } },
      }
      assert.is_nil((detail.current_record(d, d.files[1])))
      assert.equal("queued", (detail.file_status(d, d.files[1])))
    end)

    it("files[].status decides over a matched record when record_id is absent", function()
      local d = {
        ingestion_jobs = { { id = "ij-1", records = { record("ijf-1", "a.pdf", "running") } } },
        files = { { file_id = "file-a", name = "a.pdf", type = "pdf", status = "failed" } },
      }
      assert.equal("failed", (detail.file_status(d, d.files[1])))
    end)

    it("Markdown is decided by type, then by name, never by a missing record_id alone", function()
      assert.is_true(detail.is_markdown { type = "md" })
      assert.is_true(detail.is_markdown { type = "MD", name = "x.pdf" })
      assert.is_true(detail.is_markdown { type = "markdown" })
      assert.is_true(detail.is_markdown { name = "Notes.MD" })
      assert.is_true(detail.is_markdown { name = "notes.markdown" })
      assert.is_false(detail.is_markdown { type = "pdf", name = "x.md" })
      assert.is_false(detail.is_markdown { name = "a.pdf" })
      assert.is_false(detail.is_markdown {})
      local d = {
        ingestion_jobs = { { id = "ij-1", records = { record("ijf-1", "n.md", "failed") } } },
        files = { { file_id = "file-md", name = "n.md", type = "md" },
          { file_id = "file-x", name = "x.txt", type = "txt" } },
      }
      local files = collect_files(d)
      assert.is_nil(files[1].record) -- Markdown skips ingestion
      assert.equal("completed", (detail.file_status(d, d.files[1])))
      assert.is_nil(files[2].record)
      assert.is_nil((detail.file_status(d, d.files[2]))) -- unknown, not "Markdown"
    end)
  end)

  it("skips entries of the wrong shape instead of failing", function()
    local d = {
      ingestion_jobs = { "x", { id = "ij-1", records = "nope" },
        { id = "ij-2", records = { 1, record("r1", "a", "failed") } } },
      files = { false, { file_id = "f1", record_id = 5 }, { file_id = "f2", record_id = "r1" } },
      timeline = { 1, { event_type = "e" } },
    }
    local n = 0
    for _ in detail.records(d) do n = n + 1 end
    assert.equal(1, n)
    local files = collect_files(d)
    assert.equal(2, #files)
    assert.is_nil(files[1].record)
    assert.equal("r1", files[2].record.record_id)
    n = 0
    for _ in detail.each_event(d) do n = n + 1 end
    assert.equal(1, n)
    for _ in detail.each_file { files = "x" } do n = n + 1 end
    assert.equal(1, n)
  end)

  it("reads a detail without files[] (an empty list the API may leave out) as no files attached", function()
    local d = core.json_decode([[{"id":"dj-1","status":"needs_review","job_type":"principle_files",
      "ingestion_jobs":[{"id":"ij-1","records":[{"record_id":"r1","filename":"a.pdf","status":"failed"}]}]}]],
      "data_job")
    local n = 0
    for _ in detail.each_file(d) do n = n + 1 end
    for _ in detail.each_file(core.json_decode('{"files":null}', "data_job")) do n = n + 1 end
    assert.equal(0, n)
  end)

  it("compares whole strings: a NUL inside a status never matches", function()
    local d = core.json_decode('{"ingestion_jobs":[{"records":[{"record_id":"r1","status":"failed\\u0000"}]}]}')
    local n = 0
    for _ in detail.failed_records(d) do n = n + 1 end
    assert.equal(0, n)
    assert.is_false(detail.is_failed(d.ingestion_jobs[1].records[1]))
    arg_error(function() detail.records(d, { ["include_deleted\0x"] = true }) end)
  end)

  it("says what it expected when given the wrong thing", function()
    local err = arg_error(function() detail.records("dj-1") end)
    assert.matches("detail.records: expected a data job detail", err.message)
    arg_error(function() detail.each_file(nil) end)
    arg_error(function() detail.current_record({}, "f1") end)
    arg_error(function() detail.is_markdown("a.md") end)
    err = arg_error(function() detail.records({}, { deleted = true }) end)
    assert.matches("unknown option 'deleted'", err.message)
  end)

  it("handles 20,000 files in one pass", function()
    local records, files = {}, {}
    for i = 1, 20000 do
      records[i] = record("r" .. i, "f" .. i .. ".pdf", i % 7 == 0 and "failed" or "completed")
      files[i] = { file_id = "f" .. i, name = "f" .. i .. ".pdf", type = "pdf" } -- no record_id: the fallback
    end
    local d = { ingestion_jobs = { { id = "ij-1", records = records } }, files = files }
    local failed = 0
    for file in detail.each_file(d) do
      if detail.file_status(d, file) == "failed" then failed = failed + 1 end
      if failed > 3 then break end -- file_status alone is linear: a few calls only
    end
    local matched = 0
    for _, rec in detail.each_file(d) do if rec then matched = matched + 1 end end
    assert.equal(20000, matched)
  end)
end)
