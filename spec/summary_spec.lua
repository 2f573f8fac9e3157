-- seekrflow.summary: unit tests on hand-made details, then the same questions
-- asked of details the simulator produced for real.
local sim = require "helpers.sim"
local util = require "helpers.util"
local core = require "seekrflow.core"
local summary = require "seekrflow.summary"

-- The documented error texts (contract section 7.1) { error_message, suggested_fix }, by the
-- cause summary names them: as the simulator sends them, so the client is held to what the
-- server says.
local FAILURES = require("seekrflow.sim.lifecycle").FAILURES
local TEXTS = {
  empty_file = FAILURES.empty, corrupt_pdf = FAILURES.corrupt_pdf, oversized_pages = FAILURES.oversized,
  file_not_found = FAILURES.not_found, service_unavailable = FAILURES.transient, internal_failure = FAILURES.internal,
}

-- A detail decoded the way the client decodes one (helper metatables, arrays
-- marked), from a Lua description of it.
local function decode(t)
  return core.json_decode(core.json_encode(t), "data_job")
end

local function record(id, filename, status, message, fix, extra)
  local r = {
    record_id = id, ingestion_job_id = "ij-1", filename = filename, status = status, deleted = false,
    error_message = message, suggested_fix = fix, method = "best", created_at = "2025-11-14T07:35:00Z",
    failed_at = status == "failed" and "2025-11-14T07:36:00Z" or nil,
  }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- A failed record with a documented cause's texts (a TEXTS entry).
local function failed(id, filename, texts, extra)
  return record(id, filename, "failed", texts[1], texts[2], extra)
end

-- A decoded detail of dj-1, a needs_review principle_files job with a system prompt unless
-- `fields` says otherwise; `files` are { file_id, record_id, name }, `runs` its ingestion jobs.
local function job_detail(files, runs, fields)
  local t = { id = "dj-1", status = "needs_review", job_type = "principle_files", files = {}, ingestion_jobs = runs }
  for i, f in ipairs(files) do t.files[i] = { file_id = f[1], record_id = f[2], name = f[3] } end
  for k, v in pairs(fields or {}) do t[k] = v end
  if t.job_type == "principle_files" then t.system_prompt = t.system_prompt or "p" end
  return decode(t)
end

-- A needs_review principle_files job; `failures` is a list of
-- { filename, error_message, suggested_fix }, each a file that failed.
local function failing_job(failures, fields)
  local files, records, ids = {}, {}, {}
  for i, f in ipairs(failures) do
    local file_id, record_id = "file-" .. i, "ijf-" .. i
    files[i] = { file_id = file_id, record_id = record_id, name = f[1], status = "failed", suggested_fix = f[3] }
    records[i] = record(record_id, f[1], "failed", f[2], f[3])
    ids[i] = file_id
  end
  local t = {
    id = "dj-1", name = "Support docs", job_type = "principle_files", status = "needs_review",
    system_prompt = "You are helpful.", files = files,
    ingestion_jobs = { { id = "ij-1", status = "failed", file_ids = ids, records = records } },
  }
  for k, v in pairs(fields or {}) do t[k] = v end
  return decode(t)
end

local function kinds(s)
  local out = {}
  for _, b in ipairs(s.blockers) do out[#out + 1] = b.kind end
  table.sort(out)
  return out
end

local function entry_for(s, filename) return util.first(s.failed, "filename", filename) end

local arg_error = util.arg_error

-- Display columns of a rendered line: escapes removed, one per code point.
local function columns(line)
  local plain = line:gsub("\27%[[%d;]*m", "")
  local _, n = plain:gsub("[^\128-\191]", "")
  return n
end

local function lines(text)
  local out = {}
  for line in text:gmatch("(.-)\n") do out[#out + 1] = line end
  return out
end

describe("summary", function()
  describe("CAUSES and cause_of", function()
    it("hold the six documented texts verbatim, each with an action", function()
      local n = 0
      for key, cause in pairs(summary.CAUSES) do
        n = n + 1
        assert.same(TEXTS[key], { cause.error_message, cause.suggested_fix }, key)
        assert.is_string(cause.action_text)
        assert.equal(key, summary.cause_of(cause.error_message))
      end
      assert.equal(6, n)
      assert.equal("replace", summary.CAUSES.empty_file.action)
      assert.equal("replace", summary.CAUSES.corrupt_pdf.action)
      assert.equal("replace", summary.CAUSES.oversized_pages.action)
      assert.equal("replace", summary.CAUSES.file_not_found.action)
      assert.equal("retry", summary.CAUSES.service_unavailable.action)
      assert.equal("retry_then_support", summary.CAUSES.internal_failure.action)
    end)

    it("tolerates case and whitespace differences, and knows what it does not know", function()
      assert.equal("empty_file", summary.cause_of("The file appears to be empty.  \n"))
      assert.equal("service_unavailable", summary.cause_of("SERVICE TEMPORARILY UNAVAILABLE."))
      assert.equal("internal_failure", summary.cause_of("  internal processing   failure"))
      assert.equal("unknown", summary.cause_of("The file is haunted."))
      assert.equal("unknown", summary.cause_of(nil))
      assert.equal("unknown", summary.cause_of(""))
    end)
  end)

  describe("of", function()
    it("maps each documented error to its cause, action and fix", function()
      local failures = {}
      for key, texts in pairs(TEXTS) do failures[#failures + 1] = { key .. ".pdf", texts[1], texts[2] } end
      local s = summary.of(failing_job(failures))
      assert.equal(6, #s.failed)
      for key in pairs(TEXTS) do
        local e = entry_for(s, key .. ".pdf")
        assert.equal(key, e.cause)
        assert.equal(summary.CAUSES[key].action, e.action)
        assert.equal(summary.CAUSES[key].action_text, e.action_text)
        assert.equal(TEXTS[key][1], e.error_message)
        assert.equal(TEXTS[key][2], e.suggested_fix)
        assert.matches("^file%-%d$", e.file_id)
        assert.matches("^ijf%-%d$", e.record_id)
        assert.equal("ij-1", e.ingestion_job_id)
        assert.equal("2025-11-14T07:36:00Z", e.failed_at)
      end
      -- every failed file is in remove; the rest by action
      assert.equal(6, #s.plan.remove)
      assert.equal(4, #s.plan.replace)
      assert.same({ entry_for(s, "internal_failure.pdf").file_id, entry_for(s, "service_unavailable.pdf").file_id },
        s.plan.retry)
      assert.same({}, s.plan.support)
      assert.equal("dj-1", s.job_id)
      assert.equal("Support docs", s.job_name)
      assert.equal("principle_files", s.job_type)
      assert.equal("needs_review", s.status)
      assert.is_false(s.can_start)
    end)

    it("gives unknown errors the review action, with the server's fix when there is one", function()
      local s = summary.of(failing_job {
        { "a.pdf", "The file is haunted.", "Call a priest." },
        { "b.pdf", "Cosmic rays.", nil },
      })
      local a, b = entry_for(s, "a.pdf"), entry_for(s, "b.pdf")
      assert.equal("unknown", a.cause)
      assert.equal("review", a.action)
      assert.equal("Follow the suggested fix: Call a priest.", a.action_text)
      assert.equal("unknown", b.cause)
      assert.equal("Check the file and contact support if it persists.", b.action_text)
      assert.same({ "file-1", "file-2" }, s.plan.remove)
      assert.same({}, s.plan.retry)
      assert.same({}, s.plan.replace)
      assert.equal(1, #s.causes)
      assert.equal("unknown", s.causes[1].cause)
      assert.equal("review", s.causes[1].action)
      assert.is_nil(s.causes[1].error_message) -- the two texts differ
    end)

    it("groups by cause, most files first, each group with its documented texts", function()
      local E, T = TEXTS.empty_file, TEXTS.service_unavailable
      local s = summary.of(failing_job {
        { "c.docx", E[1], E[2] }, { "t.pdf", T[1], T[2] }, { "a.docx", E[1], E[2] }, { "b.docx", E[1], E[2] },
      })
      assert.equal(2, #s.causes)
      local g = s.causes[1]
      assert.equal("empty_file", g.cause)
      assert.equal(3, g.count)
      assert.equal(E[1], g.error_message)
      assert.equal(E[2], g.suggested_fix)
      assert.equal("replace", g.action)
      assert.same({ "a.docx", "b.docx", "c.docx" }, { g.files[1].filename, g.files[2].filename, g.files[3].filename })
      assert.equal("service_unavailable", s.causes[2].cause)
      assert.equal(1, s.causes[2].count)
      -- failed is sorted by filename
      assert.same({ "a.docx", "b.docx", "c.docx", "t.pdf" },
        { s.failed[1].filename, s.failed[2].filename, s.failed[3].filename, s.failed[4].filename })
    end)

    it("sorts failures of the same filename by failure time", function()
      local E = TEXTS.empty_file
      local s = summary.of(job_detail({ { "file-b", "r-b", "same.docx" }, { "file-a", "r-a", "same.docx" } },
        { { id = "ij-1", records = { failed("r-b", "same.docx", E, { failed_at = "2025-11-14T07:37:00Z" }),
          failed("r-a", "same.docx", E, { failed_at = "2025-11-14T07:38:00Z" }) } } }))
      assert.same({ "file-b", "file-a" }, { s.failed[1].file_id, s.failed[2].file_id })
    end)

    it("escalates an internal failure that happened before for the same file to support", function()
      local I, in_ij2 = TEXTS.internal_failure, { ingestion_job_id = "ij-2" }
      local s = summary.of(job_detail({ { "file-1", "ijf-2", "crash.pdf" }, { "file-2", "ijf-3", "other.pdf" } }, {
        { id = "ij-1", file_ids = { "file-1" }, records = { failed("ijf-1", "crash.pdf", I) } },
        { id = "ij-2", file_ids = { "file-1", "file-2" },
          records = { failed("ijf-2", "crash.pdf", I, in_ij2), failed("ijf-3", "other.pdf", I, in_ij2) } },
      }))
      local crash, other = entry_for(s, "crash.pdf"), entry_for(s, "other.pdf")
      assert.equal("support", crash.action)
      assert.matches("support", crash.action_text)
      assert.equal("ijf-2", crash.record_id)
      assert.equal("ij-2", crash.ingestion_job_id)
      assert.equal("retry_then_support", other.action) -- first failure: retry once
      assert.same({ "file-1" }, s.plan.support)
      assert.same({ "file-2" }, s.plan.retry)
      assert.same({ "file-1", "file-2" }, s.plan.remove)
      assert.equal("internal_failure", s.causes[1].cause)
      assert.equal("retry_then_support", s.causes[1].action) -- the files disagree: the documented action
    end)

    it("finds the earlier internal failure by the detail's rule for a file's records", function()
      local I, T = TEXTS.internal_failure, TEXTS.service_unavailable
      local function action(runs)
        local s = summary.of(job_detail({ { "file-1", "ijf-2", "crash.pdf" } }, runs))
        return s.failed[1].action
      end
      local now = { id = "ij-2", file_ids = { "file-1" }, records = { failed("ijf-2", "crash.pdf", I) } }
      -- an earlier run that lists no file ids (file_ids is optional in the API) may hold it
      assert.equal("support", action { { id = "ij-1", records = { failed("ijf-1", "crash.pdf", I) } }, now })
      -- removed, then added again: the deleted record is still its history
      assert.equal("support", action { { id = "ij-1", file_ids = { "file-1" },
        records = { failed("ijf-1", "crash.pdf", I, { deleted = true }) } }, now })
      -- produced for its file id under another name
      assert.equal("support", action { { id = "ij-1", file_ids = { "file-9" },
        records = { failed("ijf-1", "old-name.pdf", I, { alignment_file_id = "file-1" }) } }, now })
      -- not its history: a same-named file of a run that does not list it, another cause,
      -- or a record that is not failed
      assert.equal("retry_then_support", action { { id = "ij-1", file_ids = { "file-9" },
        records = { failed("ijf-1", "crash.pdf", I) } }, now })
      assert.equal("retry_then_support", action { { id = "ij-1", file_ids = { "file-1" },
        records = { failed("ijf-1", "crash.pdf", T) } }, now })
      assert.equal("retry_then_support", action { { id = "ij-1", file_ids = { "file-1" },
        records = { record("ijf-1", "crash.pdf", "completed", I[1], I[2]) } }, now })
      -- the current record listed twice is not a second failure
      assert.equal("retry_then_support", action { { id = "ij-1", file_ids = { "file-1" },
        records = { failed("ijf-2", "crash.pdf", I, { deleted = true }) } }, now })
    end)

    it("counts only the latest record of each attached file", function()
      local T = TEXTS.service_unavailable
      -- file-1 failed, then was added again and completed; file-2 completed, then failed when re-added
      local s = summary.of(job_detail({ { "file-1", "ijf-3", "flaky.pdf" }, { "file-2", "ijf-4", "later.pdf" } }, {
        { id = "ij-1", records = { failed("ijf-1", "flaky.pdf", T), record("ijf-2", "later.pdf", "completed") } },
        { id = "ij-2", records = { record("ijf-3", "flaky.pdf", "completed"), failed("ijf-4", "later.pdf", T) } },
      }))
      assert.equal(1, #s.failed)
      assert.equal("later.pdf", s.failed[1].filename)
      assert.equal("ijf-4", s.failed[1].record_id)
      assert.equal(1, s.viable_files)
      assert.is_true(s.can_start_after_removal)
    end)

    it("skips deleted records and records of files no longer attached", function()
      local E = TEXTS.empty_file
      local s = summary.of(job_detail({ { "file-1", "ijf-1", "good.pdf" }, { "file-3", "ijf-3", "ghost.pdf" } },
        { { id = "ij-1", records = {
          record("ijf-1", "good.pdf", "completed"),
          failed("ijf-2", "removed.docx", E, { deleted = true }),
          failed("ijf-3", "ghost.pdf", E, { deleted = true }), -- files[] disagrees: deleted wins
          failed("ijf-9", "detached.docx", E),                 -- no files[] entry
        } } }, { status = "ready_to_start" }))
      assert.same({}, s.failed)
      assert.same({}, s.causes)
      assert.same({}, s.plan.remove)
      assert.is_true(s.can_start)
      assert.same({}, s.blockers)
    end)

    it("counts completed and Markdown files as viable", function()
      local E = TEXTS.empty_file
      local s = summary.of(job_detail(
        { { "file-md", nil, "notes.md" }, { "file-1", "r1", "ok.pdf" }, { "file-2", "r2", "empty.docx" } },
        { { id = "ij-1", records = { record("r1", "ok.pdf", "completed"), failed("r2", "empty.docx", E) } } },
        { job_type = "context_grounded_files" }))
      assert.equal(2, s.viable_files)
      assert.same({ "failed_files" }, kinds(s))
      assert.matches("^1 file failed ingestion: empty%.docx", s.blockers[1].message)
      assert.is_true(s.can_start_after_removal)
    end)

    describe("blockers", function()
      it("ingesting: files still queued or running", function()
        local s = summary.of(job_detail({ { "file-1", "r1" }, { "file-2", "r2" } },
          { { id = "ij-1", records = { record("r1", "a.pdf", "queued"), record("r2", "b.pdf", "running") } } },
          { status = "file_processing" }))
        assert.same({ "ingesting" }, kinds(s))
        assert.equal("2 files are still being ingested", s.blockers[1].message)
        assert.is_false(s.can_start_after_removal) -- not until ingestion ends
        assert.equal(0, s.viable_files)
      end)

      it("failed_files and no_viable_file: every attached file failed", function()
        local E = TEXTS.empty_file
        local s = summary.of(failing_job { { "a.docx", E[1], E[2] }, { "b.docx", E[1], E[2] } })
        assert.same({ "failed_files", "no_viable_file" }, kinds(s))
        assert.equal("2 files failed ingestion: a.docx, b.docx", s.blockers[1].message)
        assert.is_false(s.can_start_after_removal)
      end)

      it("missing_system_prompt: a principle_files job without one", function()
        local d = core.json_decode([[{"id":"dj-1","status":"needs_review","job_type":"principle_files",
          "system_prompt":null,"files":[{"file_id":"file-md","record_id":null,"name":"a.md"}],"ingestion_jobs":[]}]],
          "data_job")
        local s = summary.of(d)
        assert.same({ "missing_system_prompt" }, kinds(s))
        assert.is_false(s.can_start_after_removal)
        assert.equal(1, s.viable_files)
      end)

      it("missing_vector_database_id, and no file needed for a vector-db job", function()
        local d = core.json_decode([[{"id":"dj-1","status":"needs_review","job_type":"context_grounded_vector_db",
          "vector_database_id":null,"files":[],"ingestion_jobs":[]}]], "data_job")
        local s = summary.of(d)
        assert.same({ "missing_vector_database_id" }, kinds(s))
        assert.is_false(s.can_start_after_removal)
        d.vector_database_id = "vdb-1"
        d.status = "needs_review" -- as if the detail were stale: nothing left to explain it
        s = summary.of(d)
        assert.same({ "status" }, kinds(s))
        assert.is_false(s.can_start_after_removal)
      end)

      it("no_files: a file-based job with nothing attached", function()
        local d = core.json_decode([[{"id":"dj-1","status":"needs_review","job_type":"context_grounded_files",
          "status_message":"No files attached.","files":[],"ingestion_jobs":[]}]], "data_job")
        local s = summary.of(d)
        assert.same({ "no_files" }, kinds(s))
        assert.is_false(s.can_start_after_removal)
      end)

      it("no_files: a detail without files[] at all, which the API may send for no files", function()
        -- the contract marks no array of the detail required: an empty one may be left out
        local d = core.json_decode([[{"id":"dj-1","status":"needs_review","job_type":"context_grounded_files",
          "status_message":"No files attached."}]], "data_job")
        local s = summary.of(d)
        assert.same({ "no_files" }, kinds(s))
        assert.is_false(s.can_start_after_removal)
        assert.equal(0, s.viable_files)
        assert.matches("Add at least one document", summary.render(s))
        -- files: null and a files of the wrong shape read the same: nothing attached
        for _, files in ipairs({ "null", '"x"', "7", "{}" }) do
          d = core.json_decode(([[{"status":"needs_review","job_type":"principle_files","system_prompt":"p",
            "files":%s}]]):format(files), "data_job")
          assert.same({ "no_files" }, kinds(summary.of(d)), files)
        end
      end)

      it("no_files: whatever job_type says, context_grounded_vector_db aside", function()
        -- every file-based type needs a file to start; a detail that does not say
        -- its type (or says one this client does not know) is no exception
        for _, detail in ipairs({
          { status = "needs_review", files = {} },
          { status = "needs_review" },
          { status = "needs_review", job_type = "some_future_type", files = {} },
          { status = "needs_review", job_type = core.null, files = core.null },
        }) do
          local s = summary.of(detail)
          assert.same({ "no_files" }, kinds(s))
          assert.is_false(s.can_start_after_removal)
        end
        -- the one type documented to need no files is not blocked by having none
        local s = summary.of { status = "needs_review", job_type = "context_grounded_vector_db",
          vector_database_id = "v", files = {} }
        assert.same({ "status" }, kinds(s))
      end)

      it("none once ready_to_start or past /start", function()
        for _, status in ipairs({ "ready_to_start", "queued", "running", "completed", "failed", "cancelled" }) do
          local s = summary.of(decode { id = "dj-1", status = status, job_type = "principle_files",
            alignment_job_id = status ~= "ready_to_start" and "al-1" or nil, files = {}, ingestion_jobs = {} })
          assert.same({}, s.blockers, status)
          assert.equal(status == "ready_to_start", s.can_start)
          assert.equal(status == "ready_to_start", s.can_start_after_removal)
        end
      end)
    end)

    it("works on empty and partial details, plain tables included", function()
      local s = summary.of({})
      assert.same({}, s.failed)
      -- no files[] is no files attached (README), whatever else is missing
      assert.same({ "no_files" }, kinds(s))
      assert.is_false(s.can_start)
      assert.is_false(s.can_start_after_removal)
      assert.equal(0, s.viable_files)
      assert.same({ remove = {}, retry = {}, replace = {}, support = {} }, s.plan)
      -- the server's words when the detail does not show why it is not ready
      s = summary.of(decode { id = "dj-2", status = "needs_review", job_type = "principle_files", system_prompt = "p",
        status_message = "Something is off.", files = { { file_id = "f", status = "running" } } })
      assert.same({ "ingesting" }, kinds(s))
      s = summary.of(decode { id = "dj-2", status = "needs_review", job_type = "context_grounded_vector_db",
        vector_database_id = "v", status_message = "Something is off." })
      assert.same({ "status" }, kinds(s))
      assert.matches("Something is off", s.blockers[1].message)
      -- files[] only: the file entry's status and fix still tell the cause
      s = summary.of { status = "needs_review", job_type = "context_grounded_files",
        files = { { file_id = "file-1", record_id = "r1", name = "x.pdf", status = "failed",
          suggested_fix = "Upload a valid, unprotected PDF." } } }
      assert.equal("corrupt_pdf", s.failed[1].cause)
      assert.same({ "file-1" }, s.plan.replace)
      -- nulls inside arrays and odd shapes are skipped
      s = summary.of(core.json_decode([[{"files":[null,{"file_id":"f","name":"a.md"}],
        "ingestion_jobs":[null,{"records":null}]}]], "data_job"))
      assert.equal(1, s.viable_files)
      -- no record_id is not "Markdown": a file of unknown status is not counted as usable
      s = summary.of { files = { { file_id = "f" } } }
      assert.equal(0, s.viable_files)
    end)

    it("reads any detail whatever its field names, through seekrflow.detail", function()
      local t = {
        id = "dj-1", status = "needs_review", job_type = "principle_files", system_prompt = "p",
        records = "x", each_file = 1, failed_records = true, each_event = {}, current_record = "y",
        files = { { file_id = "file-1", record_id = "r1", name = "a.pdf" },
          { file_id = "file-2", name = "b.pdf", status = "failed" }, { file_id = "file-3", name = "c.md" } },
        ingestion_jobs = { { id = "ij-1", records = { record("r1", "a.pdf", "failed", TEXTS.empty_file[1],
          TEXTS.empty_file[2]) } } },
      }
      for _, d in ipairs { t, decode(t) } do
        local s = summary.of(d)
        assert.equal(2, #s.failed)
        assert.equal("empty_file", entry_for(s, "a.pdf").cause)
        -- a file without record_id and status failed is failed, not "Markdown, ready"
        assert.truthy(entry_for(s, "b.pdf"))
        assert.equal(1, s.viable_files)
        assert.truthy(summary.render(s):find("b.pdf", 1, true))
      end
    end)

    it("returns plain data that encodes as JSON", function()
      local s = summary.of(failing_job { { "a.pdf", TEXTS.corrupt_pdf[1], TEXTS.corrupt_pdf[2] } })
      local function walk(v, path)
        if type(v) ~= "table" then
          assert.is_true(type(v) == "string" or type(v) == "number" or type(v) == "boolean", path)
          return
        end
        -- lists are marked as JSON arrays; nothing else carries a metatable
        local mt = getmetatable(v)
        assert.is_true(mt == nil or mt == core.array_mt, path)
        for k, x in pairs(v) do walk(x, path .. "." .. tostring(k)) end
      end
      walk(s, "summary")
      local encoded = core.json_encode(s)
      assert.matches('"support":%[%]', encoded) -- an empty list stays a list
      local again = core.json_decode(encoded)
      assert.equal("corrupt_pdf", again.failed[1].cause)
      assert.equal("a.pdf", again.causes[1].files[1].filename)
    end)

    it("refuses a non-table", function()
      arg_error(function() summary.of(nil) end)
      arg_error(function() summary.of("dj-1") end)
    end)
  end)

  describe("render", function()
    local mixed
    before_each(function()
      local E, T, C = TEXTS.empty_file, TEXTS.service_unavailable, TEXTS.corrupt_pdf
      local d = failing_job({ { "empty.docx", E[1], E[2] }, { "flaky.pdf", T[1], T[2] }, { "scan.pdf", C[1], C[2] },
        { "odd.pdf", "The file is haunted.", "Call a priest." } })
      d.files[#d.files + 1] = { file_id = "file-md", name = "notes.md" }
      mixed = summary.of(d)
    end)

    it("shows what failed, grouped by cause, then the blockers, the next steps and a verdict", function()
      local text = summary.render(mixed)
      assert.is_nil(text:find("\27[", 1, true))
      assert.matches("^dj%-1 \"Support docs\" %(principle_files%): needs_review\n", text)
      for _, needle in ipairs({
        TEXTS.empty_file[1], "✗ empty.docx (file-1): " .. summary.CAUSES.empty_file.action_text,
        TEXTS.service_unavailable[1], "✗ flaky.pdf (file-2): " .. summary.CAUSES.service_unavailable.action_text,
        "✗ odd.pdf (file-4): The file is haunted. — Follow the suggested fix: Call a priest.",
        "Blocking /start:", "- 4 files failed ingestion: empty.docx, flaky.pdf, odd.pdf, scan.pdf",
        "Add the transient failures again after a brief wait: seekrflow add-files dj-1 --retry-failed",
        "Then remove the other failed files: seekrflow remove-files dj-1 --failed",
      }) do
        assert.truthy(text:find(needle, 1, true), "missing: " .. needle .. "\n" .. text)
      end
      -- notes.md did not fail: not mentioned
      assert.is_nil(text:find("notes.md", 1, true))
      local all = lines(text)
      assert.equal("Ready to start once the failed files are removed.", all[#all])
      assert.truthy(text:find("removed%.\n$")) -- every line ends with a newline, the last one too
    end)

    it("uses ANSI styles only when asked", function()
      local text = summary.render(mixed, { color = true })
      assert.truthy(text:find("\27[31m✗\27[0m", 1, true))
      assert.truthy(text:find("\27[1m", 1, true))
      assert.truthy(text:find("\27[33m" .. summary.CAUSES.empty_file.action_text, 1, true))
      local plain = summary.render(mixed, { color = false, width = 60 })
      assert.is_nil(plain:find("\27[", 1, true))
    end)

    it("wraps to the width, continuing commands with a backslash", function()
      for _, width in ipairs({ 30, 44, 72 }) do
        for _, color in ipairs({ false, true }) do
          local text = summary.render(mixed, { width = width, color = color })
          for _, line in ipairs(lines(text)) do
            assert.is_true(columns(line) <= width, ("%d columns > %d: %q"):format(columns(line), width, line))
          end
          local plain = text:gsub("\27%[[%d;]*m", "")
          -- the words all survive wrapping
          assert.truthy(plain:gsub("%s+", " "):find("flaky.pdf (file-2): A temporary outage", 1, true))
        end
      end
      local narrow = summary.render(mixed, { width = 30 })
      assert.truthy(narrow:find("seekrflow \\\n", 1, true) or narrow:find("remove-files \\\n", 1, true)
        or narrow:find("dj-1 \\\n", 1, true), narrow)
    end)

    it("cuts a word too long for any line, except ids in commands", function()
      local long = string.rep("x", 80) .. ".pdf"
      local s = summary.of(failing_job({ { long, TEXTS.empty_file[1], TEXTS.empty_file[2] } },
        { id = "dj-" .. string.rep("7", 40) }))
      local text = summary.render(s, { width = 40 })
      assert.truthy(text:find("…", 1, true))
      assert.truthy(text:find("dj-" .. string.rep("7", 40), 1, true)) -- kept whole in the commands
    end)

    it("neutralises escapes, C1 and bidi controls in server text, with and without colour", function()
      local hostile = "\27]0;PWNED\7\27[2J\27[32mALL GOOD\194\155\226\128\174"
      local s = summary.of(failing_job({ { hostile .. ".pdf", "bad " .. hostile, "fix " .. hostile } },
        { name = hostile, status_message = hostile }))
      for _, color in ipairs { false, true } do
        local text = summary.render(s, { color = color, width = 200 })
        local plain = text:gsub("\27%[[%d;]*m", "") -- the renderer's own colours
        assert.is_nil(plain:find("[%z\1-\9\11-\31\127]"), plain)
        assert.is_nil(plain:find("\194[\128-\159]"), plain)
        assert.is_nil(plain:find("\226\128\174", 1, true), plain)
        assert.truthy(plain:find("\\x1b]0;PWNED\\x07", 1, true), plain)
      end
    end)

    it("gives a single line when nothing is wrong", function()
      local ready = summary.of(decode { id = "dj-9", name = "Ready", status = "ready_to_start",
        job_type = "principle_files", system_prompt = "p", files = { { file_id = "f", name = "a.md" } } })
      assert.equal('dj-9 "Ready" is ready to start.\n', summary.render(ready))
      local running = summary.of(decode { id = "dj-9", status = "running", alignment_job_id = "al-1" })
      assert.equal("dj-9: running (alignment started).\n", summary.render(running, { color = true }))
      assert.equal("data job: status unknown\n",
        summary.render(summary.of({ job_type = "context_grounded_vector_db", vector_database_id = "v" })))
    end)

    it("says why a job cannot start", function()
      local E = TEXTS.empty_file
      local s = summary.of(failing_job({ { "a.docx", E[1], E[2] } }, { system_prompt = core.null }))
      local all = lines(summary.render(s))
      assert.equal("Cannot start: no attached file would remain usable once the failed ones are removed; "
        .. "principle_files jobs need a system prompt, and this one has none.", all[#all])
      assert.truthy(table.concat(all, "\n"):find("Set a system prompt", 1, true))
    end)

    it("checks its arguments", function()
      arg_error(function() summary.render(nil) end)
      arg_error(function() summary.render(mixed, "wide") end)
      arg_error(function() summary.render(mixed, { colour = true }) end)
      arg_error(function() summary.render(mixed, { width = 0 }) end)
      arg_error(function() summary.render(mixed, { width = "80" }) end)
    end)
  end)
end)

describe("summary of simulator details", function()
  local client
  sim.client_per_test(function(c) client = c end)

  it("names each documented failure produced for real, then escalates a repeated internal failure", function()
    local uploads = {
      { "good.pdf", "%PDF-1.7 fine" },
      { "empty.docx", "" },
      { "scan.pdf", "JFIF an image, not a PDF" },
      { "poster.pdf", "%PDF-1.7 SIM:OVERSIZED_PAGES" },
      { "flaky.pdf", "%PDF-1.7 SIM:TRANSIENT" },
      { "crash.pdf", "%PDF-1.7 SIM:INTERNAL" },
    }
    local ids, by_name = {}, {}
    for i, u in ipairs(uploads) do
      ids[i] = sim.file(u[1], u[2]).id
      by_name[u[1]] = ids[i]
    end
    ids[#ids + 1] = "file-does-not-exist"
    local job = client.data_jobs:create { name = "all failures", job_type = "principle_files", system_prompt = "p" }
    client.data_jobs:add_files(job.id, ids)
    local detail = sim.settled(client, job.id)
    assert.equal("needs_review", detail.status)

    local s = summary.of(detail)
    local expected = {
      ["empty.docx"] = "empty_file", ["scan.pdf"] = "corrupt_pdf", ["poster.pdf"] = "oversized_pages",
      ["flaky.pdf"] = "service_unavailable", ["crash.pdf"] = "internal_failure",
      ["file-does-not-exist"] = "file_not_found",
    }
    assert.equal(6, #s.failed)
    for name, cause in pairs(expected) do
      local e = entry_for(s, name)
      assert.is_table(e, name)
      assert.equal(cause, e.cause, name)
      assert.equal(summary.CAUSES[cause].action, e.action, name)
      assert.equal(by_name[name] or "file-does-not-exist", e.file_id)
      assert.is_string(e.record_id)
      assert.is_string(e.failed_at)
    end
    assert.equal(1, s.viable_files)
    assert.same({ "failed_files" }, kinds(s))
    assert.is_true(s.can_start_after_removal)
    assert.same({ by_name["crash.pdf"], by_name["flaky.pdf"] }, s.plan.retry)
    assert.equal(4, #s.plan.replace)
    assert.equal(6, #s.plan.remove)

    -- Add both retryable files again: the outage is over, the internal failure is not.
    client.data_jobs:add_files(job.id, s.plan.retry)
    s = summary.of(sim.settled(client, job.id))
    assert.equal(5, #s.failed)
    assert.is_nil(entry_for(s, "flaky.pdf"))
    assert.equal("support", entry_for(s, "crash.pdf").action)
    assert.same({ by_name["crash.pdf"] }, s.plan.support)
    assert.same({}, s.plan.retry)
    assert.equal(2, s.viable_files)
    assert.truthy(summary.render(s):find("Contact SeekrFlow support about: " .. by_name["crash.pdf"], 1, true))
  end)

  it("sees that nothing would be left when every file failed", function()
    local id = sim.job_with_files(client, { { "a.pdf", "not a pdf" }, { "b.docx", "" } })
    local s = summary.of(sim.settled(client, id))
    assert.same({ "failed_files", "no_viable_file" }, kinds(s))
    assert.is_false(s.can_start_after_removal)
  end)

  it("reads blockers of real jobs: ingesting, missing prompt, vector db, ready", function()
    local id = sim.job_with_files(client, { { "big.pdf", "%PDF-1.7 " .. string.rep("x", 200000) } })
    local s = summary.of(client.data_jobs:retrieve(id))
    assert.equal("file_processing", s.status)
    assert.same({ "ingesting" }, kinds(s))
    assert.equal("1 file is still being ingested", s.blockers[1].message)
    s = summary.of(sim.settled(client, id))
    assert.is_true(s.can_start)
    assert.same({}, s.blockers)

    local no_prompt = client.data_jobs:create { name = "np", job_type = "principle_files" }
    client.data_jobs:add_files(no_prompt.id, { sim.file("notes.md", "# Notes\n\ntext").id })
    s = summary.of(client.data_jobs:retrieve(no_prompt.id))
    assert.equal("needs_review", s.status)
    assert.same({ "missing_system_prompt" }, kinds(s))

    local vdb = client.data_jobs:create { name = "v", job_type = "context_grounded_vector_db" }
    s = summary.of(client.data_jobs:retrieve(vdb.id))
    assert.same({ "missing_vector_database_id" }, kinds(s))
    client.data_jobs:update(vdb.id, { vector_database_id = "vdb-1" })
    s = summary.of(client.data_jobs:retrieve(vdb.id))
    assert.is_true(s.can_start)

    local empty = client.data_jobs:create { name = "e", job_type = "context_grounded_files" }
    s = summary.of(client.data_jobs:retrieve(empty.id))
    -- A spec-minimal server leaves out an empty `files`: that too is no files attached.
    assert.same({ "no_files" }, kinds(s))
  end)
end)
