--- Client configuration: arguments, then the environment, then defaults.
local errors = require "seekrflow.errors"

local config = {}

config.DEFAULT_BASE_URL = "https://flow.seekr.com/v1"

-- Every option seekrflow.new accepts; anything else is a mistake.
local OPTION_NAMES = {
  "api_key", "base_url", "team_id", "timeout", "connect_timeout", "stall_timeout",
  "max_retries", "retry_initial_delay", "retry_max_delay", "retry_after_cap",
  "ca_file", "ca_path", "errors", "debug", "allow_insecure_http",
}
local KNOWN = {}
for _, name in ipairs(OPTION_NAMES) do KNOWN[name] = true end

local function fail(message)
  error(errors.new("config", message), 0)
end

local function env_number(getenv, name, integer)
  local raw = getenv(name)
  if raw == nil or raw == "" then return nil end
  local value = tonumber(raw)
  if value == nil or value < 0 or (integer and value ~= math.floor(value)) then
    fail(("environment variable %s=%q is not a valid %s"):format(name, raw,
      integer and "whole number" or "number of seconds"))
  end
  return value
end

local function is_loopback(host)
  return host == "localhost" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil or host == "[::1]"
end

--- Checks base_url; plain http is only for loopback unless explicitly allowed,
--- because the API key travels in a header.
local function check_base_url(url, allow_insecure_http)
  local scheme, host = url:match("^(%a[%w+.-]*)://([^/:?#]+)")
  if host and host:sub(1, 1) == "[" then host = url:match("^%a[%w+.-]*://(%[[^%]]+%])") end
  if scheme ~= "http" and scheme ~= "https" then
    fail(("base_url %q must start with https:// (or http:// for a local simulator)"):format(url))
  end
  if url:find("[%s%c]") then fail("base_url contains a space or control character") end
  if url:find("[?#]") then fail(("base_url %q must not contain a query or fragment"):format(url)) end
  if scheme == "http" and not is_loopback(host) and not allow_insecure_http then
    fail(("refusing to send the API key over plain http to %s: use https://, or pass "
      .. "allow_insecure_http = true if you really mean it"):format(host))
  end
end

---@param opts table? arguments to seekrflow.new
---@param getenv fun(name: string): string? defaults to os.getenv
---@return table cfg ready for core.new_client
function config.resolve(opts, getenv)
  getenv = getenv or os.getenv
  if opts ~= nil and type(opts) ~= "table" then
    fail(("seekrflow.new takes a table of options, got a %s"):format(type(opts)))
  end
  opts = opts or {}
  for name in pairs(opts) do
    if not KNOWN[name] then
      fail(("unknown option %q for seekrflow.new (known: %s)"):format(tostring(name),
        table.concat(OPTION_NAMES, ", ")))
    end
  end

  local cfg = {}
  for name, value in pairs(opts) do cfg[name] = value end

  if cfg.api_key == nil then
    local key = getenv("SEEKR_API_KEY")
    if key ~= nil and key ~= "" then cfg.api_key = key end
  end
  if cfg.api_key == nil then
    fail("no API key: pass it as seekrflow.new { api_key = \"…\" } or set the SEEKR_API_KEY environment variable")
  end
  if type(cfg.api_key) ~= "string" or cfg.api_key == "" then
    fail("api_key must be a non-empty string")
  end
  if #cfg.api_key > 1000 then
    fail("api_key is longer than 1000 characters: is it really a SeekrFlow key?")
  end
  if cfg.api_key:find("%c") then
    fail("api_key contains a control character (a trailing newline from a file?)")
  end
  if cfg.api_key:match("^[Bb]earer ") then
    fail("api_key starts with \"Bearer \": SeekrFlow expects the raw key, without the prefix")
  end

  if cfg.base_url == nil then
    local url = getenv("SEEKR_BASE_URL")
    cfg.base_url = (url ~= nil and url ~= "") and url or config.DEFAULT_BASE_URL
  end
  if type(cfg.base_url) ~= "string" then fail("base_url must be a string") end
  check_base_url(cfg.base_url, cfg.allow_insecure_http)
  cfg.allow_insecure_http = nil

  if cfg.team_id == nil then
    local team = getenv("SEEKR_TEAM_ID")
    if team ~= nil and team ~= "" then cfg.team_id = team end
  end
  if cfg.team_id ~= nil and (type(cfg.team_id) ~= "string" or cfg.team_id == "" or cfg.team_id:find("[%c%s]")) then
    fail("team_id must be a non-empty string without spaces or control characters")
  end

  if cfg.timeout == nil then cfg.timeout = env_number(getenv, "SEEKR_TIMEOUT_SECS", false) end
  if cfg.max_retries == nil then cfg.max_retries = env_number(getenv, "SEEKR_MAX_RETRIES", true) end
  if cfg.debug == nil then
    local log = getenv("SEEKR_LOG")
    if log == "debug" or log == "info" then cfg.debug = true end
  end

  for _, name in ipairs({ "timeout", "connect_timeout", "stall_timeout", "retry_initial_delay",
                          "retry_max_delay", "retry_after_cap" }) do
    local value = cfg[name]
    if value ~= nil and (type(value) ~= "number" or value ~= value or value < 0) then
      fail(("%s must be a non-negative number of seconds"):format(name))
    end
  end
  if cfg.timeout == 0 then fail("timeout must be more than 0 seconds") end
  if cfg.max_retries ~= nil and (type(cfg.max_retries) ~= "number" or cfg.max_retries < 0
      or cfg.max_retries > 10 or cfg.max_retries ~= math.floor(cfg.max_retries)) then
    fail("max_retries must be a whole number from 0 to 10")
  end
  if cfg.errors ~= nil and cfg.errors ~= "raise" and cfg.errors ~= "return" then
    fail("errors must be \"raise\" (the default) or \"return\" (nil, err)")
  end
  if cfg.debug ~= nil and type(cfg.debug) ~= "boolean" and type(cfg.debug) ~= "function" then
    fail("debug must be true (log to stderr) or a function(line)")
  end
  for _, name in ipairs({ "ca_file", "ca_path" }) do
    if cfg[name] ~= nil and type(cfg[name]) ~= "string" then fail(name .. " must be a path string") end
  end
  if cfg.ca_file then
    local f = io.open(cfg.ca_file, "rb")
    if not f then fail(("ca_file %q cannot be read: give the path of a PEM bundle"):format(cfg.ca_file)) end
    f:close()
  end
  return cfg
end

return config
