--- A scriptable hostile HTTP server on loopback, for specs.
---
--- It runs as its own process (LuaSocket, 127.0.0.1, a free port) and answers
--- each request with the next step of a script; the last step repeats. A step:
---   status   = 200                      the status code (default 200)
---   reason   = "OK"                     the reason phrase
---   headers  = { ["X-A"] = "b", … }     headers (values sent as given)
---   raw_headers = "X-A: b\r\n…"         raw header bytes, sent as they are
---   body     = "…"                      the body (Content-Length is added)
---   body_file = "/path"                 the body, read from a file (binary)
---   delay    = 0.5                      seconds to wait before answering
---   never    = true                     read the request, then never answer
---   raw      = "HTTP/1.1 …"             the whole answer, sent as it is
--- Every request is recorded (method, target, headers, body): server:requests().
---
---   local hostile = require "helpers.hostile"
---   local server = hostile.start { { status = 500 }, { body = '{"id":"x"}' } }
---   … use server.url (http://127.0.0.1:PORT) …
---   server:stop()
local util = require "helpers.util"

local M = {}

local function serialize(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = ("%q"):format(v)
  elseif t == "number" or t == "boolean" or t == "nil" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      out[#out + 1] = "["
      serialize(k, out)
      out[#out + 1] = "]="
      serialize(x, out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  else
    error("hostile: cannot send a " .. t .. " to the server")
  end
end

local function to_lua(v)
  local out = {}
  serialize(v, out)
  -- %q writes "\<newline>" for a line break: load() reads it back exactly.
  return table.concat(out)
end

-- ---- the server process ----

-- Serves the script in dir/script; writes the port to dir/port once listening and
-- logs each request to dir/log.
local function serve(dir)
  local socket = require "socket"
  local script = assert(load("return " .. util.read_file(dir .. "/script")))()
  local server = assert(socket.bind("127.0.0.1", 0))
  local _, port = server:getsockname()
  os.rename(util.write_file(dir, "port.tmp", tostring(port)), dir .. "/port")
  -- connections that are never answered stay open (referenced, so never
  -- collected and closed) until the process is killed
  local held = {}
  local n = 0
  while true do
    local conn = server:accept()
    if conn then
      conn:settimeout(5)
      local line = conn:receive("*l")
      local headers, length = {}, 0
      while line do
        local h = conn:receive("*l")
        if not h or h == "" then break end
        local name, value = h:match("^([^:]+):%s*(.-)%s*$")
        if name then
          headers[name:lower()] = value
          if name:lower() == "content-length" then length = tonumber(value) or 0 end
        end
      end
      local body = length > 0 and conn:receive(length) or ""
      n = n + 1
      local step = script[math.min(n, #script)] or {}
      local method, target = (line or ""):match("^(%S+)%s+(%S+)")
      local log = io.open(dir .. "/log", "ab")
      log:write("R", to_lua({ method = method, target = target, headers = headers, body = body }), "\n")
      log:close()
      if step.delay then socket.sleep(step.delay) end
      if step.never then
        held[#held + 1] = conn
        io.stderr:write(("holding %d connection(s)\n"):format(#held))
      else
        local answer = step.raw
        if not answer then
          local b = step.body_file and util.read_file(step.body_file) or step.body or ""
          local parts = { ("HTTP/1.1 %d %s\r\n"):format(step.status or 200, step.reason or "Answer") }
          for k, v in pairs(step.headers or {}) do parts[#parts + 1] = k .. ": " .. v .. "\r\n" end
          if step.raw_headers then parts[#parts + 1] = step.raw_headers end
          parts[#parts + 1] = ("Content-Length: %d\r\nConnection: close\r\n\r\n"):format(#b)
          parts[#parts + 1] = b
          answer = table.concat(parts)
        end
        conn:send(answer)
        conn:close()
      end
    end
  end
end

if arg and select("#", ...) >= 2 and select(1, ...) == "serve" then
  serve((select(2, ...)))
  return
end

-- ---- the spec side ----

local Server = {}
Server.__index = Server

--- Starts a server that plays script (a list of steps, see above).
function M.start(script)
  local dir = util.temp_dir()
  local self = setmetatable({ dir = dir }, Server)
  util.write_file(dir, "script", to_lua(script))
  local here = debug.getinfo(1, "S").source:sub(2)
  local lua = os.getenv("SIM_LUA") or "lua5.4"
  -- the server requires helpers.util too: point it at this spec folder
  local spec_dir = here:match("^(.*)/helpers/[^/]*$")
  assert(os.execute(("LUA_PATH='%s/?.lua;;' %s '%s' serve '%s' >'%s/out' 2>&1 & echo $! >'%s/pid'")
    :format(spec_dir, lua, here, dir, dir, dir)))
  local socket = require "socket"
  for _ = 1, 200 do
    local port = util.read_file(dir .. "/port")
    if port and port ~= "" then
      self.port = tonumber(port)
      break
    end
    socket.sleep(0.02)
  end
  assert(self.port, "the hostile server did not start: " .. (util.read_file(dir .. "/out") or ""))
  self.url = "http://127.0.0.1:" .. self.port
  return self
end

--- The requests received so far: { method=, target=, headers=, body= }.
function Server:requests()
  local list = {}
  local text = util.read_file(self.dir .. "/log") or ""
  local env = { R = function(r) list[#list + 1] = r end }
  local chunk
  if setfenv then -- Lua 5.1: load takes no text or environment
    chunk = assert(loadstring(text, "log"))
    setfenv(chunk, env)
  else
    chunk = assert(load(text, "log", "t", env))
  end
  chunk()
  return list
end

function Server:stop()
  local pid = util.read_file(self.dir .. "/pid")
  if pid and pid:match("^%d+") then os.execute("kill " .. pid:match("^%d+") .. " 2>/dev/null") end
  util.remove_dir(self.dir)
end

return M
