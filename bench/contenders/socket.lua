--- bench/contenders/socket.lua: LuaSocket's http.request (a new connection
--- each time, as LuaSocket does), decoded with lua-cjson or dkjson, then the
--- walk every contender does.
---   <lua> socket.lua <url> <cjson|dkjson> <iterations> [rss]
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"
local url, lib, n, mode = arg[1], arg[2], tonumber(arg[3]), arg[4]
local decode = lib == "dkjson" and require("dkjson").decode or require("cjson").decode

local function once()
  local parts = {}
  local _, status = http.request { url = url, sink = ltn12.sink.table(parts) }
  assert(status == 200, "HTTP " .. tostring(status))
  local d = decode(table.concat(parts))
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
if lib ~= "dkjson" then once() end -- a warm-up, except where one request takes seconds
local out = {}
for i = 1, n do
  local t0 = socket.gettime()
  once()
  out[i] = ("%.9f"):format(socket.gettime() - t0)
end
print(table.concat(out, "\n"))
