--- bench/contenders/seekrflow.lua: data_jobs:retrieve on one client (its
--- connection kept alive), then the walk every contender does.
---   <lua> seekrflow.lua <base_url> <id> <iterations> [rss]
local seekrflow = require "seekrflow"
local base, id, n, mode = arg[1], arg[2], tonumber(arg[3]), arg[4]
local client = seekrflow.new { api_key = "bench-key", base_url = base }
local clock = seekrflow.monotonic

local function once()
  local d = client.data_jobs:retrieve(id)
  local failed = 0
  for _, job in ipairs(d.ingestion_jobs) do
    for _, record in ipairs(job.records) do
      if record.status == "failed" then failed = failed + 1 end
    end
  end
  return failed
end

if mode == "rss" then
  once()
  print("rss " .. io.open("/proc/self/status"):read("*a"):match("VmHWM:%s*(%d+)"))
  return
end
once()
local out = {}
for i = 1, n do
  local t0 = clock()
  once()
  out[i] = ("%.9f"):format(clock() - t0)
end
print(table.concat(out, "\n"))
client:close()
