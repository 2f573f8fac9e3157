--- Fault injection for client robustness tests (`/_sim/faults`).
--
-- A fault matches a request by route pattern (as in `/_sim/stats`), by `"METHOD *"`, or by
-- `"*"`. Matching faults are consumed first-in first-out, one per request, after the request
-- has been fully read and before authentication and routing.
local json = require("seekrflow.sim.json")
local store = require("seekrflow.sim.store")

local M = store.class()

M.KINDS = { status = true, latency = true, reset = true, truncate = true, non_json = true,
  stall = true }

local DEFAULT_STATUS = { status = 500, non_json = 200, truncate = 200, stall = 200 }

---@return table
function M.new()
  return store.new(M)
end

function M:reset()
  self.list = {}
  self.seq = 0
end

local function num(v)
  return type(v) == "number" and v == v
end

--- Validate and register a fault from a decoded JSON body.
---@param spec table
---@return table|nil fault
---@return string|nil err
function M:add(spec)
  if not json.is_object(spec) then return nil, "body must be a JSON object" end
  local kind = spec.kind
  if type(kind) ~= "string" or not M.KINDS[kind] then
    return nil, "kind must be one of status, latency, reset, truncate, non_json, stall"
  end
  local route = spec.route
  if route == nil or route == json.null then route = "*" end
  if type(route) ~= "string" then return nil, "route must be a string" end
  local f = { kind = kind, route = route }
  local status = spec.status
  if status ~= nil and status ~= json.null then
    if not num(status) or status < 100 or status > 599 or math.floor(status) ~= status then
      return nil, "status must be an integer between 100 and 599"
    end
    f.status = status
  else
    f.status = DEFAULT_STATUS[kind]
  end
  for _, k in ipairs({ "retry_after", "retry_after_ms", "delay_ms" }) do
    local v = spec[k]
    if v ~= nil and v ~= json.null then
      if not num(v) or v < 0 then return nil, k .. " must be a non-negative number" end
      f[k] = v
    end
  end
  if f.delay_ms == nil and (kind == "latency" or kind == "stall") then f.delay_ms = 1000 end
  local times = spec.times
  if times == nil or times == json.null then times = 1 end
  if not num(times) or math.floor(times) ~= times or (times < 1 and times ~= -1) then
    return nil, "times must be a positive integer or -1 (forever)"
  end
  f.times = times
  if spec.body ~= nil and spec.body ~= json.null then
    if type(spec.body) ~= "string" then return nil, "body must be a string" end
    f.body = spec.body
  end
  self.seq = self.seq + 1
  f.id = "fault-" .. self.seq
  f.hits = 0
  self.list[#self.list + 1] = f
  return f
end

local function matches(f, method, route_key)
  local r = f.route
  return r == "*" or r == route_key or r == method .. " *"
end

--- Take the first fault matching a request, consuming one use of it.
---@param method string
---@param route_key string e.g. "GET /v1/flow/data-jobs/{id}"
---@return table|nil
function M:take(method, route_key)
  for i, f in ipairs(self.list) do
    if matches(f, method, route_key) then
      f.hits = f.hits + 1
      if f.times ~= -1 then
        f.times = f.times - 1
        if f.times <= 0 then table.remove(self.list, i) end
      end
      return f
    end
  end
  return nil
end

--- JSON view of a fault.
---@param f table
---@return table
function M.view(f)
  return json.object("id", f.id, "route", f.route, "kind", f.kind, "status", f.status,
    "retry_after", f.retry_after, "retry_after_ms", f.retry_after_ms, "delay_ms", f.delay_ms,
    "times", f.times, "body", f.body, "hits", f.hits)
end

--- All pending faults, in match order.
---@return table
function M:views()
  local out = json.array()
  for i, f in ipairs(self.list) do out[i] = M.view(f) end
  return out
end

return M
