--- seekrflow.remediate: act on a data job's failed files through a client.
---
---     local remediate = require "seekrflow.remediate"
---     local detail = remediate.remove_failed(client, "dj-…")     -- skip what failed
---     detail = remediate.retry(client, detail)                    -- add transient failures again
---     detail = remediate.replace(client, "dj-…", "file-old", "fixed.pdf")
---
--- Every function takes a client and either a data job id or a data job
--- table. A detail the client decoded (from data_jobs:retrieve, or from any
--- call that answers with the job's detail: update, add_files, remove_files,
--- start, cancel, clone) is used as it is, with no new GET, so pass a fresh
--- one or the id. Any other table (a create answer, a list item, a table
--- built by hand or decoded some other way) is fetched again by its `id`:
--- whether a table is a detail is told by its metatable, never by which
--- keys it has, since a detail may leave out its empty lists (a detail
--- without `files` has no files attached).
--- Errors follow the client's mode: raised by default, `nil, err` for a
--- client made with `errors = "return"`.
local errors = require "seekrflow.errors"
local summary = require "seekrflow.summary"
local options = require "seekrflow.options"
local detail_fns = require "seekrflow.detail"
local core = require("seekrflow.loader").core()
local MAX_FILE_IDS = require("seekrflow.data_jobs").max_file_ids

local remediate = {}

local function fail(message)
  error(errors.new("invalid_argument", message), 0)
end

-- In "return" mode the client hands back nil, err. Raising it here lets each
-- operation read as a straight sequence of steps; `run` then gives it to the
-- caller the way the client would have.
local function check(value, err)
  if value == nil and err ~= nil then error(err, 0) end
  return value
end

local function returns_errors(client)
  local ok, cfg = pcall(client.config, client)
  return ok and type(cfg) == "table" and cfg.errors == "return"
end

-- A client is a table or a userdata depending on the build: recognise it by
-- the resources it has, without letting a bad value's indexing error escape.
local function is_client(client)
  local t = type(client)
  if t ~= "table" and t ~= "userdata" then return false end
  local ok, has = pcall(function() return client.data_jobs ~= nil and client.files ~= nil end)
  return ok and has
end

local function run(name, client, fn, ...)
  if not is_client(client) then
    -- Without a client there is no mode to follow: raise, as a dot-for-colon
    -- mistake does on the client itself.
    fail(name .. ": the first argument must be a seekrflow client, got " .. type(client))
  end
  local ok, a, b = pcall(fn, client, ...)
  if ok then return a, b end
  -- Only seekrflow errors are returned: anything else is a bug to see at once.
  if errors.is_error(a) and returns_errors(client) then return nil, a end
  error(a, 0)
end

local function check_job_arg(name, job_or_id)
  if type(job_or_id) == "string" then return end
  if type(job_or_id) == "table" and type(job_or_id.id) == "string" then return end
  fail(("%s: expected a data job id or a data job detail, got %s"):format(name,
    type(job_or_id) == "table" and "a table without an id" or type(job_or_id)))
end

-- The metatable the C core gives a decoded DataJobDetailResponse (the data_job kind's). A
-- create answer and a list item (DataJobResponse: no nested arrays) get one of their own.
local DETAIL_MT = getmetatable(core.json_decode("{}", "data_job"))

-- The detail to work on: a table the client decoded as a detail, as it is; any other table
-- by its id. Not told by keys: a detail may leave its empty files[] or ingestion_jobs[] out.
local function resolve(client, job_or_id)
  if type(job_or_id) == "table" then
    if getmetatable(job_or_id) == DETAIL_MT then return job_or_id end
    job_or_id = job_or_id.id
  end
  return check(client.data_jobs:retrieve(job_or_id))
end

local function attached_file(detail, file_id)
  for file in detail_fns.each_file(detail) do
    if file.file_id == file_id then return file end
  end
  return nil
end

-- The ingestion method a file was added with: its current record's (the
-- detail module decides which record that is), or nil.
local function record_method(record)
  return record and type(record.method) == "string" and record.method or nil
end

local function method_of(detail, file)
  return record_method(file and detail_fns.current_record(detail, file))
end

-- ids cut into lists the API takes in one request (data_jobs.max_file_ids each), in order.
local function chunks(ids)
  if #ids <= MAX_FILE_IDS then return { ids } end
  local out = {}
  for i, id in ipairs(ids) do
    local n = math.floor((i - 1) / MAX_FILE_IDS) + 1
    out[n] = out[n] or {}
    out[n][#out[n] + 1] = id
  end
  return out
end

-- What remove_failed sends: the failed files, max_file_ids at the most per batch.
local function remove_batches(detail)
  local ids, batches = summary.of(detail).plan.remove, {}
  for _, chunk in ipairs(#ids > 0 and chunks(ids) or {}) do batches[#batches + 1] = { file_ids = chunk } end
  return batches
end

-- remove_failed and retry: fetch the detail (unless given one), then one request per batch
-- the detail calls for, in order; the detail after the last (the current one without a batch).
local function send_batches(name, client, job_or_id, batches_of, send)
  check_job_arg(name, job_or_id)
  local detail = resolve(client, job_or_id)
  for _, batch in ipairs(batches_of(detail)) do
    detail = check(send(client.data_jobs, detail.id, batch))
  end
  return detail
end

local function remove_failed(client, job_or_id)
  return send_batches("remediate.remove_failed", client, job_or_id, remove_batches, function(data_jobs, id, batch)
    return data_jobs:remove_files(id, batch.file_ids)
  end)
end

-- What retry sends: one add-files per ingestion method, in the order the
-- files first appear, so a retry repeats the attempt instead of silently
-- switching to the server default.
local function retry_batches(detail)
  -- each attached file's method, from one pass over the files (the first entry of an id wins)
  local method_by_id = {}
  for file, record in detail_fns.each_file(detail) do
    local id = file.file_id
    if id ~= nil and method_by_id[id] == nil then
      method_by_id[id] = record_method(record) or false
    end
  end
  local by_method, methods = {}, {}
  for _, id in ipairs(summary.of(detail).plan.retry) do
    local method = method_by_id[id] or false
    if not by_method[method] then
      by_method[method] = {}
      methods[#methods + 1] = method
    end
    local ids = by_method[method]
    ids[#ids + 1] = id
  end
  -- a method with more ids than one request takes goes out in several batches
  local batches = {}
  for _, method in ipairs(methods) do
    for _, chunk in ipairs(chunks(by_method[method])) do
      batches[#batches + 1] = { method = method or nil, file_ids = chunk }
    end
  end
  return batches
end

local function retry(client, job_or_id)
  return send_batches("remediate.retry", client, job_or_id, retry_batches, function(data_jobs, id, batch)
    return data_jobs:add_files(id, { file_ids = batch.file_ids, method = batch.method })
  end)
end

-- Fields of the underlying error kept on the wrapped one, so callers can
-- still branch on status and class (errors.is(err, "conflict")).
local COPIED_FIELDS = { "status", "class", "detail", "body", "request_id", "retryable", "retry_after",
  "attempts", "method", "url" }

-- Runs one step of replace; a failure is re-raised naming the step, with
-- what was done so far in `fields`.
local function step(name, what, fields, fn, ...)
  local ok, value, err = pcall(fn, ...)
  if ok and value ~= nil then return value end
  local cause = ok and err or value
  if not errors.is_error(cause) then error(cause, 0) end
  local wrapped = { cause = cause, step = name }
  for _, k in ipairs(COPIED_FIELDS) do wrapped[k] = cause[k] end
  for k, v in pairs(fields) do wrapped[k] = v end
  error(errors.new(cause.kind, "replace: " .. what .. " failed: " .. tostring(cause.message), wrapped), 0)
end

local REPLACE_OPTIONS = { filename = options.non_empty_string, method = options.non_empty_string }

local function replace(client, job_or_id, old_file_id, path, opts)
  local name = "remediate.replace"
  check_job_arg(name, job_or_id)
  if type(old_file_id) ~= "string" or old_file_id == "" then
    fail(name .. ": give the id of the attached file to replace (a non-empty string)")
  end
  if type(path) ~= "string" or path == "" then
    fail(name .. ": give the path of the corrected file to upload")
  end
  local problem = options.problem(opts, REPLACE_OPTIONS)
  if problem then fail(name .. ": " .. problem) end
  opts = opts or {}
  -- Checked here, not only by the upload: a missing file must fail before the
  -- GET too. Reading one byte tells a directory (an error) from a file.
  local f = io.open(path, "rb")
  local readable = f ~= nil and select(2, f:read(1)) == nil
  if f then f:close() end
  if not readable then fail(("%s: cannot read \"%s\": no such file, or not a regular file"):format(name, path)) end

  local detail = resolve(client, job_or_id)
  local old = attached_file(detail, old_file_id)
  if not old then
    fail(("%s: file '%s' is not attached to data job '%s'"):format(name, old_file_id, tostring(detail.id)))
  end
  local method = opts.method or method_of(detail, old)

  -- Upload, add, then remove: a failure part-way leaves the job with the old
  -- file still attached (and maybe the new one too), never with fewer files.
  local file = step("upload", "uploading " .. path, {}, client.files.upload, client.files, path,
    { purpose = "alignment", filename = opts.filename })
  local new_id = file.id
  step("add_files", "adding the new file", { uploaded_file_id = new_id }, client.data_jobs.add_files,
    client.data_jobs, detail.id, { file_ids = { new_id }, method = method })
  detail = step("remove_files", "removing the old file", { uploaded_file_id = new_id, added = true },
    client.data_jobs.remove_files, client.data_jobs, detail.id, { old_file_id })
  return detail, file
end

-- The public form of retry_batches and remove_batches: a detail in, checked first.
local function planner(name, batches_of)
  return function(detail)
    if type(detail) ~= "table" then fail(name .. ": expected a data job detail, got " .. type(detail)) end
    return batches_of(detail)
  end
end

local function plan(client, job_or_id)
  check_job_arg("remediate.plan", job_or_id)
  return summary.of(resolve(client, job_or_id))
end

--- Removes every failed attached file (the summary's plan.remove). Returns the
--- new detail, or the current one without any POST when nothing failed.
---@param client seekrflow.Client
---@param job_or_id string|table a data job id, or a detail (used as it is; any other table is fetched by its id)
---@return table? detail
---@return seekrflow.Error? err only for a client with errors = "return"
function remediate.remove_failed(client, job_or_id)
  return run("remediate.remove_failed", client, remove_failed, job_or_id)
end

--- Adds again the files whose failure may pass on its own (plan.retry: a
--- temporary outage, or a first internal failure), each with the ingestion
--- method it was added with. Returns the new detail, or the current one
--- without any POST when there is nothing to retry.
---@param client seekrflow.Client
---@param job_or_id string|table a data job id, or a detail (used as it is; any other table is fetched by its id)
---@return table? detail
---@return seekrflow.Error? err only for a client with errors = "return"
function remediate.retry(client, job_or_id)
  return run("remediate.retry", client, retry, job_or_id)
end

--- Replaces an attached file with a corrected upload: uploads `path`, adds the
--- new file to the job, then removes `old_file_id`. A failed step raises (or
--- returns) an error of the underlying kind whose `step` is "upload",
--- "add_files" or "remove_files", with `cause` (the original error) and
--- `uploaded_file_id` once the upload succeeded; nothing is undone.
---@param client seekrflow.Client
---@param job_or_id string|table a data job id, or a detail (used as it is; any other table is fetched by its id)
---@param old_file_id string an attached file
---@param path string the corrected file
---@param opts { filename: string?, method: string? }? upload name; ingestion method (default: the old file's)
---@return table? detail the detail after the removal
---@return seekrflow.Error|table file the uploaded FileResponse (or the error, in return mode)
function remediate.replace(client, job_or_id, old_file_id, path, opts)
  return run("remediate.replace", client, replace, job_or_id, old_file_id, path, opts)
end

--- The summary (seekrflow.summary.of) of the job's current detail.
---@param client seekrflow.Client
---@param job_or_id string|table a data job id, or a detail (used as it is; any other table is fetched by its id)
---@return seekrflow.Summary? summary
---@return seekrflow.Error? err only for a client with errors = "return"
function remediate.plan(client, job_or_id)
  return run("remediate.plan", client, plan, job_or_id)
end

--- What `retry` would send for a detail, without sending it: one batch per
--- ingestion method, `{ file_ids = {…}, method = "best" | nil }` each (empty
--- when nothing is worth retrying). For hosts that send requests their own
--- way (the Neovim plugin, on its event loop).
---@type fun(detail: table): { file_ids: string[], method: string? }[]
remediate.retry_batches = planner("remediate.retry_batches", retry_batches)

--- What `remove_failed` would send for a detail, without sending it: the failed files,
--- `{ file_ids = {…} }` per request (empty when nothing failed).
---@type fun(detail: table): { file_ids: string[] }[]
remediate.remove_batches = planner("remediate.remove_batches", remove_batches)

return remediate
