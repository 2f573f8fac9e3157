--- Command-line parsing for `seekrflow-sim`, by lua-argparse.
local argparse = require "argparse"

local M = {}

--- True for addresses that only accept local connections.
---@param host string
---@return boolean
function M.is_loopback(host)
  return host == "localhost" or host == "::1" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

-- A converter for a numeric flag; its message names the flag and what it expects.
local function number(flag, integer, min, max)
  return function(v)
    local n = tonumber(v)
    if not n or n ~= n or (integer and math.floor(n) ~= n) or (min and n < min) or (max and n > max) then
      return nil, string.format("--%s expects %s%s%s, got '%s'", flag,
        integer and "an integer" or "a number", min and (" >= " .. min) or "",
        max and (" and <= " .. max) or "", v)
    end
    return integer and math.floor(n) or n
  end
end

local function nonempty(flag)
  return function(v)
    if v == "" then return nil, "--" .. flag .. " must not be empty" end
    return v
  end
end

--- The command line as a lua-argparse parser (it also writes the help text).
---@param asked table? set asked.help when --help is given
---@return table
function M.parser(asked)
  asked = asked or {}
  local p = argparse("seekrflow-sim", "Local SeekrFlow data-jobs API simulator (HTTP on loopback).")
    :add_help(false):help_max_width(80):usage_max_width(80):help_description_margin(26)
  p:option("--host", "Address to listen on (must be loopback unless --allow-remote).")
    :argname("HOST"):default("127.0.0.1")
  p:option("--port", "Port (0 picks a free port)."):argname("N"):default("8787")
    :convert(number("port", true, 0, 65535))
  p:option("--port-file", "Write the bound port number and a newline to PATH once listening.")
    :argname("PATH")
  p:option("--api-key", "Accepted API key; repeatable (default: sim-key)."):argname("KEY"):count("*")
    :target("api_keys"):convert(nonempty("api-key"))
  p:option("--time-scale", "Simulated seconds per real second."):argname("N"):default("10")
    :convert(number("time-scale", false, 0))
  p:option("--workers", "Ingestion worker pool size."):argname("N"):default("2")
    :convert(number("workers", true, 1))
  p:option("--seed", "Seed for ids and jitter (deterministic runs)."):argname("N"):convert(number("seed", true))
  p:option("--mode", "Response mode: default, or spec-minimal (only required fields; not found "
    .. "as 422, refusals as 400). Default: $SEEKRFLOW_SIM_MODE, else default."):argname("MODE")
    :convert(function(v)
      if v ~= "default" and v ~= "spec-minimal" then
        return nil, "--mode expects default or spec-minimal, got '" .. v .. "'"
      end
      return v
    end)
  p:flag("--allow-remote", "Allow a non-loopback --host.")
  p:flag("--log", "One access-log line per request on stderr.")
  p:flag("--quiet", "No diagnostics on stderr (dropped connections, internal errors); the banner line "
    .. "is still printed.")
  p:flag("-h --help", "Show this help and exit."):action(function(result, target)
    result[target] = true
    asked.help = true
  end)
  return p
end

M.USAGE = M.parser():get_help() .. "\n"

--- Parse argv into options; returns nil and a message on a usage error.
---@param argv table
---@return table|nil opts
---@return string|nil err
function M.parse(argv)
  local asked = {}
  local ok, o = M.parser(asked):pparse(argv)
  if asked.help then return { help = true } end
  if not ok then return nil, o end
  o.quiet, o.log, o.allow_remote, o.help = o.quiet or false, o.log or false, o.allow_remote or false, false
  if #o.api_keys == 0 then o.api_keys[1] = "sim-key" end
  if not o.allow_remote and not M.is_loopback(o.host) then
    return nil, "refusing to listen on non-loopback address '" .. o.host ..
      "' (pass --allow-remote to allow it)"
  end
  return o
end

return M
