--- Client configuration: arguments, then the environment, then defaults.
local errors = require "seekrflow.errors"

local config = {}

config.DEFAULT_BASE_URL = "https://flow.seekr.com/v1"

local options = require "seekrflow.options"
local core = require("seekrflow.loader").core()
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

local seconds = options.number_at_least(0, true)

-- Every option seekrflow.new accepts, with its check; anything else is a
-- mistake. The API key's own checks come first (they never quote the key).
local SCHEMA = {
  api_key = "string",
  base_url = "string",
  team_id = function(v)
    if type(v) ~= "string" or v == "" or v:find("[%c%s]") then
      return "a non-empty string without spaces or control characters"
    end
  end,
  timeout = options.number_at_least(0, false),
  connect_timeout = seconds,
  stall_timeout = seconds,
  retry_initial_delay = seconds,
  retry_max_delay = seconds,
  retry_after_cap = seconds,
  max_retries = options.integer(0, 10),
  ca_file = "string",
  ca_path = "string",
  errors = options.one_of("raise", "return"),
  interrupts = "boolean",
  debug = function(v)
    if type(v) ~= "boolean" and type(v) ~= "function" then return "true (log to stderr) or a function(line)" end
  end,
}

--- The names seekrflow.new accepts, sorted.
config.OPTION_NAMES = options.names(SCHEMA)

-- The base URL rule (https, or plain http only to a literal loopback host; no
-- user name or password; no query or fragment) lives in the C core, judged on
-- libcurl's own parse of the URL: core.check_base_url.
local function check_base_url(url)
  local normalized, err = core.check_base_url(url)
  if type(err) == "table" or type(normalized) ~= "string" then
    fail(type(err) == "table" and tostring(err.message) or ("base_url %q is not a valid URL"):format(tostring(url)))
  end
  return normalized
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
  if opts.allow_insecure_http ~= nil then
    fail("seekrflow.new: allow_insecure_http is no longer accepted: the API key never travels over plain "
      .. "http to another machine. Use https://, or http:// to 127.0.0.1, [::1] or localhost")
  end
  -- unknown names and wrong types first: a typo must not read as a missing key
  local problem = options.problem(opts, SCHEMA)
  if problem then fail("seekrflow.new: " .. problem) end

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
  check_base_url(cfg.base_url)

  if cfg.team_id == nil then
    local team = getenv("SEEKR_TEAM_ID")
    if team ~= nil and team ~= "" then cfg.team_id = team end
  end

  if cfg.timeout == nil then cfg.timeout = env_number(getenv, "SEEKR_TIMEOUT_SECS", false) end
  if cfg.max_retries == nil then cfg.max_retries = env_number(getenv, "SEEKR_MAX_RETRIES", true) end
  if cfg.debug == nil then
    local log = getenv("SEEKR_LOG")
    if log == "debug" or log == "info" then cfg.debug = true end
  end

  -- the same rules for what came from the environment
  problem = options.problem(cfg, SCHEMA)
  if problem then fail("seekrflow.new: " .. problem) end
  if cfg.ca_file then
    local f = io.open(cfg.ca_file, "rb")
    if not f then fail(("ca_file %q cannot be read: give the path of a PEM bundle"):format(cfg.ca_file)) end
    f:close()
  end
  return cfg
end

return config
