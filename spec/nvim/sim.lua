--- The simulator from inside Neovim: spec/helpers/sim.lua (its settings, waits and control
--- calls), with its one exchange over LuaSocket replaced by a plain HTTP/1.1 exchange on
--- vim.loop. LuaSocket cannot load into Neovim 0.7: its socket_connect symbol resolves to
--- Neovim's own function of that name and crashes. So while spec/helpers/sim.lua loads, the
--- LuaSocket modules it names are stood in for (socket by the core's clock and sleep;
--- socket.http and ltn12 serve only the exchange replaced here).
---
--- The control calls never go through the code under test. Each waits with vim.wait, so
--- never call them from inside a vim.wait condition.
local seekrflow = require "seekrflow"

local STAND_INS = {
  socket = { gettime = seekrflow.monotonic, sleep = seekrflow.sleep },
  ["socket.http"] = {},
  ltn12 = {},
}
for name, module in pairs(STAND_INS) do package.loaded[name] = module end
local sim = require "helpers.sim"
for name in pairs(STAND_INS) do package.loaded[name] = nil end

local host, port = sim.url:match("^http://([^/:]+):(%d+)$")
assert(host, "SEEKRFLOW_SIM_URL must look like http://HOST:PORT, got " .. sim.url)
port = tonumber(port)

local function address()
  if host:match("^%d+%.%d+%.%d+%.%d+$") then return host end
  local found = vim.loop.getaddrinfo(host, nil, { family = "inet", socktype = "stream" })
  assert(found and found[1], "cannot resolve " .. host)
  return found[1].addr
end

local function dechunk(body)
  local out, pos = {}, 1
  while true do
    local size_end = body:find("\r\n", pos, true)
    if not size_end then break end
    local size = tonumber(body:sub(pos, size_end - 1):match("^%x+"), 16)
    if not size or size == 0 then break end
    out[#out + 1] = body:sub(size_end + 2, size_end + 1 + size)
    pos = size_end + 2 + size + 2
  end
  return table.concat(out)
end

-- Splits a complete response; nil while more bytes are needed.
local function parse(raw, eof)
  local head_end = raw:find("\r\n\r\n", 1, true)
  if not head_end then return nil end
  local head, body = raw:sub(1, head_end - 1), raw:sub(head_end + 4)
  local status = tonumber(head:match("^HTTP/1%.%d (%d%d%d)"))
  local lower = head:lower()
  local length = tonumber(lower:match("\r\ncontent%-length:%s*(%d+)"))
  if lower:find("\r\ntransfer%-encoding:%s*chunked") then
    if not eof and not body:find("\r\n0\r\n\r\n", 1, true) and body:sub(1, 3) ~= "0\r\n" then return nil end
    return status, dechunk(body)
  end
  if length then
    if #body < length then return nil end
    return status, body:sub(1, length)
  end
  if not eof then return nil end
  return status, body
end

--- One control request; returns the decoded body (or nil) and the status.
---@param method string
---@param path string e.g. "/_sim/reset"
---@param body table? sent as JSON
function sim.control(method, path, body)
  local payload = body and vim.json.encode(body) or ""
  local request = table.concat({
    method .. " " .. path .. " HTTP/1.1",
    "Host: " .. host .. ":" .. port,
    "Connection: close",
    "Content-Type: application/json",
    "Content-Length: " .. #payload,
    "", payload,
  }, "\r\n")
  local tcp = vim.loop.new_tcp()
  local chunks, failure, eof = {}, nil, false
  tcp:connect(address(), port, function(err)
    if err then
      failure = err
      return
    end
    tcp:write(request)
    tcp:read_start(function(read_err, data)
      if read_err then failure = read_err
      elseif data then chunks[#chunks + 1] = data
      else eof = true end
    end)
  end)
  local status, text
  local finished = vim.wait(10000, function()
    if failure then return true end
    status, text = parse(table.concat(chunks), eof)
    return status ~= nil or eof
  end, 2)
  if not tcp:is_closing() then tcp:close() end
  assert(finished, ("%s %s: no answer from the simulator in 10 s"):format(method, path))
  assert(not failure, ("%s %s: %s"):format(method, path, tostring(failure)))
  assert(status, ("%s %s: not an HTTP answer"):format(method, path))
  local decoded = nil
  if text and text ~= "" then
    local ok, value = pcall(vim.json.decode, text)
    if ok then decoded = value end
  end
  return decoded, status
end

return sim
