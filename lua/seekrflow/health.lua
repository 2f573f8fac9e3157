--- :checkhealth seekrflow
---
--- Neovim finds this file as lua/seekrflow/health.lua on the runtimepath and
--- calls require("seekrflow.health").check(). It reports the C core (the Lua
--- it was built for, libcurl and its TLS backend), the configuration (a CA
--- bundle, whether an API key is set — never the key), and whether the base
--- URL answers, with one request of at most 3 seconds.
local health = {}

-- vim.health.start/ok/… (0.10+), vim.health.report_* (0.8, 0.9), or the
-- "health" module of 0.7, whichever this Neovim has.
local function reporter()
  local h = vim.health
  if type(h) == "table" and type(h.start) == "function" then
    return { start = h.start, ok = h.ok, info = h.info, warn = h.warn, error = h.error }
  end
  if type(h) ~= "table" or type(h.report_start) ~= "function" then h = require "health" end
  return { start = h.report_start, ok = h.report_ok, info = h.report_info, warn = h.report_warn,
           error = h.report_error }
end

local CA_BUNDLES = {
  "/etc/ssl/certs/ca-certificates.crt",               -- Debian, Ubuntu, Arch, Alpine
  "/etc/pki/tls/certs/ca-bundle.crt",                 -- Fedora, RHEL
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", -- RHEL 7+
  "/etc/ssl/ca-bundle.pem",                           -- openSUSE
  "/etc/ssl/cert.pem",                                -- macOS, Alpine, BSDs
  "/usr/local/etc/openssl/cert.pem",                  -- Homebrew
}

local CHECK_TIMEOUT = 3

local function readable(path)
  local f = io.open(path, "rb")
  if not f then return false end
  f:close()
  return true
end

local message_of = require("seekrflow.text").message_of

-- The options the plugin would use, or those seekrflow.new would read from the
-- environment when setup() was not called.
local function options()
  local ok, plugin = pcall(require, "seekrflow.nvim")
  local o = ok and plugin._client_options() or nil
  return o, o ~= nil
end

local function check_core(r)
  r.start("seekrflow: C core")
  local ok, seekrflow = pcall(require("seekrflow.nvim")._require_core)
  if not ok then
    r.error("the C core does not load: " .. message_of(seekrflow), {
      "Build it for Neovim's LuaJIT from the checkout: make LUA=luajit",
      "then put build/luajit on package.cpath (or install the rock with luarocks --lua-version=5.1)",
    })
    return nil
  end
  local this = rawget(_G, "jit") and "LuaJIT (Lua 5.1 ABI)" or _VERSION
  local jit_version = rawget(_G, "jit") and rawget(_G, "jit").version or _VERSION
  local built = tostring(seekrflow.built_for)
  if built == this then
    r.ok(("built for %s, matching this Neovim's %s"):format(built, jit_version))
  else
    r.warn(("built for %s, but this Neovim runs %s"):format(built, jit_version),
      { "Rebuild it for Neovim: make LUA=luajit" })
  end
  r.info("seekrflow-lua " .. tostring(seekrflow._VERSION))
  local tls = seekrflow.tls_backend
  if type(tls) == "string" and tls ~= "" then
    r.ok(("libcurl %s with TLS backend %s"):format(tostring(seekrflow.curl_version), tls))
  else
    r.error(("libcurl %s has no TLS backend: https:// will not work"):format(tostring(seekrflow.curl_version)),
      { "Install a libcurl built with TLS (Debian: libcurl4-openssl-dev, then rebuild)" })
  end
  return seekrflow
end

local function check_config(r, o, configured)
  r.start("seekrflow: configuration")
  if configured then
    r.ok("require(\"seekrflow.nvim\").setup() was called: the :Seekrflow commands are defined")
  else
    r.info("require(\"seekrflow.nvim\").setup() was not called: checking the environment only")
  end
  o = o or {}

  local key, source = o.api_key, "from setup()"
  if key == nil then key, source = os.getenv("SEEKR_API_KEY"), "from $SEEKR_API_KEY" end
  local has_key = type(key) == "string" and key ~= ""
  if has_key then
    r.ok("API key: set (" .. source .. ")")
  else
    r.error("API key: not set", { "Pass api_key to require(\"seekrflow.nvim\").setup { … }, "
      .. "or set the SEEKR_API_KEY environment variable" })
  end

  local base_url = o.base_url or os.getenv("SEEKR_BASE_URL")
  if base_url == nil or base_url == "" then base_url = "https://flow.seekr.com/v1" end
  r.info("base URL: " .. base_url)
  local team = o.team_id or os.getenv("SEEKR_TEAM_ID")
  if team and team ~= "" then r.info("team: " .. team) end

  local https = base_url:match("^https://") ~= nil
  if o.ca_file then
    if readable(o.ca_file) then
      r.ok("CA bundle: " .. o.ca_file .. " (ca_file)")
    else
      r.error("CA bundle: ca_file " .. o.ca_file .. " cannot be read")
    end
  elseif o.ca_path then
    if vim.fn.isdirectory(o.ca_path) == 1 then
      r.ok("CA certificates: " .. o.ca_path .. " (ca_path)")
    else
      r.error("CA certificates: ca_path " .. o.ca_path .. " is not a directory")
    end
  else
    local found
    for _, path in ipairs(CA_BUNDLES) do
      if readable(path) then
        found = path
        break
      end
    end
    if found then
      r.ok("CA bundle: " .. found)
    elseif https then
      r.warn("CA bundle: none found in the usual places; TLS verification may fail",
        { "Install the system's CA certificates (Debian: apt-get install ca-certificates), "
          .. "or pass ca_file to setup()" })
    else
      r.info("CA bundle: none found (not needed for " .. base_url .. ")")
    end
  end
  return has_key, base_url
end

local function check_connection(r, seekrflow, o, has_key, base_url)
  r.start("seekrflow: connection")
  if not seekrflow then
    r.warn("skipped: the C core did not load")
    return
  end
  if not has_key then
    r.warn("skipped: no API key")
    return
  end
  local cfg = {}
  for k, v in pairs(o or {}) do cfg[k] = v end
  cfg.timeout, cfg.connect_timeout, cfg.stall_timeout = CHECK_TIMEOUT, CHECK_TIMEOUT, CHECK_TIMEOUT
  cfg.max_retries, cfg.errors, cfg.debug = 0, "return", nil
  local client, err = seekrflow.new(cfg)
  if not client then
    r.error("the configuration is not valid: " .. message_of(err))
    return
  end
  local started = vim.loop.hrtime()
  local ok, page, list_err = pcall(client.data_jobs.list, client.data_jobs, { limit = 1 })
  local ms = math.floor((vim.loop.hrtime() - started) / 1e6 + 0.5)
  client:close()
  if ok and page ~= nil then
    r.ok(("base URL reachable: %s answered in %d ms, and the API key was accepted"):format(base_url, ms))
    return
  end
  local e = ok and list_err or page
  if type(e) == "table" and (e.status == 401 or e.status == 403) then
    r.error(("base URL reachable, but the API key was refused: %s"):format(message_of(e)),
      { "Check the key (SeekrFlow expects the raw key, without \"Bearer \")" })
  elseif type(e) == "table" and e.kind == "status" then
    r.warn(("base URL reachable, but it answered with an error: %s"):format(message_of(e)))
  else
    r.error(("base URL not reachable within %d s: %s"):format(CHECK_TIMEOUT, message_of(e)),
      { "Check base_url, your network and proxy settings (https_proxy, no_proxy)" })
  end
end

--- Runs the checks (called by :checkhealth seekrflow).
function health.check()
  local r = reporter()
  local seekrflow = check_core(r)
  local o, configured = options()
  local has_key, base_url = check_config(r, o, configured)
  check_connection(r, seekrflow, o, has_key, base_url)
end

return health
