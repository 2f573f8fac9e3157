--- Time-driven lifecycle of data jobs: the global ingestion queue and worker pool, and
--- alignment runs.
--
-- This is a discrete-event simulation advanced lazily: before each request the app calls
-- `advance(st, now)`, which replays every event that became due (a worker picking up the
-- next queued file, a file finishing, an alignment changing phase) at its exact simulated
-- time. Nothing runs between requests, yet every response shows the state that is due, with
-- timestamps that do not depend on when a client happened to poll.
local json = require("seekrflow.sim.json")
local clock = require("seekrflow.sim.clock")

local M = {}

local object, array = json.object, json.array
local floor, max = math.floor, math.max
local format = string.format
local us = clock.seconds

--- Lifecycle timings in simulated seconds (documented in the README).
M.TIMING = {
  pickup = 2,             -- a queued file waits at least this long before a worker takes it
  ingest_base = 20,       -- processing time of a file: base ...
  ingest_per_100kb = 10,  -- ... plus this much per 100 KiB ...
  ingest_jitter = 2,      -- ... plus up to this much (seeded)
  fail_after = 5,         -- a file that fails does so after this much processing
  align_queued = 5,       -- alignment waits in `queued` this long
  align_running = 55,     -- then runs this long (60 s in all)
  align_fail_after = 25,  -- a SIM:ALIGNMENT_FAIL run fails this far into `running`
}

--- Alignment steps: name and end offset (seconds into `running`).
M.ALIGN_STEPS = {
  { "Preparing documents", 10 },
  { "Generating QA pairs", 40 },
  { "Validating dataset", 50 },
  { "Writing output files", 55 },
}

--- The documented ingestion errors (contract section 7.1).
M.FAILURES = {
  empty = { "The file appears to be empty.", "Upload a file with content." },
  corrupt_pdf = { "The PDF may be corrupted, password-protected, or in an unsupported format.",
    "Upload a valid, unprotected PDF." },
  oversized = { "The PDF contains pages that exceed the maximum supported size.",
    "Re-export the PDF with smaller page dimensions." },
  not_found = { "The file was not found or is not owned by the current user.",
    "Re-upload the file or verify the correct file_id." },
  transient = { "Service temporarily unavailable.", "Retry the job after a brief wait." },
  internal = { "Internal processing failure.", "If the issue persists, contact support." },
}

-- ---------------------------------------------------------------------------------------------
-- helpers shared with seekrflow.sim.state
-- ---------------------------------------------------------------------------------------------

--- Append a timeline event to a job.
---@param job table
---@param t number simulated microseconds
---@param etype string Title Case event type
---@param message string
---@param metadata? table
function M.add_event(job, t, etype, message, metadata)
  job.event_seq = (job.event_seq or 0) + 1
  job.timeline[#job.timeline + 1] = {
    t = t, seq = job.event_seq, event_type = etype, message = message,
    metadata = metadata or object(),
  }
end

local function touch(job, t)
  if t > job.updated_at then job.updated_at = t end
end

--- Renumber queue positions 1..n after the queue changed.
---@param queue table
function M.renumber(queue)
  for i, rec in ipairs(queue) do rec.queue_position = i end
end

--- Remove every occurrence of v from a list.
---@param list table
---@param v any
function M.remove_value(list, v)
  for i = #list, 1, -1 do
    if list[i] == v then table.remove(list, i) end
  end
end

local add_event, renumber, remove_value = M.add_event, M.renumber, M.remove_value

-- ---------------------------------------------------------------------------------------------
-- the event engine
-- ---------------------------------------------------------------------------------------------

local function free_slot(self)
  local i = 1
  while self.slots[i] do i = i + 1 end
  return i
end

local function next_event(self)
  local best_t, best_kind, best_obj
  local function consider(t, kind, obj)
    if t and (best_t == nil or t < best_t) then
      best_t, best_kind, best_obj = t, kind, obj
    end
  end
  -- Finishes come first on ties so a freed worker can take the next file at the same instant.
  for _, rec in ipairs(self.running) do consider(rec.finish_at, "finish", rec) end
  if #self.running < self.workers and self.queue[1] then
    consider(max(self.cursor, self.queue[1].eligible_at), "start", self.queue[1])
  end
  for _, al in ipairs(self.active) do consider(al.next_at, "align", al) end
  return best_t, best_kind, best_obj
end

local function start_record(self, rec, t)
  table.remove(self.queue, 1)
  renumber(self.queue)
  local slot = free_slot(self)
  self.slots[slot] = rec
  rec.slot = slot
  self.running[#self.running + 1] = rec
  rec.status = "running"
  rec.queue_position = nil
  rec.processing_at = t
  rec.worker_id = "sim-worker-" .. slot
  rec.metaflow_job_id = rec.flow_id
  rec.finish_at = t + rec.duration
  local ij, job = rec.ijob, rec.job
  ij.updated_at = t
  if ij.status == "queued" then
    ij.status = "running"
    add_event(job, t, "File Processing Started", "Started processing files.", object(
      "ingestion_job_id", ij.id, "status", "running", "record_count", #ij.records))
  end
  touch(job, t)
end

local function md_content(rec, source)
  local title = (rec.filename or "document"):gsub("%.[%w]+$", "")
  return table.concat({
    "# " .. title, "",
    "## Overview", "", "Converted from " .. rec.filename .. " (" .. (source and source.bytes or 0)
      .. " bytes).", "",
    "## Key points", "", "- Simulated extraction of the document text.", "",
    "## Details", "", "Section content produced by the ingestion simulator.", "",
    "## Summary", "", "End of converted document.", "",
  }, "\n")
end

local function finish_record(self, rec, t)
  remove_value(self.running, rec)
  if rec.slot and self.slots[rec.slot] == rec then self.slots[rec.slot] = nil end
  local ij, job = rec.ijob, rec.job
  if rec.outcome then
    rec.status = "failed"
    rec.failed_at = t
    rec.error_message = rec.outcome[1]
    rec.suggested_fix = rec.outcome[2]
  else
    rec.status = "completed"
    rec.completed_at = t
    local source = self.files:get(rec.file_id)
    local md_name = (rec.filename:gsub("%.[%w]+$", "")) .. ".md"
    self.files:add({ id = rec.md_id, filename = md_name, content = md_content(rec, source),
      purpose = "alignment", created_at = t, original_file_id = rec.file_id })
    rec.alignment_file_id = rec.md_id
  end
  ij.updated_at = t
  local done, failed = 0, 0
  for _, r in ipairs(ij.records) do
    if r.status == "completed" or r.status == "failed" then done = done + 1 end
    if r.status == "failed" then failed = failed + 1 end
  end
  if done == #ij.records then
    ij.status = failed == #ij.records and "failed" or "completed"
    add_event(job, t, "File Processing Completed", "Finished processing files.", object(
      "ingestion_job_id", ij.id, "status", ij.status, "record_count", #ij.records,
      "failed_count", failed))
  end
  touch(job, t)
end

local function qa_rows(al)
  local job = al.job
  local rows = {}
  local names = {}
  for _, e in ipairs(job.attached) do names[#names + 1] = e.name or e.file_id end
  if #names == 0 then names[1] = job.vector_database_id or job.name end
  for i = 1, 10 * #names do
    local src = names[(i - 1) % #names + 1]
    rows[#rows + 1] = json.encode(object("messages", array({
      object("role", "system", "content", job.system_prompt or ""),
      object("role", "user", "content", format("Question %d about %s?", i, src)),
      object("role", "assistant", "content", format("Answer %d, grounded in %s.", i, src)),
    })))
  end
  return rows
end

local function complete_alignment(self, al, t)
  local rows = qa_rows(al)
  local jsonl = table.concat(rows, "\n") .. "\n"
  -- Not a real Parquet encoding, just bytes with Parquet's magic markers at both ends.
  local parquet = "PAR1" .. jsonl .. "PAR1"
  local base = "qa_pairs_" .. al.id
  local pq = self.files:add({ id = al.output_ids[1], filename = base .. ".parquet",
    content = parquet, purpose = "fine-tune", created_at = t })
  local jl = self.files:add({ id = al.output_ids[2], filename = base .. ".jsonl",
    content = jsonl, purpose = "alignment", created_at = t })
  al.outputs = { pq, jl }
  al.status = "completed"
  al.completed_at = t
  al.status_message = format("Generated %d QA pairs.", #rows)
  add_event(al.job, t, "Alignment Completed", "Alignment completed.", object(
    "alignment_job_id", al.id, "status", "completed",
    "output_file_ids", array({ pq.id, jl.id })))
end

local function step_alignment(self, al, t)
  al.updated_at = t
  if al.status == "queued" then
    al.status = "running"
    al.running_at = t
    if al.fail then
      al.next_at = t + us(M.TIMING.align_fail_after)
    else
      al.next_at = t + us(M.TIMING.align_running)
    end
  elseif al.fail then
    al.status = "failed"
    al.ended_at = t
    al.next_at = nil
    al.status_message = "Alignment failed while generating QA pairs: the simulated failure " ..
      "trigger SIM:ALIGNMENT_FAIL was found in the instructions or system prompt. Remove it " ..
      "and clone the job to try again."
    add_event(al.job, t, "Alignment Failed", "Alignment failed.", object(
      "alignment_job_id", al.id, "status", "failed", "status_message", al.status_message))
  else
    al.next_at = nil
    al.ended_at = t
    complete_alignment(self, al, t)
  end
  if not al.next_at then remove_value(self.active, al) end
  touch(al.job, t)
end

--- Replay every lifecycle event of state `st` due up to simulated time `now`.
---@param st table seekrflow.sim.state instance
---@param now number simulated microseconds
function M.advance(st, now)
  -- Bounded so a huge jump in time cannot hang a request; the rest is replayed next time.
  for _ = 1, 100000 do
    local t, kind, obj = next_event(st)
    if t == nil or t > now then
      if now > st.cursor then st.cursor = now end
      return
    end
    if t > st.cursor then st.cursor = t end
    if kind == "finish" then
      finish_record(st, obj, t)
    elseif kind == "start" then
      start_record(st, obj, t)
    else
      step_alignment(st, obj, t)
    end
  end
end

--- Progress fields of an alignment as seen at simulated time `now`.
---@param al table
---@param now number
---@return table fields {current_step, step_progress, progress, estimated_completion_at, eta_minutes}
function M.alignment_progress(al, now)
  local T = M.TIMING
  local r = {}
  if al.status == "queued" then
    r.progress = 0
    r.estimated_completion_at = al.created_at + us(T.align_queued + T.align_running)
  elseif al.status == "completed" then
    r.progress = 100
    r.estimated_completion_at = al.completed_at
    r.eta_minutes = 0
    return r
  elseif al.running_at then
    local at = al.ended_at or now
    local elapsed = (at - al.running_at) / 1e6
    if elapsed < 0 then elapsed = 0 end
    if elapsed > T.align_running then elapsed = T.align_running end
    r.progress = math.min(99, floor(elapsed / T.align_running * 100))
    local prev = 0
    for _, step in ipairs(M.ALIGN_STEPS) do
      if elapsed < step[2] or step == M.ALIGN_STEPS[#M.ALIGN_STEPS] then
        r.current_step = step[1]
        r.step_progress = math.min(100, floor((elapsed - prev) / (step[2] - prev) * 100))
        break
      end
      prev = step[2]
    end
    if al.status == "running" then
      r.estimated_completion_at = al.running_at + us(T.align_running)
    end
  else
    r.progress = 0
  end
  if al.status == "queued" or al.status == "running" then
    -- Whole seconds first, so 60.000001 s left reads as 1 minute rather than 2.
    local left = floor((r.estimated_completion_at - now) / 1e6 + 0.5)
    if left < 0 then left = 0 end
    r.eta_minutes = math.ceil(left / 60)
  end
  return r
end

return M
