--- The many-jobs scenario: a team ingesting into many data jobs at once, for tests of
--- clients that watch them all (seekrflow.watch_many, `seekrflow watch --all`).
--
-- Over the control API: `POST /_sim/scenarios/many_jobs` with any of the options below
-- (`{}` for the defaults) answers `{"jobs": [{"id", "name", "kind"}, …], "workers": n}`.
-- From Lua: `require("seekrflow.sim.many_jobs").load(server.app, opts)`.
--
-- Jobs are made round-robin from the mix, job i (1-based) of kind MIX[(i - 1) % #MIX + 1]:
--   healthy  two small PDFs                        -> ready_to_start
--   failing  a small PDF and one that always fails  -> needs_review (one failed file)
--   slow     a 600 KiB PDF (about 80 s to ingest)  -> ready_to_start, last
--   markdown one Markdown file, no ingestion       -> ready_to_start at once
-- `throttle` answers that many of the next job-detail GETs with 429 and a Retry-After of
-- `retry_after` seconds (the API rate-limits a key, not a job). The worker pool grows to
-- `workers` (default: one per job) so every job ingests at once; this stays after the call.
local json = require("seekrflow.sim.json")
local reply = require("seekrflow.sim.reply")

local M = {}

M.MIX = { "healthy", "failing", "healthy", "slow", "healthy", "markdown", "healthy", "failing" }

M.DEFAULTS = { jobs = 200, throttle = 0, retry_after = 1, prefix = "many" }

local PDF = "%PDF-1.4\n% a simulated document\n"

local FILES = {
  healthy = { { "a.pdf", PDF }, { "b.pdf", PDF } },
  failing = { { "ok.pdf", PDF }, { "broken.pdf", PDF .. "SIM:INTERNAL\n" } },
  slow = { { "big.pdf", PDF .. string.rep("x", 600 * 1024) } },
  markdown = { { "notes.md", "# Notes\n" } },
}

--- What each kind of job ends as, with the default until statuses of a watch.
M.EXPECTED = { healthy = "ready_to_start", failing = "needs_review", slow = "ready_to_start",
  markdown = "ready_to_start" }

local function check(opts)
  local o = {}
  for k, v in pairs(M.DEFAULTS) do o[k] = v end
  for k, v in pairs(opts or {}) do
    if M.DEFAULTS[k] == nil and k ~= "workers" then return nil, "unknown option '" .. tostring(k) .. "'" end
    o[k] = v
  end
  local function count(name, low, high)
    local v = o[name]
    if type(v) ~= "number" or v ~= v or math.floor(v) ~= v or v < low or v > high then
      return name .. " must be an integer from " .. low .. " to " .. high
    end
  end
  local bad = count("jobs", 1, 5000) or count("throttle", 0, 100000)
    or (o.workers ~= nil and count("workers", 1, 5000))
  if bad then return nil, bad end
  if type(o.retry_after) ~= "number" or o.retry_after < 0 or o.retry_after > 3600 then
    return nil, "retry_after must be a number of seconds from 0 to 3600"
  end
  if type(o.prefix) ~= "string" or #o.prefix > 64 then return nil, "prefix must be a string of at most 64 bytes" end
  o.workers = o.workers or o.jobs
  return o
end

--- Creates the jobs and starts their ingestion in the app's state.
---@param app table the simulator's application (server.app)
---@param opts { jobs: integer?, throttle: integer?, retry_after: number?, workers: integer?, prefix: string? }?
---@return table|nil jobs list of { id, name, kind }
---@return string? err
function M.load(app, opts)
  local o, err = check(opts)
  if not o then return nil, err end
  local st, files = app.st, app.files
  st:set_workers(o.workers)
  local made = {}
  for i = 1, o.jobs do
    local kind = M.MIX[(i - 1) % #M.MIX + 1]
    local name = string.format("%s-%03d-%s", o.prefix, i, kind)
    local job = st:create_job { name = name, job_type = "principle_files", system_prompt = "You are a test." }
    local ids = {}
    for _, f in ipairs(FILES[kind]) do
      local stored = files:add { filename = f[1], content = f[2], purpose = "alignment",
        created_at = app.clock:stamp() }
      ids[#ids + 1] = stored.id
    end
    local _, add_err = st:add_files(job, ids, nil)
    if add_err then return nil, "add-files failed for " .. name end
    made[#made + 1] = { id = job.id, name = name, kind = kind }
  end
  if o.throttle > 0 then
    local _, ferr = app.faults:add(json.object("route", "GET /v1/flow/data-jobs/{id}", "kind", "status",
      "status", 429, "retry_after", o.retry_after, "times", o.throttle))
    if ferr then return nil, ferr end
  end
  return made
end

--- The control route: decodes the options, loads the scenario, lists the jobs.
function M.handle(app, req)
  local opts = {}
  if req.body ~= "" then
    local v = json.decode(req.body)
    if not json.is_object(v) then return reply.detail(400, "Body must be a JSON object of options.") end
    for k, val in pairs(v) do opts[k] = val end
  end
  local jobs, err = M.load(app, opts)
  if not jobs then return reply.detail(400, "Invalid many_jobs scenario: " .. err) end
  local list = json.array()
  for i, j in ipairs(jobs) do list[i] = json.object("id", j.id, "name", j.name, "kind", j.kind) end
  return reply.json(200, json.object("jobs", list, "workers", app.st.workers))
end

return M
