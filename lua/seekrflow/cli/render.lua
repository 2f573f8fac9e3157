--- Text output for the seekrflow command: tables, colours, durations.
local text_util = require "seekrflow.text"

local render = {}

local ESC = string.char(27)

--- A colouriser; a no-op when colour is off, so plain output has no escapes.
---@param enabled boolean
function render.painter(enabled)
  local codes = { red = "31", green = "32", yellow = "33", blue = "34", dim = "2", bold = "1", cyan = "36" }
  return function(color, text)
    if not enabled or not codes[color] then return text end
    return ESC .. "[" .. codes[color] .. "m" .. text .. ESC .. "[0m"
  end
end

local width = text_util.width
render.width = text_util.width
render.clip = text_util.clip

local function pad(s, n)
  return s .. string.rep(" ", n - width(s))
end

--- Prints rows as aligned columns; the last column is not padded.
---@param out fun(line: string)
---@param headers string[]
---@param rows string[][]
function render.table(out, headers, rows, max_width)
  local widths = {}
  for c, h in ipairs(headers) do widths[c] = width(h) end
  for _, row in ipairs(rows) do
    for c = 1, #headers do
      row[c] = tostring(row[c] == nil and "-" or row[c])
      if max_width and c < #headers then row[c] = render.clip(row[c], 48) end
      widths[c] = math.max(widths[c], width(row[c]))
    end
  end
  local function line(cells)
    local parts = {}
    for c = 1, #headers do
      parts[c] = c < #headers and pad(cells[c], widths[c]) or cells[c]
    end
    local text = table.concat(parts, "  ")
    return max_width and render.clip(text, max_width) or text
  end
  out(line(headers))
  for _, row in ipairs(rows) do out(line(row)) end
end

--- "1:05" or "1:02:03" from seconds.
function render.duration(seconds)
  seconds = math.floor(math.max(0, seconds or 0))
  local h, m, s = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
  if h > 0 then return ("%d:%02d:%02d"):format(h, m, s) end
  return ("%d:%02d"):format(m, s)
end

--- Seconds since the epoch from an ISO-8601 UTC timestamp, or nil.
function render.parse_time(iso)
  if type(iso) ~= "string" then return nil end
  local y, mo, d, h, mi, s = iso:match("^(%d+)%-(%d+)%-(%d+)T(%d+):(%d+):([%d%.]+)")
  if not y then return nil end
  -- days from civil (proleptic Gregorian), so no dependence on the local time zone
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end

--- Human size: 512 B, 12.3 KB, 4.0 MB.
function render.bytes(n)
  if type(n) ~= "number" then return "-" end
  if n < 1024 then return ("%d B"):format(n) end
  if n < 1024 * 1024 then return ("%.1f KB"):format(n / 1024) end
  return ("%.1f MB"):format(n / (1024 * 1024))
end

return render
