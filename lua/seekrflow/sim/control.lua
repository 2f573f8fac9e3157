--- The `/_sim/*` control API used by tests: reset, stats, request log, faults, config.
--
-- Control routes need no authentication, are never subject to faults, and are left out of
-- the statistics and the request log so they do not disturb what tests measure.
local json = require("seekrflow.sim.json")
local reply = require("seekrflow.sim.reply")
local routes = require("seekrflow.sim.routes")
local files_mod = require("seekrflow.sim.files")
local clock = require("seekrflow.sim.clock")
local faults = require("seekrflow.sim.faults")

local M = {}

local object, array = json.object, json.array

local function decode_object(req)
  if req.body == "" then return object() end
  local v, err = json.decode(req.body)
  if v == nil then return nil, reply.detail(400, "Body is not valid JSON: " .. err) end
  if not json.is_object(v) then return nil, reply.detail(400, "Body must be a JSON object.") end
  return v
end

local function config_view(app)
  return object("time_scale", app.clock.scale, "workers", app.st.workers,
    "now", clock.iso(app.clock:now()), "seed", app.seed, "mode", app.mode.name)
end

local function reset(app)
  app:reset()
  return reply.json(200, object("ok", true))
end

local function stats(app)
  local s = app.stats
  local r = {}
  for k, v in pairs(s.routes) do r[k] = v end
  return reply.json(200, object(
    "connections", s.connections,
    "requests", s.requests,
    "routes", setmetatable(r, { __jsontype = "object" }),
    "accepted_connections", s.accepted,
    "control_requests", s.control_requests))
end

local function requests(app)
  local out = array()
  for i, e in ipairs(app.log) do out[i] = e end
  return reply.json(200, out)
end

local function clear_requests(app)
  app.log = {}
  return reply.json(200, object("ok", true))
end

local function add_fault(app, req)
  local spec, bad = decode_object(req)
  if not spec then return bad end
  local f, err = app.faults:add(spec)
  if not f then return reply.detail(400, "Invalid fault: " .. err) end
  return reply.json(201, faults.view(f))
end

local function list_faults(app)
  return reply.json(200, app.faults:views())
end

local function clear_faults(app)
  local n = #app.faults.list
  app.faults:reset()
  return reply.json(200, object("ok", true, "cleared", n))
end

local function add_file(app, req)
  local spec, bad = decode_object(req)
  if not spec then return bad end
  local filename = spec.filename
  if type(filename) ~= "string" or filename == "" then
    return reply.detail(400, "filename (non-empty string) is required.")
  end
  local content = spec.content
  if content == nil or content == json.null then content = "" end
  if type(content) ~= "string" then return reply.detail(400, "content must be a string.") end
  if type(spec.content_base64) == "string" then
    content = require("mime").unb64(spec.content_base64) or ""
  end
  if type(spec.size) == "number" and spec.size > #content then
    -- Pad to the requested size so tests can get long processing times cheaply.
    content = content .. string.rep("x", math.floor(spec.size) - #content)
  end
  local purpose = spec.purpose
  if purpose == nil or purpose == json.null then purpose = "alignment" end
  if type(purpose) ~= "string" then return reply.detail(400, "purpose must be a string.") end
  local f = app.files:add({ filename = filename, content = content, purpose = purpose,
    created_at = app.clock:stamp() })
  return reply.json(200, files_mod.view(f))
end

local function get_config(app)
  return reply.json(200, config_view(app))
end

local function set_config(app, req)
  local spec, bad = decode_object(req)
  if not spec then return bad end
  local scale, workers = spec.time_scale, spec.workers
  local mode
  if spec.mode ~= nil then
    local merr
    mode, merr = app.mode_named(spec.mode)
    if not mode then return reply.detail(400, merr .. ".") end
  end
  if scale ~= nil and (type(scale) ~= "number" or scale < 0) then
    return reply.detail(400, "time_scale must be a number >= 0.")
  end
  if workers ~= nil and (type(workers) ~= "number" or workers < 1 or
      math.floor(workers) ~= workers) then
    return reply.detail(400, "workers must be an integer >= 1.")
  end
  -- Replay what is due under the old settings first, so the change applies from now on.
  app.st:advance(app.clock:now())
  if scale then app.clock:set_scale(scale) end
  if workers then app.st:set_workers(workers) end
  if mode then app.mode = mode end
  return reply.json(200, config_view(app))
end

local function advance(app, req)
  local spec, bad = decode_object(req)
  if not spec then return bad end
  local seconds = spec.seconds
  if type(seconds) ~= "number" or seconds < 0 then
    return reply.detail(400, "seconds must be a number >= 0.")
  end
  app.st:advance(app.clock:now())
  app.clock:advance(seconds)
  app.st:advance(app.clock:now())
  return reply.json(200, config_view(app))
end

local function shutdown(app)
  local r = reply.json(200, object("ok", true, "message", "Shutting down."))
  r.close = true
  r.after = function() app:shutdown() end
  return r
end

local router = routes.new({
  { "POST", "/_sim/reset", reset },
  { "GET", "/_sim/stats", stats },
  { "GET", "/_sim/requests", requests },
  { "DELETE", "/_sim/requests", clear_requests },
  { "GET", "/_sim/faults", list_faults },
  { "POST", "/_sim/faults", add_fault },
  { "DELETE", "/_sim/faults", clear_faults },
  { "POST", "/_sim/files", add_file },
  { "GET", "/_sim/config", get_config },
  { "POST", "/_sim/config", set_config },
  { "POST", "/_sim/advance", advance },
  { "POST", "/_sim/shutdown", shutdown },
  { "POST", "/_sim/scenarios/many_jobs", function(...) return require("seekrflow.sim.many_jobs").handle(...) end },
})

--- Handle a control request.
---@param app table
---@param req table
---@return table response
function M.handle(app, req)
  local route, status = router:match(req.method, req.path)
  if not route then
    return reply.detail(status, status == 405 and "Method Not Allowed" or "Not Found")
  end
  return route.handler(app, req)
end

return M
