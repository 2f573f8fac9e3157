--- bench/contenders/seekrflow.lua: data_jobs:retrieve on one client (its
--- connection kept alive), then the walk every contender does.
---   <lua> seekrflow.lua <base_url> <id> <iterations> [rss]
local common = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local seekrflow = require "seekrflow"
local base, id, n, mode = arg[1], arg[2], tonumber(arg[3]), arg[4]
local client = seekrflow.new { api_key = "bench-key", base_url = base }

common.run(function() return common.count_failed(client.data_jobs:retrieve(id)) end, seekrflow.monotonic, n, mode)
client:close()
