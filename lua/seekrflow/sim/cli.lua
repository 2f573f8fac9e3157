--- Command-line parsing for `seekrflow-sim`.
local M = {}

M.USAGE = [[
Usage: seekrflow-sim [options]

Local SeekrFlow data-jobs API simulator (HTTP on loopback).

Options:
  --host HOST         address to listen on (default 127.0.0.1; must be loopback
                      unless --allow-remote)
  --port N            port (default 8787; 0 picks a free port)
  --port-file PATH    write the bound port number and a newline to PATH once listening
  --api-key KEY       accepted API key; repeatable (default: sim-key)
  --time-scale N      simulated seconds per real second (default 10)
  --workers N         ingestion worker pool size (default 2)
  --seed N            seed for ids and jitter (deterministic runs)
  --allow-remote      allow a non-loopback --host
  --log               one access-log line per request on stderr
  --quiet             no diagnostics on stderr (dropped connections, internal
                      errors); the banner line is still printed
  --help              show this help and exit
]]

local VALUE_FLAGS = {
  host = true, port = true, ["port-file"] = true, ["api-key"] = true, ["time-scale"] = true,
  workers = true, seed = true,
}
local BOOL_FLAGS = { quiet = true, log = true, help = true, ["allow-remote"] = true }

--- True for addresses that only accept local connections.
---@param host string
---@return boolean
function M.is_loopback(host)
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

local function number(flag, v, integer, min)
  local n = tonumber(v)
  if not n or n ~= n or (integer and math.floor(n) ~= n) or (min and n < min) then
    return nil, string.format("--%s expects %s%s, got '%s'", flag,
      integer and "an integer" or "a number", min and (" >= " .. min) or "", v)
  end
  return n
end

--- Parse argv into options; returns nil and a message on a usage error.
---@param argv table
---@return table|nil opts
---@return string|nil err
function M.parse(argv)
  local o = {
    host = "127.0.0.1", port = 8787, api_keys = {}, time_scale = 10, workers = 2,
    quiet = false, log = false, help = false, allow_remote = false,
  }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^%-%-([%w-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w-]+)$") end
    if not name then return nil, "unexpected argument '" .. a .. "'" end
    local value
    if VALUE_FLAGS[name] then
      if inline then
        value = inline
      else
        i = i + 1
        value = argv[i]
        if value == nil then return nil, "--" .. name .. " needs a value" end
      end
    elseif BOOL_FLAGS[name] then
      if inline then return nil, "--" .. name .. " takes no value" end
    else
      return nil, "unknown option --" .. name
    end
    local err
    if name == "host" then
      o.host = value
    elseif name == "port" then
      o.port, err = number(name, value, true, 0)
      if o.port and o.port > 65535 then err = "--port must be at most 65535" end
    elseif name == "port-file" then
      o.port_file = value
    elseif name == "api-key" then
      if value == "" then err = "--api-key must not be empty" end
      o.api_keys[#o.api_keys + 1] = value
    elseif name == "time-scale" then
      o.time_scale, err = number(name, value, false, 0)
    elseif name == "workers" then
      o.workers, err = number(name, value, true, 1)
    elseif name == "seed" then
      o.seed, err = number(name, value, true)
    else
      o[(name:gsub("-", "_"))] = true
    end
    if err then return nil, err end
    i = i + 1
  end
  if #o.api_keys == 0 then o.api_keys[1] = "sim-key" end
  if not o.allow_remote and not M.is_loopback(o.host) then
    return nil, "refusing to listen on non-loopback address '" .. o.host ..
      "' (pass --allow-remote to allow it)"
  end
  return o
end

return M
