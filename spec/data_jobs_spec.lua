-- client.data_jobs over real HTTP to the simulator, through the C core.
local sim = require "helpers.sim"
local seekrflow = sim.seekrflow

local util = require "helpers.util"
local arg_error = util.arg_error

describe("data_jobs", function()
  local client
  sim.client_per_test(function(c) client = c end)

  describe("list", function()
    it("returns the API's envelope with every job", function()
      for i = 1, 3 do client.data_jobs:create { name = "job " .. i, job_type = "principle_files" } end
      local page = client.data_jobs:list()
      assert.equal("list", page.object)
      assert.is_true(seekrflow.is_array(page.data))
      assert.equal(3, #page.data)
      for _, job in ipairs(page.data) do
        assert.matches("^dj%-", job.id)
        assert.is_string(job.status)
        assert.is_string(job.created_at)
        assert.is_nil(job.alignment_job_id) -- null in JSON is nil here
      end
    end)

    it("sends every parameter and the server honours them", function()
      client.data_jobs:create { name = "b", job_type = "principle_files" }
      client.data_jobs:create { name = "a", job_type = "context_grounded_files" }
      client.data_jobs:create { name = "c", job_type = "principle_files" }
      local page = client.data_jobs:list { job_type = "principle_files", sort_by = "name", sort_order = "asc",
        limit = 1, offset = 1 }
      assert.equal(1, #page.data)
      assert.equal("c", page.data[1].name)
      local seen = sim.requests_for("GET /v1/flow/data-jobs")
      local q = seen[#seen].query
      assert.matches("job_type=principle_files", q)
      assert.matches("sort_by=name", q)
      assert.matches("sort_order=asc", q)
      assert.matches("limit=1", q)
      assert.matches("offset=1", q)
      local desc = client.data_jobs:list { sort_by = "name", sort_order = "desc" }
      assert.same({ "c", "b", "a" }, { desc.data[1].name, desc.data[2].name, desc.data[3].name })
    end)

    it("checks every parameter before any request is sent", function()
      local before = sim.stats().requests
      arg_error(function() client.data_jobs:list { limit = 0 } end)
      arg_error(function() client.data_jobs:list { limit = 101 } end)
      arg_error(function() client.data_jobs:list { limit = 2.5 } end)
      arg_error(function() client.data_jobs:list { offset = -1 } end)
      arg_error(function() client.data_jobs:list { sort_by = "size" } end)
      arg_error(function() client.data_jobs:list { sort_order = "up" } end)
      arg_error(function() client.data_jobs:list { job_type = "pdfs" } end)
      local err = arg_error(function() client.data_jobs:list { limt = 5 } end)
      assert.matches("limt", err.message)
      assert.matches("limit", err.message)
      arg_error(function() client.data_jobs:list("limit=5") end)
      assert.equal(before, sim.stats().requests)
    end)

    it("surfaces the server's own 422 for out-of-range values", function()
      local ok, err = pcall(client.request, client, "GET", "flow/data-jobs", { query = { limit = 0 } })
      assert.is_false(ok)
      assert.equal("status", err.kind)
      assert.equal(422, err.status)
      assert.equal("unprocessable", err.class)
      assert.is_table(err.detail)
      assert.same({ "query", "limit" }, { err.detail[1].loc[1], err.detail[1].loc[2] })
      assert.matches("query.limit", err.message)
    end)
  end)

  describe("retrieve", function()
    it("returns a detail with nulls as nil, integers and empty arrays", function()
      local id = sim.job_with_files(client, {
        { "a.pdf", "%PDF-1.7 fine" }, { "b.pdf", "%PDF-1.7 fine" }, { "c.pdf", "%PDF-1.7 fine" },
      })
      local detail = client.data_jobs:retrieve(id)
      assert.equal(id, detail.id)
      assert.is_nil(detail.alignment_job)
      assert.is_nil(detail.alignment_job_id)
      assert.is_true(seekrflow.is_array(detail.fine_tuning_job_ids))
      assert.equal(0, #detail.fine_tuning_job_ids)
      assert.equal("[]", seekrflow.json_encode(detail.fine_tuning_job_ids))
      assert.equal(1, #detail.ingestion_jobs)
      local queued_position
      for _, record in detail:records() do
        if record.status == "queued" then queued_position = record.queue_position end
        if record.status == "queued" or record.status == "running" then
          assert.is_nil(record.completed_at)
          assert.is_nil(record.error_message)
        end
      end
      if queued_position and math.type then
        assert.equal("integer", math.type(queued_position))
        assert.equal(tostring(math.floor(queued_position)), tostring(queued_position))
      end
    end)

    it("follows a job through ingestion to failed records with their fixes", function()
      local id = sim.job_with_files(client, {
        { "good.pdf", "%PDF-1.7 fine" }, { "empty.docx", "" }, { "broken.pdf", "not a pdf" },
        { "notes.md", "# Notes\n\ntext" },
      })
      local detail = sim.settled(client, id)
      assert.equal("needs_review", detail.status)
      local failed = {}
      for ingestion_job, record in detail:failed_records() do
        assert.is_string(ingestion_job.id)
        failed[record.filename] = record
      end
      assert.equal("The file appears to be empty.", failed["empty.docx"].error_message)
      assert.equal("Upload a file with content.", failed["empty.docx"].suggested_fix)
      assert.equal("Upload a valid, unprotected PDF.", failed["broken.pdf"].suggested_fix)
      assert.is_string(failed["broken.pdf"].failed_at)
      assert.is_nil(failed["good.pdf"])
      local names, markdown = {}, nil
      for file in detail:each_file() do
        names[#names + 1] = file.name
        if file.name == "notes.md" then markdown = file end
      end
      assert.equal(4, #names)
      assert.is_nil(markdown.record_id) -- Markdown skips ingestion
      local events = {}
      for event in detail:each_event() do events[#events + 1] = event.event_type end
      assert.equal("Created", events[1])
      assert.truthy(table.concat(events, ","):find("File Processing Completed", 1, true))
    end)

    it("answers an unknown id with a not_found error", function()
      local ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-does-not-exist")
      assert.is_false(ok)
      assert.equal(404, err.status)
      assert.equal("not_found", err.class)
      assert.is_true(seekrflow.errors.is(err, "not_found"))
      assert.matches("dj%-does%-not%-exist", err.detail)
    end)

    it("validates ids before they reach a URL", function()
      local before = sim.stats().requests
      for _, bad in ipairs({ "", "a/b", "dj-1?x=1", "dj#1", "dj 1", "dj\n1", "..%2f", string.rep("x", 300) }) do
        arg_error(function() client.data_jobs:retrieve(bad) end)
      end
      arg_error(function() client.data_jobs:retrieve(42) end)
      arg_error(function() client.data_jobs:retrieve() end)
      assert.equal(before, sim.stats().requests)
    end)
  end)

  describe("iter", function()
    it("walks every page lazily and stops on a short page", function()
      for i = 1, 7 do client.data_jobs:create { name = ("job %02d"):format(i), job_type = "principle_files" } end
      local before = sim.stats().routes["GET /v1/flow/data-jobs"] or 0
      local names = {}
      for job in client.data_jobs:iter { limit = 3, sort_by = "name", sort_order = "asc" } do
        names[#names + 1] = job.name
      end
      assert.equal(7, #names)
      assert.equal("job 01", names[1])
      assert.equal("job 07", names[7])
      -- pages of 3, 3 and 1: the short third page ends it
      assert.equal(3, sim.stats().routes["GET /v1/flow/data-jobs"] - before)
    end)

    it("fetches nothing until asked and honours max_items", function()
      for i = 1, 5 do client.data_jobs:create { name = "job " .. i, job_type = "principle_files" } end
      local before = sim.stats().routes["GET /v1/flow/data-jobs"] or 0
      local it = client.data_jobs:iter { limit = 2, max_items = 3 }
      assert.equal(before, sim.stats().routes["GET /v1/flow/data-jobs"] or 0)
      local count = 0
      for _ in it do count = count + 1 end
      assert.equal(3, count)
    end)

    it("never yields a job twice when jobs are created while it runs", function()
      local old = {}
      for i = 1, 6 do old[i] = client.data_jobs:create { name = "old " .. i, job_type = "principle_files" }.id end
      local seen, count, created = {}, 0, 0
      for job in client.data_jobs:iter { limit = 2 } do -- newest first: new jobs push old ones down
        assert.is_nil(seen[job.id], "job yielded twice: " .. job.id)
        seen[job.id] = true
        count = count + 1
        if created < 3 then
          created = created + 1
          client.data_jobs:create { name = "new " .. created, job_type = "principle_files" }
        end
      end
      for _, id in ipairs(old) do assert.is_true(seen[id], "old job skipped: " .. id) end
      assert.is_true(count >= 6)
    end)

    it("checks its parameters at once", function()
      arg_error(function() client.data_jobs:iter { max_items = 0 } end)
      arg_error(function() client.data_jobs:iter { page = 2 } end)
    end)
  end)

  describe("detail helpers", function()
    it("work on an empty or partial detail", function()
      local created = client.data_jobs:create { name = "empty", job_type = "principle_files" }
      local detail = client.data_jobs:retrieve(created.id)
      local n = 0
      for _ in detail:records() do n = n + 1 end
      for _ in detail:failed_records() do n = n + 1 end
      for _ in detail:each_file() do n = n + 1 end
      assert.equal(0, n)
      local partial = seekrflow.json_decode('{"id":"dj-x","ingestion_jobs":[{"id":"ij-1"},{"id":"ij-2","records":[]}]}')
      setmetatable(partial, getmetatable(detail))
      for _ in partial:records() do n = n + 1 end
      for _ in partial:each_event() do n = n + 1 end
      assert.equal(0, n)
    end)

    it("never shadow a schema field name", function()
      local core = require "seekrflow.core"
      local job = { "id", "user_id", "name", "job_type", "alignment_job_id", "origin_data_job_id", "deleted",
        "created_at", "updated_at", "status", "status_message", "system_prompt", "system_prompt_updated_at",
        "instructions", "instructions_updated_at", "resolved_instructions", "vector_database_id",
        "additional_alignment_file_ids", "ingestion_jobs", "alignment_job", "files", "fine_tuning_job_ids",
        "timeline", "description" }
      local fields_by_kind = {
        data_job = job,
        ingestion_job = { "id", "status", "created_at", "updated_at", "file_ids", "records" },
        file_record = { "record_id", "ingestion_job_id", "alignment_file_id", "user_id", "filename",
          "metaflow_job_id", "method", "status", "queue_position", "error_message", "suggested_fix", "worker_id",
          "deleted", "created_at", "processing_at", "completed_at", "failed_at" },
        job_file = { "file_id", "record_id", "name", "type", "created_at", "status", "suggested_fix", "bytes" },
        timeline_event = { "timestamp", "event_type", "message", "metadata" },
      }
      local checked = 0
      for _, mt in ipairs(core.kind_mts) do
        local kind = mt.__name:gsub("^seekrflow%.", "")
        for _, field in ipairs(fields_by_kind[kind] or {}) do
          checked = checked + 1
          assert.is_nil(rawget(mt.__index, field), kind .. " helper shadows field " .. field)
        end
      end
      assert.is_true(checked > 50)
      -- and the helpers really are there
      assert.is_function(core.kind_mts[1].__index.records)
    end)

    it("give each file with its current record and ingestion job", function()
      local client2 = sim.client()
      local id, ids = sim.job_with_files(client2, { { "t.pdf", "%PDF-1.7 SIM:TRANSIENT" }, { "n.md", "# N\n" } })
      sim.settled(client2, id)
      client2.data_jobs:add_files(id, { ids[1] }) -- added again: a new record becomes current
      local detail = sim.settled(client2, id)
      client2:close()
      local seen = {}
      for file, record, ingestion_job in detail:each_file() do
        seen[file.name] = { record = record, ingestion_job = ingestion_job }
      end
      assert.equal("completed", seen["t.pdf"].record.status) -- not the first, failed record
      assert.equal(2, #detail.ingestion_jobs)
      assert.equal(detail.ingestion_jobs[2].id, seen["t.pdf"].ingestion_job.id)
      assert.is_nil(seen["n.md"].record) -- Markdown skips ingestion
      assert.is_nil(seen["n.md"].ingestion_job)
    end)

    -- Issue 12 item 9: AlignmentFileType has 14 types; the client assumes none of them.
    it("treat every file type the API lists alike: only Markdown skips ingestion", function()
      local id = sim.job_with_files(client, { { "notes.txt", "plain text" }, { "page.html", "<p>hello</p>" },
        { "table.csv", "a,b\n1,2\n" }, { "n.md", "# N\n" } })
      local detail = sim.settled(client, id)
      local seen = {}
      for file, record in require("seekrflow.detail").each_file(detail) do
        seen[file.name] = { markdown = require("seekrflow.detail").is_markdown(file), record = record }
      end
      for _, name in ipairs { "notes.txt", "page.html", "table.csv" } do
        assert.is_false(seen[name].markdown, name)
        assert.is_table(seen[name].record, name)
      end
      assert.is_true(seen["n.md"].markdown)
      assert.is_nil(seen["n.md"].record)
    end)

    it("skip records of removed files unless asked", function()
      local id, ids = sim.job_with_files(client, { { "ok.pdf", "%PDF-1.7" }, { "bad.pdf", "garbage" } })
      sim.settled(client, id)
      local detail = client.data_jobs:remove_files(id, { ids[2] })
      local live, all = 0, 0
      for _ in detail:records() do live = live + 1 end
      for _ in detail:records { include_deleted = true } do all = all + 1 end
      assert.equal(1, live)
      assert.equal(2, all)
    end)
  end)

  describe("call style", function()
    it("explains a dot call instead of failing obscurely", function()
      local err = arg_error(function() return client.data_jobs.retrieve("dj-1") end)
      assert.matches("colon", err.message)
      assert.matches("client.data_jobs:retrieve", err.message)
      err = arg_error(function() return client.data_jobs.list { limit = 2 } end)
      assert.matches("data_jobs:list", err.message)
      err = arg_error(function() return client.close() end)
      assert.matches("colon", err.message)
    end)

    it("keeps working for clients made before the core is required again (a module reload)", function()
      local core = require "seekrflow.core"
      local before = sim.client()
      local req = before.data_jobs:list(nil, { async = true })
      package.loaded["seekrflow.core"] = nil
      package.loaded["seekrflow.data_jobs"] = nil
      assert.equal(core, require "seekrflow.core") -- the same table: metatables unchanged
      assert.equal(core.data_jobs, require "seekrflow.data_jobs")
      assert.equal("list", req:perform().object) -- objects made before are still recognised
      assert.equal("list", before.data_jobs:list().object)
      before:close()
    end)

    it("returns nil, err in return mode, for both I/O and argument errors", function()
      local quiet = sim.client { errors = "return" }
      local detail, err = quiet.data_jobs:retrieve("dj-missing")
      assert.is_nil(detail)
      assert.equal(404, err.status)
      detail, err = quiet.data_jobs:retrieve("bad/id")
      assert.is_nil(detail)
      assert.equal("invalid_argument", err.kind)
      local page = quiet.data_jobs:list { limit = 2 }
      assert.equal("list", page.object)
      quiet:close()
    end)
  end)
end)

-- Before each spec: a reset simulator, a raising client, a quiet one
-- (errors = "return") and a scratch directory, all gone after it.
local function fresh_clients_and_dir()
  local state = {}
  before_each(function()
    sim.reset()
    state.client = sim.client()
    state.quiet = sim.client { errors = "return" }
    state.dir = util.temp_dir()
  end)
  after_each(function()
    state.client:close()
    state.quiet:close()
    util.remove_dir(state.dir)
  end)
  return state
end

describe("files", function()
  local client, quiet, dir
  local state = fresh_clients_and_dir()
  before_each(function() client, quiet, dir = state.client, state.quiet, state.dir end)

  local function write(name, content) return util.write_file(dir, name, content) end

  it("uploads a file as multipart and gets it back by id", function()
    local content = "%PDF-1.7\n" .. string.rep("x", 200000)
    local file = client.files:upload(write("report.pdf", content))
    assert.matches("^file%-", file.id)
    assert.equal("report.pdf", file.filename)
    assert.equal(#content, file.bytes)
    assert.equal("alignment", file.purpose)
    assert.equal(file.id, client.files:retrieve(file.id).id)
    local log = sim.requests_for("PUT /v1/flow/files")
    assert.matches("^multipart/form%-data", log[#log].headers["content-type"])
    local listed = client.files:list { purpose = "alignment" }
    assert.equal(1, #listed.data)
  end)

  it("drives a whole job through the real endpoints", function()
    local good = client.files:upload(write("good.pdf", "%PDF-1.7 good"))
    local bad = client.files:upload(write("bad.pdf", "this is not a pdf"))
    local job = client.data_jobs:create { name = "real", job_type = "principle_files", system_prompt = "Be brief." }
    client.data_jobs:add_files(job.id, { file_ids = { good.id, bad.id }, method = "best" })
    local detail = sim.settled(client, job.id)
    assert.equal("needs_review", detail.status)
    detail = client.data_jobs:remove_files(job.id, { bad.id })
    assert.equal("ready_to_start", detail.status)
    detail = client.data_jobs:start(job.id)
    assert.is_string(detail.alignment_job_id)
    local done = sim.eventually(function()
      local d = client.data_jobs:retrieve(job.id)
      return d.status == "completed" and d or nil
    end, 20, "alignment to complete")
    assert.is_true(#done.alignment_job.output_files >= 1)
    local outputs = client.data_jobs:outputs(job.id)
    assert.is_true(#outputs >= 1)
    assert.is_string(outputs[1].filename)
    local copy = client.data_jobs:clone(job.id, { name = "copy" })
    assert.equal(job.id, copy.origin_data_job_id)
    local updated = client.data_jobs:update(copy.id, { system_prompt = "Be thorough." })
    assert.equal("Be thorough.", updated.system_prompt)
    assert.is_true(client.data_jobs:delete(copy.id))
    local prompt = client.data_jobs:generate_system_prompt { instructions = "Answer airline questions." }
    assert.is_string(prompt.system_prompt)
  end)

  describe("download", function()
    local function listing()
      local p = io.popen("ls -A '" .. dir .. "'")
      local names = {}
      for name in p:lines() do names[#names + 1] = name end
      p:close()
      table.sort(names)
      return names
    end

    local read = util.read_file

    it("streams a file's content to disk and renames it into place", function()
      local content = ("0123456789abcdef"):rep(200000) .. "\0end" -- 3.2 MB, binary
      local file = sim.file("big.jsonl", content)
      local dest = dir .. "/out.jsonl"
      local result = client.files:download(file.id, dest)
      assert.equal(dest, result.path)
      assert.equal(#content, result.bytes)
      assert.equal(content, read(dest))
      assert.same({ "out.jsonl" }, listing()) -- no temporary file left
      assert.equal(1, #sim.requests_for("GET /v1/flow/files/{id}/content"))
    end)

    it("never leaves a half file, and keeps what was there", function()
      local file = sim.file("doc.pdf", ("x"):rep(5000))
      local dest = util.write_file(dir, "keep.pdf", "previous content")
      sim.fault { route = "GET /v1/flow/files/{id}/content", kind = "truncate", body = ("y"):rep(3000), times = -1 }
      local ok, err = pcall(client.files.download, client.files, file.id, dest)
      assert.is_false(ok)
      assert.is_table(err)
      assert.equal("previous content", read(dest))
      assert.same({ "keep.pdf" }, listing())
      sim.reset()
      local _, err2 = quiet.files:download("file-missing", dir .. "/new.pdf")
      assert.equal(404, err2.status)
      assert.same({ "keep.pdf" }, listing())
    end)

    it("checks the id and the destination before sending", function()
      local before = sim.stats().requests
      arg_error(function() client.files:download("..", dir .. "/a") end)
      arg_error(function() client.files:download("file-1", dir) end) -- a directory
      arg_error(function() client.files:download("file-1", dir .. "/a\0.pdf") end)
      arg_error(function() client.files:download("file-1", dir .. "/missing/dir/a.pdf") end)
      arg_error(function() client.files:download("file-1") end)
      arg_error(function() client.files:download("file-1", dir .. "/a", { async = true }) end)
      assert.equal(before, sim.stats().requests)
      assert.same({}, listing())
    end)
  end)

  it("refuses a missing file, a directory and a bad purpose before sending", function()
    local before = sim.stats().requests
    arg_error(function() client.files:upload(dir .. "/nope.pdf") end)
    arg_error(function() client.files:upload(dir) end)
    arg_error(function() client.files:upload(write("a.pdf", "x"), { purpose = "training" }) end)
    arg_error(function() client.files.upload(write("b.pdf", "x")) end)
    assert.equal(before, sim.stats().requests)
  end)
end)

-- Issue 7 (ids, NUL, non-object answers, paging) and issue 12 (what the API allows),
-- over real HTTP with the simulator's raw-body faults.
describe("resource methods against hostile and spec-valid answers", function()
  local client, quiet, dir
  local state = fresh_clients_and_dir()
  before_each(function() client, quiet, dir = state.client, state.quiet, state.dir end)

  local function answer(route, body, times)
    sim.fault { route = route, kind = "status", status = 200, body = body, times = times or 1 }
  end

  local function decode_error(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok, "expected a decode error")
    assert.equal("table", type(err), tostring(err))
    assert.equal("decode", err.kind, tostring(err))
    return err
  end

  describe("ids", function()
    it("refuses dot segments and every encoding of them before sending", function()
      local before = sim.stats().requests
      for _, id in ipairs { ".", "..", "...", "%2e", "%2E", "%2e%2e", ".%2e", "%2E.", "%252e" } do
        local err = arg_error(function() client.data_jobs:retrieve(id) end)
        assert.matches("data job id", err.message)
        arg_error(function() client.data_jobs:delete(id) end)
        arg_error(function() client.data_jobs:start(id) end)
        arg_error(function() client.files:retrieve(id) end)
        arg_error(function() client.data_jobs:add_files("dj-1", { id }) end)
      end
      assert.equal(before, sim.stats().requests)
    end)

    it("refuses a NUL anywhere and oversized values instead of cutting them", function()
      local before = sim.stats().requests
      local err = arg_error(function() client.data_jobs:retrieve("dj-1\0../x") end)
      assert.matches("NUL", err.message)
      arg_error(function() client.files:retrieve("file-1\0") end)
      arg_error(function() client.data_jobs:add_files("dj-1", { "file-1\0.pdf" }) end)
      arg_error(function() client.data_jobs:retrieve(("d"):rep(2000)) end)
      arg_error(function() client.data_jobs:create { name = "a\0b", job_type = "principle_files" } end)
      arg_error(function() client.data_jobs:create { name = ("n"):rep(256), job_type = "principle_files" } end)
      arg_error(function() client.data_jobs:update("dj-1", { system_prompt = "be\0brief" }) end)
      arg_error(function() client.data_jobs:list { job_type = "principle_files\0x" } end)
      err = arg_error(function() client.data_jobs:list { ["limit\0x"] = 5 } end) -- not the key "limit"
      assert.matches("unknown params field", err.message)
      local real = util.write_file(dir, "real.pdf", "%PDF-1.7")
      err = arg_error(function() client.files:upload(real .. "\0.pdf") end)
      assert.matches("NUL", err.message)
      err = arg_error(function() client.files:upload(real, { filename = "good.pdf\0evil.exe" }) end)
      assert.matches("NUL", err.message)
      arg_error(function() client.files:upload(real, { filename = ("f"):rep(256) }) end)
      arg_error(function() client.files:upload(("p"):rep(5000)) end)
      assert.equal(before, sim.stats().requests)
    end)
  end)

  describe("a body that is not what the method returns", function()
    local route = "GET /v1/flow/data-jobs/{id}"

    it("is a decode error for every non-object answer to retrieve", function()
      for _, body in ipairs { "null", "", "1", '"x"', "false", "true", "[]", "[{\"id\":\"dj-1\"}]" } do
        answer(route, body)
        local err = decode_error(function() client.data_jobs:retrieve("dj-1") end)
        assert.matches("data_jobs:retrieve expected a JSON object", err.message)
        answer(route, body)
        local detail, err2 = quiet.data_jobs:retrieve("dj-1")
        assert.is_nil(detail)
        assert.equal("decode", err2.kind)
      end
    end)

    it("is a decode error for the object endpoints and the list envelopes too", function()
      answer("POST /v1/flow/data-jobs", "[]")
      decode_error(function() client.data_jobs:create { name = "a", job_type = "principle_files" } end)
      answer("GET /v1/flow/data-jobs", "[]")
      decode_error(function() client.data_jobs:list() end)
      answer("GET /v1/flow/data-jobs", '{"object":"list","data":"x"}')
      decode_error(function() client.data_jobs:list() end)
      answer("GET /v1/flow/files", "1")
      decode_error(function() client.files:list() end)
      answer("GET /v1/flow/files/{id}", '"file"')
      decode_error(function() client.files:retrieve("file-1") end)
    end)

    it("is a decode error for async requests too, when their result is read", function()
      answer(route, "null")
      local req = client.data_jobs:retrieve("dj-1", { async = true })
      local err = decode_error(function() return req:perform() end)
      assert.equal(200, err.status)
      answer("GET /v1/flow/data-jobs", '{"object":"list"}')
      local page = client.data_jobs:list(nil, { async = true }):perform()
      assert.equal(0, #page.data)
    end)

    it("never breaks a delete that answers with no body", function()
      local job = client.data_jobs:create { name = "gone", job_type = "principle_files" }
      assert.is_true(client.data_jobs:delete(job.id))
    end)
  end)

  describe("list pages", function()
    -- Issue 12 item 2: data is not required in DataJobListResponse, and FileList allows null.
    it("without data, or with data null, are empty pages in list and iter", function()
      for _, body in ipairs { '{"object":"list"}', '{"object":"list","data":null}', "{}" } do
        answer("GET /v1/flow/data-jobs", body)
        local page = client.data_jobs:list()
        assert.is_true(seekrflow.is_array(page.data))
        assert.equal(0, #page.data)
        answer("GET /v1/flow/data-jobs", body)
        local n = 0
        for _ in client.data_jobs:iter() do n = n + 1 end
        assert.equal(0, n)
      end
      answer("GET /v1/flow/files", '{"object":null,"data":null}')
      assert.equal(0, #client.files:list().data)
    end)

    -- Issue 7 item 11: a server that ignores offset used to loop forever.
    it("stop with a clear error when the server ignores offset", function()
      local page = '{"object":"list","data":[{"id":"dj-a","name":"a"},{"id":"dj-b","name":"b"}]}'
      answer("GET /v1/flow/data-jobs", page, -1)
      local before = sim.stats().routes["GET /v1/flow/data-jobs"] or 0
      local seen = {}
      local ok, err = pcall(function()
        for job in client.data_jobs:iter { limit = 2 } do seen[#seen + 1] = job.id end
      end)
      assert.is_false(ok)
      assert.equal("paging", err.kind)
      assert.matches("ignores 'offset'", err.message)
      assert.same({ "dj-a", "dj-b" }, seen)
      assert.is_true(sim.stats().routes["GET /v1/flow/data-jobs"] - before <= 4)
    end)

    it("are bounded by max_items even when every page repeats", function()
      local page = '{"object":"list","data":[{"id":"dj-a"},{"id":"dj-b"}]}'
      answer("GET /v1/flow/data-jobs", page, -1)
      local before = sim.stats().routes["GET /v1/flow/data-jobs"] or 0
      local ok = pcall(function() for _ in client.data_jobs:iter { limit = 2, max_items = 3 } do end end)
      assert.is_false(ok)
      assert.is_true(sim.stats().routes["GET /v1/flow/data-jobs"] - before <= 3)
    end)

    it("page files too", function()
      for i = 1, 5 do sim.file("f" .. i .. ".pdf", "%PDF-1.7 " .. i) end
      local n = 0
      for file in client.files:iter { limit = 2 } do
        assert.matches("^file%-", file.id)
        n = n + 1
      end
      assert.equal(5, n)
    end)
  end)

  -- Issue 12 item 1: the outputs route is not in the published spec.
  describe("outputs", function()
    local route = "GET /v1/flow/data-jobs/{id}/outputs"
    local one = '{"id":"file-out","filename":"out.jsonl"}'

    it("accept a bare array, a list envelope and a single object", function()
      for _, body in ipairs { "[" .. one .. "]", '{"object":"list","data":[' .. one .. "]}", one } do
        answer(route, body)
        local outputs = client.data_jobs:outputs("dj-1")
        assert.is_true(seekrflow.is_array(outputs), body)
        assert.equal(1, #outputs)
        assert.equal("out.jsonl", outputs[1].filename)
      end
      answer(route, '{"object":"list","data":null}')
      assert.equal(0, #client.data_jobs:outputs("dj-1"))
    end)

    it("make anything else a decode error, never 'no outputs'", function()
      for _, body in ipairs { "null", "", '"x"', "1", "false", '{"object":"list","data":{"a":1}}' } do
        answer(route, body)
        decode_error(function() client.data_jobs:outputs("dj-1") end)
      end
    end)
  end)

  describe("what the API accepts", function()
    -- Issue 12 item 7: DataJobUpdateRequest fields are nullable.
    it("update clears a field with seekrflow.null", function()
      local job = client.data_jobs:create { name = "j", job_type = "principle_files", system_prompt = "Be brief.",
        instructions = "Airline questions.", vector_database_id = "vdb-1" }
      local updated = client.data_jobs:update(job.id, { system_prompt = seekrflow.null, instructions = seekrflow.null,
        vector_database_id = seekrflow.null })
      assert.is_nil(updated.system_prompt)
      assert.is_nil(updated.instructions)
      assert.is_nil(updated.vector_database_id)
      local log = sim.requests_for("PATCH /v1/flow/data-jobs/{id}")
      local body = seekrflow.json_decode(log[#log].body)
      assert.is_nil(body.name) -- not sent at all
      assert.matches('"system_prompt":null', log[#log].body)
      -- the name may be sent as null too (the server judges it)
      client.data_jobs:update(job.id, { name = seekrflow.null, system_prompt = "x" })
      log = sim.requests_for("PATCH /v1/flow/data-jobs/{id}")
      assert.matches('"name":null', log[#log].body)
      local err = arg_error(function() client.data_jobs:update(job.id, { name = false }) end)
      assert.matches("seekrflow.null", err.message)
    end)

    -- Issue 12 item 8: no stricter than the spec.
    it("takes every list purpose, an empty vector_database_id and empty instructions", function()
      for _, purpose in ipairs { "ingestion", "vector-ingestion", "", "alignment" } do
        local page = client.files:list { purpose = purpose }
        assert.is_table(page.data)
      end
      local seen = sim.requests_for("GET /v1/flow/files")
      assert.matches("purpose=vector%-ingestion", seen[2].query)
      local job = client.data_jobs:create { name = "vdb", job_type = "context_grounded_vector_db",
        vector_database_id = "" }
      assert.matches("^dj%-", job.id)
      -- instructions is required but has no minimum length: the server judges ""
      local _, err = quiet.data_jobs:generate_system_prompt { instructions = "" }
      assert.is_true(err == nil or err.kind ~= "invalid_argument")
      arg_error(function() client.files:list { purpose = "training" } end)
    end)

    -- Issue 12 item 6: description is not in the 5.108.1 request models.
    it("says when the service dropped the description it was sent", function()
      local job = client.data_jobs:create { name = "d", job_type = "principle_files", description = "Q4 prep" }
      assert.equal("Q4 prep", job.description_dropped)
      local updated = client.data_jobs:update(job.id, { description = "notes" })
      assert.equal("notes", updated.description_dropped)
      answer("PATCH /v1/flow/data-jobs/{id}", '{"id":"' .. job.id .. '","description":"kept"}')
      updated = client.data_jobs:update(job.id, { description = "kept" })
      assert.is_nil(updated.description_dropped)
      assert.is_nil(client.data_jobs:update(job.id, { name = "n" }).description_dropped)
    end)
  end)
end)
