--- Flag values of the seekrflow command: converters for lua-argparse (each returns the
--- value, or nil and a message that names what is expected) and the translation of library
--- vocabulary into the flags a shell user typed.
local values = {}

local UNIT_SECONDS = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400 }

--- Seconds from a duration: 90, 90s, 1.5m, 15m, 1h, 1h30m, 250ms. More than zero.
---@param text string
---@return number? seconds
---@return string? err
function values.seconds(text)
  local total, rest = 0, text
  if rest:match("^%d+%.?%d*$") or rest:match("^%.%d+$") then
    total = tonumber(rest)
  else
    if rest == "" then return nil, "a duration such as 90, 90s, 15m or 1h" end
    while rest ~= "" do
      local number, unit, after = rest:match("^(%d*%.?%d+)(%a+)(.*)$")
      if not number or not UNIT_SECONDS[unit] then
        return nil, ("%q is not a duration: use seconds (90) or 90s, 15m, 1h, 1h30m"):format(text)
      end
      total = total + tonumber(number) * UNIT_SECONDS[unit]
      rest = after
    end
  end
  if not total or total ~= total or total == math.huge then
    return nil, ("%q is not a duration: use seconds (90) or 90s, 15m, 1h"):format(text)
  end
  if total <= 0 then return nil, ("%q is not a duration: it must be more than 0"):format(text) end
  return total
end

--- A converter for a flag taking a duration; its errors name the flag.
---@param flag string
function values.duration(flag)
  return function(text)
    local n, err = values.seconds(text)
    if not n then return nil, flag .. ": " .. err end
    return n
  end
end

--- A converter for a flag taking whole numbers from min to max.
---@param flag string
---@param min integer
---@param max integer?
function values.integer(flag, min, max)
  return function(text)
    local n = tonumber(text)
    if not n or n ~= math.floor(n) or n < min or (max and n > max) then
      return nil, ("%s: %q is not a whole number %s"):format(flag, text,
        max and ("from %d to %d"):format(min, max) or ("of at least %d"):format(min))
    end
    return math.floor(n)
  end
end

--- A converter refusing the empty string.
---@param flag string
function values.nonempty(flag)
  return function(text)
    if text == "" then return nil, flag .. " needs a non-empty value" end
    return text
  end
end

-- Library names and phrases, longest first, and the flag a CLI user knows them as.
local VOCABULARY = {
  { "pass it as seekrflow.new { api_key = \"…\" }", "pass --api-key" },
  { "vector_database_id", "--vector-db" },
  { "until_statuses", "--until" },
  { "system_prompt", "--system-prompt" },
  { "min_interval", "--interval" },
  { "max_interval", "--max-interval" },
  { "sort_order", "--order" },
  { "base_url", "--base-url" },
  { "job_type", "--type" },
  { "sort_by", "--sort" },
  { "team_id", "--team" },
  { "file_ids", "FILE_ID" },
  { "api_key", "--api-key" },
  { "timeout", "--request-timeout" },
}

-- When the value came from the environment, the variable is what the user can fix.
local ENVIRONMENT = {
  ["--api-key"] = "SEEKR_API_KEY", ["--base-url"] = "SEEKR_BASE_URL", ["--team"] = "SEEKR_TEAM_ID",
  ["--request-timeout"] = "SEEKR_TIMEOUT_SECS",
}

--- A library message in the CLI's words: option and field names become flags (or the
--- environment variable, when that flag was not given).
---@param message string
---@param given table<string, boolean>? flags present on the command line, by name ("--base-url")
---@return string
function values.in_flags(message, given)
  given = given or {}
  -- What the library says about the Lua value it got ("got a table", "got table: 0x55…")
  -- means nothing to someone who typed a flag.
  local out = message:gsub(", got a table$", ""):gsub(",? got table: 0x%x+", "")
  -- The library starts with the function it was in ("watch: ", "seekrflow.new: ",
  -- "data_jobs:retrieve: "); a shell user called no function. The command's own name
  -- already starts the line.
  local rest
  repeat
    rest = out
    out = out:gsub("^[%a_][%w_]*[.:][%a_][%w_]*: ", "", 1):gsub("^[%a_][%w_]*: ", "", 1)
  until out == rest
  for _, pair in ipairs(VOCABULARY) do
    local word, flag = pair[1], pair[2]
    local name = flag
    if ENVIRONMENT[flag] and not given[flag] then name = ENVIRONMENT[flag] end
    local pattern = word:gsub("[%p]", "%%%0")
    if word:find("^[%w_]+$") then pattern = "%f[%w_]" .. pattern .. "%f[^%w_]" end
    out = out:gsub(pattern, (name:gsub("%%", "%%%%")))
  end
  return out
end

return values
