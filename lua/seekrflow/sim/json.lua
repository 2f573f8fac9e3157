--- JSON for the simulator: Debian's dkjson, with the conventions the simulator's wire format
--- needs (real `null`s, `[]` for empty arrays, `{}` for empty objects, integers without `.0`,
--- and schema-ordered keys so responses read like the real service).
---
--- The simulator is pure Lua on LuaSocket and does not load the C core, so the codec is a
--- pure-Lua library; this module only names the conventions the other sim files use:
---   * `json.null` is the sentinel for JSON null (decode produces it, encode accepts it).
---   * `json.array(t)` marks a table as an array (so an empty one encodes as `[]`).
---   * `json.object(k1, v1, k2, v2, ...)` builds an object that keeps key order; a nil value
---     becomes null, so every schema field is always present.
---   * Decoded arrays and objects carry the same markers, so callers can tell `[]` from `{}`.
local dkjson = require "dkjson"

local M = {}

--- Sentinel for JSON null (dkjson's own, so the encoder writes `null` for it).
M.null = dkjson.null

local ARRAY_MT = { __jsontype = "array" }
local OBJECT_MT = { __jsontype = "object" }

--- Mark a table (new or existing) as a JSON array.
---@param t table|nil
---@return table
function M.array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

--- Build an insertion-ordered JSON object from alternating keys and values.
---@param ... any key1, value1, key2, value2, ...
---@return table
function M.object(...)
  local keys, obj = {}, {}
  for i = 1, select("#", ...), 2 do
    local k, v = select(i, ...)
    keys[#keys + 1] = k
    if v == nil then v = M.null end
    obj[k] = v
  end
  return setmetatable(obj, { __jsontype = "object", __jsonorder = keys })
end

--- Set a key on an ordered object (appending it to the key order when new).
---@param obj table an object from json.object
---@param k string
---@param v any nil becomes null
function M.set(obj, k, v)
  local mt = getmetatable(obj)
  if mt and mt.__jsonorder and obj[k] == nil then
    mt.__jsonorder[#mt.__jsonorder + 1] = k
  end
  if v == nil then v = M.null end
  obj[k] = v
end

--- "array", "object", "null" or nil (unmarked) for a table.
---@param t any
---@return string|nil
function M.kind(t)
  if type(t) ~= "table" then return nil end
  if t == M.null then return "null" end
  local mt = getmetatable(t)
  return mt and mt.__jsontype or nil
end

---@param v any
---@return boolean
function M.is_array(v)
  return M.kind(v) == "array"
end

---@param v any
---@return boolean
function M.is_object(v)
  if type(v) ~= "table" or v == M.null then return false end
  local k = M.kind(v)
  if k == "object" then return true end
  if k ~= nil then return false end
  -- An unmarked table counts as an object unless it is a non-empty sequence.
  return v[1] == nil
end

-- A run of one lead byte plus continuation bytes: kept if it is one well-formed UTF-8
-- character, otherwise each byte becomes a Latin-1 escape. Request bodies in the log can be
-- arbitrary binary uploads; the encoder's output is ASCII outside string literals, so fixing
-- the text afterwards fixes exactly the strings.
local function fix_utf8(seq)
  local n, b1 = #seq, seq:byte(1)
  local ok = false
  if n == 2 then
    ok = b1 >= 0xC2 and b1 <= 0xDF
  elseif n == 3 then
    local b2 = seq:byte(2)
    ok = (b1 == 0xE0 and b2 >= 0xA0) or (b1 >= 0xE1 and b1 <= 0xEC) or
      (b1 == 0xED and b2 < 0xA0) or (b1 >= 0xEE and b1 <= 0xEF)
  elseif n == 4 then
    local b2 = seq:byte(2)
    ok = (b1 == 0xF0 and b2 >= 0x90) or (b1 >= 0xF1 and b1 <= 0xF3) or (b1 == 0xF4 and b2 < 0x90)
  end
  if ok then return seq end
  return (seq:gsub(".", function(c) return ("\\u%04x"):format(c:byte()) end))
end

-- dkjson writes an unmarked empty table as `[]`; here, as before, only a marked array is
-- `[]` and an unmarked empty table is `{}`. Marks them so, depth-first, once per table.
local function mark_empty_objects(v, seen)
  if type(v) ~= "table" or seen[v] then return end
  seen[v] = true
  if next(v) == nil then
    if getmetatable(v) == nil then setmetatable(v, OBJECT_MT) end
    return
  end
  for _, item in pairs(v) do mark_empty_objects(item, seen) end
end

--- Encode a Lua value as compact JSON text.
---@param v any
---@return string
function M.encode(v)
  mark_empty_objects(v, {})
  local text, err = dkjson.encode(v)
  if not text then error("json: " .. tostring(err), 2) end
  if text:find("[\128-\255]") then text = text:gsub("[\128-\255][\128-\191]*", fix_utf8) end
  return text
end

--- Decode JSON text.
---@param s string
---@return any value decoded value, or nil on error
---@return string|nil err a message on error
---@return integer|nil pos 0-based character position of the error
function M.decode(s)
  if type(s) ~= "string" or s:find("^%s*$") then return nil, "Expecting value", 0 end
  -- dkjson recurses per nesting level: a hostile body nested thousands deep is an error
  -- value, never a raised Lua error that takes the server loop down.
  local ok, value, pos, err = pcall(dkjson.decode, s, 1, M.null, OBJECT_MT, ARRAY_MT)
  if not ok then return nil, "Maximum nesting depth exceeded", 0 end
  if err then return nil, err, (pos or 1) - 1 end
  local extra = s:find("[^ \n\r\t]", pos)
  if extra then return nil, "Extra data", extra - 1 end
  return value
end

return M
