--- Data jobs: the store and the operations of the API (create, add/remove files, start,
--- cancel, clone, delete) plus status derivation.
--
-- Time-driven changes (ingestion and alignment progress) live in seekrflow.sim.lifecycle;
-- operations here only enqueue work and record what the user did.
local json = require("seekrflow.sim.json")
local clock = require("seekrflow.sim.clock")
local validate = require("seekrflow.sim.validate")
local lifecycle = require("seekrflow.sim.lifecycle")
local files_mod = require("seekrflow.sim.files")
local store = require("seekrflow.sim.store")

local M = store.class()

local object, array = json.object, json.array
local find, format = string.find, string.format
local us = clock.seconds

M.JOB_TYPES = { "principle_files", "context_grounded_files", "context_grounded_vector_db" }
M.SORTABLE = { "name", "created_at", "job_type" }

-- add-files accepts every AlignmentFileType; all but Markdown go through ingestion (the docs
-- name only PDF, DOCX, DOC, PPT and PPTX as ingested; the others are assumed to be too).
M.ADDABLE = {}
for _, t in ipairs(files_mod.ALIGNMENT_TYPES) do M.ADDABLE[t] = true end
local SUPPORTED_TEXT = "." .. table.concat(files_mod.ALIGNMENT_TYPES, ", .")

M.TIMING = lifecycle.TIMING
M.FAILURES = lifecycle.FAILURES

local add_event, renumber, remove_value = lifecycle.add_event, lifecycle.renumber,
  lifecycle.remove_value

--- Create the job store.
---@param opts table {clock, ids, files, workers, user_id}
---@return table
function M.new(opts)
  return store.new(M, { clock = opts.clock, ids = opts.ids, files = opts.files, workers = opts.workers or 2,
    user_id = opts.user_id or "user-sim" })
end

--- Forget every job, queue entry and alignment.
function M:reset()
  self.jobs = {}
  self.job_seq = 0
  self.queue = {}          -- global FIFO of queued records
  self.slots = {}          -- worker slot index -> running record
  self.running = {}        -- list of running records
  self.active = {}         -- alignments still queued or running
  self.alignments = {}     -- alignment id -> alignment
  self.transient_done = {} -- file ids whose one simulated outage already happened
  self.flow_seq = 0
  self.cursor = self.clock:now()
end

-- ---------------------------------------------------------------------------------------------
-- helpers
-- ---------------------------------------------------------------------------------------------

-- A business-rule refusal; its status is the API mode's convention (see api.lua).
local function conflict(detail)
  return { refused = true, detail = detail }
end

local function plural(n, one, many)
  return n == 1 and one or many
end

-- Keep at most n characters of a UTF-8 string.
local function utf8_prefix(s, n)
  if validate.char_len(s) <= n then return s end
  local count, i = 0, 1
  while i <= #s do
    local b = s:byte(i)
    if b < 0x80 or b >= 0xC0 then
      count = count + 1
      if count > n then break end
    end
    i = i + 1
  end
  return s:sub(1, i - 1)
end

-- The position of a file in job.attached, or nil.
local function findex(job, file_id)
  return store.index_of(job.attached, "file_id", file_id)
end

local function dedupe(list)
  local seen, out = {}, {}
  for _, v in ipairs(list) do
    if not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  return out
end

-- ---------------------------------------------------------------------------------------------
-- status derivation
-- ---------------------------------------------------------------------------------------------

local function ingestion_active(ij)
  if ij.status ~= "queued" and ij.status ~= "running" then return false end
  for _, rec in ipairs(ij.records) do
    if not rec.deleted then return true end
  end
  return false
end

--- Derived status and status message of a job (contract section 6).
--- Call as `st:derive(job)`; it only reads the job.
---@param job table
---@return string status, string|nil message
function M.derive(_, job)
  local al = job.alignment
  if al then return al.status, al.status_message end
  local queued, running = 0, 0
  for _, ij in ipairs(job.ingestion_jobs) do
    if ingestion_active(ij) then
      for _, rec in ipairs(ij.records) do
        if not rec.deleted then
          if rec.status == "queued" then queued = queued + 1 end
          if rec.status == "running" then running = running + 1 end
        end
      end
    end
  end
  if queued + running > 0 then
    return "file_processing", format("Ingesting %d %s: %d running, %d queued.", queued + running,
      plural(queued + running, "file", "files"), running, queued)
  end
  local failed = 0
  for _, e in ipairs(job.attached) do
    if e.record and e.record.status == "failed" then failed = failed + 1 end
  end
  if failed > 0 then
    return "needs_review", format(
      "%d %s failed ingestion: %s with remove-files or add %s with add-files.", failed,
      plural(failed, "file", "files"), plural(failed, "remove it", "remove them"),
      plural(failed, "a corrected file", "corrected files"))
  end
  if job.job_type ~= "context_grounded_vector_db" and #job.attached == 0 then
    return "needs_review", "No files attached: add files with POST /v1/flow/data-jobs/" ..
      job.id .. "/add-files."
  end
  if job.job_type == "principle_files" and not job.system_prompt then
    return "needs_review", "A system prompt is required for principle_files jobs: set " ..
      "system_prompt with PATCH /v1/flow/data-jobs/" .. job.id ..
      " (POST /v1/flow/data-jobs/gen_system_prompt can draft one)."
  end
  if job.job_type == "context_grounded_vector_db" and not job.vector_database_id then
    return "needs_review", "A vector_database_id is required for context_grounded_vector_db " ..
      "jobs: set it with PATCH /v1/flow/data-jobs/" .. job.id .. "."
  end
  return "ready_to_start", nil
end

--- Replay every lifecycle event due up to simulated time `now`.
---@param now number simulated microseconds
function M:advance(now)
  lifecycle.advance(self, now)
end

--- Resize the worker pool (after replaying what was due under the old size).
---@param n integer
function M:set_workers(n)
  self:advance(self.clock:now())
  self.workers = n
end

-- ---------------------------------------------------------------------------------------------
-- operations
-- ---------------------------------------------------------------------------------------------

local function opt(v)
  if v == json.null then return nil end
  return v
end

--- Create a job from validated fields.
---@param fields table
---@return table job
function M:create_job(fields)
  local now = self.clock:stamp()
  self.job_seq = self.job_seq + 1
  local job = {
    id = self.ids:id("dj"),
    seq = self.job_seq,
    user_id = self.user_id,
    name = fields.name,
    job_type = fields.job_type,
    created_at = now,
    updated_at = now,
    system_prompt = opt(fields.system_prompt),
    instructions = opt(fields.instructions),
    vector_database_id = opt(fields.vector_database_id),
    ingestion_jobs = {},
    attached = {},
    timeline = {},
  }
  if job.system_prompt then job.system_prompt_updated_at = now end
  if job.instructions then job.instructions_updated_at = now end
  add_event(job, now, "Created", "Data job created.", object())
  self.jobs[job.id] = job
  return job
end

--- A job by id, or nil: st:get_job(id).
M.get_job = store.getter("jobs")

--- An alignment by id, or nil: st:get_alignment(id).
M.get_alignment = store.getter("alignments")

--- Jobs filtered, sorted (ties broken by id so pages are stable) and sliced.
---@param opts table {job_type?, sort_by, sort_order, limit, offset}
---@return table
function M:list_jobs(opts)
  local all = {}
  for _, job in pairs(self.jobs) do
    if not opts.job_type or job.job_type == opts.job_type then all[#all + 1] = job end
  end
  local key, desc = opts.sort_by, opts.sort_order == "desc"
  table.sort(all, function(a, b)
    local va, vb = a[key], b[key]
    if va == vb then va, vb = a.id, b.id end
    if desc then return va > vb end
    return va < vb
  end)
  return store.page(all, opts.offset, opts.limit)
end

--- Apply a PATCH. Explicit nulls clear optional fields; a null name is ignored because a
--- job always has a name.
---@param job table
---@param fields table validated body
---@return table job
function M:patch_job(job, fields)
  local now = self.clock:stamp()
  if fields.name ~= nil and fields.name ~= json.null then job.name = fields.name end
  if fields.system_prompt ~= nil then
    local v = opt(fields.system_prompt)
    if v ~= job.system_prompt then
      job.system_prompt = v
      job.system_prompt_updated_at = now
      add_event(job, now, "System Prompt Updated",
        v and "System prompt updated." or "System prompt cleared.", object())
    end
  end
  if fields.instructions ~= nil then
    local v = opt(fields.instructions)
    if v ~= job.instructions then
      job.instructions = v
      job.instructions_updated_at = now
    end
  end
  if fields.vector_database_id ~= nil then job.vector_database_id = opt(fields.vector_database_id) end
  job.updated_at = now
  return job
end

local function started_conflict(self, job, action)
  local status = self:derive(job)
  return conflict(format("Data job '%s' has already been started (status: %s); files can no " ..
    "longer be %s. Clone it with POST /v1/flow/data-jobs/%s/clone to get an editable copy.",
    job.id, status, action, job.id))
end

-- Decide at enqueue time how a file's ingestion will end, so a record's fate does not depend
-- on when a client polls. Order: not found, empty, corrupt PDF, oversized, internal, transient.
local function outcome_for(self, file, file_id)
  local F = M.FAILURES
  if not file then return F.not_found end
  local content = file.content
  if #content == 0 then return F.empty end
  if file.type == "pdf" and content:sub(1, 5) ~= "%PDF-" then return F.corrupt_pdf end
  if find(content, "SIM:OVERSIZED_PAGES", 1, true) then return F.oversized end
  if find(content, "SIM:INTERNAL", 1, true) then return F.internal end
  if find(content, "SIM:TRANSIENT", 1, true) and not self.transient_done[file_id] then
    self.transient_done[file_id] = true
    return F.transient
  end
  return nil
end

local function attach(job, entry)
  local i = findex(job, entry.file_id)
  if i then job.attached[i] = entry else job.attached[#job.attached + 1] = entry end
end

--- Attach files: Markdown at once, other supported types through one new ingestion job.
---@param job table
---@param file_ids table list of ids (validated strings)
---@param method string|nil ingestion method
---@return table|nil job
---@return table|nil err {status, detail} or {status=422, items}
function M:add_files(job, file_ids, method)
  if job.alignment then return nil, started_conflict(self, job, "added") end
  file_ids = dedupe(file_ids)
  local items = {}
  for i, id in ipairs(file_ids) do
    local f = self.files:get(id)
    if f and not M.ADDABLE[f.type or ""] then
      local ext = f.filename:match("%.([^.]+)$") or "(none)"
      local msg = format("Value error, File '%s' (%s) has unsupported type '%s'. Supported " ..
        "types: %s.", f.filename, id, ext, SUPPORTED_TEXT)
      items[#items + 1] = validate.item("value_error", { "body", "file_ids", i - 1 }, msg, id,
        object("error", msg:sub(#"Value error, " + 1)))
    end
  end
  if #items > 0 then return nil, { status = 422, items = items } end

  local now = self.clock:stamp()
  local ij
  for _, id in ipairs(file_ids) do
    local f = self.files:get(id)
    local entry = {
      file_id = id,
      name = f and f.filename or id,
      type = f and f.type or nil,
      created_at = f and f.created_at or nil,
      bytes = f and f.bytes or nil,
    }
    if not (f and f.type == "md") then
      if not ij then
        ij = { id = self.ids:id("ij"), status = "queued", created_at = now, updated_at = now,
          file_ids = {}, records = {}, job = job }
        job.ingestion_jobs[#job.ingestion_jobs + 1] = ij
      end
      ij.file_ids[#ij.file_ids + 1] = id
      local outcome = outcome_for(self, f, id)
      local jitter = self.ids:random() * M.TIMING.ingest_jitter
      local duration
      if outcome then
        duration = M.TIMING.fail_after
      else
        duration = M.TIMING.ingest_base + M.TIMING.ingest_per_100kb * f.bytes / 102400 + jitter
      end
      self.flow_seq = self.flow_seq + 1
      local rec = {
        record_id = self.ids:id("ijf"),
        ingestion_job_id = ij.id,
        alignment_file_id = id,
        user_id = self.user_id,
        filename = entry.name,
        method = method or "best",
        status = "queued",
        deleted = false,
        created_at = now,
        -- internal
        job = job, ijob = ij, file_id = id, outcome = outcome, duration = us(duration),
        eligible_at = now + us(M.TIMING.pickup), md_id = self.ids:id("md-file"),
        flow_id = format("IngestionFlow/sim/%d", self.flow_seq),
      }
      ij.records[#ij.records + 1] = rec
      self.queue[#self.queue + 1] = rec
      entry.record = rec
    end
    attach(job, entry)
  end
  renumber(self.queue)
  add_event(job, now, "Files Added", format("Added %d %s.", #file_ids,
    plural(#file_ids, "file", "files")), object("file_ids", array(file_ids), "count", #file_ids))
  job.updated_at = now
  return job
end

--- Detach files. Their ingestion records stay in `ingestion_jobs` but are marked deleted.
---@param job table
---@param file_ids table
---@return table|nil job
---@return table|nil err
function M:remove_files(job, file_ids)
  if job.alignment then return nil, started_conflict(self, job, "removed") end
  file_ids = dedupe(file_ids)
  local missing = {}
  for _, id in ipairs(file_ids) do
    if not findex(job, id) then missing[#missing + 1] = "'" .. id .. "'" end
  end
  if #missing > 0 then
    local attached = {}
    for _, e in ipairs(job.attached) do attached[#attached + 1] = "'" .. e.file_id .. "'" end
    return nil, conflict(format("%s %s not attached to data job '%s'. Attached files: %s.",
      plural(#missing, "File", "Files"), table.concat(missing, ", "),
      job.id, #attached > 0 and table.concat(attached, ", ") or "none"))
  end
  local now = self.clock:stamp()
  for _, id in ipairs(file_ids) do
    table.remove(job.attached, findex(job, id))
    for _, ij in ipairs(job.ingestion_jobs) do
      for _, rec in ipairs(ij.records) do
        if rec.file_id == id then rec.deleted = true end
      end
    end
  end
  add_event(job, now, "Files Removed", format("Removed %d %s.", #file_ids,
    plural(#file_ids, "file", "files")), object("file_ids", array(file_ids), "count", #file_ids))
  job.updated_at = now
  return job
end

--- Start alignment (only from ready_to_start).
---@param job table
---@return table|nil job
---@return table|nil err
function M:start(job)
  local status, message = self:derive(job)
  if status ~= "ready_to_start" then
    local why = message and (" " .. message) or ""
    return nil, conflict(format("Data job '%s' cannot be started: its status is '%s' and only " ..
      "jobs in 'ready_to_start' can be started.%s", job.id, status, why))
  end
  local now = self.clock:stamp()
  local al = {
    id = self.ids:id("al"), job = job, status = "queued", created_at = now, updated_at = now,
    next_at = now + us(M.TIMING.align_queued),
    fail = validate.contains(job.instructions, "SIM:ALIGNMENT_FAIL") or
      validate.contains(job.system_prompt, "SIM:ALIGNMENT_FAIL"),
    output_ids = { self.ids:id("file"), self.ids:id("file") },
  }
  job.alignment = al
  job.alignment_job_id = al.id
  job.resolved_instructions = job.instructions or
    "Generate question and answer pairs grounded in the attached source material."
  self.alignments[al.id] = al
  self.active[#self.active + 1] = al
  add_event(job, now, "Alignment Started", "Alignment started.", object(
    "alignment_job_id", al.id, "status", "queued"))
  job.updated_at = now
  return job
end

--- Cancel a queued or running alignment.
---@param job table
---@return table|nil job
---@return table|nil err
function M:cancel(job)
  local al = job.alignment
  if not al or (al.status ~= "queued" and al.status ~= "running") then
    local status = self:derive(job)
    return nil, conflict(format("Data job '%s' has no queued or running alignment to cancel " ..
      "(status: %s). Cancel applies only after /start while the alignment is queued or running.",
      job.id, status))
  end
  local now = self.clock:stamp()
  al.status = "cancelled"
  al.stopped_at = now
  al.ended_at = now
  al.updated_at = now
  al.next_at = nil
  al.status_message = "Alignment cancelled on request."
  remove_value(self.active, al)
  add_event(job, now, "Alignment Cancelled", "Alignment cancelled.", object(
    "alignment_job_id", al.id, "status", "cancelled"))
  job.updated_at = now
  return job
end

--- Clone a job: settings plus the attached files that are ready (completed or Markdown).
---@param src table
---@param name string|nil
---@return table job
function M:clone(src, name)
  local job = self:create_job({
    name = name or (utf8_prefix(src.name, 248) .. " (copy)"),
    job_type = src.job_type,
    system_prompt = src.system_prompt,
    instructions = src.instructions,
    vector_database_id = src.vector_database_id,
  })
  job.origin_data_job_id = src.id
  local copied = {}
  for _, e in ipairs(src.attached) do
    if not e.record or e.record.status == "completed" then
      job.attached[#job.attached + 1] = {
        file_id = e.file_id, name = e.name, type = e.type, created_at = e.created_at,
        bytes = e.bytes, record = e.record,
      }
      copied[#copied + 1] = e.file_id
    end
  end
  add_event(job, job.created_at, "Cloned", "Cloned from data job " .. src.id .. ".", object(
    "origin_data_job_id", src.id, "file_ids", array(copied), "count", #copied))
  return job
end

--- Delete a job for good; its queued files leave the queue and its workers are freed.
---@param job table
function M:delete_job(job)
  for i = #self.queue, 1, -1 do
    if self.queue[i].job == job then table.remove(self.queue, i) end
  end
  renumber(self.queue)
  for i = #self.running, 1, -1 do
    local rec = self.running[i]
    if rec.job == job then
      table.remove(self.running, i)
      if self.slots[rec.slot] == rec then self.slots[rec.slot] = nil end
    end
  end
  if job.alignment then
    remove_value(self.active, job.alignment)
    self.alignments[job.alignment.id] = nil
  end
  self.jobs[job.id] = nil
end

return M
