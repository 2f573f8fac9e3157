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
      "each_event", "file_status", "records_of", "records_by_file" } do
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

  describe("the records of a file", function()
    -- "ij-id/record-id" of each record records_of yields, in order
    local function ids_of(d, file, opts)
      local out = {}
      for ij, r in detail.records_of(d, file, opts) do out[#out + 1] = ij.id .. "/" .. tostring(r.record_id) end
      return out
    end

    it("are the records named, produced for the file id, or named like it in a run listing it", function()
      local d = {
        ingestion_jobs = {
          { id = "ij-1", file_ids = { "file-a" }, records = { record("r1", "a.pdf", "failed") } },
          { id = "ij-2", records = { record("r2", "a.pdf", "failed") } }, -- lists no files: may hold it
          { id = "ij-3", file_ids = { "file-b" }, records = { record("r3", "a.pdf", "failed") } }, -- not a's run
          { id = "ij-4", file_ids = { "file-b" }, records = {
            record("r4", "renamed.pdf", "failed", { alignment_file_id = "file-a" }),
            record("r5", "b.pdf", "completed", { alignment_file_id = "file-b" }) } },
          { id = "ij-5", file_ids = { "file-a" }, records = {
            record("r6", "a.pdf", "completed", { alignment_file_id = "file-a" }) } }, -- every key at once
          { id = "ij-6", file_ids = { "file-a" }, records = { record("r7", "a.pdf", "failed", { deleted = true }) } },
        },
        files = { { file_id = "file-a", record_id = "r6", name = "a.pdf", type = "pdf" },
          { file_id = "file-b", name = "b.pdf", type = "pdf" } },
      }
      -- oldest run first, each record once however many keys match
      assert.same({ "ij-1/r1", "ij-2/r2", "ij-4/r4", "ij-5/r6" }, ids_of(d, d.files[1]))
      assert.same({ "ij-1/r1", "ij-2/r2", "ij-4/r4", "ij-5/r6", "ij-6/r7" },
        ids_of(d, d.files[1], { include_deleted = true }))
      assert.same({ "ij-4/r5" }, ids_of(d, d.files[2]))
      -- the current record is one of them (the same keys), the latest by its rule
      assert.equal("r6", detail.current_record(d, d.files[1]).record_id)
      assert.equal("r5", detail.current_record(d, d.files[2]).record_id)
      -- records_by_file indexes once and answers the same for every file
      local of = detail.records_by_file(d)
      for _, file in ipairs(d.files) do
        local out = {}
        for ij, r in of(file) do out[#out + 1] = ij.id .. "/" .. r.record_id end
        assert.same(ids_of(d, file), out)
      end
      -- a record named in files[] counts even when nothing else matches
      assert.same({ "ij-4/r5" }, ids_of(d, { record_id = "r5", name = "other.pdf" }))
      -- a file without an id is matched by record_id and name alone
      assert.same({ "ij-1/r1", "ij-2/r2", "ij-3/r3", "ij-5/r6" }, ids_of(d, { name = "a.pdf" }))
      assert.same({}, ids_of(d, { file_id = "file-z" }))
      assert.same({}, ids_of({}, d.files[1]))
    end)

    it("of a Markdown file without record_id are none, as it has no current record", function()
      local d = {
        ingestion_jobs = { { id = "ij-1", records = { record("r1", "n.md", "failed", { alignment_file_id = "file-md" }),
          record("r2", "x.md", "failed") } } },
        files = { { file_id = "file-md", name = "n.md", type = "md" },
          { file_id = "file-x", name = "x.md", record_id = "r2" } },
      }
      assert.same({}, ids_of(d, d.files[1]))
      assert.same({ "ij-1/r2" }, ids_of(d, d.files[2]))
    end)

    it("are the methods of a decoded detail too, and never broken by server fields", function()
      local d = core.json_decode([[{"records_of":1,"records_by_file":"x","ingestion_jobs":[{"id":"ij-1",
        "records":[{"record_id":"r1","alignment_file_id":"f1","filename":"a.pdf","status":"failed"}]}],
        "files":[{"file_id":"f1","name":"a.pdf","records_of":2}]}]], "data_job")
      assert.same({ "ij-1/r1" }, ids_of(d, d.files[1]))
      local n = 0
      for _ in detail.records_by_file(d)(d.files[1]) do n = n + 1 end
      assert.equal(1, n)
      local plain = { ingestion_jobs = d.ingestion_jobs, files = d.files }
      setmetatable(plain, getmetatable(core.json_decode("{}", "data_job")))
      for _, r in plain:records_of(d.files[1]) do assert.equal("r1", r.record_id) end
    end)

    it("skip what has the wrong shape: odd runs, records, file_ids and keys", function()
      local d = {
        ingestion_jobs = {
          "x", 7, { id = "ij-1", records = "nope" },
          { id = "ij-2", records = { 1, "r", false, record("r1", "a.pdf", "failed") } },
          { id = "ij-3", file_ids = "file-a", records = { record("r2", "a.pdf", "failed") } }, -- not a list: lists none
          { id = "ij-4", file_ids = { 5, false, {} }, records = { record("r3", "a.pdf", "failed") } }, -- lists no file-a
          { id = "ij-5", records = { record(7, "a.pdf", "failed", { alignment_file_id = {} }),
            { record_id = "r4", filename = 9, alignment_file_id = "file-a" } } },
        },
        files = { { file_id = "file-a", name = "a.pdf" }, { file_id = 5, name = {}, record_id = 7 } },
      }
      assert.same({ "ij-2/r1", "ij-3/r2", "ij-5/7", "ij-5/r4" }, ids_of(d, d.files[1]))
      assert.same({}, ids_of(d, d.files[2])) -- keys that are not strings match nothing
      assert.same({}, ids_of({ ingestion_jobs = "x" }, d.files[1]))
    end)

    it("yield every record once, even under one key shared by thousands", function()
      local records, files = {}, {}
      for i = 1, 20000 do
        -- every record has the same record_id, file id and name: hostile, not a real detail
        records[i] = record("r", "same.pdf", "failed", { alignment_file_id = "file-1", n = i })
        files[i] = { file_id = "file-" .. i, name = "f" .. i .. ".pdf", type = "pdf" }
      end
      local d = { ingestion_jobs = { { id = "ij-1", records = records } }, files = files }
      local n, last = 0, 0
      for _, r in detail.records_of(d, { file_id = "file-1", record_id = "r", name = "same.pdf" }) do
        n = n + 1
        assert.is_true(r.n > last)
        last = r.n
      end
      assert.equal(20000, n)
      -- 20,000 files, one index: each file's own records only (file-1 has them all)
      local of, total = detail.records_by_file(d), 0
      for _, file in ipairs(files) do
        for _ in of(file) do total = total + 1 end
      end
      assert.equal(20000, total)
    end)

    it("says what it expected when given the wrong thing", function()
      local err = arg_error(function() detail.records_of({}, "file-1") end)
      assert.matches("detail.records_of: expected a files%[%] entry", err.message)
      arg_error(function() detail.records_of("dj-1", {}) end)
      err = arg_error(function() detail.records_of({}, {}, { deleted = true }) end)
      assert.matches("unknown option 'deleted'", err.message)
      arg_error(function() detail.records_by_file(nil) end)
      arg_error(function() detail.records_by_file({}, "yes") end)
      err = arg_error(function() detail.records_by_file({})("file-1") end)
      assert.matches("expects a files%[%] entry %(a table%), got string", err.message)
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
