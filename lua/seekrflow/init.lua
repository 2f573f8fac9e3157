--- seekrflow: the Lua client for SeekrFlow's data-jobs API.
---
---     local seekrflow = require "seekrflow"
---     local client = seekrflow.new { api_key = "…" }   -- or SEEKR_API_KEY
---     local detail = client.data_jobs:retrieve "dj-…"
---
--- The transport, JSON handling and `client.data_jobs` live in the C core
--- (seekrflow.core); this module resolves configuration and re-exports.
local core = require("seekrflow.loader").core()
local config = require "seekrflow.config"
local errors = require "seekrflow.errors"

local seekrflow = {
  _VERSION = core.version,
  --- The Lua the C core was compiled for, e.g. "Lua 5.4".
  built_for = core.built_for,
  curl_version = core.curl_version,
  tls_backend = core.tls_backend,
  --- Stands for JSON null inside arrays (inside objects null is simply absent).
  null = core.null,
  --- Metatable of every table decoded from a JSON array, empty ones included.
  array_mt = core.array_mt,
  errors = errors,
  DEFAULT_BASE_URL = config.DEFAULT_BASE_URL,
}

---@class seekrflow.Options
---@field api_key string? default: $SEEKR_API_KEY
---@field base_url string? default: $SEEKR_BASE_URL, then https://flow.seekr.com/v1
---@field team_id string? sent as x-team-id; default: $SEEKR_TEAM_ID
---@field timeout number? seconds for one attempt; default $SEEKR_TIMEOUT_SECS, then 600
---@field connect_timeout number? seconds; default 10
---@field stall_timeout number? seconds without a byte before a transfer is a timeout; default 30
---@field max_retries integer? 0–10; default $SEEKR_MAX_RETRIES, then 2
---@field retry_initial_delay number? seconds; default 0.5 (doubling)
---@field retry_max_delay number? seconds; default 8
---@field retry_after_cap number? longest Retry-After honoured, seconds; default 60
---@field ca_file string? CA bundle (PEM) to trust instead of the system's
---@field ca_path string? directory of CA certificates
---@field errors "raise"|"return"? raise errors (default) or return nil, err
---@field debug boolean|fun(line: string)? log each attempt (never headers or the key)
---@field interrupts boolean? false: a blocking call installs no SIGINT handler (the host handles Ctrl-C); default true

---@class seekrflow.Client
---@field data_jobs seekrflow.DataJobs
---@field files seekrflow.Files
---@field socket_mode fun(self: seekrflow.Client) let a host event loop drive this client (see seekrflow.luv)
---@field socket_changes fun(self: seekrflow.Client): seekrflow.SocketChange[], integer?
---@field socket_action fun(self: seekrflow.Client, fd: integer?, events: string?): integer
---@field request fun(self: seekrflow.Client, method: string, path: string, opts: seekrflow.RequestOptions?): any
---@field start_request fun(self: seekrflow.Client, method: string, path: string, opts: seekrflow.RequestOptions?): seekrflow.Request
---@field wait fun(self: seekrflow.Client, ms: number)
---@field config fun(self: seekrflow.Client): table
---@field close fun(self: seekrflow.Client)
---@field is_closed fun(self: seekrflow.Client): boolean

---@class seekrflow.Request
---@field step fun(self: seekrflow.Request): boolean, integer? true when done, else false and ms to wait
---@field result fun(self: seekrflow.Request): any
---@field perform fun(self: seekrflow.Request): any
---@field cancel fun(self: seekrflow.Request)
---@field close fun(self: seekrflow.Request)
---@field state fun(self: seekrflow.Request): string, integer

--- Options of client:request and client:start_request.
---@class seekrflow.RequestOptions: seekrflow.CallOptions
---@field query table<string, string|number|boolean>?
---@field body any? sent as JSON
---@field kind string? "data_job", "data_job_list", … to attach helpers to the result

---@class seekrflow.SocketChange
---@field fd integer
---@field want "in"|"out"|"inout"|"remove"

---@class seekrflow.UploadOptions
---@field purpose string? default "alignment"
---@field filename string? default: the path's last part

---@class seekrflow.Files
---@field upload fun(self: seekrflow.Files, path: string, options: seekrflow.UploadOptions?, opts: seekrflow.CallOptions?): table
---@field retrieve fun(self: seekrflow.Files, id: string, opts: seekrflow.CallOptions?): table
---@field list fun(self: seekrflow.Files, params: table?, opts: seekrflow.CallOptions?): table
---@field delete fun(self: seekrflow.Files, id: string, opts: seekrflow.CallOptions?): boolean
---@field iter fun(self: seekrflow.Files, params: table?, opts: seekrflow.CallOptions?): fun(): table?
---@field download fun(self: seekrflow.Files, id: string, path: string, opts: seekrflow.CallOptions?): {path: string, bytes: integer}

--- The last argument of every resource method.
---@class seekrflow.CallOptions
---@field timeout number? seconds for one attempt
---@field connect_timeout number?
---@field stall_timeout number?
---@field max_retries integer?
---@field async boolean? return the request instead of performing it (for event loops)

---@class seekrflow.DataJobs
---@field max_file_ids integer the most file ids one add_files or remove_files takes (1000)
---@field retrieve fun(self: seekrflow.DataJobs, id: string, opts: seekrflow.CallOptions?): table
---@field list fun(self: seekrflow.DataJobs, params: table?, opts: seekrflow.CallOptions?): table
---@field iter fun(self: seekrflow.DataJobs, params: table?, opts: seekrflow.CallOptions?): fun(): table?
---@field create fun(self: seekrflow.DataJobs, job: table, opts: seekrflow.CallOptions?): table
---@field update fun(self: seekrflow.DataJobs, id: string, changes: table, opts: seekrflow.CallOptions?): table
---@field delete fun(self: seekrflow.DataJobs, id: string, opts: seekrflow.CallOptions?): boolean
---@field add_files fun(self: seekrflow.DataJobs, id: string, files: table, opts: seekrflow.CallOptions?): table
---@field remove_files fun(self: seekrflow.DataJobs, id: string, files: table, opts: seekrflow.CallOptions?): table
---@field start fun(self: seekrflow.DataJobs, id: string, opts: seekrflow.CallOptions?): table
---@field cancel fun(self: seekrflow.DataJobs, id: string, opts: seekrflow.CallOptions?): table
---@field clone fun(self: seekrflow.DataJobs, id: string, options: table?, opts: seekrflow.CallOptions?): table
---@field generate_system_prompt fun(self: seekrflow.DataJobs, request: table, opts: seekrflow.CallOptions?): table
---@field outputs fun(self: seekrflow.DataJobs, id: string, opts: seekrflow.CallOptions?): table

--- Creates a client. Options override the environment, which overrides defaults.
---@param opts seekrflow.Options?
---@return seekrflow.Client? client
---@return seekrflow.Error? err only when opts.errors == "return"
function seekrflow.new(opts)
  if opts == seekrflow then
    error(errors.new("invalid_argument", "call seekrflow.new { … } with a dot, not seekrflow:new { … }"), 2)
  end
  local ok, cfg = pcall(config.resolve, opts)
  if not ok then
    if type(opts) == "table" and opts.errors == "return" then return nil, cfg end
    error(cfg, 2)
  end
  return core.new_client(cfg)
end

--- Seconds on a monotonic clock (for deadlines; never jumps back).
---@return number
function seekrflow.monotonic() return core.monotonic() end

--- Blocks for `seconds` without spinning. Returns false if a signal cut it short.
---@param seconds number
---@return boolean
function seekrflow.sleep(seconds) return core.sleep(seconds) end

--- Decodes JSON the way responses are decoded (null → nil in objects,
--- integers as integers, arrays marked with array_mt).
---@param text string
---@return any
function seekrflow.json_decode(text) return core.json_decode(text) end

--- Encodes a value as JSON; tables with array_mt encode as arrays, even empty.
---@param value any
---@return string
function seekrflow.json_encode(value) return core.json_encode(value) end

--- True when t was decoded from a JSON array (or carries array_mt).
---@param t any
---@return boolean
function seekrflow.is_array(t) return core.is_array(t) end

return seekrflow
