--- Spec helper: the simulator tools/run-specs started, its control API, and
--- clients pointed at it. The control calls use LuaSocket, not the client
--- under test, so a bug in the client cannot hide itself.
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"
local seekrflow = require "seekrflow"

-- sim.url, sim.base_url, sim.api_key and the control calls shared with spec/nvim/sim.lua.
local sim = require("helpers.sim_api")({ seekrflow = seekrflow }, "`make test` or `sh tools/run-specs`")

--- The simulator's response mode (tools/run-specs runs some specs against each):
--- "default" answers "not found" with 404 and refusals with 409, "spec-minimal" with 422 and
--- 400, and sends only the fields the published models require.
sim.mode = os.getenv("SEEKRFLOW_SIM_MODE") or "default"
sim.minimal = sim.mode == "spec-minimal"
sim.NOT_FOUND = sim.minimal and 422 or 404
sim.REFUSED = sim.minimal and 400 or 409

--- Calls the control API; returns the decoded body and the status.
function sim.control(method, path, body)
  local chunks = {}
  local payload = body and seekrflow.json_encode(body) or nil
  local _, status = http.request {
    url = sim.url .. path,
    method = method,
    source = payload and ltn12.source.string(payload) or nil,
    headers = payload and { ["content-type"] = "application/json", ["content-length"] = #payload } or nil,
    sink = ltn12.sink.table(chunks),
  }
  local text = table.concat(chunks)
  local decoded = text ~= "" and seekrflow.json_decode(text) or nil
  return decoded, status
end

--- The suite's simulator speed (simulated seconds per real second) and how many times slower
--- than usual the client runs (tools/run-specs sets both: the simulator and the specs slow
--- down under a memory checker).
sim.time_scale = tonumber(os.getenv("SEEKRFLOW_SIM_TIME_SCALE") or "") or 200
sim.slowdown = tonumber(os.getenv("SEEKRFLOW_SPEC_SLOWDOWN") or "") or 1

--- A spec's deadline, in real seconds: `seconds` on an unloaded machine at the usual speed,
--- stretched by sim.slowdown.
function sim.deadline(seconds) return seconds * sim.slowdown end

--- Empties the simulator and brings back the suite's speed, which a spec may have changed.
function sim.reset()
  assert(select(2, sim.control("POST", "/_sim/reset")) == 200)
  assert(select(2, sim.control("POST", "/_sim/config", { time_scale = sim.time_scale })) == 200)
end

function sim.requests() return (sim.control("GET", "/_sim/requests")) end

--- Requests of the log that match a route pattern, e.g. "POST /v1/flow/data-jobs/{id}/add-files".
function sim.requests_for(route)
  local found = {}
  for _, r in ipairs(sim.requests()) do
    if r.route == route then found[#found + 1] = r end
  end
  return found
end

--- Inside a describe block: before each test, an emptied simulator and a new client, handed
--- to `set`; after it, that client closed.
---   local client
---   sim.client_per_test(function(c) client = c end)
function sim.client_per_test(set, opts)
  local busted = require "busted" -- the hooks of the spec file that calls this
  local current
  busted.before_each(function()
    sim.reset()
    current = sim.client(opts)
    set(current)
  end)
  busted.after_each(function() current:close() end)
end

--- Inside a describe block: the simulator's speed and worker count saved before each test and
--- put back after it (sim.reset keeps the worker count), so a test may change them freely.
--- Call it after the block's own before_each to save what that one set up.
function sim.keep_config()
  local busted = require "busted" -- the hooks of the spec file that calls this
  local saved
  busted.before_each(function() saved = sim.config {} end)
  busted.after_each(function() sim.config { time_scale = saved.time_scale, workers = saved.workers } end)
end

--- Polls fn until it returns a truthy value; fails after sim.deadline(`seconds`).
function sim.eventually(fn, seconds, what)
  local deadline = socket.gettime() + sim.deadline(seconds or 10)
  while true do
    local value = fn()
    if value then return value end
    if socket.gettime() > deadline then error("timed out waiting for " .. (what or "a condition"), 2) end
    socket.sleep(0.02)
  end
end

--- Waits until the job leaves file_processing and returns the detail.
function sim.settled(client, id, seconds)
  return sim.eventually(function()
    local d = client.data_jobs:retrieve(id)
    return d.status ~= "file_processing" and d or nil
  end, seconds or 15, "job " .. id .. " to finish ingestion")
end

--- Loads the simulator's many-jobs scenario (lua/seekrflow/sim/many_jobs.lua); returns its
--- jobs, { id, name, kind } each.
function sim.many_jobs(opts)
  local body, status = sim.control("POST", "/_sim/scenarios/many_jobs", opts or {})
  assert(status == 200, "could not load the many-jobs scenario: " .. tostring(status))
  return body.jobs
end

return sim
