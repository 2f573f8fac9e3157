-- The float's text, from details fed by hand (no server).
local assert = require "luassert"

return function(test)
  test("the float reads any detail whatever its field names (records, each_file, …)", function()
    require("seekrflow.nvim")._require_core()
    local core = require "seekrflow.core"
    local t = {
      id = "dj-1", status = "file_processing",
      records = "x", each_file = 1, failed_records = true, each_event = {}, current_record = "y",
      files = { { file_id = "f1", record_id = "r1", name = "a.pdf" }, { file_id = "f2", name = "notes.md" },
        { file_id = "f3", name = "b.pdf", status = "failed" } },
      ingestion_jobs = { { id = "ij-1", records = {
        { record_id = "r1", status = "queued", queue_position = 2, filename = "a.pdf" } } } },
    }
    for _, d in ipairs { t, core.json_decode(core.json_encode(t), "data_job") } do
      local p = require("seekrflow.nvim.progress").new("dj-1", function() return 0 end)
      p:update({ type = "job_status", to = "file_processing" }, d)
      local text = table.concat((p:lines()), "\n")
      assert.matches("a.pdf", text, 1, true)
      assert.matches("queued #2", text, 1, true)
      assert.matches("notes.md", text, 1, true)
      assert.matches("b.pdf", text, 1, true)
      assert.matches("failed", text, 1, true)
    end
  end)
end
