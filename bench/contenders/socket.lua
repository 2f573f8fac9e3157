--- bench/contenders/socket.lua: LuaSocket's http.request (a new connection
--- each time, as LuaSocket does), decoded with lua-cjson or dkjson, then the
--- walk every contender does.
---   <lua> socket.lua <url> <cjson|dkjson> <iterations> [rss]
local common = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/common.lua")
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"
local url, lib, n, mode = arg[1], arg[2], tonumber(arg[3]), arg[4]
local decode = lib == "dkjson" and require("dkjson").decode or require("cjson").decode

local function once()
  local parts = {}
  local _, status = http.request { url = url, sink = ltn12.sink.table(parts) }
  assert(status == 200, "HTTP " .. tostring(status))
  return common.count_failed(decode(table.concat(parts)))
end

-- a warm-up, except where one request takes seconds (dkjson)
common.run(once, socket.gettime, n, mode, lib ~= "dkjson")
