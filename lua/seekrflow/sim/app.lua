--- The request pipeline: routing, statistics, request log, faults, auth, dispatch.
--
-- The server hands every fully read request to `App:handle`, which returns either a
-- response (see seekrflow.sim.reply) or a fault action for the server to carry out
-- (`{fault = "latency"|"reset"|"truncate"|"stall", ...}`).
local json = require("seekrflow.sim.json")
local http = require("seekrflow.sim.http")
local reply = require("seekrflow.sim.reply")
local routes = require("seekrflow.sim.routes")
local api = require("seekrflow.sim.api")
local control = require("seekrflow.sim.control")
local auth_mod = require("seekrflow.sim.auth")
local faults_mod = require("seekrflow.sim.faults")
local files_mod = require("seekrflow.sim.files")
local state_mod = require("seekrflow.sim.state")
local clock_mod = require("seekrflow.sim.clock")
local ids_mod = require("seekrflow.sim.ids")
local minimal = require("seekrflow.sim.minimal")

local M = {}
M.__index = M

M.LOG_SIZE = 200
M.LOG_BODY_MAX = 64 * 1024 -- bodies in the request log are cut here to bound memory
M.USER_ID = "user-sim"

--- Response conventions. The published API declares only 2xx and 422 for its operations, so
--- the status of "not found" and of business-rule refusals is a guess: `default` answers them
--- 404 and 409 and sends every schema field (null when absent); `spec-minimal` answers them
--- 422 and 400 (a `{"detail": "<text>"}` body either way) and sends only what the published
--- models require (seekrflow.sim.minimal).
M.MODES = {
  default = { name = "default", not_found = 404, refused = 409, minimal = false },
  ["spec-minimal"] = { name = "spec-minimal", not_found = 422, refused = 400, minimal = true },
}

--- The mode named `name`, or nil and a message.
---@param name any
---@return table|nil mode
---@return string|nil err
function M.mode_named(name)
  local mode = type(name) == "string" and M.MODES[name]
  if not mode then return nil, "mode must be 'default' or 'spec-minimal'" end
  return mode
end

--- Create the application.
---@param opts table {api_keys, time_scale, workers, seed, mode}
---@return table|nil app
---@return string|nil err an unknown mode
function M.new(opts)
  local self = setmetatable({}, M)
  local mode, merr = M.mode_named(opts.mode or "default")
  if not mode then return nil, merr end
  self.mode = mode
  self.seed = opts.seed
  self.clock = clock_mod.new(opts.time_scale or 10)
  self.ids = ids_mod.new(opts.seed)
  self.files = files_mod.new(self.ids, M.USER_ID)
  self.st = state_mod.new({ clock = self.clock, ids = self.ids, files = self.files,
    workers = opts.workers or 2, user_id = M.USER_ID })
  self.faults = faults_mod.new()
  self.auth = auth_mod.new(opts.api_keys or { "sim-key" })
  self.router = routes.new(api.ROUTES)
  self.epoch = 0
  self:reset_stats()
  self.log = {}
  return self
end

function M:reset_stats()
  -- Connections are counted per epoch, so a keep-alive connection opened before a reset
  -- is counted again when it carries its next request.
  self.epoch = self.epoch + 1
  self.stats = { connections = 0, requests = 0, routes = {}, accepted = 0, control_requests = 0 }
end

--- Clear jobs, files, faults, statistics and the request log (configuration stays).
function M:reset()
  self.st:reset()
  self.files:reset()
  self.faults:reset()
  self:reset_stats()
  self.log = {}
  if self.seed then self.ids:reseed(self.seed) end
end

--- Called by the server for every accepted TCP connection.
function M:on_accept()
  self.stats.accepted = self.stats.accepted + 1
end

--- Called by the server once `/_sim/shutdown` has been answered; replaced by the server.
function M.shutdown() end

local function record(self, req, key, conn)
  local s = self.stats
  if conn.epoch ~= self.epoch then
    conn.epoch = self.epoch
    s.connections = s.connections + 1
  end
  s.requests = s.requests + 1
  s.routes[key] = (s.routes[key] or 0) + 1
  local headers = {}
  for name, value in pairs(req.headers) do headers[name] = value end
  local body = req.body
  if #body > M.LOG_BODY_MAX then body = body:sub(1, M.LOG_BODY_MAX) end
  local params = {}
  for k, v in pairs(req.params) do params[k] = v end
  local log = self.log
  local entry = json.object(
    "method", req.method,
    "path", req.path,
    "query", req.query_string,
    "params", setmetatable(params, { __jsontype = "object" }),
    "route", key,
    "headers", setmetatable(headers, { __jsontype = "object" }),
    "body", body,
    "request_id", req.id,
    "connection", conn.id)
  log[#log + 1] = entry
  if #log > M.LOG_SIZE then table.remove(log, 1) end
  return entry
end

-- What the API answered, added to the request's log entry (faults are marked as such), so
-- tests can check every response the simulator produced (spec/contract/).
local function record_response(entry, r, fault)
  json.set(entry, "status", r.status or json.null)
  json.set(entry, "response_type", r.content_type or json.null)
  local body = r.body or ""
  if #body > M.LOG_BODY_MAX then body = body:sub(1, M.LOG_BODY_MAX) end
  json.set(entry, "response", (r.no_body or fault == "reset") and json.null or body)
  if fault then json.set(entry, "fault", fault) end
end

local function retry_headers(f)
  local h = {}
  local function fmt(v)
    if v == math.floor(v) then return string.format("%d", v) end
    return tostring(v)
  end
  if f.retry_after then h[#h + 1] = { "retry-after", fmt(f.retry_after) } end
  if f.retry_after_ms then h[#h + 1] = { "retry-after-ms", fmt(f.retry_after_ms) } end
  return h
end

local HTML = "<!DOCTYPE html>\n<html><head><title>%d %s</title></head><body><h1>%d %s</h1>" ..
  "<p>Simulated non-JSON response from an intermediary.</p></body></html>\n"

function M:fault_action(f, req, route, params)
  local headers = retry_headers(f)
  if f.kind == "latency" then
    return { fault = "latency", delay_ms = f.delay_ms, headers = headers,
      next = function() return self:dispatch(req, route, params) end }
  elseif f.kind == "reset" then
    return { fault = "reset" }
  elseif f.kind == "status" then
    local r
    if f.body then
      local ok = json.decode(f.body) ~= nil
      r = reply.raw(f.status, f.body, ok and reply.JSON or "text/plain; charset=utf-8", headers)
    else
      r = reply.json(f.status, json.object("detail", "Simulated " .. f.status), headers)
    end
    return r
  elseif f.kind == "non_json" then
    local body = f.body or string.format(HTML, f.status, http.reason(f.status), f.status,
      http.reason(f.status))
    return reply.raw(f.status, body, "text/html; charset=utf-8", headers)
  elseif f.kind == "truncate" then
    local body = f.body or '{"id":"dj-truncated","object":"data_job","detail":"Simulated ' ..
      'truncated response: the connection closes before the declared length is sent'
    return { fault = "truncate", status = f.status, content_type = reply.JSON, headers = headers,
      body = body, declared = #body + 1024 }
  end
  -- stall
  local body = f.body or '{"detail":"Simulated stall"}'
  return { fault = "stall", status = f.status, content_type = reply.JSON, headers = headers,
    declared = #body, delay_ms = f.delay_ms }
end

--- Route, authenticate and run a request against the API.
---@param req table
---@param route table|nil
---@param params table|integer
---@return table response
function M:dispatch(req, route, params)
  if not route then
    if params == 405 then return reply.detail(405, "Method Not Allowed") end
    return reply.detail(404, "Not Found")
  end
  local now = self.clock:now()
  self.st:advance(now)
  local status, detail = self.auth:check(req.method, req.headers)
  if status then return reply.detail(status, detail) end
  local r = route.handler({ st = self.st, files = self.files, clock = self.clock, req = req,
    params = params, now = now, mode = self.mode })
  if self.mode.minimal and r.value ~= nil then
    r.body = json.encode(minimal.prune(r.value))
  end
  return r
end

--- Handle one fully read request.
---@param req table parsed request (seekrflow.sim.http)
---@param conn table per-connection info {id, epoch}
---@return table response or fault action
function M:handle(req, conn)
  local path = req.path
  if path == "/_sim" or path:sub(1, 6) == "/_sim/" then
    self.stats.control_requests = self.stats.control_requests + 1
    return control.handle(self, req)
  end
  local route, params, pattern = self.router:match(req.method, path)
  local key = req.method .. " " .. (pattern or "(unmatched)")
  local entry = record(self, req, key, conn)
  local f = self.faults:take(req.method, key)
  if f then
    local action = self:fault_action(f, req, route, params)
    if action.next then
      local next_fn = action.next
      action.next = function()
        local r = next_fn()
        record_response(entry, r)
        return r
      end
    else
      record_response(entry, action, f.kind)
    end
    return action
  end
  local r = self:dispatch(req, route, params)
  record_response(entry, r)
  return r
end

return M
