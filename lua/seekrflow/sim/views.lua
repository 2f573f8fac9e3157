--- JSON shapes of the data-jobs API (contract section 4).
--
-- Every schema field is always emitted, in schema order, with null for absent values and
-- `[]` for empty lists; each object is tagged with its model so the spec-minimal mode
-- (seekrflow.sim.minimal) can leave out what the published models do not require.
local json = require("seekrflow.sim.json")
local clock = require("seekrflow.sim.clock")
local lifecycle = require("seekrflow.sim.lifecycle")
local minimal = require("seekrflow.sim.minimal")

local M = {}

local object, array, iso = json.object, json.array, clock.iso
local tag = minimal.tag

local function summary_fields(st, job)
  local status, message = st:derive(job)
  return
    "id", job.id,
    "user_id", job.user_id,
    "name", job.name,
    "job_type", job.job_type,
    "alignment_job_id", job.alignment_job_id,
    "origin_data_job_id", job.origin_data_job_id,
    "deleted", false,
    "created_at", iso(job.created_at),
    "updated_at", iso(job.updated_at),
    "status", status,
    "status_message", message,
    "system_prompt", job.system_prompt,
    "system_prompt_updated_at", iso(job.system_prompt_updated_at),
    "instructions", job.instructions,
    "instructions_updated_at", iso(job.instructions_updated_at),
    "resolved_instructions", job.resolved_instructions,
    "vector_database_id", job.vector_database_id
end

--- DataJobResponse (create response and list items).
---@param st table state
---@param job table
---@return table
function M.job_summary(st, job)
  return tag(object(summary_fields(st, job)), "DataJobResponse")
end

--- IngestionFileRecord.
---@param rec table
---@return table
function M.record(rec)
  return tag(object(
    "record_id", rec.record_id,
    "ingestion_job_id", rec.ingestion_job_id,
    "alignment_file_id", rec.alignment_file_id,
    "user_id", rec.user_id,
    "filename", rec.filename,
    "metaflow_job_id", rec.metaflow_job_id,
    "method", rec.method,
    "status", rec.status,
    "queue_position", rec.status == "queued" and rec.queue_position or nil,
    "error_message", rec.error_message,
    "suggested_fix", rec.suggested_fix,
    "worker_id", rec.worker_id,
    "deleted", rec.deleted and true or false,
    "created_at", iso(rec.created_at),
    "processing_at", iso(rec.processing_at),
    "completed_at", iso(rec.completed_at),
    "failed_at", iso(rec.failed_at)), "IngestionFileRecord")
end

local function ingestion_job(ij)
  local records = array()
  for i, rec in ipairs(ij.records) do records[i] = M.record(rec) end
  local ids = array()
  for i, id in ipairs(ij.file_ids) do ids[i] = id end
  return tag(object(
    "id", ij.id,
    "status", ij.status,
    "created_at", iso(ij.created_at),
    "updated_at", iso(ij.updated_at),
    "file_ids", ids,
    "records", records), "IngestionJobDetail")
end

--- AlignmentOutput.
---@param f table stored file
---@return table
function M.output(f)
  return tag(object(
    "id", f.id,
    "filename", f.filename,
    "bytes", f.bytes,
    "created_at", iso(f.created_at),
    "file_type", f.type,
    "purpose", f.purpose), "AlignmentOutput")
end

--- AlignmentOutput list of an alignment (empty until it completes).
---@param al table|nil
---@return table
function M.outputs(al)
  local out = array()
  if al and al.outputs then
    for i, f in ipairs(al.outputs) do out[i] = M.output(f) end
  end
  return out
end

--- AlignmentResponse, with progress computed at simulated time `now`.
---@param al table
---@param now number
---@return table
function M.alignment(al, now)
  local p = lifecycle.alignment_progress(al, now)
  return tag(object(
    "id", al.id,
    "created_at", iso(al.created_at),
    "updated_at", iso(al.updated_at),
    "completed_at", iso(al.completed_at),
    "stopped_at", iso(al.stopped_at),
    "status", al.status,
    "current_step", p.current_step,
    "step_progress", p.step_progress,
    "progress", p.progress,
    "estimated_completion_at", iso(p.estimated_completion_at),
    "eta_minutes", p.eta_minutes,
    "status_message", al.status_message,
    "output_files", M.outputs(al)), "AlignmentResponse")
end

local function file_entry(e)
  local rec = e.record
  return tag(object(
    "file_id", e.file_id,
    "record_id", rec and rec.record_id or nil,
    "name", e.name,
    "type", e.type,
    "created_at", iso(e.created_at),
    "status", rec and rec.status or nil,
    "suggested_fix", rec and rec.suggested_fix or nil,
    "bytes", e.bytes), "DataJobFile")
end

local function timeline(job)
  local events = {}
  for i, ev in ipairs(job.timeline) do events[i] = ev end
  -- Stable order by timestamp, then by insertion.
  table.sort(events, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    return a.seq < b.seq
  end)
  local out = array()
  for i, ev in ipairs(events) do
    out[i] = tag(object("timestamp", iso(ev.t), "event_type", ev.event_type,
      "message", ev.message, "metadata", ev.metadata), "TimelineEvent")
  end
  return out
end

--- DataJobDetailResponse.
---@param st table state
---@param job table
---@param now number simulated microseconds
---@return table
function M.job_detail(st, job, now)
  local obj = tag(object(summary_fields(st, job)), "DataJobDetailResponse")
  local ijs = array()
  for i, ij in ipairs(job.ingestion_jobs) do ijs[i] = ingestion_job(ij) end
  local files = array()
  for i, e in ipairs(job.attached) do files[i] = file_entry(e) end
  json.set(obj, "additional_alignment_file_ids", array())
  json.set(obj, "ingestion_jobs", ijs)
  json.set(obj, "alignment_job", job.alignment and M.alignment(job.alignment, now) or nil)
  json.set(obj, "files", files)
  json.set(obj, "fine_tuning_job_ids", array())
  json.set(obj, "timeline", timeline(job))
  return obj
end

return M
