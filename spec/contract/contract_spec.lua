-- The simulator against the published API: a scenario that calls every endpoint and provokes
-- every error, through the real client (C core, libcurl) where the client has the call and
-- raw HTTP otherwise; then every response the simulator produced is validated against JSON
-- Schemas of the published models (spec/contract/seekrflow-api.schema.json), and every
-- request the client sent against the request models. Validation is Debian's
-- python3-jsonschema, run by spec/contract/validate.py. tools/run-specs runs this file against
-- the simulator in each of its modes (default and spec-minimal).
local sim = require "helpers.sim"
local util = require "helpers.util"
local core = require "seekrflow.core"
local http = require "socket.http"
local ltn12 = require "ltn12"

local root = os.getenv("SEEKRFLOW_ROOT") or "."
local VALIDATOR = root .. "/spec/contract/validate.py"
local CLIENT_AGENT = "seekrflow-lua/"

-- Runs the validator over a log; returns its report and whether everything conformed.
local function validate(mode, entries)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(core.json_encode { mode = mode, client_agent = CLIENT_AGENT, entries = entries })
  f:close()
  -- Not under the sanitizer or checker the specs may run under (make asan preloads it).
  local p = assert(io.popen("env -u LD_PRELOAD python3 -B " .. VALIDATOR .. " " .. path .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  os.remove(path)
  return out, out:match(", 0 problems\n$") ~= nil
end

-- A request that does not go through the client (LuaSocket, so its User-Agent differs).
local function raw(method, path, body, headers)
  local h = { authorization = sim.api_key }
  for k, v in pairs(headers or {}) do h[k] = v end
  if body then h["content-length"] = #body end
  if body and not h["content-type"] then h["content-type"] = "application/json" end
  local chunks = {}
  local _, status = http.request {
    url = sim.url .. path, method = method, headers = h,
    source = body and ltn12.source.string(body) or nil, sink = ltn12.sink.table(chunks),
  }
  return status, table.concat(chunks)
end

local function mode_of_sim()
  return (sim.control("GET", "/_sim/config")).mode or "default"
end

describe("contract", function()
  local client, dir, entries

  local function collect()
    for _, e in ipairs(sim.requests()) do entries[#entries + 1] = e end
    assert(select(2, sim.control("DELETE", "/_sim/requests")) == 200)
  end

  local function settled(id, wanted)
    local d = sim.eventually(function()
      local x = client.data_jobs:retrieve(id)
      return x.status == wanted and x or nil
    end, 20, "job " .. id .. " to reach " .. wanted)
    collect()
    return d
  end

  local function err_of(fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok, "expected an error")
    return err
  end

  before_each(function()
    sim.reset()
    entries = {}
    client = sim.client()
    dir = util.temp_dir()
  end)

  after_each(function()
    client:close()
    util.remove_dir(dir)
  end)

  it("every response of a scenario covering every endpoint and error conforms, and every " ..
    "request the client sends", function()
    local mode = mode_of_sim()
    local jobs, files = client.data_jobs, client.files
    local function upload(name, content)
      return files:upload(util.write_file(dir, name, content))
    end

    -- Files API and job creation.
    local pdf = upload("guide.pdf", "%PDF-1.7 guide")
    local broken = upload("broken.pdf", "not a pdf")
    local md = upload("notes.md", "# Notes\n\ntext")
    local txt = upload("plain.txt", "plain text")
    assert.equal(pdf.id, files:retrieve(pdf.id).id)
    files:list { purpose = "alignment", limit = 10, offset = 0, sort_by = "filename", sort_order = "asc" }
    files:list {}
    local a = jobs:create { name = "contract A", job_type = "principle_files", system_prompt = "Be exact.",
      instructions = "Answer from the guide." }
    local b = jobs:create { name = "contract B", job_type = "context_grounded_files" }
    jobs:create { name = "contract V", job_type = "context_grounded_vector_db", vector_database_id = "vdb-1" }
    jobs:list { job_type = "principle_files", sort_by = "name", sort_order = "asc", limit = 5, offset = 0 }
    jobs:list {}
    jobs:list { job_type = "context_grounded_vector_db", limit = 100, offset = 50 }
    jobs:update(b.id, { name = "contract B2", instructions = "Use the notes." })
    jobs:update(b.id, { instructions = sim.seekrflow.null }) -- a field cleared with null
    files:list { purpose = "ingestion" }
    jobs:generate_system_prompt { instructions = "Answer airline questions.", document_summary = "Policies." }
    jobs:generate_system_prompt { instructions = "Answer." }
    collect()

    -- Ingestion with a failure, then removal, start, alignment to the end, outputs.
    jobs:add_files(a.id, { file_ids = { pdf.id, broken.id, md.id, txt.id }, method = "best" })
    settled(a.id, "needs_review")
    jobs:remove_files(a.id, { broken.id })
    jobs:start(a.id)
    local done = settled(a.id, "completed")
    jobs:outputs(a.id)
    raw("GET", "/v1/flow/alignment/" .. done.alignment_job_id .. "/outputs")
    local out = done.alignment_job.output_files[1]
    raw("GET", "/v1/flow/files/" .. out.id .. "/content")
    jobs:clone(a.id, { name = "contract A copy" })
    jobs:clone(a.id)
    collect()

    -- Start and cancel; delete a job and a file.
    jobs:add_files(b.id, { md.id })
    jobs:start(b.id)
    jobs:cancel(b.id)
    assert.is_true(jobs:delete(b.id))
    files:delete(txt.id)
    collect()

    -- Errors the client gets: not found, refusals, unsupported type, auth.
    local not_found = err_of(jobs.retrieve, jobs, "dj-missing")
    assert.is_true(sim.seekrflow.errors.is(not_found, "not_found"), tostring(not_found))
    err_of(files.retrieve, files, "file-missing")
    local c = jobs:create { name = "contract C", job_type = "principle_files" }
    local refused = err_of(jobs.start, jobs, c.id)
    assert.is_true(sim.seekrflow.errors.is(refused, "conflict"), tostring(refused))
    err_of(jobs.cancel, jobs, c.id)
    err_of(jobs.remove_files, jobs, c.id, { "file-not-attached" })
    local parquet = upload("train.parquet", "PAR1")
    local unsupported = err_of(jobs.add_files, jobs, c.id, { parquet.id })
    assert.equal("unprocessable", unsupported.class)
    local stranger = sim.client { api_key = "not-a-key" }
    err_of(stranger.data_jobs.list, stranger.data_jobs, {})
    stranger:close()
    local readonly = sim.client { api_key = "sim-readonly-key" }
    err_of(readonly.data_jobs.create, readonly.data_jobs, { name = "x", job_type = "principle_files" })
    readonly:close()
    local team = sim.client { team_id = "team-elsewhere" }
    err_of(team.data_jobs.list, team.data_jobs, {})
    team:close()

    -- Errors only a broken request can provoke (the client refuses to send these).
    raw("POST", "/v1/flow/data-jobs", '{"job_type": "principle_files"}')
    raw("POST", "/v1/flow/data-jobs", "{not json")
    raw("GET", "/v1/flow/data-jobs?limit=0&sort_order=up")
    raw("GET", "/v1/flow/files?limit=5000")
    raw("PATCH", "/v1/flow/data-jobs/" .. c.id, '{"name": ""}')
    raw("POST", "/v1/flow/data-jobs/" .. c.id .. "/add-files", '{"file_ids": []}')
    raw("POST", "/v1/flow/data-jobs/gen_system_prompt", "{}")
    raw("PUT", "/v1/flow/files", "--x\r\nbroken", { ["content-type"] = "multipart/form-data; boundary=x" })
    raw("PUT", "/v1/flow/files", "", { ["content-type"] = "multipart/form-data; boundary=x" })
    raw("PUT", "/v1/flow/data-jobs")
    raw("GET", "/v1/flow/nothing")
    raw("GET", "/v1/flow/alignment/al-missing/outputs")
    collect()

    -- Every route answered with success at least once, and every error status was produced.
    local seen, statuses = {}, {}
    for _, e in ipairs(entries) do
      if e.status and e.status < 300 then seen[e.route] = true end
      statuses[e.status or 0] = true
    end
    for _, route in ipairs {
      "POST /v1/flow/data-jobs", "GET /v1/flow/data-jobs", "GET /v1/flow/data-jobs/{id}",
      "PATCH /v1/flow/data-jobs/{id}", "DELETE /v1/flow/data-jobs/{id}",
      "POST /v1/flow/data-jobs/{id}/add-files", "POST /v1/flow/data-jobs/{id}/remove-files",
      "POST /v1/flow/data-jobs/{id}/start", "POST /v1/flow/data-jobs/{id}/cancel",
      "POST /v1/flow/data-jobs/{id}/clone", "POST /v1/flow/data-jobs/gen_system_prompt",
      "GET /v1/flow/data-jobs/{id}/outputs", "GET /v1/flow/alignment/{id}/outputs",
      "PUT /v1/flow/files", "GET /v1/flow/files", "GET /v1/flow/files/{id}",
      "GET /v1/flow/files/{id}/content", "DELETE /v1/flow/files/{id}",
    } do
      assert.is_true(seen[route] == true, "no successful " .. route)
    end
    local wanted = mode == "spec-minimal" and { 400, 401, 403, 404, 405, 422 }
      or { 400, 401, 403, 404, 405, 409, 422 }
    for _, status in ipairs(wanted) do
      assert.is_true(statuses[status] == true, "no " .. status .. " in the scenario (" .. mode .. ")")
    end

    local cleared = false
    for _, e in ipairs(entries) do
      if e.method == "PATCH" and (e.body or ""):find('"instructions":null', 1, true) then cleared = true end
    end
    assert.is_true(cleared, "the PATCH that clears instructions sends null")

    local report, ok = validate(mode, entries)
    assert.is_true(ok, report)
    assert.matches("responses and %d+ client requests checked", report)
  end)

  it("the seekrflow command sends only what the request models accept", function()
    local run_cli = require "contract.run_cli"
    local function ok(argv)
      local code, out, err = run_cli(argv)
      assert.is_true(code == 0 or code == 3, table.concat(argv, " ") .. " exited " .. code .. ": " .. err)
      return out
    end
    local a = util.write_file(dir, "a.pdf", "%PDF-1.7 a")
    local b = util.write_file(dir, "b.md", "# B\n\ntext")
    local broken = util.write_file(dir, "broken.pdf", "not a pdf")
    local id = ok({ "create", "--name", "cli job", "--type", "principle_files", "--system-prompt", "Be exact.",
      "--instructions", "Answer.", "--method", "best", "--upload", a, b, broken }):match("dj%-[%w-]+")
    assert.is_string(id)
    ok({ "list", "--type", "principle_files", "--sort", "name", "--order", "asc", "--limit", "5", "--offset", "0" })
    ok({ "list", "--all", "--limit", "2" })
    ok({ "watch", id, "--timeout", "20s", "--interval", "0.1", "--max-interval", "0.2" })
    ok({ "show", id })
    ok({ "files", id })
    ok({ "timeline", id })
    ok({ "failures", id })
    ok({ "failures", "--all" })
    ok({ "remove-files", id, "--failed" })
    ok({ "update", id, "--name", "cli job 2", "--instructions", "Answer briefly.", "--system-prompt", "Be brief." })
    ok({ "start", id })
    ok({ "cancel", id })
    ok({ "outputs", id })
    local file_id = ok({ "upload", util.write_file(dir, "c.txt", "plain") }):match("file%-[%w-]+")
    local other = ok({ "create", "--name", "cli other", "--type", "context_grounded_files" }):match("dj%-[%w-]+")
    ok({ "add-files", other, file_id })
    ok({ "delete", other })
    collect()
    for _, e in ipairs(entries) do
      assert.matches("^" .. CLIENT_AGENT:gsub("%-", "%%-"), e.headers["user-agent"] or "")
    end
    local report, conforms = validate(mode_of_sim(), entries)
    assert.is_true(conforms, report)
  end)

  it("the check fails on what does not conform", function()
    local detail = core.json_encode {
      id = "dj-1", user_id = "u", name = "n", job_type = "principle_files", alignment_job_id = "al-1",
      created_at = "2025-11-14 07:35", updated_at = "2025-11-14T07:35:21Z", extra_field = 1,
      files = { { name = "no file id" } },
    }
    local crafted = {
      { method = "GET", path = "/v1/flow/data-jobs/dj-1", route = "GET /v1/flow/data-jobs/{id}",
        status = 200, response_type = "application/json", response = detail, headers = {} },
      { method = "GET", path = "/v1/flow/data-jobs/dj-2", route = "GET /v1/flow/data-jobs/{id}",
        status = 418, response_type = "application/json", response = "{}", headers = {} },
      { method = "POST", path = "/v1/flow/data-jobs", route = "POST /v1/flow/data-jobs",
        status = 201, response_type = "application/json", headers = {
          ["user-agent"] = CLIENT_AGENT .. "0", ["content-type"] = "application/json" },
        body = core.json_encode { name = "", job_type = "principle_files", description = "d" },
        response = core.json_encode { id = "dj-3", user_id = "u", name = "n", job_type = "t",
          created_at = "2025-11-14T07:35:21Z", updated_at = "2025-11-14T07:35:21+00:00", status = "weird" } },
      { method = "GET", path = "/v1/flow/data-jobs", route = "GET /v1/flow/data-jobs", query = "limit=0&offset=1",
        status = 404, response_type = "application/json", response = '{"detail":["x"]}',
        headers = { ["user-agent"] = CLIENT_AGENT .. "0" } },
    }
    local report, ok = validate("default", crafted)
    assert.is_false(ok, report)
    for _, expected in ipairs {
      "'status' is a required property",             -- missing required field
      "created_at: '2025-11-14 07:35' does not match", -- not a date-time
      "'extra_field'",                                -- a field the model lacks
      "'file_id' is a required property",             -- nested model
      "unexpected status 418",
      "'alignment_job_id' is a required property",    -- the create response
      "'weird' is not valid",                         -- status outside both enums
      "'description' was unexpected",                 -- a request field the model lacks
      "should be non-empty",                          -- name minLength
      "limit: 0 is less than the minimum of 1",       -- query
      "DetailMessage at detail",                      -- a 404 body that is not a detail string
    } do
      assert.is_truthy(report:find(expected, 1, true), expected .. " not in:\n" .. report)
    end
  end)
end)
