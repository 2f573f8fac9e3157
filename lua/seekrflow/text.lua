--- Text for people: neutralising server text for a terminal, measuring and
--- cutting it (UTF-8, one column per code point; the symbols used here,
--- ✓ ✗ … → ⟳, are one column wide, and ANSI colour sequences take no
--- columns), durations, sizes, plurals, error messages, colour and tables.
--- The CLI, the failure summary and the Neovim plugin all use these, so each
--- rule exists once.
local text = {}

local ESC = string.char(27)
local COLOUR = ESC .. "%[[%d;]*m"

-- Bytes that may start something a terminal acts on: C0 controls, DEL and
-- every non-ASCII byte (C1 controls, bidi controls and invalid UTF-8 hide
-- there). Text without any of them is returned as is, without a copy.
local SUSPECT = "[%z\1-\31\127-\255]"

-- Code points a terminal or an editor reorders text by: the bidi embeddings
-- and overrides (U+202A..U+202E), isolates (U+2066..U+2069) and marks
-- (U+200E, U+200F, U+061C). A name "abc\u{202E}fdp.exe" would otherwise read
-- as "abcexe.pdf".
local function is_bidi(cp)
  return (cp >= 0x202A and cp <= 0x202E) or (cp >= 0x2066 and cp <= 0x2069)
    or cp == 0x200E or cp == 0x200F or cp == 0x061C
end

-- Length and code point of the well-formed UTF-8 sequence at i, or nil
-- (overlong forms, surrogates and values past U+10FFFF are not well-formed).
local function utf8_at(s, i)
  local b1, b2, b3, b4 = s:byte(i, i + 3)
  local function cont(b) return b and b >= 0x80 and b <= 0xBF end
  if b1 >= 0xC2 and b1 <= 0xDF then
    if cont(b2) then return 2, (b1 - 0xC0) * 64 + (b2 - 0x80) end
  elseif b1 >= 0xE0 and b1 <= 0xEF then
    local lo, hi = 0x80, 0xBF
    if b1 == 0xE0 then lo = 0xA0 elseif b1 == 0xED then hi = 0x9F end
    if b2 and b2 >= lo and b2 <= hi and cont(b3) then
      return 3, (b1 - 0xE0) * 4096 + (b2 - 0x80) * 64 + (b3 - 0x80)
    end
  elseif b1 >= 0xF0 and b1 <= 0xF4 then
    local lo, hi = 0x80, 0xBF
    if b1 == 0xF0 then lo = 0x90 elseif b1 == 0xF4 then hi = 0x8F end
    if b2 and b2 >= lo and b2 <= hi and cont(b3) and cont(b4) then
      return 4, (b1 - 0xF0) * 262144 + (b2 - 0x80) * 4096 + (b3 - 0x80) * 64 + (b4 - 0x80)
    end
  end
  return nil
end

--- Server-sent (or any untrusted) text made safe to show on a terminal or in
--- an editor buffer. Everything a terminal could act on is replaced by a
--- visible ASCII escape, so the text can neither move the cursor, retitle the
--- window, clear the screen, forge colours nor reorder itself:
---
--- * C0 controls (U+0000..U+001F) and DEL become `\xNN` (ESC is `\x1b`);
---   with `keep_newlines`, a line feed stays a line feed;
--- * C1 controls (U+0080..U+009F) and bidi controls (U+202A..U+202E,
---   U+2066..U+2069, U+200E, U+200F, U+061C) become `\u{XXXX}`;
--- * a byte that is not part of well-formed UTF-8 becomes `\xNN`.
---
--- Everything else, printable ASCII and well-formed UTF-8 included, is kept
--- byte for byte. A value that is not a string is converted with tostring
--- first; nil gives "". Machine output (`--json`) does not use this: it stays
--- exact JSON.
---@param s any
---@param keep_newlines boolean? keep "\n" (for text shown as several lines)
---@return string
function text.terminal_safe(s, keep_newlines)
  if s == nil then return "" end
  if type(s) ~= "string" then s = tostring(s) end
  if not s:find(SUSPECT) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local b = s:byte(i)
    if b < 32 or b == 127 then
      out[#out + 1] = (keep_newlines and b == 10) and "\n" or ("\\x%02x"):format(b)
      i = i + 1
    elseif b < 128 then
      local stop = s:find(SUSPECT, i) or n + 1
      out[#out + 1] = s:sub(i, stop - 1)
      i = stop
    else
      local len, cp = utf8_at(s, i)
      if not len then
        out[#out + 1] = ("\\x%02x"):format(b)
        i = i + 1
      else
        if cp <= 0x9F or is_bidi(cp) then
          out[#out + 1] = ("\\u{%04X}"):format(cp)
        else
          out[#out + 1] = s:sub(i, i + len - 1)
        end
        i = i + len
      end
    end
  end
  return table.concat(out)
end

--- Visible columns of s.
---@param s string
---@return integer
function text.width(s)
  local _, n = s:gsub(COLOUR, ""):gsub("[^\128-\191]", "")
  return n
end

--- The start of s that fills at most n columns; colour sequences are kept.
---@param s string
---@param n integer
---@return string
function text.prefix(s, n)
  local used, i = 0, 1
  while i <= #s do
    local colour = s:match("^" .. COLOUR, i)
    if colour then
      i = i + #colour
    else
      local b = s:byte(i)
      if b < 128 or b >= 192 then -- the first byte of a code point
        if used == n then break end
        used = used + 1
      end
      i = i + 1
    end
  end
  return s:sub(1, i - 1)
end

--- s cut to n columns, the cut marked with "…" (and colour reset if s has any).
---@param s any
---@param n integer?
---@return string
function text.clip(s, n)
  s = tostring(s or "")
  if n == nil or text.width(s) <= n then return s end
  local cut = text.prefix(s, math.max(0, n - 1)) .. "…"
  if s:find(ESC, 1, true) then cut = cut .. ESC .. "[0m" end
  return cut
end

--- s padded with spaces to n columns (never cut).
---@param s string
---@param n integer
---@return string
function text.pad(s, n)
  return s .. string.rep(" ", n - text.width(s))
end

--- `one` when n is 1, else `many`.
---@param n integer
---@param one string
---@param many string
---@return string
function text.plural(n, one, many)
  return n == 1 and one or many
end

--- "1:05" or "1:02:03" from seconds (negative and nil count as 0).
---@param seconds number?
---@return string
function text.duration(seconds)
  seconds = math.floor(math.max(0, tonumber(seconds) or 0))
  local h, m, s = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, s) end
  return ("%d:%02d"):format(m, s)
end

-- Longer strings are not timestamps; bounding the length bounds the work.
local MAX_TIME_LENGTH = 64
local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- Days since 1970-01-01 of a proleptic Gregorian date, independent of the
-- local time zone (os.time would apply it).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Seconds since the epoch (UTC, fractional) from an ISO-8601 / RFC 3339
--- timestamp: "2025-11-14T07:35:21.700005Z", any offset ("+00:00", "-05:30",
--- "+0530", "+03"), fractional seconds or none, "T" or a space; no offset
--- counts as UTC. The one place timestamps are read: anything else, out-of-range
--- fields included, is nil rather than a wrong time.
---@param iso any
---@return number?
function text.parse_time(iso)
  if type(iso) ~= "string" or #iso > MAX_TIME_LENGTH then return nil end
  local y, mo, d, h, mi, s, rest = iso:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  local fraction = 0
  local digits, after = rest:match("^[%.,](%d+)(.*)$")
  if digits then
    fraction, rest = tonumber("0." .. digits), after
  end
  local offset = 0
  if rest ~= "" and rest ~= "Z" and rest ~= "z" then
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then
      sign, oh = rest:match("^([+-])(%d%d)$")
      om = "00"
    end
    if not sign then return nil end
    oh, om = tonumber(oh), tonumber(om)
    if oh > 23 or om > 59 then return nil end
    offset = (oh * 3600 + om * 60) * (sign == "-" and -1 or 1)
  end
  if mo < 1 or mo > 12 or d < 1 then return nil end
  local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
  local month_days = DAYS_IN_MONTH[mo] + ((mo == 2 and leap) and 1 or 0)
  -- 60 seconds is a leap second, which the epoch count folds into the next one
  if d > month_days or h > 23 or mi > 59 or s > 60 then return nil end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + fraction - offset
end

--- ISO-8601 UTC timestamp ("2026-11-30T03:25:18.250Z") for seconds since the epoch.
---@param seconds number
---@return string
function text.iso_time(seconds)
  local whole = math.floor(seconds)
  local ms = math.floor((seconds - whole) * 1000 + 0.5)
  if ms >= 1000 then whole, ms = whole + 1, ms - 1000 end
  return os.date("!%Y-%m-%dT%H:%M:%S", whole) .. (".%03dZ"):format(ms)
end

--- Human size: 512 B, 12.3 KB, 4.0 MB.
---@param n any
---@return string
function text.bytes(n)
  if type(n) ~= "number" then return "-" end
  if n < 1024 then return ("%d B"):format(n) end
  if n < 1024 * 1024 then return ("%.1f KB"):format(n / 1024) end
  return ("%.1f MB"):format(n / (1024 * 1024))
end

--- The readable message of an error value (a structured error's `message`,
--- else its tostring), never a traceback. Not neutralised: pass it through
--- terminal_safe before showing it.
---@param err any
---@return string
function text.message_of(err)
  if type(err) == "table" then
    if type(err.message) == "string" then return err.message end
    local ok, s = pcall(tostring, err)
    if ok and type(s) == "string" then return s end
    return "error"
  end
  return tostring(err)
end

local ANSI = { red = "31", green = "32", yellow = "33", blue = "34", cyan = "36", dim = "2", bold = "1" }

--- A colour painter: paint(style, s) wraps s in the ANSI sequence of style
--- (red, green, yellow, blue, cyan, dim, bold); a no-op when colour is off or
--- the style is unknown, so plain output has no escapes.
---@param enabled boolean
---@return fun(style: string?, s: string): string
function text.painter(enabled)
  return function(style, s)
    local code = enabled and style and ANSI[style]
    if not code then return s end
    return ESC .. "[" .. code .. "m" .. s .. ESC .. "[0m"
  end
end

--- Rows as aligned columns, one string per line; the last column is not
--- padded. nil cells show as "-". With max_width, every cell but the last is
--- cut at 48 columns and every line at max_width.
---@param headers string[]
---@param rows any[][]
---@param max_width integer?
---@return string[]
function text.table(headers, rows, max_width)
  local widths, cells = {}, {}
  for c, h in ipairs(headers) do widths[c] = text.width(h) end
  for r, row in ipairs(rows) do
    local line = {}
    for c = 1, #headers do
      local cell = tostring(row[c] == nil and "-" or row[c])
      if max_width and c < #headers then cell = text.clip(cell, 48) end
      line[c] = cell
      widths[c] = math.max(widths[c], text.width(cell))
    end
    cells[r] = line
  end
  local function join(line)
    local parts = {}
    for c = 1, #headers do
      parts[c] = c < #headers and text.pad(line[c], widths[c]) or line[c]
    end
    local s = table.concat(parts, "  ")
    return max_width and text.clip(s, max_width) or s
  end
  local lines = { join(headers) }
  for _, line in ipairs(cells) do lines[#lines + 1] = join(line) end
  return lines
end

return text
