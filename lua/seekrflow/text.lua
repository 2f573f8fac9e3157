--- Measuring and cutting terminal text: UTF-8, one column per code point
--- (the symbols used here, ✓ ✗ … → ⟳, are one column wide), and ANSI colour
--- sequences take no columns at all.
local text = {}

local ESC = string.char(27)
local COLOUR = ESC .. "%[[%d;]*m"

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

return text
