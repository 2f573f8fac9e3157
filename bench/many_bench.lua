--- 200 jobs watched from one process (watch.many) against the simulator's many-jobs scenario:
--- the client's CPU while it waits (target < 2 % of a core), the connections it opened
--- (target: no more than its concurrency) and how long after a change on the server its
--- event arrives (target: within one poll interval).
--- Run: make bench (it starts the simulator). BENCH_JOBS and BENCH_TIME_SCALE change the size.
local seekrflow = require "seekrflow"
local watch = require "seekrflow.watch"
local watch_many = require "seekrflow.watch_many"
local http = require "socket.http"
local ltn12 = require "ltn12"

local url = assert(os.getenv("SEEKRFLOW_SIM_URL"), "run through make bench")
local JOBS = tonumber(os.getenv("BENCH_JOBS") or "200")
local SCALE = tonumber(os.getenv("BENCH_TIME_SCALE") or "20")
local CONCURRENCY = 4
local MIN_INTERVAL, MAX_INTERVAL = 1, 5

local function control(method, path, body)
  local chunks, payload = {}, body and seekrflow.json_encode(body) or nil
  local _, status = http.request {
    url = url .. path, method = method, sink = ltn12.sink.table(chunks),
    source = payload and ltn12.source.string(payload) or nil,
    headers = payload and { ["content-type"] = "application/json", ["content-length"] = #payload } or nil,
  }
  assert(status == 200, path .. ": HTTP " .. tostring(status))
  return seekrflow.json_decode(table.concat(chunks))
end

control("POST", "/_sim/reset", {})
local saved = control("GET", "/_sim/config")
control("POST", "/_sim/config", { time_scale = SCALE })
local jobs = control("POST", "/_sim/scenarios/many_jobs", { jobs = JOBS }).jobs
local ids = {}
for i, j in ipairs(jobs) do ids[i] = j.id end

-- The simulator's clock against ours: a server timestamp s happened at our monotonic
-- t0 + (s - server0) / SCALE (the call's own latency, ~1 ms, is the error).
local t0 = seekrflow.monotonic()
local server0 = watch_many.epoch_seconds(control("GET", "/_sim/config").now)
local function local_time(iso)
  local s = watch_many.epoch_seconds(iso)
  return s and t0 + (s - server0) / SCALE
end

local lags = {}
local function on_event(event)
  if event.type == "record_status" and (event.to == "completed" or event.to == "failed") then
    local at = local_time(event.record.completed_at or event.record.failed_at)
    if at then lags[#lags + 1] = event.time - at end
  end
end

local client = seekrflow.new { api_key = "sim-key", base_url = url .. "/v1" }
local before = control("GET", "/_sim/stats")
local cpu0, wall0 = os.clock(), seekrflow.monotonic()
local result = watch.many(client, ids, { concurrency = CONCURRENCY, min_interval = MIN_INTERVAL,
  max_interval = MAX_INTERVAL, on_event = on_event, timeout = 600 })
local cpu, wall = os.clock() - cpu0, seekrflow.monotonic() - wall0
local stats = control("GET", "/_sim/stats")
client:close()
control("POST", "/_sim/config", { time_scale = saved.time_scale, workers = saved.workers })

table.sort(lags)
local function pct(p) return lags[math.max(1, math.ceil(#lags * p))] or 0 end
local within = 0
for _, lag in ipairs(lags) do if lag <= MAX_INTERVAL then within = within + 1 end end

print(("%d jobs, time scale %d, concurrency %d, intervals %g-%g s: %s in %.1f s, %d requests")
  :format(JOBS, SCALE, CONCURRENCY, MIN_INTERVAL, MAX_INTERVAL, result.reason, wall, result.requests))
print(("client CPU while watching   %6.2f %% of a core   (target < 2 %%)"):format(100 * cpu / wall))
print(("connections opened          %6d            (target <= %d)"):format(
  stats.connections - before.connections, CONCURRENCY))
print(("change -> event, median     %6.2f s          p95 %.2f s, max %.2f s (%d file outcomes)")
  :format(pct(0.5), pct(0.95), lags[#lags] or 0, #lags))
print(("within one poll interval    %6.1f %%          (<= max_interval %g s)"):format(
  #lags > 0 and 100 * within / #lags or 0, MAX_INTERVAL))
