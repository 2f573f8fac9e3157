--- Requests per second against the simulator: one client reusing its
--- connection, against a new client (and connection) per request.
--- Run: make bench (it starts the simulator).
local seekrflow = require "seekrflow"
local base = assert(os.getenv("SEEKRFLOW_SIM_URL"), "run through make bench") .. "/v1"
local N = tonumber(os.getenv("BENCH_REQUESTS") or "300")

local setup = seekrflow.new { api_key = "sim-key", base_url = base }
local id = setup.data_jobs:create { name = "bench", job_type = "principle_files" }.id
setup:close()

local function measure(name, fn)
  local started = seekrflow.monotonic()
  for _ = 1, N do fn() end
  local elapsed = seekrflow.monotonic() - started
  print(("%-32s %7.0f requests/s  (%d requests, %.2f s)"):format(name, N / elapsed, N, elapsed))
end

local client = seekrflow.new { api_key = "sim-key", base_url = base }
measure("one client, reused connection", function() client.data_jobs:retrieve(id) end)
client:close()
measure("new client per request", function()
  local c = seekrflow.new { api_key = "sim-key", base_url = base }
  c.data_jobs:retrieve(id)
  c:close()
end)
