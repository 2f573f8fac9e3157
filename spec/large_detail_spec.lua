-- A job with 20,000 attached files, served over real loopback HTTP: every view of its files
-- (the progress rows, watch.many's row, `seekrflow files`, a retry's plan) reads them in one
-- pass of detail.each_file, never a per-file lookup that indexes every record again (which
-- made these paths quadratic: minutes per poll at this size).
local hostile = require "helpers.hostile"
local util = require "helpers.util"
local run = require("helpers.cli").run
local seekrflow = require "seekrflow"
local detail_fns, progress, watch_many, remediate = util.modules("detail", "progress", "watch_many", "remediate")

local FILES = 20000
local JOB = "dj-large"

-- Every 8th file failed (retryable: an internal failure), more than one add-files takes;
-- half the files name their record, the other half are matched by alignment_file_id (the
-- fallback index).
local FAIL_EVERY = 8
local FAILED = FILES / FAIL_EVERY
local function large_detail_json()
  local files, records, ids = {}, {}, {}
  for i = 1, FILES do
    local fid, rid = ("file-%05d"):format(i), ("rec-%05d"):format(i)
    local failed = i % FAIL_EVERY == 0
    files[i] = ('{"file_id":"%s","name":"doc-%05d.pdf","type":"pdf","bytes":%d%s}')
      :format(fid, i, 1000 + i, i % 2 == 0 and (',"record_id":"' .. rid .. '"') or "")
    records[i] = ('{"record_id":"%s","alignment_file_id":"%s","filename":"doc-%05d.pdf","status":"%s",'
      .. '"method":"standard"%s}')
      :format(rid, fid, i, failed and "failed" or "completed",
        failed and ',"error_message":"Internal processing failure.","error_code":"internal"' or "")
    ids[i] = '"' .. fid .. '"'
  end
  return ('{"id":"%s","name":"large","job_type":"principle_files","status":"ready_to_start",'
    .. '"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","timeline":[],'
    .. '"files":[%s],"ingestion_jobs":[{"ingestion_job_id":"ij-1","status":"completed","file_ids":[%s],'
    .. '"records":[%s]}]}'):format(JOB, table.concat(files, ","), table.concat(ids, ","), table.concat(records, ","))
end

describe("a detail with 20,000 files", function()
  local server, dir, client
  local calls, saved = {}, {}

  setup(function()
    dir = util.temp_dir()
    local path = util.write_file(dir, "detail.json", large_detail_json())
    server = hostile.start { { body_file = path, headers = { ["Content-Type"] = "application/json" } } }
    client = seekrflow.new { api_key = "k", base_url = server.url .. "/v1" }
    -- count the per-file lookups (the detail table is the one every module uses)
    for _, name in ipairs({ "file_status", "current_record", "each_file" }) do
      saved[name] = detail_fns[name]
      detail_fns[name] = function(...)
        calls[name] = (calls[name] or 0) + 1
        return saved[name](...)
      end
    end
  end)

  teardown(function()
    for name, fn in pairs(saved) do detail_fns[name] = fn end
    client:close()
    server:stop()
    util.remove_dir(dir)
  end)

  before_each(function()
    for k in pairs(calls) do calls[k] = nil end
  end)

  local function per_file_lookups() return (calls.file_status or 0) + (calls.current_record or 0) end

  it("gives its progress rows in one pass", function()
    local d = client.data_jobs:retrieve(JOB)
    local rows = progress.file_rows(d)
    assert.equal(FILES, #rows)
    assert.equal("completed", rows[1].state)
    assert.equal("failed", rows[FAIL_EVERY].state)
    assert.equal("Internal processing failure.", rows[FAIL_EVERY].error_message)
    local counts = progress.counts(rows)
    assert.same({ completed = FILES - FAILED, failed = FAILED }, counts)
    assert.equal(1, calls.each_file)
    assert.equal(0, per_file_lookups())
  end)

  it("gives watch.many's row in one pass", function()
    local m = util.step_to_end(watch_many.new(client, { JOB }, { timeout = 600 }))
    local before = per_file_lookups()
    local rows = m:rows()
    assert.same({ FILES - FAILED, FAILED, 0, 0 },
      { rows[1].completed, rows[1].failed, rows[1].running, rows[1].queued })
    assert.equal(before, per_file_lookups())
    assert.equal(0, per_file_lookups())
  end)

  it("lists its files with `seekrflow files` in one pass", function()
    local code, out = run({ "files", JOB, "--base-url=" .. server.url .. "/v1", "--api-key=k" }, { no_auth = true })
    assert.equal(0, code)
    assert.equal(FILES + 1, #util.lines(out)) -- a header, then a row per file
    assert.matches("doc%-00040%.pdf.-failed", out)
    assert.equal(0, per_file_lookups())
  end)

  it("sums up its failures looking at each file's own history only", function()
    local summary = require "seekrflow.summary"
    local d = client.data_jobs:retrieve(JOB)
    local cause_of, classified = summary.cause_of, 0
    summary.cause_of = function(...)
      classified = classified + 1
      return cause_of(...)
    end
    local ok, s = pcall(summary.of, d)
    summary.cause_of = cause_of
    assert(ok, s)
    assert.equal(FAILED, #s.plan.retry)
    -- each failed record's cause once, and each failed file's: not every record for every file
    assert.is_true(classified <= 2 * FAILED, classified .. " classifications")
  end)

  it("retries its 2,500 failed files, each with its method, in one pass and in batches", function()
    local d = client.data_jobs:retrieve(JOB)
    assert.equal(FAILED, #remediate.plan(client, d).plan.retry)
    for k in pairs(calls) do calls[k] = nil end
    local sent = #server:requests()
    remediate.retry(client, d)
    local requests = server:requests()
    -- every file was added with the same method: add-files batches of at most max_file_ids,
    -- in order, together sending each failed file once
    local max = require("seekrflow.data_jobs").max_file_ids
    assert.equal(sent + math.ceil(FAILED / max), #requests)
    local ids = {}
    for i = sent + 1, #requests do
      local body = seekrflow.json_decode(requests[i].body)
      assert.equal("standard", body.method)
      assert.is_true(#body.file_ids <= max)
      for _, id in ipairs(body.file_ids) do ids[#ids + 1] = id end
    end
    assert.equal(FAILED, #ids)
    assert.equal("file-00008", ids[1])
    assert.equal(("file-%05d"):format(FILES), ids[#ids])
    assert.is_true(per_file_lookups() <= 1)
  end)
end)
