-- seekrflow.remediate over real HTTP to the simulator, through the C core.
local sim = require "helpers.sim"
local core = require "seekrflow.core"
local remediate = require "seekrflow.remediate"
local summary = require "seekrflow.summary"

local ADD = "POST /v1/flow/data-jobs/{id}/add-files"
local REMOVE = "POST /v1/flow/data-jobs/{id}/remove-files"
local UPLOAD = "PUT /v1/flow/files"

local function count(route) return sim.stats().routes[route] or 0 end

-- Requests that change something (anything but GET), in the order sent.
local function writes()
  local out = {}
  for _, r in ipairs(sim.requests()) do
    if r.method ~= "GET" then out[#out + 1] = r.route end
  end
  return out
end

local function body_of(route)
  local found = sim.requests_for(route)
  return core.json_decode(found[#found].body)
end

local function file_ids(detail)
  local ids = {}
  for file in detail:each_file() do ids[file.file_id] = true end
  return ids
end

local util = require "helpers.util"
local arg_error = util.arg_error

describe("remediate", function()
  local client, dir
  sim.client_per_test(function(c) client = c end)
  before_each(function() dir = util.temp_dir() end)
  after_each(function() util.remove_dir(dir) end)

  local function write(name, content) return util.write_file(dir, name, content) end

  describe("remove_failed", function()
    it("makes a needs_review job ready_to_start", function()
      local id, ids = sim.job_with_files(client, {
        { "good.pdf", "%PDF-1.7 fine" }, { "scan.pdf", "not a pdf" }, { "empty.docx", "" },
      })
      assert.equal("needs_review", sim.settled(client, id).status)
      local before = #writes()
      local detail = remediate.remove_failed(client, id)
      assert.equal("ready_to_start", detail.status)
      assert.same({ [ids[1]] = true }, file_ids(detail))
      local log = writes()
      assert.equal(before + 1, #log)
      assert.equal(REMOVE, log[#log])
      -- sorted by filename: empty.docx, then scan.pdf
      assert.same({ ids[3], ids[2] }, { body_of(REMOVE).file_ids[1], body_of(REMOVE).file_ids[2] })
      assert.is_true(summary.of(detail).can_start)
    end)

    it("takes a detail as it is, and sends nothing when nothing failed", function()
      local id = sim.job_with_files(client, { { "good.pdf", "%PDF-1.7 fine" }, { "scan.pdf", "not a pdf" } })
      local detail = remediate.remove_failed(client, sim.settled(client, id))
      assert.equal("ready_to_start", detail.status)
      local gets = count("GET /v1/flow/data-jobs/{id}")
      assert.equal(detail, remediate.remove_failed(client, detail)) -- the same table: no request at all
      assert.equal(gets, count("GET /v1/flow/data-jobs/{id}"))
      local again = remediate.remove_failed(client, id) -- by id: one GET, no POST
      assert.equal("ready_to_start", again.status)
      assert.equal(1, count(REMOVE))
    end)

    it("fetches the detail when given a job without one (a create response)", function()
      local job = client.data_jobs:create { name = "j", job_type = "principle_files", system_prompt = "p" }
      client.data_jobs:add_files(job.id, { sim.file("bad.pdf", "nope").id, sim.file("ok.md", "# OK\n\ntext").id })
      sim.settled(client, job.id)
      local detail = remediate.remove_failed(client, job)
      assert.equal("ready_to_start", detail.status)
      assert.equal(1, count(REMOVE))
    end)

    it("tells a detail by its metatable, not its keys: a detail without files[] costs no GET", function()
      local DETAIL = "GET /v1/flow/data-jobs/{id}"
      local empty = client.data_jobs:create { name = "e", job_type = "principle_files", system_prompt = "p" }
      -- a spec-minimal server leaves the empty files[] and ingestion_jobs[] out of this detail
      local detail = client.data_jobs:retrieve(empty.id)
      assert.equal(sim.minimal, detail.files == nil)
      local gets, sent = count(DETAIL), #writes()
      assert.equal(detail, remediate.remove_failed(client, detail))
      assert.equal(detail, remediate.retry(client, detail))
      assert.same({}, remediate.plan(client, detail).plan.remove)
      -- a detail decoded by hand, without any array, is a detail too
      local bare = core.json_decode(('{"id":"%s","status":"needs_review"}'):format(empty.id), "data_job")
      assert.equal(bare, remediate.remove_failed(client, bare))
      assert.equal(gets, count(DETAIL))
      assert.equal(sent, #writes())
    end)

    it("fetches by id a list item, and a table not decoded as a detail whatever its keys", function()
      local DETAIL = "GET /v1/flow/data-jobs/{id}"
      local id, ids = sim.job_with_files(client, { { "good.pdf", "%PDF-1.7 fine" }, { "scan.pdf", "not a pdf" } })
      local settled = sim.settled(client, id)
      local item = client.data_jobs:list().data[1]
      assert.equal(id, item.id)
      local gets = count(DETAIL)
      local detail = remediate.remove_failed(client, item)
      assert.equal(gets + 1, count(DETAIL))
      assert.equal(1, count(REMOVE))
      assert.same({ [ids[1]] = true }, file_ids(detail))
      -- a copy of a detail, with every key, is not the client's detail: fetched, and it
      -- shows the job as it is now (nothing failed any more)
      local copy = {}
      for k, v in pairs(settled) do copy[k] = v end
      assert.same({}, remediate.plan(client, copy).plan.remove)
      assert.equal(gets + 2, count(DETAIL))
      assert.equal(1, count(REMOVE))
    end)

    it("remove_batches: what it would send, max_file_ids ids at the most per request", function()
      local max = require("seekrflow.data_jobs").max_file_ids
      local files, records = {}, {}
      for i = 1, max + 1 do
        files[i] = { file_id = "file-" .. i, record_id = "ijf-" .. i, name = "f" .. i .. ".pdf" }
        records[i] = { record_id = "ijf-" .. i, filename = "f" .. i .. ".pdf", status = "failed",
          error_message = "The file appears to be empty." }
      end
      local d = core.json_decode(core.json_encode({ id = "dj-1", status = "needs_review", files = files,
        ingestion_jobs = { { id = "ij-1", records = records } } }), "data_job")
      local batches = remediate.remove_batches(d)
      assert.equal(2, #batches)
      assert.equal(max, #batches[1].file_ids)
      assert.equal(1, #batches[2].file_ids)
      -- in the summary's order (plan.remove), each failed file once
      local sent = {}
      for _, b in ipairs(batches) do
        for _, id in ipairs(b.file_ids) do sent[#sent + 1] = id end
      end
      assert.same(summary.of(d).plan.remove, sent)
      assert.same({}, remediate.remove_batches({ id = "dj-2", files = {}, ingestion_jobs = {} }))
      assert.matches("expected a data job detail", tostring(arg_error(function() remediate.remove_batches("dj-1") end)))
    end)
  end)

  describe("retry", function()
    it("adds a transiently failed file again, and the second ingestion succeeds", function()
      local good, flaky = sim.file("good.pdf", "%PDF-1.7 fine"), sim.file("flaky.pdf", "%PDF-1.7 SIM:TRANSIENT")
      local empty = sim.file("empty.docx", "")
      local job = client.data_jobs:create { name = "t", job_type = "principle_files", system_prompt = "p" }
      client.data_jobs:add_files(job.id, { file_ids = { good.id, flaky.id, empty.id }, method = "speed-optimized" })
      local s = summary.of(sim.settled(client, job.id))
      assert.same({ flaky.id }, s.plan.retry)

      local detail = remediate.retry(client, job.id)
      assert.equal("file_processing", detail.status)
      assert.equal(2, count(ADD))
      assert.same({ flaky.id }, { body_of(ADD).file_ids[1], body_of(ADD).file_ids[2] })
      assert.equal("speed-optimized", body_of(ADD).method) -- the method it failed with
      s = summary.of(sim.settled(client, job.id))
      assert.equal(1, #s.failed) -- only the empty file is left
      assert.equal("empty_file", s.failed[1].cause)
      assert.same({}, s.plan.retry)

      -- nothing left to retry: no POST
      assert.equal("needs_review", remediate.retry(client, job.id).status)
      assert.equal(2, count(ADD))
      assert.equal("ready_to_start", remediate.remove_failed(client, job.id).status)
    end)
  end)

  describe("replace", function()
    it("swaps a broken PDF for a good one: upload, one add-files, one remove-files", function()
      local id, ids = sim.job_with_files(client, { { "good.pdf", "%PDF-1.7 fine" }, { "broken.pdf", "nope" } })
      assert.equal("needs_review", sim.settled(client, id).status)
      local path = write("fixed.pdf", "%PDF-1.7 fixed")
      local before = #writes()
      local detail, file = remediate.replace(client, id, ids[2], path)
      assert.matches("^file%-", file.id)
      assert.equal("fixed.pdf", file.filename)
      local attached = file_ids(detail)
      assert.is_nil(attached[ids[2]])
      assert.is_true(attached[file.id])
      assert.is_true(attached[ids[1]])
      local log = writes()
      assert.same({ UPLOAD, ADD, REMOVE }, { log[before + 1], log[before + 2], log[before + 3] })
      assert.equal(before + 3, #log)
      assert.equal(1, #sim.requests_for(REMOVE))
      assert.equal(2, #sim.requests_for(ADD)) -- the job's first one, and ours
      assert.same({ file.id }, body_of(ADD).file_ids)
      assert.same({ ids[2] }, body_of(REMOVE).file_ids)
      assert.equal("ready_to_start", sim.settled(client, id).status)
    end)

    it("names the upload and keeps the old file's ingestion method", function()
      local bad = sim.file("bad.pdf", "nope")
      local job = client.data_jobs:create { name = "r", job_type = "principle_files", system_prompt = "p" }
      client.data_jobs:add_files(job.id, { file_ids = { bad.id }, method = "accuracy-optimized" })
      local detail, file = remediate.replace(client, sim.settled(client, job.id), bad.id,
        write("x.pdf", "%PDF-1.7 ok"), { filename = "report.pdf" })
      assert.equal("report.pdf", file.filename)
      assert.equal("accuracy-optimized", body_of(ADD).method)
      assert.equal("file_processing", detail.status)
    end)

    it("refuses a file that is not attached, naming it, before uploading anything", function()
      local id = sim.job_with_files(client, { { "good.pdf", "%PDF-1.7 fine" } })
      local err = arg_error(function() remediate.replace(client, id, "file-elsewhere", write("a.pdf", "%PDF-1.7")) end)
      assert.matches("file%-elsewhere", err.message)
      assert.matches(id, err.message, 1, true)
      assert.same({ "POST /v1/flow/data-jobs", ADD }, writes()) -- only the job's setup
    end)

    for _, mode in ipairs({ "raise", "return" }) do
      it("reports which step failed and what was uploaded (" .. mode .. " mode)", function()
        local c = sim.client { errors = mode }
        local id, ids = sim.job_with_files(client, { { "broken.pdf", "nope" } })
        sim.settled(client, id)
        sim.fault { route = ADD, kind = "status", status = 409 }
        local path = write("fixed.pdf", "%PDF-1.7 fixed")
        local err
        if mode == "raise" then
          local ok
          ok, err = pcall(remediate.replace, c, id, ids[1], path)
          assert.is_false(ok)
        else
          local detail
          detail, err = remediate.replace(c, id, ids[1], path)
          assert.is_nil(detail)
        end
        assert.is_true(sim.seekrflow.errors.is_error(err))
        assert.equal("status", err.kind)
        assert.equal("add_files", err.step)
        assert.equal(409, err.status)
        assert.is_true(sim.seekrflow.errors.is(err, "conflict"))
        assert.equal(409, err.cause.status)
        assert.equal(1, (err.message:find("replace: adding the new file failed: ", 1, true)))
        assert.matches("^file%-", err.uploaded_file_id)
        assert.equal("fixed.pdf", client.files:retrieve(err.uploaded_file_id).filename) -- left for the caller
        assert.equal(0, count(REMOVE))
        assert.is_true(file_ids(client.data_jobs:retrieve(id))[ids[1]]) -- the old file is still there

        -- a failed upload stops before add-files
        sim.fault { route = UPLOAD, kind = "status", status = 500 }
        local adds = count(ADD)
        if mode == "raise" then
          local ok
          ok, err = pcall(remediate.replace, c, id, ids[1], path)
          assert.is_false(ok)
        else
          err = select(2, remediate.replace(c, id, ids[1], path))
        end
        assert.equal("upload", err.step)
        assert.equal(500, err.status)
        assert.is_nil(err.uploaded_file_id)
        assert.equal(adds, count(ADD))
        c:close()
      end)
    end
  end)

  describe("plan", function()
    it("is the summary of the current detail", function()
      local id, ids = sim.job_with_files(client, {
        { "good.pdf", "%PDF-1.7 fine" }, { "flaky.pdf", "%PDF-1.7 SIM:TRANSIENT" },
      })
      sim.settled(client, id)
      local p = remediate.plan(client, id)
      assert.equal(id, p.job_id)
      assert.same({ ids[2] }, p.plan.retry)
      assert.same({ ids[2] }, p.plan.remove)
      assert.is_true(p.can_start_after_removal)
    end)
  end)

  describe("arguments and error modes", function()
    it("checks arguments before sending anything", function()
      local id = sim.job_with_files(client, { { "broken.pdf", "nope" } })
      local path = write("ok.pdf", "%PDF-1.7")
      local before = sim.stats().requests
      arg_error(function() remediate.replace(client, id, "file-1", dir .. "/missing.pdf") end)
      arg_error(function() remediate.replace(client, id, "file-1", dir) end)
      arg_error(function() remediate.replace(client, id, "file-1", nil) end)
      arg_error(function() remediate.replace(client, id, nil, path) end)
      arg_error(function() remediate.replace(client, id, "", path) end)
      arg_error(function() remediate.replace(client, id, "file-1", path, { purpose = "fine-tune" }) end)
      arg_error(function() remediate.replace(client, id, "file-1", path, { filename = 3 }) end)
      arg_error(function() remediate.replace(client, 42, "file-1", path) end)
      arg_error(function() remediate.remove_failed(client, nil) end)
      arg_error(function() remediate.retry(client, { name = "no id" }) end)
      arg_error(function() remediate.plan(client, true) end)
      arg_error(function() remediate.retry(client, "bad/id") end) -- the client's own id check
      arg_error(function() remediate.remove_failed(nil, id) end)
      arg_error(function() remediate.retry("client", id) end)
      assert.equal(before, sim.stats().requests)
    end)

    it("return mode gives nil, err for argument and request errors alike", function()
      local quiet = sim.client { errors = "return" }
      local detail, err = remediate.remove_failed(quiet, "dj-missing")
      assert.is_nil(detail)
      assert.equal(sim.NOT_FOUND, err.status)
      assert.is_true(sim.seekrflow.errors.is(err, "not_found"))
      detail, err = remediate.retry(quiet, "dj-missing")
      assert.is_nil(detail)
      assert.equal("not_found", err.class)
      detail, err = remediate.replace(quiet, "dj-missing", "file-1", dir .. "/missing.pdf")
      assert.is_nil(detail)
      assert.equal("invalid_argument", err.kind)
      detail, err = remediate.plan(quiet, 7)
      assert.is_nil(detail)
      assert.equal("invalid_argument", err.kind)
      -- and works when nothing is wrong
      local id = sim.job_with_files(client, { { "broken.pdf", "nope" }, { "ok.md", "# OK\n\ntext" } })
      sim.settled(client, id)
      detail, err = remediate.remove_failed(quiet, id)
      assert.is_nil(err)
      assert.equal("ready_to_start", detail.status)
      -- a client without a mode to follow still raises
      arg_error(function() remediate.plan(nil, id) end)
      quiet:close()
    end)

    it("raise mode raises request errors", function()
      local ok, err = pcall(remediate.remove_failed, client, "dj-missing")
      assert.is_false(ok)
      assert.equal(sim.NOT_FOUND, err.status)
      ok, err = pcall(remediate.plan, client, "dj-missing")
      assert.is_false(ok)
      assert.equal("not_found", err.class)
    end)
  end)
end)
