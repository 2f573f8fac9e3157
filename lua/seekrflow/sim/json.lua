--- Minimal JSON for the simulator.
--
-- The simulator owns its JSON codec instead of depending on lua-cjson or dkjson because the
-- wire format has to be exact: real `null`s, `[]` for empty arrays, `{}` for empty objects,
-- integers without `.0`, and schema-ordered keys so responses read like the real service.
--
-- Conventions:
--   * `json.null` is the sentinel for JSON null (decode produces it, encode accepts it).
--   * `json.array(t)` marks a table as an array (so an empty one encodes as `[]`).
--   * `json.object(k1, v1, k2, v2, ...)` builds an object that keeps key order; a nil value
--     becomes null, so every schema field is always present.
--   * Decoded arrays and objects carry the same markers, so callers can tell `[]` from `{}`.
local M = {}

local byte, char, sub, find, format, gsub = string.byte, string.char, string.sub, string.find,
  string.format, string.gsub
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge

--- Sentinel for JSON null.
M.null = setmetatable({}, {
  __tostring = function() return "null" end,
  __jsontype = "null",
})

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
  local n = select("#", ...)
  local keys = {}
  local obj = {}
  for i = 1, n, 2 do
    local k, v = select(i, ...)
    keys[#keys + 1] = k
    if v == nil then v = M.null end
    obj[k] = v
  end
  return setmetatable(obj, { __jsontype = "object", __order = keys })
end

--- Set a key on an ordered object (appending it to the key order when new).
---@param obj table an object from json.object
---@param k string
---@param v any nil becomes null
function M.set(obj, k, v)
  local mt = getmetatable(obj)
  if mt and mt.__order and obj[k] == nil then
    mt.__order[#mt.__order + 1] = k
  end
  if v == nil then v = M.null end
  obj[k] = v
end

--- "array", "object", "null" or nil (unmarked) for a table.
---@param t any
---@return string|nil
function M.kind(t)
  if type(t) ~= "table" then return nil end
  local mt = getmetatable(t)
  return mt and mt.__jsontype or nil
end

---@param v any
---@return boolean
function M.is_array(v)
  return type(v) == "table" and M.kind(v) == "array"
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

-- ---------------------------------------------------------------------------------------------
-- Encoding
-- ---------------------------------------------------------------------------------------------

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function escape_control(c)
  return ESCAPES[c] or format("\\u%04x", byte(c))
end

-- A run of one lead byte plus continuation bytes: keep it if it is one well-formed UTF-8
-- character, otherwise escape each byte as a Latin-1 code point so the output stays valid
-- JSON (request bodies in the log can be arbitrary binary uploads).
local function fix_utf8(seq)
  local n = #seq
  local b1 = byte(seq, 1)
  local ok = false
  if n == 2 then
    ok = b1 >= 0xC2 and b1 <= 0xDF
  elseif n == 3 then
    local b2 = byte(seq, 2)
    ok = (b1 == 0xE0 and b2 >= 0xA0) or (b1 >= 0xE1 and b1 <= 0xEC) or
      (b1 == 0xED and b2 < 0xA0) or (b1 >= 0xEE and b1 <= 0xEF)
  elseif n == 4 then
    local b2 = byte(seq, 2)
    ok = (b1 == 0xF0 and b2 >= 0x90) or (b1 >= 0xF1 and b1 <= 0xF3) or (b1 == 0xF4 and b2 < 0x90)
  end
  if ok then return seq end
  return (gsub(seq, ".", function(c) return format("\\u%04x", byte(c)) end))
end

local function encode_string(s)
  s = gsub(s, '[%c"\\]', escape_control)
  if find(s, "[\128-\255]") then
    s = gsub(s, "[\128-\255][\128-\191]*", fix_utf8)
  end
  return '"' .. s .. '"'
end

local function encode_number(n)
  if n ~= n or n == huge or n == -huge then
    return "null"
  end
  if floor(n) == n and n > -2 ^ 53 and n < 2 ^ 53 then
    return format("%.0f", n)
  end
  local s = format("%.14g", n)
  if tonumber(s) ~= n then s = format("%.17g", n) end
  return s
end

local encode_value

local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return n > 0, n
end

local function key_list(t, mt)
  if mt and mt.__order then return mt.__order end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" or type(k) == "number" then keys[#keys + 1] = tostring(k) end
  end
  sort(keys)
  return keys
end

encode_value = function(v, out, depth)
  local tv = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    out[#out + 1] = encode_number(v)
  elseif tv == "string" then
    out[#out + 1] = encode_string(v)
  elseif tv == "table" then
    if depth > 100 then error("json: nesting too deep") end
    local mt = getmetatable(v)
    local kind = mt and mt.__jsontype
    local as_array = kind == "array"
    if kind == nil then as_array = is_sequence(v) end
    if as_array then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode_value(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      local first = true
      for _, k in ipairs(key_list(v, mt)) do
        local val = v[k]
        if val == nil and tonumber(k) then val = v[tonumber(k)] end
        if val ~= nil then
          if not first then out[#out + 1] = "," end
          first = false
          out[#out + 1] = encode_string(k)
          out[#out + 1] = ":"
          encode_value(val, out, depth + 1)
        end
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. tv)
  end
end

--- Encode a Lua value as compact JSON text.
---@param v any
---@return string
function M.encode(v)
  local out = {}
  encode_value(v, out, 0)
  return concat(out)
end

-- ---------------------------------------------------------------------------------------------
-- Decoding
-- ---------------------------------------------------------------------------------------------

-- Decode failures carry Python-json-style messages because FastAPI reports them verbatim in
-- the `ctx.error` of a `json_invalid` 422, together with a 0-based character position.
local function fail(msg, pos)
  error({ json_error = msg, pos = pos - 1 }, 0)
end

local function utf8_char(cp)
  if cp < 0x80 then
    return char(cp)
  elseif cp < 0x800 then
    return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40)
  elseif cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
    0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local function skip_ws(s, pos)
  local _, e = find(s, "^[ \n\r\t]*", pos)
  return e + 1
end

local decode_value

local SIMPLE_ESC = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
  r = "\r", t = "\t" }

local function decode_string(s, pos)
  local start = pos
  pos = pos + 1
  local parts = {}
  while true do
    local e = find(s, '["\\%c]', pos)
    if not e then fail("Unterminated string starting at", start) end
    if e > pos then parts[#parts + 1] = sub(s, pos, e - 1) end
    local c = sub(s, e, e)
    if c == '"' then
      return concat(parts), e + 1
    elseif c == "\\" then
      local esc = sub(s, e + 1, e + 1)
      if SIMPLE_ESC[esc] then
        parts[#parts + 1] = SIMPLE_ESC[esc]
        pos = e + 2
      elseif esc == "u" then
        local hex = sub(s, e + 2, e + 5)
        if not find(hex, "^%x%x%x%x$") then fail("Invalid \\uXXXX escape", e) end
        local cp = tonumber(hex, 16)
        pos = e + 6
        if cp >= 0xD800 and cp <= 0xDBFF and find(s, "^\\u[dD][c-fC-F]%x%x", pos) then
          local lo = tonumber(sub(s, pos + 2, pos + 5), 16)
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
          pos = pos + 6
        end
        parts[#parts + 1] = utf8_char(cp)
      else
        fail("Invalid \\escape", e)
      end
    else
      fail("Invalid control character at", e)
    end
  end
end

local function decode_number(s, pos)
  local _, e, int, frac, exp = find(s, "^-?(%d+)(%.?%d*)([eE]?[-+]?%d*)", pos)
  if not e then fail("Expecting value", pos) end
  -- Reject what Python's json rejects: leading zeros, "1.", "1e".
  if (#int > 1 and sub(int, 1, 1) == "0") or frac == "." or
    (exp ~= "" and not find(exp, "%d")) then
    fail("Expecting value", pos)
  end
  local text = sub(s, pos, e)
  local n = tonumber(text)
  if frac == "" and exp == "" and math.tointeger then
    n = math.tointeger(n) or n
  end
  return n, e + 1
end

local function decode_array(s, pos, depth)
  local arr = M.array({})
  pos = skip_ws(s, pos + 1)
  if sub(s, pos, pos) == "]" then return arr, pos + 1 end
  local n = 0
  while true do
    local v
    v, pos = decode_value(s, pos, depth + 1)
    n = n + 1
    arr[n] = v
    pos = skip_ws(s, pos)
    local c = sub(s, pos, pos)
    if c == "]" then return arr, pos + 1 end
    if c ~= "," then fail("Expecting ',' delimiter", pos) end
    pos = skip_ws(s, pos + 1)
  end
end

local function decode_object(s, pos, depth)
  local obj = setmetatable({}, OBJECT_MT)
  pos = skip_ws(s, pos + 1)
  if sub(s, pos, pos) == "}" then return obj, pos + 1 end
  while true do
    if sub(s, pos, pos) ~= '"' then
      fail("Expecting property name enclosed in double quotes", pos)
    end
    local k
    k, pos = decode_string(s, pos)
    pos = skip_ws(s, pos)
    if sub(s, pos, pos) ~= ":" then fail("Expecting ':' delimiter", pos) end
    local v
    v, pos = decode_value(s, skip_ws(s, pos + 1), depth + 1)
    obj[k] = v
    pos = skip_ws(s, pos)
    local c = sub(s, pos, pos)
    if c == "}" then return obj, pos + 1 end
    if c ~= "," then fail("Expecting ',' delimiter", pos) end
    pos = skip_ws(s, pos + 1)
  end
end

decode_value = function(s, pos, depth)
  if depth > 200 then fail("Maximum nesting depth exceeded", pos) end
  pos = skip_ws(s, pos)
  local c = sub(s, pos, pos)
  if c == "{" then
    return decode_object(s, pos, depth)
  elseif c == "[" then
    return decode_array(s, pos, depth)
  elseif c == '"' then
    return decode_string(s, pos)
  elseif c == "-" or find(c, "^%d") then
    return decode_number(s, pos)
  elseif sub(s, pos, pos + 3) == "true" then
    return true, pos + 4
  elseif sub(s, pos, pos + 4) == "false" then
    return false, pos + 5
  elseif sub(s, pos, pos + 3) == "null" then
    return M.null, pos + 4
  end
  fail("Expecting value", pos)
end

--- Decode JSON text.
---@param s string
---@return any value decoded value, or nil on error
---@return string|nil err Python-json-style message on error
---@return integer|nil pos 0-based character position of the error
function M.decode(s)
  if type(s) ~= "string" then return nil, "Expecting value", 0 end
  local ok, v = pcall(function()
    local val, p = decode_value(s, 1, 0)
    p = skip_ws(s, p)
    if p <= #s then fail("Extra data", p) end
    return val
  end)
  if ok then return v end
  if type(v) == "table" and v.json_error then
    return nil, v.json_error, v.pos
  end
  error(v, 0)
end

return M
