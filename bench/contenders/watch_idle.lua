--- bench/contenders/watch_idle.lua: a watch on a job that never changes,
--- polling every 1-2 s for `seconds`; prints the share of one core it used.
---   <lua> watch_idle.lua <base_url> <id> <seconds>
local seekrflow = require "seekrflow"
local watch = require "seekrflow.watch"
local base, id, seconds = arg[1], arg[2], tonumber(arg[3])
local client = seekrflow.new { api_key = "bench-key", base_url = base }
local cpu0, wall0 = os.clock(), seekrflow.monotonic()
local result = watch.wait(client, id, { timeout = seconds, min_interval = 1, max_interval = 2 })
local cpu, wall = os.clock() - cpu0, seekrflow.monotonic() - wall0
print(("watch %s polls %d cpu %.6f wall %.3f"):format(result.reason, result.polls or -1, cpu, wall))
client:close()
