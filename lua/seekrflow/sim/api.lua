--- Handlers of the public API under `/v1` (contract sections 3 and 8).
--
-- Each handler gets a context `{st, files, req, params, now}` and returns a response from
-- seekrflow.sim.reply. Handlers never yield: all waiting is done by the server.
local json = require("seekrflow.sim.json")
local http = require("seekrflow.sim.http")
local reply = require("seekrflow.sim.reply")
local validate = require("seekrflow.sim.validate")
local views = require("seekrflow.sim.views")
local files_mod = require("seekrflow.sim.files")
local state_mod = require("seekrflow.sim.state")
local minimal = require("seekrflow.sim.minimal")

local M = {}

local object, array = json.object, json.array

local CREATE_FIELDS = {
  { name = "name", kind = "string", required = true, min = 1, max = 255 },
  { name = "job_type", kind = "enum", required = true, values = state_mod.JOB_TYPES },
  { name = "system_prompt", kind = "string", nullable = true, min = 1 },
  { name = "instructions", kind = "string", nullable = true, min = 1 },
  { name = "vector_database_id", kind = "string", nullable = true },
}

local PATCH_FIELDS = {
  { name = "name", kind = "string", nullable = true, min = 1, max = 255 },
  { name = "system_prompt", kind = "string", nullable = true, min = 1 },
  { name = "instructions", kind = "string", nullable = true, min = 1 },
  { name = "vector_database_id", kind = "string", nullable = true },
}

local ADD_FIELDS = {
  { name = "file_ids", kind = "string_list", required = true, min_items = 1 },
  { name = "method", kind = "string", nullable = true },
}

local REMOVE_FIELDS = {
  { name = "file_ids", kind = "string_list", required = true, min_items = 1 },
}

local CLONE_FIELDS = {
  { name = "name", kind = "string", nullable = true, min = 1, max = 255 },
}

local PROMPT_FIELDS = {
  { name = "instructions", kind = "string", required = true },
  { name = "document_summary", kind = "string", nullable = true },
}

-- "Not found" and business-rule refusals are not modelled by the published API; the status
-- each gets is the mode's convention (seekrflow.sim.app MODES): 404/409 by default, 422/400
-- in spec-minimal mode, always with a `{"detail": "<text>"}` body.
local function not_found(ctx, id)
  return reply.detail(ctx.mode.not_found, "Data job '" .. id .. "' not found.")
end

local function file_not_found(ctx, id)
  return reply.detail(ctx.mode.not_found, "File '" .. id .. "' not found.")
end

local function failure(ctx, err)
  if err.items then return reply.unprocessable(err.items) end
  return reply.detail(err.refused and ctx.mode.refused or err.status, err.detail)
end

local function detail(ctx, job, status)
  return reply.json(status or 200, views.job_detail(ctx.st, job, ctx.now))
end

-- Body validation runs before the lookup, as FastAPI validates before calling the handler.
local function with_job(fields, fn)
  return function(ctx)
    local body
    if fields then
      local items
      body, items = validate.json_body(ctx.req.body, fields)
      if not body then return reply.unprocessable(items) end
    end
    local job = ctx.st:get_job(ctx.params.id)
    if not job then return not_found(ctx, ctx.params.id) end
    return fn(ctx, job, body)
  end
end

local function list_of_strings(arr)
  local out = {}
  for i = 1, #arr do out[i] = arr[i] end
  return out
end

function M.create(ctx)
  local body, items = validate.json_body(ctx.req.body, CREATE_FIELDS)
  if not body then return reply.unprocessable(items) end
  local job = ctx.st:create_job(body)
  return reply.json(201, views.job_summary(ctx.st, job))
end

function M.list(ctx)
  local errs = {}
  local p = ctx.req.params
  local opts = {
    job_type = validate.query_enum(errs, p, "job_type", state_mod.JOB_TYPES),
    sort_by = validate.query_enum(errs, p, "sort_by", state_mod.SORTABLE, "created_at"),
    sort_order = validate.query_pattern(errs, p, "sort_order", "^(asc|desc)$",
      { "asc", "desc" }, "desc"),
    limit = validate.query_int(errs, p, "limit", 25, 1, 100),
    offset = validate.query_int(errs, p, "offset", 0, 0),
  }
  if #errs > 0 then return reply.unprocessable(errs) end
  local data = array()
  for i, job in ipairs(ctx.st:list_jobs(opts)) do data[i] = views.job_summary(ctx.st, job) end
  return reply.json(200, minimal.tag(object("object", "list", "data", data), "DataJobListResponse"))
end

M.get = with_job(nil, function(ctx, job)
  return detail(ctx, job)
end)

M.patch = with_job(PATCH_FIELDS, function(ctx, job, body)
  ctx.st:patch_job(job, body)
  return detail(ctx, job)
end)

M.delete = with_job(nil, function(ctx, job)
  ctx.st:delete_job(job)
  return reply.empty(204)
end)

M.add_files = with_job(ADD_FIELDS, function(ctx, job, body)
  local method = body.method
  if method == json.null then method = nil end
  local _, err = ctx.st:add_files(job, list_of_strings(body.file_ids), method)
  if err then return failure(ctx, err) end
  return detail(ctx, job)
end)

M.remove_files = with_job(REMOVE_FIELDS, function(ctx, job, body)
  local _, err = ctx.st:remove_files(job, list_of_strings(body.file_ids))
  if err then return failure(ctx, err) end
  return detail(ctx, job)
end)

M.start = with_job(nil, function(ctx, job)
  local _, err = ctx.st:start(job)
  if err then return failure(ctx, err) end
  return detail(ctx, job)
end)

M.cancel = with_job(nil, function(ctx, job)
  local _, err = ctx.st:cancel(job)
  if err then return failure(ctx, err) end
  return detail(ctx, job)
end)

M.clone = with_job(CLONE_FIELDS, function(ctx, job, body)
  local name = body.name
  if name == json.null then name = nil end
  local copy = ctx.st:clone(job, name)
  return detail(ctx, copy, 201)
end)

M.outputs = with_job(nil, function(_, job)
  return reply.json(200, views.outputs(job.alignment))
end)

function M.alignment_outputs(ctx)
  local al = ctx.st:get_alignment(ctx.params.id)
  if not al then
    return reply.detail(ctx.mode.not_found, "Alignment job '" .. ctx.params.id .. "' not found.")
  end
  return reply.json(200, views.outputs(al))
end

function M.gen_system_prompt(ctx)
  local body, items = validate.json_body(ctx.req.body, PROMPT_FIELDS)
  if not body then return reply.unprocessable(items) end
  local text = "You are a knowledgeable, precise assistant. " ..
    body.instructions:gsub("%s+$", "")
  if not text:match("[.!?]$") then text = text .. "." end
  if type(body.document_summary) == "string" and body.document_summary ~= "" then
    text = text .. " Ground every answer in the source documents, which cover: " ..
      body.document_summary:gsub("%s+$", "")
    if not text:match("[.!?]$") then text = text .. "." end
  end
  text = text .. " If the documents do not answer a question, say so instead of guessing."
  return reply.json(200, object("system_prompt", text))
end

-- ---------------------------------------------------------------------------------------------
-- Files API
-- ---------------------------------------------------------------------------------------------

function M.upload(ctx)
  local req = ctx.req
  local ctype = req.headers["content-type"] or ""
  local parts = {}
  if http.parse_params(ctype) == "multipart/form-data" then
    local perr
    parts, perr = http.parse_multipart(req.body, ctype)
    if not parts then
      return reply.detail(400, "There was an error parsing the body: " .. perr)
    end
  end
  local purpose, file
  for _, part in ipairs(parts) do
    if part.name == "purpose" and purpose == nil then purpose = part end
    if part.name == "files" and file == nil then file = part end
  end
  local items = {}
  if not purpose then
    items[#items + 1] = validate.item("missing", { "body", "purpose" }, "Field required", json.null)
  else
    local valid = false
    for _, p in ipairs(files_mod.PURPOSES) do
      if purpose.data == p and not purpose.filename then valid = true end
    end
    if not valid then
      local exp = validate.expected(files_mod.PURPOSES)
      items[#items + 1] = validate.item("enum", { "body", "purpose" }, "Input should be " .. exp,
        purpose.data, object("expected", exp))
    end
  end
  if not file then
    items[#items + 1] = validate.item("missing", { "body", "files" }, "Field required", json.null)
  elseif not file.filename then
    items[#items + 1] = validate.item("value_error", { "body", "files" },
      "Value error, Expected UploadFile, received: <class 'str'>", file.data,
      object("error", "Expected UploadFile, received: <class 'str'>"))
  end
  if #items > 0 then return reply.unprocessable(items) end
  local filename = file.filename:match("([^/\\]*)$")
  local f = ctx.files:add({ filename = filename, content = file.data, purpose = purpose.data,
    created_at = ctx.clock:stamp() })
  return reply.json(200, files_mod.view(f))
end

function M.files_list(ctx)
  local errs = {}
  local p = ctx.req.params
  local opts = {
    limit = validate.query_int(errs, p, "limit", 250, 1, 1000),
    offset = validate.query_int(errs, p, "offset", 0, 0),
    sort_by = validate.query_pattern(errs, p, "sort_by", "^(created_at|filename|type|bytes)$",
      { "created_at", "filename", "type", "bytes" }, "created_at"),
    sort_order = validate.query_pattern(errs, p, "sort_order", "^(asc|desc)$",
      { "asc", "desc" }, "desc"),
    purpose = validate.query_pattern(errs, p, "purpose",
      "^(ingestion|vector-ingestion|alignment|reinforcement-fine-tune|fine-tune|pre-train|" ..
      "preference-fine-tune)?$", { "", "ingestion", "vector-ingestion", "alignment",
        "reinforcement-fine-tune", "fine-tune", "pre-train", "preference-fine-tune" }),
  }
  if #errs > 0 then return reply.unprocessable(errs) end
  local data = array()
  for i, f in ipairs(ctx.files:list(opts)) do data[i] = files_mod.view(f) end
  return reply.json(200, minimal.tag(object("object", "list", "data", data), "FileList"))
end

function M.file_get(ctx)
  local f = ctx.files:get(ctx.params.id)
  if not f then return file_not_found(ctx, ctx.params.id) end
  return reply.json(200, files_mod.view(f))
end

local CONTENT_TYPES = {
  pdf = "application/pdf", md = "text/markdown; charset=utf-8", txt = "text/plain; charset=utf-8",
  json = "application/json", jsonl = "application/jsonl", csv = "text/csv",
  html = "text/html; charset=utf-8",
}

function M.file_content(ctx)
  local f = ctx.files:get(ctx.params.id)
  if not f then return file_not_found(ctx, ctx.params.id) end
  local name = f.filename:gsub('["\\]', "_")
  return reply.raw(200, f.content, CONTENT_TYPES[f.type or ""] or "application/octet-stream",
    { { "content-disposition", 'attachment; filename="' .. name .. '"' } })
end

function M.file_delete(ctx)
  local id = ctx.params.id
  if not ctx.files:delete(id) then return file_not_found(ctx, id) end
  return reply.json(200, minimal.tag(object("id", id, "object", "file", "deleted", true),
    "FileDeleteResponse"))
end

--- The route table of the public API: {method, pattern, handler}.
M.ROUTES = {
  { "POST", "/v1/flow/data-jobs/gen_system_prompt", M.gen_system_prompt },
  { "POST", "/v1/flow/data-jobs", M.create },
  { "GET", "/v1/flow/data-jobs", M.list },
  { "GET", "/v1/flow/data-jobs/{id}", M.get },
  { "PATCH", "/v1/flow/data-jobs/{id}", M.patch },
  { "DELETE", "/v1/flow/data-jobs/{id}", M.delete },
  { "POST", "/v1/flow/data-jobs/{id}/add-files", M.add_files },
  { "POST", "/v1/flow/data-jobs/{id}/remove-files", M.remove_files },
  { "POST", "/v1/flow/data-jobs/{id}/start", M.start },
  { "POST", "/v1/flow/data-jobs/{id}/cancel", M.cancel },
  { "POST", "/v1/flow/data-jobs/{id}/clone", M.clone },
  { "GET", "/v1/flow/data-jobs/{id}/outputs", M.outputs },
  { "GET", "/v1/flow/alignment/{id}/outputs", M.alignment_outputs },
  { "PUT", "/v1/flow/files", M.upload },
  { "GET", "/v1/flow/files", M.files_list },
  { "GET", "/v1/flow/files/{id}", M.file_get },
  { "GET", "/v1/flow/files/{id}/content", M.file_content },
  { "DELETE", "/v1/flow/files/{id}", M.file_delete },
}

return M
