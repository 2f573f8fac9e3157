-- Terminal text: columns, not bytes; colour sequences take no room.
local text = require "seekrflow.text"
local live = require "seekrflow.cli.live"
local core = require "seekrflow.core"

local ESC = string.char(27)

describe("seekrflow.text", function()
  describe("terminal_safe", function()
    local safe = text.terminal_safe

    it("returns plain text and well-formed UTF-8 unchanged", function()
      assert.equal("report.pdf", safe("report.pdf"))
      assert.equal("Ünïcödé → ✓ ✗ … ⟳ 日本語 😀", safe("Ünïcödé → ✓ ✗ … ⟳ 日本語 😀"))
      assert.equal("", safe(nil))
      assert.equal("42", safe(42))
    end)

    it("makes the escape-injection attack visible and inert", function()
      local name = ESC .. "]0;PWNED\a" .. ESC .. "[2J" .. ESC .. "[32mALL GOOD"
      local shown = safe(name)
      assert.equal("\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[32mALL GOOD", shown)
      assert.is_nil(shown:find("[%z\1-\31\127]"))
    end)

    it("replaces every C0 control and DEL, newlines only when asked to keep them", function()
      for b = 0, 31 do
        assert.equal(("a\\x%02xb"):format(b), safe("a" .. string.char(b) .. "b"))
      end
      assert.equal("\\x7f", safe("\127"))
      assert.equal("one\ntwo\\x0d", safe("one\ntwo\r", true))
      assert.equal("one\\x0atwo", safe("one\ntwo"))
    end)

    it("replaces C1 controls, encoded as UTF-8 or as single bytes", function()
      assert.equal("\\u{009B}31m", safe("\194\155" .. "31m")) -- U+009B, CSI
      assert.equal("\\u{0085}", safe("\194\133"))
      assert.equal("\\x9b31m", safe("\155" .. "31m")) -- a lone 8-bit CSI byte
      assert.equal("\194\160", safe("\194\160")) -- U+00A0 is printable
    end)

    it("replaces bidi overrides, embeddings, isolates and marks", function()
      -- "abc" U+202E "fdp.exe" would read as "abcexe.pdf"
      assert.equal("abc\\u{202E}fdp.exe", safe("abc\226\128\174fdp.exe"))
      for _, seq in ipairs { "\226\128\170", "\226\128\173", "\226\129\166", "\226\129\169",
        "\226\128\142", "\226\128\143", "\216\156" } do
        assert.matches("^\\u{%x+}$", safe(seq))
      end
      assert.equal("\226\128\166", safe("\226\128\166")) -- "…" stays
    end)

    it("replaces bytes that are not well-formed UTF-8", function()
      assert.equal("\\xff\\xfe", safe("\255\254"))
      assert.equal("\\xc0\\xaf", safe("\192\175")) -- overlong "/"
      assert.equal("\\xed\\xa0\\x80", safe("\237\160\128")) -- a surrogate
      assert.equal("x\\xe2\\x82", safe("x\226\130")) -- cut short
      assert.equal("\\xf4\\x90\\x80\\x80", safe("\244\144\128\128")) -- past U+10FFFF
    end)

    it("never lets a control byte through, whatever the input", function()
      math.randomseed(7)
      for _ = 1, 2000 do
        local bytes = {}
        for k = 1, math.random(0, 12) do bytes[k] = string.char(math.random(0, 255)) end
        local shown = safe(table.concat(bytes))
        assert.is_nil(shown:find("[%z\1-\31\127]"))
        assert.is_nil(shown:find("\194[\128-\159]"))
        assert.is_nil(shown:find("\226\128[\170-\174]"))
        assert.is_nil(shown:find("\226\129[\166-\169]"))
      end
    end)
  end)

  it("measures durations, times, sizes and plurals", function()
    assert.equal("0:00", text.duration(nil))
    assert.equal("1:05", text.duration(65))
    assert.equal("1:02:03", text.duration(3723))
    assert.equal(0, text.parse_time("1970-01-01T00:00:00Z"))
    assert.equal(3600, text.parse_time("1970-01-01T02:00:00+01:00"))
    assert.equal(1.5, text.parse_time("1970-01-01T00:00:01.5"))
    assert.is_nil(text.parse_time("yesterday"))
    assert.equal("1970-01-01T00:01:05.250Z", text.iso_time(65.25))
    assert.equal("512 B", text.bytes(512))
    assert.equal("1.5 KB", text.bytes(1536))
    assert.equal("file", text.plural(1, "file", "files"))
    assert.equal("files", text.plural(0, "file", "files"))
  end)

  it("gives the message of any error value", function()
    assert.equal("boom", text.message_of({ message = "boom" }))
    assert.equal("x", text.message_of(setmetatable({}, { __tostring = function() return "x" end })))
    assert.equal("error", text.message_of(setmetatable({}, { __tostring = function() error("no") end })))
    assert.equal("plain", text.message_of("plain"))
  end)

  it("paints only when colour is on", function()
    assert.equal("x", text.painter(false)("red", "x"))
    assert.equal(ESC .. "[31mx" .. ESC .. "[0m", text.painter(true)("red", "x"))
    assert.equal("x", text.painter(true)("nonsense", "x"))
  end)

  it("aligns tables in columns", function()
    assert.same({ "ID    NAME", "dj-1  ✓ a", "-     b" },
      text.table({ "ID", "NAME" }, { { "dj-1", "✓ a" }, { nil, "b" } }))
    local lines = text.table({ "A", "B" }, { { string.rep("x", 60), "y" } }, 20)
    assert.equal(20, text.width(lines[2]))
  end)

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
    local view = live.terminal(function(s) out[#out + 1] = s end, text.painter(true), 40)
    view:draw(detail, { elapsed = 5 })
    for line in table.concat(out):gmatch("[^\n]+") do
      assert.is_true(text.width(line) <= 39, "too wide for 40 columns: " .. line)
    end
  end)
end)
