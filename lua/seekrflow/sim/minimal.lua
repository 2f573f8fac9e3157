--- The "spec-minimal" response shape: only what the published models require.
--
-- By default the simulator sends every schema field, with null for absent values and [] for
-- empty lists. The published API (5.108.1) requires far fewer fields, and a FastAPI service
-- serialising with `exclude_none`/`exclude_defaults` would send only those plus the ones that
-- carry a value. In spec-minimal mode each response is pruned here before it is encoded:
-- a field the model does not require is left out when it is null, an empty list or its default
-- (`deleted: false`, `object: "list"`), and timestamps use a `+00:00` offset instead of `Z`
-- (Python's `datetime.isoformat()`), both of which the schemas allow.
--
-- Views tag each object they build with its model name (`M.tag`); untagged tables (free-form
-- `metadata`, 422 items) are walked but never pruned.
local json = require("seekrflow.sim.json")

local M = {}

-- Required fields of each published model (contract sections 4 and 8; the JSON Schemas in
-- spec/contract/ are the reference the contract spec checks these against).
local SUMMARY = { "id", "user_id", "name", "job_type", "alignment_job_id", "created_at",
  "updated_at", "status" }
M.REQUIRED = {
  DataJobResponse = SUMMARY,
  DataJobDetailResponse = SUMMARY,
  DataJobListResponse = {},
  IngestionJobDetail = { "id", "status", "created_at", "updated_at" },
  IngestionFileRecord = { "record_id", "ingestion_job_id", "alignment_file_id", "user_id",
    "filename", "status", "created_at" },
  DataJobFile = { "file_id" },
  TimelineEvent = { "timestamp", "event_type", "message" },
  AlignmentResponse = { "id", "created_at", "status" },
  AlignmentOutput = { "id", "filename" },
  FileResponse = { "id", "object" },
  FileList = {},
  FileDeleteResponse = { "id", "object", "deleted" },
}

-- Defaults of optional fields: equal values are left out like nulls.
local DEFAULTS = { deleted = false, object = "list" }

local required_sets = {}
for model, fields in pairs(M.REQUIRED) do
  local set = {}
  for _, f in ipairs(fields) do set[f] = true end
  required_sets[model] = set
end

local models = setmetatable({}, { __mode = "k" })

--- Record which model a freshly built view object is; returns the object.
---@param obj table
---@param model string a key of M.REQUIRED
---@return table
function M.tag(obj, model)
  assert(required_sets[model], "unknown model " .. tostring(model))
  models[obj] = model
  return obj
end

local function is_default(k, v)
  if v == nil or v == json.null then return true end
  if type(v) == "table" and json.is_array(v) and #v == 0 then return true end
  return DEFAULTS[k] ~= nil and DEFAULTS[k] == v
end

local function is_time_field(k)
  return k == "timestamp" or k:sub(-3) == "_at"
end

local function prune(v, depth)
  if type(v) ~= "table" or v == json.null or depth > 50 then return end
  local required = required_sets[models[v] or ""]
  if required then
    local drop = {}
    for k, x in pairs(v) do
      if type(k) == "string" and not required[k] and is_default(k, x) then
        drop[#drop + 1] = k
      end
    end
    for _, k in ipairs(drop) do v[k] = nil end
    for k, x in pairs(v) do
      if type(k) == "string" and type(x) == "string" and is_time_field(k) then
        v[k] = x:gsub("Z$", "+00:00")
      end
    end
  end
  for _, x in pairs(v) do prune(x, depth + 1) end
end

--- Prune a response value in place (see the module comment) and return it.
---@param value any
---@return any
function M.prune(value)
  prune(value, 0)
  return value
end

return M
