--- Watch a data job through ingestion: the library's main job, end to end.
---
---     lua5.4 examples/watch_ingestion.lua            -- against SEEKR_BASE_URL / SEEKR_API_KEY
---
--- Against the bundled simulator: start `lua5.4 bin/seekrflow-sim --port 8787`, then
--- run it with SEEKR_BASE_URL=http://127.0.0.1:8787/v1 SEEKR_API_KEY=sim-key.
---
--- Creates a job, uploads a mix of good and broken files, attaches them,
--- then polls the detail and prints each record's changes until ingestion
--- settles, and finally every failure with its suggested fix.
local seekrflow = require "seekrflow"
local detail_fns = require "seekrflow.detail" -- functions over a detail: detail_fns.records(d)

local client = seekrflow.new {} -- SEEKR_API_KEY, SEEKR_BASE_URL from the environment

-- Sample documents: two good, three that the service will reject.
local samples = {
  { "handbook.pdf", "%PDF-1.7\n" .. string.rep("Policy text. ", 4000) },
  { "faq.docx", string.rep("Q: How? A: Like this. ", 500) },
  { "notes.md", "# Notes\n\n## Scope\n\nMarkdown is alignment-ready at once.\n" },
  { "empty.pptx", "" },
  { "scan.pdf", "JFIF this is an image, not a PDF" },
  { "poster.pdf", "%PDF-1.7\nSIM:OVERSIZED_PAGES" },
}

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local file_ids = {}
for _, sample in ipairs(samples) do
  local path = dir .. "/" .. sample[1]
  local f = assert(io.open(path, "wb"))
  f:write(sample[2])
  f:close()
  local uploaded = client.files:upload(path)
  file_ids[#file_ids + 1] = uploaded.id
  print(("uploaded  %-12s %8d bytes  %s"):format(uploaded.filename, uploaded.bytes, uploaded.id))
end
os.execute("rm -rf '" .. dir .. "'")

local job = client.data_jobs:create {
  name = "Customer support refresh",
  job_type = "principle_files",
  system_prompt = "You are an airline support expert.",
}
print(("created   %s (%s)"):format(job.id, job.status))
client.data_jobs:add_files(job.id, file_ids)

-- Poll and print only what changed.
local last = {}
local detail
local started = os.time()
repeat
  detail = client.data_jobs:retrieve(job.id)
  for _, record in detail_fns.records(detail) do
    local state = record.status .. (record.queue_position and (" #" .. record.queue_position) or "")
    if last[record.record_id] ~= state then
      last[record.record_id] = state
      print(("%4ds  %-12s %s"):format(os.time() - started, record.filename, state))
    end
  end
  if detail.status == "file_processing" then seekrflow.sleep(0.25) end
until detail.status ~= "file_processing"

print(("\njob %s is %s%s"):format(detail.id, detail.status,
  detail.status_message and (": " .. detail.status_message) or ""))
local failures = 0
for _, record in detail_fns.failed_records(detail) do
  failures = failures + 1
  print(("  ✗ %-12s %s\n    fix: %s"):format(record.filename, record.error_message, record.suggested_fix))
end
if failures == 0 then print("  every file was ingested") end
client:close()
