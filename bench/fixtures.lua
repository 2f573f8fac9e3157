--- Data-job details as the server writes them (compact JSON, raw UTF-8, nulls
--- spelled out), generated deterministically: the benchmark serves them and
--- the differential JSON spec decodes them.
---   fixtures.detail(records) -> JSON text of a DataJobDetailResponse
--- 20,000 records make the ~11 MB "big detail"; 5 the ~4.6 KB docs-sized one.
local M = {}

local statuses = { "completed", "completed", "completed", "failed", "queued", "running", "completed" }
local names = { "policies.pdf", "r\195\169sum\195\169 \226\128\148 Q4.docx", "notes \"draft\".md",
  "\230\151\165\230\156\172\232\170\158.pdf", "back\\slash.txt", "deck.pptx" }

local function q(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" elseif c == "\n" then return "\\n" end
    return ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function record(i, job)
  local status = statuses[i % #statuses + 1]
  local name = names[i % #names + 1]
  local failed = status == "failed"
  return ('{"record_id":"ijf-%08d-7890-12bc-defg-3456789012cd","ingestion_job_id":"%s",'
    .. '"alignment_file_id":"file-%09d","user_id":"user-123","filename":%s,"metaflow_job_id":%s,'
    .. '"method":"best","status":"%s","queue_position":%s,"error_message":%s,"suggested_fix":%s,'
    .. '"worker_id":%s,"deleted":false,"created_at":"2025-11-14T07:36:01.000000Z",'
    .. '"processing_at":%s,"completed_at":%s,"failed_at":%s}'):format(
    i, job, i, q(i .. "-" .. name),
    status == "queued" and "null" or ('"mf-%d"'):format(i % 97),
    status,
    status == "queued" and tostring(i % 50 + 1) or "null",
    failed and q("Page 3 could not be parsed:\n\"unexpected EOF\" in stream " .. i) or "null",
    failed and q("Re-export the PDF with \"Save as\226\128\166\" and upload it again.") or "null",
    status == "queued" and "null" or ('"worker-%d"'):format(i % 8),
    status == "queued" and "null" or '"2025-11-14T07:36:02.000000Z"',
    status == "completed" and '"2025-11-14T07:37:05.250000Z"' or "null",
    failed and '"2025-11-14T07:36:44.125000Z"' or "null")
end

local function file_entry(i)
  return ('{"file_id":"file-%09d","record_id":"ijf-%08d-7890-12bc-defg-3456789012cd","name":%s,'
    .. '"type":"pdf","created_at":"2025-11-14T07:30:00.000000Z","status":"%s","suggested_fix":null,"bytes":%d}'):format(
    i, i, q(i .. "-" .. names[i % #names + 1]), statuses[i % #statuses + 1], 4096 + i * 37)
end

--- The JSON text of a detail with `n` records spread over ingestion runs of up to 1,000
--- (`files` lists the last run's files).
function M.detail(n)
  local jobs, files, r = {}, {}, 0
  local per_job = 1000
  local j = 0
  while r < n do
    j = j + 1
    local id = ("ij-a1b2c3d4-5678-90ef-abcd-%012d"):format(j)
    local records, ids = {}, {}
    for _ = 1, math.min(per_job, n - r) do
      r = r + 1
      records[#records + 1] = record(r, id)
      ids[#ids + 1] = ('"file-%09d"'):format(r)
      if r > n - 1000 then files[#files + 1] = file_entry(r) end
    end
    jobs[#jobs + 1] = ('{"id":"%s","status":"completed","created_at":"2025-11-14T07:36:01.000000Z",'
      .. '"updated_at":"2025-11-14T07:36:02.000000Z","file_ids":[%s],"records":[%s]}'):format(
      id, table.concat(ids, ","), table.concat(records, ","))
  end
  return ('{"id":"dj-7f3e9a2b-1c4d-4e5f-8a6b-9c0d1e2f3a4b","name":"Customer support refresh",'
    .. '"job_type":"principle_files","alignment_job_id":null,"origin_data_job_id":null,"deleted":false,'
    .. '"created_at":"2025-11-14T07:35:21.700005Z","updated_at":"2025-11-14T07:36:02.118220Z",'
    .. '"status":"file_processing","status_message":null,"system_prompt":"You are an airline support expert.",'
    .. '"system_prompt_updated_at":"2025-11-14T07:35:21.700005Z","instructions":null,'
    .. '"instructions_updated_at":null,"resolved_instructions":null,"vector_database_id":null,'
    .. '"additional_alignment_file_ids":[],"ingestion_jobs":[%s],"alignment_job":null,"files":[%s],'
    .. '"fine_tuning_job_ids":[],"timeline":[{"timestamp":"2025-11-14T07:35:21.700005Z","event_type":"Created",'
    .. '"message":"Data job created.","metadata":{}},{"timestamp":"2025-11-14T07:36:01.000000Z",'
    .. '"event_type":"File Processing Started","message":"Started processing files.",'
    .. '"metadata":{"ingestion_job_id":"ij-a1b2c3d4-5678-90ef-abcd-000000000001","status":"running",'
    .. '"record_count":%d}}]}'):format(table.concat(jobs, ","), table.concat(files, ","), n)
end

return M
