-- Tests for the SeekrFlow simulator (bin/seekrflow-sim), talking raw HTTP over LuaSocket.
--
-- The simulator runs as a separate process on a free port with a high time scale, so a
-- full ingestion + alignment lifecycle takes well under a second of real time.
local socket = require("socket")

local spec_dir = (debug.getinfo(1, "S").source:match("^@(.*)[/\\][^/\\]*$")) or "spec"
local root = spec_dir .. "/.."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
local json = require("seekrflow.sim.json")

local KEY = "sim-key"
local TIME_SCALE = 500
local port, pid
local pid_file, port_file, log_file

-- ---------------------------------------------------------------------------------------------
-- tiny HTTP client
-- ---------------------------------------------------------------------------------------------

local function connect()
  local c = assert(socket.tcp())
  c:settimeout(5)
  assert(c:connect("127.0.0.1", port))
  return c
end

local function read_head(c)
  local line, err = c:receive("*l")
  if not line then return nil, err end
  local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
  local headers = {}
  while true do
    local h, herr = c:receive("*l")
    if not h then return nil, herr end
    if h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.-)%s*$")
    headers[k:lower()] = v
  end
  return { status = status, headers = headers }
end

-- Read one response; on a short body returns nil, err, and the partial response.
local function read_response(c)
  local res, err = read_head(c)
  if not res then return nil, err end
  local len = tonumber(res.headers["content-length"])
  if res.status == 204 or res.status == 304 then
    res.body = ""
  elseif len then
    local body, berr, partial = c:receive(len)
    if not body then
      res.body = partial
      return nil, berr, res
    end
    res.body = body
  else
    res.body = c:receive("*a")
  end
  if (res.headers["content-type"] or ""):find("application/json", 1, true) and res.body ~= "" then
    res.json = json.decode(res.body)
  end
  return res
end

local function encode_request(method, path, headers, body)
  local lines = { method .. " " .. path .. " HTTP/1.1", "Host: 127.0.0.1:" .. port }
  for k, v in pairs(headers) do lines[#lines + 1] = k .. ": " .. v end
  if body then lines[#lines + 1] = "Content-Length: " .. #body end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (body or "")
end

-- request(method, path, {body=table|string, headers={}, auth=false|key, conn=socket, close=})
local function request(method, path, opts)
  opts = opts or {}
  local headers = {}
  if opts.auth ~= false then headers["Authorization"] = opts.auth or KEY end
  local body = opts.body
  if type(body) == "table" then
    body = json.encode(body)
    headers["Content-Type"] = "application/json"
  end
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local c = opts.conn or connect()
  if not opts.conn then headers["Connection"] = "close" end
  assert(c:send(encode_request(method, path, headers, body)))
  local res, err, partial = read_response(c)
  if not opts.conn then c:close() end
  return res, err, partial
end

local function get(path, opts) return request("GET", path, opts) end
local function post(path, body, opts)
  opts = opts or {}
  opts.body = body
  return request("POST", path, opts)
end

local function ok_json(res, status)
  assert.is_table(res)
  assert.are.equal(status or 200, res.status, res.body)
  return res.json
end

local function poll(fn, timeout)
  local deadline = socket.gettime() + (timeout or 5)
  while true do
    local v = fn()
    if v then return v end
    if socket.gettime() > deadline then error("condition not met before the deadline", 2) end
    socket.sleep(0.01)
  end
end

local function sim_file(filename, content, extra)
  local body = { filename = filename, content = content, purpose = "alignment" }
  for k, v in pairs(extra or {}) do body[k] = v end
  return ok_json(post("/_sim/files", body, { auth = false })).id
end

local function create_job(fields)
  return ok_json(post("/v1/flow/data-jobs", fields), 201)
end

local function job(id)
  return ok_json(get("/v1/flow/data-jobs/" .. id))
end

local function wait_status(id, wanted, timeout)
  return poll(function()
    local j = job(id)
    if j.status == wanted then return j end
    return nil
  end, timeout)
end

-- Stop simulated time (and step it with advance) where a test must see a short-lived state.
local function freeze()
  ok_json(post("/_sim/config", { time_scale = 0 }, { auth = false }))
end

local function advance(seconds)
  ok_json(post("/_sim/advance", { seconds = seconds }, { auth = false }))
end

local function add_fault(spec)
  return ok_json(post("/_sim/faults", spec, { auth = false }), 201)
end

-- ---------------------------------------------------------------------------------------------
-- process management
-- ---------------------------------------------------------------------------------------------

local read_file = require("helpers.util").read_file

-- Whether the simulator still accepts connections (checking the pid could be fooled by a
-- zombie process that nobody has reaped yet).
local function listening()
  local c = socket.tcp()
  c:settimeout(1)
  local ok = c:connect("127.0.0.1", port)
  c:close()
  return ok ~= nil
end

describe("seekrflow-sim", function()
  setup(function()
    pid_file, port_file, log_file = os.tmpname(), os.tmpname(), os.tmpname()
    os.remove(port_file)
    -- SEEKRFLOW_SIM_LUA picks the interpreter, e.g. lua5.1 to check 5.1 compatibility.
    local lua = os.getenv("SEEKRFLOW_SIM_LUA") or "lua5.4"
    local cmd = string.format("%s %s/bin/seekrflow-sim --port 0 --port-file %s " ..
      "--time-scale %d --seed 7 --log >/dev/null 2>%s & echo $! > %s", lua, root, port_file,
      TIME_SCALE, log_file, pid_file)
    os.execute(cmd)
    pid = poll(function() return (read_file(pid_file) or ""):match("%d+") end, 5)
    port = tonumber(poll(function() return (read_file(port_file) or ""):match("^(%d+)\n$") end, 5))
  end)

  teardown(function()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    for _, p in ipairs({ pid_file, port_file, log_file }) do
      if p then os.remove(p) end
    end
  end)

  before_each(function()
    ok_json(post("/_sim/reset", nil, { auth = false }))
    ok_json(post("/_sim/config", { time_scale = TIME_SCALE, workers = 2, mode = "default" },
      { auth = false }))
  end)

  -- -------------------------------------------------------------------------------------------
  describe("auth", function()
    it("rejects a missing header with 401", function()
      local res = get("/v1/flow/data-jobs", { auth = false })
      assert.are.equal(401, res.status)
      assert.are.equal("Not authenticated. Send your API key in the Authorization header.",
        res.json.detail)
    end)

    it("rejects a Bearer prefix with 401 explaining the raw key", function()
      local res = get("/v1/flow/data-jobs", { auth = "Bearer " .. KEY })
      assert.are.equal(401, res.status)
      assert.truthy(res.json.detail:find("without the 'Bearer ' prefix", 1, true))
    end)

    it("rejects an unknown key with 401", function()
      local res = get("/v1/flow/data-jobs", { auth = "nope" })
      assert.are.equal(401, res.status)
      assert.are.equal("Invalid API key.", res.json.detail)
    end)

    it("lets the read-only key read but not write", function()
      assert.are.equal(200, get("/v1/flow/data-jobs", { auth = "sim-readonly-key" }).status)
      local res = post("/v1/flow/data-jobs", { name = "x", job_type = "principle_files" },
        { auth = "sim-readonly-key" })
      assert.are.equal(403, res.status)
      assert.truthy(res.json.detail:find("does not have permission", 1, true))
    end)

    it("checks x-team-id", function()
      assert.are.equal(200, get("/v1/flow/data-jobs", { headers = { ["x-team-id"] = "team-sim" } })
        .status)
      local res = get("/v1/flow/data-jobs", { headers = { ["x-team-id"] = "team-other" } })
      assert.are.equal(403, res.status)
      assert.truthy(res.json.detail:find("no access to team 'team-other'", 1, true))
    end)

    it("authenticates gen_system_prompt and answers with system_prompt", function()
      local body = { instructions = "Answer airline policy questions." }
      assert.are.equal(401, post("/v1/flow/data-jobs/gen_system_prompt", body, { auth = false })
        .status)
      local out = ok_json(post("/v1/flow/data-jobs/gen_system_prompt", body))
      assert.truthy(out.system_prompt:find("airline", 1, true))
      assert.are.equal(422, post("/v1/flow/data-jobs/gen_system_prompt", {}).status)
    end)

    it("sends a unique cf-ray, JSON content type and Content-Length", function()
      local a, b = get("/v1/flow/data-jobs"), get("/v1/flow/data-jobs")
      assert.truthy(a.headers["cf-ray"])
      assert.are_not.equal(a.headers["cf-ray"], b.headers["cf-ray"])
      assert.are.equal("application/json", a.headers["content-type"])
      assert.are.equal(#a.body, tonumber(a.headers["content-length"]))
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("create and list", function()
    it("creates a job with every DataJobResponse field", function()
      local res = post("/v1/flow/data-jobs", { name = "Alpha", job_type = "principle_files",
        system_prompt = "Be brief." })
      local j = ok_json(res, 201)
      assert.truthy(j.id:match("^dj%-%x+%-%x+%-4%x+%-%x+%-%x+$"))
      for _, k in ipairs({ "alignment_job_id", "origin_data_job_id", "status_message",
        "instructions", "instructions_updated_at", "resolved_instructions",
        "vector_database_id" }) do
        assert.are.equal(k == "status_message" and "string" or json.null,
          k == "status_message" and type(j[k]) or j[k], k)
      end
      assert.are.equal(false, j.deleted)
      assert.are.equal("needs_review", j.status)
      assert.truthy(j.created_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%dZ$"))
      assert.are.equal(j.created_at, j.system_prompt_updated_at)
    end)

    it("gives strictly increasing created_at and sorts, filters and pages", function()
      local names = { "delta", "alpha", "charlie", "bravo", "echo" }
      local types = { "principle_files", "context_grounded_files", "principle_files",
        "context_grounded_vector_db", "principle_files" }
      local last = ""
      for i, n in ipairs(names) do
        local j = create_job({ name = n, job_type = types[i] })
        assert.is_true(j.created_at > last)
        last = j.created_at
      end
      local list = ok_json(get("/v1/flow/data-jobs"))
      assert.are.equal("list", list.object)
      assert.are.equal(5, #list.data)
      assert.are.equal("echo", list.data[1].name) -- default created_at desc
      list = ok_json(get("/v1/flow/data-jobs?sort_by=name&sort_order=asc&limit=2&offset=1"))
      assert.are.same({ "bravo", "charlie" }, { list.data[1].name, list.data[2].name })
      list = ok_json(get("/v1/flow/data-jobs?job_type=principle_files&sort_by=name" ..
        "&sort_order=desc&unknown=1"))
      assert.are.same({ "echo", "delta", "charlie" },
        { list.data[1].name, list.data[2].name, list.data[3].name })
      list = ok_json(get("/v1/flow/data-jobs?sort_by=job_type&sort_order=asc&limit=100"))
      assert.are.equal("context_grounded_files", list.data[1].job_type)
      assert.truthy(get("/v1/flow/data-jobs?offset=10").body:find('"data":[]', 1, true))
    end)

    it("answers bad query parameters with pydantic-style 422s", function()
      local cases = {
        { "limit=0", "limit", "greater_than_equal" },
        { "limit=101", "limit", "less_than_equal" },
        { "limit=abc", "limit", "int_parsing" },
        { "offset=-1", "offset", "greater_than_equal" },
        { "sort_by=size", "sort_by", "enum" },
        { "sort_order=up", "sort_order", "string_pattern_mismatch" },
        { "job_type=nope", "job_type", "enum" },
      }
      for _, c in ipairs(cases) do
        local res = get("/v1/flow/data-jobs?" .. c[1])
        assert.are.equal(422, res.status, c[1])
        local d = res.json.detail[1]
        assert.are.same({ "query", c[2] }, { d.loc[1], d.loc[2] })
        assert.are.equal(c[3], d.type)
        assert.is_string(d.msg)
      end
      local d = get("/v1/flow/data-jobs?limit=0").json.detail[1]
      assert.are.equal("0", d.input)
      assert.are.equal(1, d.ctx.ge)
    end)

    it("validates the create body", function()
      local function first(body)
        local res = request("POST", "/v1/flow/data-jobs", { body = body,
          headers = { ["Content-Type"] = "application/json" } })
        assert.are.equal(422, res.status, res.body)
        return res.json.detail[1]
      end
      local d = first({ job_type = "principle_files" })
      assert.are.equal("missing", d.type)
      assert.are.same({ "body", "name" }, { d.loc[1], d.loc[2] })
      assert.are.equal("enum", first({ name = "x", job_type = "bogus" }).type)
      assert.are.equal("string_too_long",
        first({ name = string.rep("n", 256), job_type = "principle_files" }).type)
      assert.are.equal("string_too_short", first({ name = "", job_type = "principle_files" }).type)
      assert.are.equal("string_type", first({ name = 5, job_type = "principle_files" }).type)
      d = first("{not json")
      assert.are.equal("json_invalid", d.type)
      assert.are.equal("body", d.loc[1])
      assert.are.equal("missing", first("").type)
      assert.are.equal(201, post("/v1/flow/data-jobs",
        { name = string.rep("n", 255), job_type = "principle_files" }).status)
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("detail and lifecycle", function()
    it("has the full detail shape with nulls, [] and integer queue positions", function()
      local j = create_job({ name = "shape", job_type = "context_grounded_files" })
      local res = get("/v1/flow/data-jobs/" .. j.id)
      for _, k in ipairs({ "additional_alignment_file_ids", "ingestion_jobs", "files",
        "fine_tuning_job_ids" }) do
        assert.truthy(res.body:find('"' .. k .. '":[]', 1, true), k)
      end
      assert.truthy(res.body:find('"alignment_job":null', 1, true))
      assert.truthy(res.body:find('"metadata":{}', 1, true))
      local t = res.json.timeline[1]
      assert.are.same({ "Created", "Data job created." }, { t.event_type, t.message })

      -- Three PDFs with a single worker: queue positions are integers 1..3.
      freeze()
      ok_json(post("/_sim/config", { workers = 1 }, { auth = false }))
      local ids = {}
      for i = 1, 3 do ids[i] = sim_file("doc" .. i .. ".pdf", "%PDF-1.7 body " .. i) end
      res = post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = ids })
      assert.are.equal(200, res.status, res.body)
      assert.truthy(res.body:find('"queue_position":1,', 1, true))
      assert.truthy(res.body:find('"queue_position":3,', 1, true))
      assert.are.equal("file_processing", res.json.status)
      local rec = res.json.ingestion_jobs[1].records[1]
      assert.are.equal("queued", rec.status)
      assert.are.equal(json.null, rec.processing_at)
      assert.are.equal(json.null, rec.worker_id)
      -- After the 2 s pickup delay one file runs; the others move up, renumbered from 1.
      advance(3)
      local seen = job(j.id)
      local r = seen.ingestion_jobs[1].records
      assert.are.equal("running", r[1].status)
      assert.are.equal("queued", r[2].status)
      assert.are.equal(json.null, r[1].queue_position)
      assert.are.equal(1, r[2].queue_position)
      assert.are.equal(2, r[3].queue_position)
      assert.are.equal("sim-worker-1", r[1].worker_id)
      assert.are.equal("running", seen.ingestion_jobs[1].status)
      ok_json(post("/_sim/config", { workers = 2, time_scale = TIME_SCALE }, { auth = false }))
      local done = wait_status(j.id, "ready_to_start")
      assert.are.equal("completed", done.ingestion_jobs[1].status)
      for _, x in ipairs(done.ingestion_jobs[1].records) do
        assert.are.equal("completed", x.status)
        assert.truthy(x.alignment_file_id:match("^md%-file%-"))
        assert.is_string(x.completed_at)
        -- The produced Markdown is a real file.
        local f = ok_json(get("/v1/flow/files/" .. x.alignment_file_id))
        assert.are.equal("md", f.type)
      end
      local kinds = {}
      for _, ev in ipairs(done.timeline) do kinds[#kinds + 1] = ev.event_type end
      assert.are.same({ "Created", "Files Added", "File Processing Started",
        "File Processing Completed" }, kinds)
      for i = 2, #done.timeline do
        assert.is_true(done.timeline[i].timestamp >= done.timeline[i - 1].timestamp)
      end
    end)

    it("fails each trigger with the documented texts and recovers", function()
      local j = create_job({ name = "triggers", job_type = "principle_files",
        system_prompt = "You answer questions." })
      local ok_pdf = sim_file("good.pdf", "%PDF-1.4 fine")
      local md = sim_file("notes.md", "# Notes\n\ntext")
      local files = {
        empty = sim_file("empty.docx", ""),
        corrupt = sim_file("broken.pdf", "not a pdf"),
        oversized = sim_file("huge.pdf", "%PDF-1.4 SIM:OVERSIZED_PAGES"),
        transient = sim_file("flaky.pptx", "slides SIM:TRANSIENT"),
        internal = sim_file("bad.doc", "SIM:INTERNAL"),
      }
      local add = { ok_pdf, md, files.empty, files.corrupt, files.oversized, files.transient,
        files.internal, "file-does-not-exist" }
      local d = ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = add }))
      assert.are.equal(1, #d.ingestion_jobs)
      assert.are.equal(7, #d.ingestion_jobs[1].records)
      assert.are.equal(8, #d.files)
      assert.are.equal(json.null, d.files[2].record_id) -- markdown skips ingestion
      assert.are.equal("md", d.files[2].type)
      d = wait_status(j.id, "needs_review")
      assert.truthy(d.status_message:find("6 files failed ingestion", 1, true))
      local expect = {
        [files.empty] = { "The file appears to be empty.", "Upload a file with content." },
        [files.corrupt] = {
          "The PDF may be corrupted, password-protected, or in an unsupported format.",
          "Upload a valid, unprotected PDF." },
        [files.oversized] = { "The PDF contains pages that exceed the maximum supported size.",
          "Re-export the PDF with smaller page dimensions." },
        [files.transient] = { "Service temporarily unavailable.",
          "Retry the job after a brief wait." },
        [files.internal] = { "Internal processing failure.",
          "If the issue persists, contact support." },
        ["file-does-not-exist"] = {
          "The file was not found or is not owned by the current user.",
          "Re-upload the file or verify the correct file_id." },
      }
      for _, rec in ipairs(d.ingestion_jobs[1].records) do
        local e = expect[rec.alignment_file_id]
        if e then
          assert.are.equal("failed", rec.status, rec.filename)
          assert.are.same(e, { rec.error_message, rec.suggested_fix })
          assert.is_string(rec.failed_at)
        else
          assert.are.equal("completed", rec.status)
        end
      end
      local last = d.timeline[#d.timeline]
      assert.are.equal("File Processing Completed", last.event_type)
      assert.are.equal(6, last.metadata.failed_count)
      assert.are.equal(7, last.metadata.record_count)

      -- The transient failure clears when the same file id is added again.
      d = ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/add-files",
        { file_ids = { files.transient, files.internal } }))
      assert.are.equal(2, #d.ingestion_jobs)
      assert.are.equal("file_processing", d.status)
      d = wait_status(j.id, "needs_review")
      local recs = d.ingestion_jobs[2].records
      assert.are.equal("completed", recs[1].status)
      assert.are.equal("failed", recs[2].status)
      assert.truthy(d.status_message:find("5 files failed", 1, true))

      -- Removing the failed files makes the job ready; their records stay, marked deleted.
      d = ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/remove-files", { file_ids = {
        files.empty, files.corrupt, files.oversized, files.internal, "file-does-not-exist" } }))
      assert.are.equal("ready_to_start", d.status)
      assert.are.equal(json.null, d.status_message)
      assert.are.equal(3, #d.files)
      for _, rec in ipairs(d.ingestion_jobs[1].records) do
        local removed = rec.alignment_file_id ~= ok_pdf and rec.alignment_file_id ~= files.transient
        if rec.status == "failed" and rec.filename ~= "flaky.pptx" then
          assert.is_true(rec.deleted)
        end
        if not removed then assert.is_false(rec.deleted) end
      end
      assert.are.equal("Files Removed", d.timeline[#d.timeline].event_type)

      -- Business-rule conflicts.
      local res = post("/v1/flow/data-jobs/" .. j.id .. "/remove-files",
        { file_ids = { "file-not-attached" } })
      assert.are.equal(409, res.status)
      assert.truthy(res.json.detail:find("file-not-attached", 1, true))
      res = post("/v1/flow/data-jobs/" .. j.id .. "/cancel")
      assert.are.equal(409, res.status)
      local parquet = sim_file("train.parquet", "PAR1")
      res = post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = { parquet } })
      assert.are.equal(422, res.status)
      assert.truthy(res.json.detail[1].msg:find("train.parquet", 1, true))
      res = post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = json.array() })
      assert.are.equal("too_short", res.json.detail[1].type)
    end)

    it("derives needs_review from missing prompt, files or vector db", function()
      local j = create_job({ name = "p", job_type = "principle_files" })
      local md = sim_file("a.md", "# A")
      local d = ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = { md } }))
      assert.are.equal("needs_review", d.status)
      assert.truthy(d.status_message:find("system prompt", 1, true))
      local res = post("/v1/flow/data-jobs/" .. j.id .. "/start")
      assert.are.equal(409, res.status)
      assert.truthy(res.json.detail:find("needs_review", 1, true))
      d = ok_json(request("PATCH", "/v1/flow/data-jobs/" .. j.id,
        { body = { system_prompt = "Be helpful.", name = "renamed" } }))
      assert.are.equal("ready_to_start", d.status)
      assert.are.equal("renamed", d.name)
      assert.are.equal("System Prompt Updated", d.timeline[#d.timeline].event_type)
      assert.is_string(d.system_prompt_updated_at)

      local v = create_job({ name = "v", job_type = "context_grounded_vector_db" })
      assert.are.equal("needs_review", v.status)
      v = create_job({ name = "v2", job_type = "context_grounded_vector_db",
        vector_database_id = "vdb-1" })
      assert.are.equal("ready_to_start", v.status)
    end)

    it("starts, runs and completes alignment with outputs", function()
      local j = create_job({ name = "align", job_type = "context_grounded_files",
        instructions = "Make QA pairs." })
      local md = sim_file("guide.md", "# Guide\n\nbody")
      ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = { md } }))
      freeze()
      local d = ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/start"))
      assert.are.equal("queued", d.status)
      assert.truthy(d.alignment_job_id:match("^al%-"))
      local al = d.alignment_job
      assert.are.equal(d.alignment_job_id, al.id)
      for _, k in ipairs({ "completed_at", "stopped_at", "current_step", "status_message" }) do
        assert.are.equal(json.null, al[k], k)
      end
      local res = post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = { md } })
      assert.are.equal(409, res.status)
      assert.truthy(res.json.detail:find("already been started", 1, true))
      advance(20) -- 5 s queued, then 15 s into the run
      d = job(j.id)
      assert.are.equal("running", d.status)
      assert.are.equal("Generating QA pairs", d.alignment_job.current_step)
      assert.are.equal(27, d.alignment_job.progress) -- 15 of 55 s
      assert.are.equal(1, d.alignment_job.eta_minutes)
      assert.is_string(d.alignment_job.estimated_completion_at)
      ok_json(post("/_sim/config", { time_scale = TIME_SCALE }, { auth = false }))
      d = wait_status(j.id, "completed")
      al = d.alignment_job
      assert.is_string(al.completed_at)
      assert.are.equal(100, al.progress)
      assert.are.equal(2, #al.output_files)
      local pq = al.output_files[1]
      assert.truthy(pq.filename:match("%.parquet$"))
      assert.are.same({ "parquet", "fine-tune" }, { pq.file_type, pq.purpose })
      assert.truthy(al.output_files[2].filename:match("%.jsonl$"))
      local outs = ok_json(get("/v1/flow/data-jobs/" .. j.id .. "/outputs"))
      assert.are.equal(pq.id, outs[1].id)
      outs = ok_json(get("/v1/flow/alignment/" .. al.id .. "/outputs"))
      assert.are.equal(2, #outs)
      assert.are.equal(404, get("/v1/flow/alignment/al-missing/outputs").status)
      local content = get("/v1/flow/files/" .. al.output_files[2].id .. "/content")
      assert.are.equal(200, content.status)
      assert.truthy(content.body:find("messages", 1, true))
      local kinds = {}
      for _, ev in ipairs(d.timeline) do kinds[ev.event_type] = true end
      assert.is_true(kinds["Alignment Started"] and kinds["Alignment Completed"])
    end)

    it("fails alignment on SIM:ALIGNMENT_FAIL and cancels on request", function()
      local md = sim_file("x.md", "# X")
      local bad = create_job({ name = "bad", job_type = "context_grounded_files",
        instructions = "SIM:ALIGNMENT_FAIL" })
      ok_json(post("/v1/flow/data-jobs/" .. bad.id .. "/add-files", { file_ids = { md } }))
      ok_json(post("/v1/flow/data-jobs/" .. bad.id .. "/start"))
      local d = wait_status(bad.id, "failed")
      assert.is_string(d.status_message)
      assert.are.equal(d.status_message, d.alignment_job.status_message)
      assert.are.equal("Alignment Failed", d.timeline[#d.timeline].event_type)

      local c = create_job({ name = "cancel", job_type = "context_grounded_files" })
      ok_json(post("/v1/flow/data-jobs/" .. c.id .. "/add-files", { file_ids = { md } }))
      freeze()
      ok_json(post("/v1/flow/data-jobs/" .. c.id .. "/start"))
      d = ok_json(post("/v1/flow/data-jobs/" .. c.id .. "/cancel"))
      assert.are.equal("cancelled", d.status)
      assert.is_string(d.alignment_job.stopped_at)
      assert.are.equal(409, post("/v1/flow/data-jobs/" .. c.id .. "/cancel").status)
      assert.are.equal(409, post("/v1/flow/data-jobs/" .. c.id .. "/start").status)
    end)

    it("clones with settings and ready files", function()
      local src = create_job({ name = "orig", job_type = "principle_files",
        system_prompt = "SP", instructions = "IN" })
      local pdf = sim_file("ok.pdf", "%PDF-1.4 ok")
      local md = sim_file("ok.md", "# ok")
      local bad = sim_file("bad.pdf", "junk")
      ok_json(post("/v1/flow/data-jobs/" .. src.id .. "/add-files",
        { file_ids = { pdf, md, bad } }))
      wait_status(src.id, "needs_review")
      local res = post("/v1/flow/data-jobs/" .. src.id .. "/clone", {})
      local cl = ok_json(res, 201)
      assert.are.equal("orig (copy)", cl.name)
      assert.are.equal(src.id, cl.origin_data_job_id)
      assert.are.same({ "principle_files", "SP", "IN" },
        { cl.job_type, cl.system_prompt, cl.instructions })
      assert.are.equal(2, #cl.files)
      assert.are.equal("ready_to_start", cl.status)
      assert.are.equal("Cloned", cl.timeline[#cl.timeline].event_type)
      cl = ok_json(post("/v1/flow/data-jobs/" .. src.id .. "/clone", { name = "named" }), 201)
      assert.are.equal("named", cl.name)
      assert.are.equal(422, post("/v1/flow/data-jobs/" .. src.id .. "/clone", { name = "" })
        .status)
    end)

    it("deletes for good and reports unknown ids and routes", function()
      local j = create_job({ name = "gone", job_type = "principle_files" })
      local res = request("DELETE", "/v1/flow/data-jobs/" .. j.id)
      assert.are.equal(204, res.status)
      assert.are.equal("", res.body)
      res = get("/v1/flow/data-jobs/" .. j.id)
      assert.are.equal(404, res.status)
      assert.are.equal("Data job '" .. j.id .. "' not found.", res.json.detail)
      assert.are.equal(404, post("/v1/flow/data-jobs/dj-x/start").status)
      res = get("/v1/nothing/here")
      assert.are.same({ 404, "Not Found" }, { res.status, res.json.detail })
      res = request("PUT", "/v1/flow/data-jobs")
      assert.are.same({ 405, "Method Not Allowed" }, { res.status, res.json.detail })
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("file types", function()
    it("adds every AlignmentFileType: Markdown at once, the others through ingestion", function()
      local types = { "html", "md", "rst", "rtf", "txt", "xml", "json", "jsonl", "csv", "doc",
        "docx", "pdf", "ppt", "pptx" }
      local j = create_job({ name = "types", job_type = "context_grounded_files" })
      local ids, by_id = {}, {}
      for i, t in ipairs(types) do
        ids[i] = sim_file("f." .. t:upper(), t == "pdf" and "%PDF-1.7 x" or "content " .. t)
        by_id[ids[i]] = t
      end
      local d = ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = ids }))
      assert.are.equal(14, #d.files)
      for _, f in ipairs(d.files) do
        assert.are.equal(by_id[f.file_id], f.type)
        if f.type == "md" then
          assert.are.equal(json.null, f.record_id)
        else
          assert.is_string(f.record_id, f.type)
        end
      end
      assert.are.equal(13, #d.ingestion_jobs[1].records)
      d = wait_status(j.id, "ready_to_start")
      for _, rec in ipairs(d.ingestion_jobs[1].records) do assert.are.equal("completed", rec.status) end
    end)

    it("refuses training files and unknown types with a 422 naming the 14 types", function()
      local j = create_job({ name = "types", job_type = "context_grounded_files" })
      for _, name in ipairs({ "model.pt", "train.parquet", "setup.exe", "README" }) do
        local res = post("/v1/flow/data-jobs/" .. j.id .. "/add-files",
          { file_ids = { sim_file(name, "x") } })
        assert.are.equal(422, res.status, name)
        local msg = res.json.detail[1].msg
        assert.truthy(msg:find(name, 1, true), msg)
        assert.truthy(msg:find(".rst, .rtf, .txt", 1, true), msg)
        assert.are.same({ "body", "file_ids", 0 }, res.json.detail[1].loc)
      end
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("spec-minimal mode", function()
    local function minimal()
      local cfg = ok_json(post("/_sim/config", { mode = "spec-minimal" }, { auth = false }))
      assert.are.equal("spec-minimal", cfg.mode)
    end

    it("is switched through /_sim/config, survives a reset and refuses unknown modes", function()
      assert.are.equal("default", ok_json(get("/_sim/config", { auth = false })).mode)
      minimal()
      ok_json(post("/_sim/reset", nil, { auth = false }))
      assert.are.equal("spec-minimal", ok_json(get("/_sim/config", { auth = false })).mode)
      local res = post("/_sim/config", { mode = "strict" }, { auth = false })
      assert.are.equal(400, res.status)
      assert.truthy(res.json.detail:find("spec-minimal", 1, true))
    end)

    it("sends only required fields and values, with +00:00 offsets", function()
      minimal()
      local created = create_job({ name = "min", job_type = "context_grounded_files" })
      assert.are.same({ "alignment_job_id", "created_at", "id", "job_type", "name", "status",
        "status_message", "updated_at", "user_id" }, (function()
          local keys = {}
          for k in pairs(created) do keys[#keys + 1] = k end
          table.sort(keys)
          return keys
        end)())
      assert.are.equal(json.null, created.alignment_job_id) -- required, nullable: stays
      assert.truthy(created.created_at:match("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+%+00:00$"),
        created.created_at)
      local res = get("/v1/flow/data-jobs/" .. created.id)
      -- The only null left is the required alignment_job_id.
      assert.is_nil((res.body:gsub('"alignment_job_id":null', "")):find(":null", 1, true))
      assert.is_nil(res.body:find("[]", 1, true))
      assert.is_nil(res.json.files)
      assert.is_nil(res.json.ingestion_jobs)
      assert.are.equal("Created", res.json.timeline[1].event_type)
      assert.is_nil(res.json.timeline[1].metadata and next(res.json.timeline[1].metadata))

      freeze()
      local md, pdf = sim_file("a.md", "# A"), sim_file("b.pdf", "%PDF-1.7 b")
      local d = ok_json(post("/v1/flow/data-jobs/" .. created.id .. "/add-files",
        { file_ids = { md, pdf } }))
      local entries = {}
      for _, f in ipairs(d.files) do entries[f.file_id] = f end
      assert.is_nil(entries[md].record_id)
      assert.is_nil(entries[md].status)
      assert.is_string(entries[pdf].record_id)
      local rec = d.ingestion_jobs[1].records[1]
      assert.are.equal("queued", rec.status)
      assert.are.equal(1, rec.queue_position)
      assert.is_nil(rec.processing_at)
      assert.is_nil(rec.deleted)
      assert.is_nil(rec.error_message)
      -- An empty list page is `{}`: neither `object` nor `data` is required.
      local page = ok_json(get("/v1/flow/data-jobs?job_type=principle_files"))
      assert.are.same({}, page)
      page = ok_json(get("/v1/flow/files?purpose=fine-tune"))
      assert.are.same({}, page)
    end)

    it("answers not found with 422 and refusals with 400, each with a detail string", function()
      minimal()
      local j = create_job({ name = "refusals", job_type = "principle_files" })
      local res = get("/v1/flow/data-jobs/dj-missing")
      assert.are.same({ 422, "Data job 'dj-missing' not found." }, { res.status, res.json.detail })
      res = post("/v1/flow/data-jobs/dj-missing/start")
      assert.are.equal(422, res.status)
      assert.are.equal(422, get("/v1/flow/files/file-missing").status)
      assert.are.equal(422, get("/v1/flow/alignment/al-missing/outputs").status)
      res = post("/v1/flow/data-jobs/" .. j.id .. "/start")
      assert.are.equal(400, res.status)
      assert.is_string(res.json.detail)
      assert.are.equal(400, post("/v1/flow/data-jobs/" .. j.id .. "/cancel").status)
      res = post("/v1/flow/data-jobs/" .. j.id .. "/remove-files", { file_ids = { "file-x" } })
      assert.are.equal(400, res.status)
      -- Validation errors keep their list, and routing keeps its 404/405.
      res = get("/v1/flow/data-jobs?limit=0")
      assert.are.same({ 422, "greater_than_equal" }, { res.status, res.json.detail[1].type })
      assert.are.equal(404, get("/v1/nothing/here").status)
      assert.are.equal(405, request("PUT", "/v1/flow/data-jobs").status)
    end)

    it("is chosen at start with SEEKRFLOW_SIM_MODE, and a wrong value is refused", function()
      local out = os.tmpname()
      local lua = os.getenv("SEEKRFLOW_SIM_LUA") or "lua5.4"
      local ok = os.execute(string.format("SEEKRFLOW_SIM_MODE=loose %s %s/bin/seekrflow-sim " ..
        "--port 0 >/dev/null 2>%s", lua, root, out))
      assert.is_not_true(ok == true or ok == 0)
      assert.truthy((read_file(out) or ""):find("SEEKRFLOW_SIM_MODE must be", 1, true))
      os.remove(out)
      local sim = require("seekrflow.sim")
      local saved = os.getenv
      -- luacheck: ignore 122
      os.getenv = function(name)
        if name == "SEEKRFLOW_SIM_MODE" then return "spec-minimal" end
        return saved(name)
      end
      local srv = sim.start({ port = 0, quiet = true })
      os.getenv = saved
      assert.are.equal("spec-minimal", srv.app.mode.name)
      srv:close()
      assert.are.equal(404, assert(sim.start({ port = 0, quiet = true, mode = "default" }))
        .app.mode.not_found)
      local none, err = sim.start({ port = 0, quiet = true, mode = "strict" })
      assert.is_nil(none)
      assert.truthy(err:find("spec-minimal", 1, true))
      -- and with --mode, which wins over the environment
      local cli = require("seekrflow.sim.cli")
      assert.are.equal("spec-minimal", cli.parse({ "--mode", "spec-minimal" }).mode)
      none, err = cli.parse({ "--mode", "strict" })
      assert.is_nil(none)
      assert.truthy(err:find("--mode expects default or spec-minimal", 1, true))
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("files", function()
    it("uploads multipart/form-data and serves the content", function()
      local boundary = "----simtest" .. os.time()
      local content = "%PDF-1.4\n\0binary\255data"
      local body = table.concat({
        "--" .. boundary,
        'Content-Disposition: form-data; name="purpose"', "", "alignment",
        "--" .. boundary,
        'Content-Disposition: form-data; name="files"; filename="report.pdf"',
        "Content-Type: application/pdf", "", content,
        "--" .. boundary .. "--", "",
      }, "\r\n")
      local res = request("PUT", "/v1/flow/files", { body = body,
        headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary } })
      local f = ok_json(res)
      assert.truthy(f.id:match("^file%-"))
      assert.are.same({ "file", "pdf", "alignment", "report.pdf", #content, false },
        { f.object, f.type, f.purpose, f.filename, f.bytes, f.deleted })
      assert.are.equal(json.null, f.original_file_id)
      assert.are.equal(content, get("/v1/flow/files/" .. f.id .. "/content").body)
      local list = ok_json(get("/v1/flow/files?purpose=alignment"))
      assert.are.equal(f.id, list.data[1].id)
      res = request("PUT", "/v1/flow/files", { body = "--" .. boundary .. "--\r\n",
        headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary } })
      assert.are.equal(422, res.status)
      res = request("PUT", "/v1/flow/files", { body = body:gsub("\r\nalignment\r\n",
        "\r\nnonsense\r\n"),
        headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary } })
      assert.are.equal(422, res.status)
      assert.are.same({ "enum", "body", "purpose" },
        { res.json.detail[1].type, res.json.detail[1].loc[1], res.json.detail[1].loc[2] })
      assert.are.equal(200, request("DELETE", "/v1/flow/files/" .. f.id).status)
      assert.are.equal(404, get("/v1/flow/files/" .. f.id).status)
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("transport", function()
    it("keeps connections alive and counts them", function()
      local c = connect()
      for _ = 1, 5 do
        c:send(encode_request("GET", "/v1/flow/data-jobs", { Authorization = KEY }))
        assert.are.equal(200, read_response(c).status)
      end
      c:close()
      local s = ok_json(get("/_sim/stats", { auth = false }))
      assert.are.equal(1, s.connections)
      assert.are.equal(5, s.requests)
      assert.are.equal(5, s.routes["GET /v1/flow/data-jobs"])
    end)

    it("honours Connection: close", function()
      local c = connect()
      c:send(encode_request("GET", "/v1/flow/data-jobs", { Authorization = KEY,
        Connection = "close" }))
      local res = read_response(c)
      assert.are.equal("close", res.headers["connection"])
      local data, err = c:receive(1)
      assert.are.same({ nil, "closed" }, { data, err })
      c:close()
    end)

    it("supports Expect: 100-continue and chunked request bodies", function()
      local c = connect()
      local body = json.encode({ name = "cont", job_type = "principle_files" })
      c:send(table.concat({ "POST /v1/flow/data-jobs HTTP/1.1", "Host: x",
        "Authorization: " .. KEY, "Content-Type: application/json",
        "Content-Length: " .. #body, "Expect: 100-continue", "", "" }, "\r\n"))
      local interim = read_head(c)
      assert.are.equal(100, interim.status)
      c:send(body)
      assert.are.equal(201, read_response(c).status)
      local half = math.floor(#body / 2)
      c:send(table.concat({ "POST /v1/flow/data-jobs HTTP/1.1", "Host: x",
        "Authorization: " .. KEY, "Transfer-Encoding: chunked", "", "" }, "\r\n") ..
        string.format("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", half, body:sub(1, half),
          #body - half, body:sub(half + 1)))
      local res = read_response(c)
      assert.are.equal(201, res.status)
      assert.are.equal("cont", res.json.name)
      c:close()
    end)

    it("answers malformed requests with 400 and keeps running", function()
      local c = connect()
      c:send("NONSENSE\r\n\r\n")
      assert.are.equal(400, read_response(c).status)
      c:close()
      c = connect()
      c:send("POST /v1/flow/data-jobs HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"na")
      c:close() -- disconnect mid-body
      assert.are.equal(200, get("/v1/flow/data-jobs").status)
    end)

    it("writes access-log lines without the API key", function()
      get("/v1/flow/data-jobs?limit=3")
      local log = poll(function()
        local text = read_file(log_file) or ""
        if text:find("GET /v1/flow/data-jobs?limit=3", 1, true) then return text end
        return nil
      end)
      assert.is_nil(log:find(KEY, 1, true))
    end)

    it("records requests with headers and bodies", function()
      post("/v1/flow/data-jobs", { name = "logged", job_type = "principle_files" })
      local log = ok_json(get("/_sim/requests", { auth = false }))
      local e = log[#log]
      assert.are.same({ "POST", "/v1/flow/data-jobs", "POST /v1/flow/data-jobs", KEY },
        { e.method, e.path, e.route, e.headers.authorization })
      assert.truthy(e.body:find("logged", 1, true))
      -- The answer is logged with the request, so tests can check what the simulator sent.
      assert.are.equal(201, e.status)
      assert.are.equal("application/json", e.response_type)
      assert.are.equal("logged", json.decode(e.response).name)
      add_fault({ route = "GET /v1/flow/data-jobs/{id}", kind = "status", status = 503 })
      get("/v1/flow/data-jobs/dj-x")
      request("DELETE", "/v1/flow/data-jobs/" .. json.decode(e.response).id)
      log = ok_json(get("/_sim/requests", { auth = false }))
      local faulted, deleted = log[#log - 1], log[#log]
      assert.are.same({ 503, "status" }, { faulted.status, faulted.fault })
      assert.are.same({ 204, json.null }, { deleted.status, deleted.response })
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("faults", function()
    it("returns a simulated status with retry headers, then recovers", function()
      local f = add_fault({ route = "GET /v1/flow/data-jobs", kind = "status", status = 503,
        retry_after = 2, retry_after_ms = 1500, times = 2 })
      assert.truthy(f.id)
      assert.are.equal(1, #ok_json(get("/_sim/faults", { auth = false })))
      for _ = 1, 2 do
        local res = get("/v1/flow/data-jobs")
        assert.are.equal(503, res.status)
        assert.are.equal("Simulated 503", res.json.detail)
        assert.are.same({ "2", "1500" }, { res.headers["retry-after"], res.headers["retry-after-ms"] })
      end
      assert.are.equal(200, get("/v1/flow/data-jobs").status)
      -- Faults apply before auth.
      add_fault({ route = "POST *", kind = "status", status = 429, body = '{"detail":"slow down"}' })
      local res = post("/v1/flow/data-jobs", {}, { auth = false })
      assert.are.same({ 429, "slow down" }, { res.status, res.json.detail })
    end)

    it("delays one connection without blocking another", function()
      -- Generous margins: the suite also runs under valgrind.
      add_fault({ route = "GET /v1/flow/data-jobs/{id}", kind = "latency", delay_ms = 800 })
      local t0 = socket.gettime()
      local slow = connect()
      slow:send(encode_request("GET", "/v1/flow/data-jobs/dj-x", { Authorization = KEY }))
      assert.are.equal(200, get("/v1/flow/data-jobs").status)
      assert.is_true(socket.gettime() - t0 < 0.6)
      local res = read_response(slow)
      assert.are.equal(404, res.status)
      assert.is_true(socket.gettime() - t0 >= 0.75)
      slow:close()
    end)

    it("resets, truncates, stalls and sends non-JSON", function()
      add_fault({ route = "*", kind = "reset" })
      local res, err = get("/v1/flow/data-jobs")
      assert.is_nil(res)
      assert.truthy(err == "closed" or err:find("reset", 1, true), err)

      add_fault({ route = "*", kind = "truncate" })
      local partial
      res, err, partial = get("/v1/flow/data-jobs")
      assert.is_nil(res)
      assert.are.equal("closed", err)
      assert.are.equal(200, partial.status)
      assert.is_true(#partial.body < tonumber(partial.headers["content-length"]))

      add_fault({ route = "*", kind = "non_json", status = 502 })
      res = get("/v1/flow/data-jobs")
      assert.are.equal(502, res.status)
      assert.truthy(res.headers["content-type"]:find("text/html", 1, true))
      assert.truthy(res.body:find("<html>", 1, true))

      add_fault({ route = "*", kind = "stall", delay_ms = 200 })
      local c = connect()
      c:send(encode_request("GET", "/v1/flow/data-jobs", { Authorization = KEY }))
      local head = read_head(c)
      assert.are.equal(200, head.status)
      c:settimeout(0.1)
      local _, serr = c:receive(1)
      assert.are.equal("timeout", serr) -- nothing arrives during the stall
      c:settimeout(2)
      _, serr = c:receive(1)
      assert.are.equal("closed", serr)
      c:close()

      add_fault({ route = "*", kind = "status", times = -1 })
      assert.are.equal(500, get("/v1/flow/data-jobs").status)
      assert.are.equal(500, get("/v1/flow/data-jobs").status)
      assert.are.equal(200, request("DELETE", "/_sim/faults", { auth = false }).status)
      assert.are.equal(200, get("/v1/flow/data-jobs").status)
      assert.are.equal(400, post("/_sim/faults", { kind = "explode" }, { auth = false }).status)
    end)
  end)

  -- -------------------------------------------------------------------------------------------
  describe("control", function()
    it("changes configuration and advances the clock", function()
      local cfg = ok_json(post("/_sim/config", { time_scale = 0 }, { auth = false }))
      assert.are.equal(0, cfg.time_scale)
      assert.are.equal(2, cfg.workers)
      local j = create_job({ name = "frozen", job_type = "context_grounded_files" })
      local pdf = sim_file("f.pdf", "%PDF-1.4", { size = 300 * 1024 })
      ok_json(post("/v1/flow/data-jobs/" .. j.id .. "/add-files", { file_ids = { pdf } }))
      socket.sleep(0.05)
      assert.are.equal("file_processing", job(j.id).status) -- time is frozen
      -- 2 s pickup + 20 s + 10 s per 100 KiB (30 s) + up to 2 s jitter < 60 s
      advance(60)
      local d = job(j.id)
      assert.are.equal("ready_to_start", d.status)
      local rec = d.ingestion_jobs[1].records[1]
      assert.is_true(rec.completed_at > rec.processing_at)
    end)

    it("shuts down on request", function()
      local res = post("/_sim/shutdown", nil, { auth = false })
      assert.are.equal(200, res.status)
      poll(function() return not listening() end, 5)
    end)
  end)
end)
