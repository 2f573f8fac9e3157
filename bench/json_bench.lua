--- In-process decoding, no transfer: a data-job detail (many records, nulls, empty
--- arrays) with plain lua-cjson (no shaping at all) and with seekrflow's decoder
--- (shaped: nulls dropped, integers, array_mt, kind metatables). Run: make bench
local core = require "seekrflow.core"
local cjson = require "cjson"

local records = {}
for i = 1, 400 do
  records[#records + 1] = ([[{"record_id":"ijf-%d","ingestion_job_id":"ij-1","alignment_file_id":"md-file-%d",
    "user_id":"user-1","filename":"file-%d.pdf","metaflow_job_id":null,"method":"best","status":"completed",
    "queue_position":null,"error_message":null,"suggested_fix":null,"worker_id":"w-1","deleted":false,
    "created_at":"2025-11-14T07:36:01.000000Z","processing_at":"2025-11-14T07:36:02.000000Z",
    "completed_at":"2025-11-14T07:37:02.000000Z","failed_at":null}]]):format(i, i, i)
end
local text = ([[{"id":"dj-1","name":"bench","status":"ready_to_start","alignment_job":null,"files":[],
  "timeline":[],"fine_tuning_job_ids":[],"additional_alignment_file_ids":[],
  "ingestion_jobs":[{"id":"ij-1","status":"completed","file_ids":[],"records":[%s]}]}]]):format(
  table.concat(records, ","))

local function measure(name, fn)
  local clock = require("seekrflow").monotonic
  local n, started = 0, clock()
  repeat
    fn()
    n = n + 1
  until clock() - started > 1.0
  local per = (clock() - started) / n
  print(("%-28s %8.3f ms per decode  (%d bytes, %d runs)"):format(name, per * 1000, #text, n))
  return per
end

local raw = measure("cjson.decode", function() cjson.decode(text) end)
local shaped = measure("seekrflow json_decode", function() core.json_decode(text, "data_job") end)
print(("seekrflow's shaped decode takes %.2fx the time of cjson's plain one"):format(shaped / raw))
