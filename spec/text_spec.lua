-- Terminal text: columns, not bytes; colour sequences take no room.
local text = require "seekrflow.text"
local live = require "seekrflow.cli.live"
local render = require "seekrflow.cli.render"
local core = require "seekrflow.core"

local ESC = string.char(27)

describe("seekrflow.text", function()
  it("counts code points and ignores colour", function()
    assert.equal(3, text.width("abc"))
    assert.equal(3, text.width("✓ a"))
    assert.equal(3, text.width(ESC .. "[31m✗ b" .. ESC .. "[0m"))
  end)

  it("cuts to columns, keeping colour and resetting it after the cut", function()
    assert.equal("ab…", text.clip("abcdef", 3))
    assert.equal("abc", text.clip("abc", 3))
    local red = ESC .. "[31m" .. "✗ failed badly" .. ESC .. "[0m"
    local cut = text.clip(red, 6)
    assert.equal(6, text.width(cut))
    assert.equal(ESC .. "[31m✗ fai…" .. ESC .. "[0m", cut)
    assert.equal("✓ é", text.prefix("✓ éx", 3))
  end)

  it("keeps every line of the live frame within the terminal", function()
    local detail = core.json_decode([[{"id":"dj-1","name":"Ünïcödé → ✓ ✗ … ⟳ names everywhere",
      "status":"needs_review","status_message":"2 files failed ingestion: remove them → or add corrected files",
      "files":[{"file_id":"f-1","record_id":"r-1","name":"ääääääääääääääääääääääääääääää.pdf"}],
      "ingestion_jobs":[{"id":"ij-1","records":[{"record_id":"r-1","status":"failed",
      "error_message":"The PDF may be corrupted, password-protected, or in an unsupported format."}]}]}]], "data_job")
    local out = {}
    local view = live.terminal(function(s) out[#out + 1] = s end, render.painter(true), 40)
    view:draw(detail, { elapsed = 5 })
    for line in table.concat(out):gmatch("[^\n]+") do
      assert.is_true(text.width(line) <= 39, "too wide for 40 columns: " .. line)
    end
  end)
end)
