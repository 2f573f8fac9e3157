--- Request validation producing FastAPI / pydantic-v2 style 422 bodies.
--
-- The real service is FastAPI, so validation failures look like
-- `{"detail": [{"type", "loc", "msg", "input", "ctx"?}, ...]}`. `ctx` is only present for the
-- error types where pydantic sets it, and all errors of a request are reported together.
local json = require("seekrflow.sim.json")

local M = {}

local object, array, null = json.object, json.array, json.null
local find, gsub, format = string.find, string.gsub, string.format

--- One validation error item.
---@param etype string pydantic error type, e.g. "missing"
---@param loc table list of location parts, e.g. {"body", "name"}
---@param msg string
---@param input any
---@param ctx? table
---@return table
function M.item(etype, loc, msg, input, ctx)
  local it = object("type", etype, "loc", array(loc), "msg", msg, "input", input)
  if ctx then json.set(it, "ctx", ctx) end
  return it
end

--- Wrap error items as a 422 response body.
---@param items table
---@return table
function M.body(items)
  return object("detail", array(items))
end

--- Number of characters in a UTF-8 string (pydantic counts characters, not bytes).
---@param s string
---@return integer
function M.char_len(s)
  local _, n = gsub(s, "[^\128-\191]", "")
  return n
end

--- pydantic's rendering of the allowed values of an enum: "'a', 'b' or 'c'".
---@param values table
---@return string
function M.expected(values)
  local quoted = {}
  for i, v in ipairs(values) do quoted[i] = "'" .. v .. "'" end
  if #quoted == 1 then return quoted[1] end
  return table.concat(quoted, ", ", 1, #quoted - 1) .. " or " .. quoted[#quoted]
end

local function in_list(values, v)
  for _, x in ipairs(values) do
    if x == v then return true end
  end
  return false
end

local function check_string(errs, loc, v, f)
  if type(v) ~= "string" then
    errs[#errs + 1] = M.item("string_type", loc, "Input should be a valid string", v)
    return
  end
  local n = M.char_len(v)
  if f.min and n < f.min then
    errs[#errs + 1] = M.item("string_too_short", loc,
      format("String should have at least %d character%s", f.min, f.min == 1 and "" or "s"), v,
      object("min_length", f.min))
  elseif f.max and n > f.max then
    errs[#errs + 1] = M.item("string_too_long", loc,
      format("String should have at most %d character%s", f.max, f.max == 1 and "" or "s"), v,
      object("max_length", f.max))
  end
end

local function check_enum(errs, loc, v, f)
  if type(v) ~= "string" or not in_list(f.values, v) then
    local exp = M.expected(f.values)
    errs[#errs + 1] = M.item("enum", loc, "Input should be " .. exp, v, object("expected", exp))
  end
end

local function check_string_list(errs, loc, v, f)
  if not json.is_array(v) then
    errs[#errs + 1] = M.item("list_type", loc, "Input should be a valid list", v)
    return
  end
  for i = 1, #v do
    if type(v[i]) ~= "string" then
      local iloc = {}
      for j, part in ipairs(loc) do iloc[j] = part end
      iloc[#iloc + 1] = i - 1
      errs[#errs + 1] = M.item("string_type", iloc, "Input should be a valid string", v[i])
    end
  end
  if f.min_items and #v < f.min_items then
    errs[#errs + 1] = M.item("too_short", loc,
      format("List should have at least %d item%s after validation, not %d", f.min_items,
        f.min_items == 1 and "" or "s", #v), v,
      object("field_type", "List", "min_length", f.min_items, "actual_length", #v))
  end
end

local CHECKS = { string = check_string, enum = check_enum, string_list = check_string_list }

--- Validate a JSON request body against a list of field specs.
---
--- Field spec: `{name=, kind="string"|"enum"|"string_list", required=, nullable=, min=, max=,
--- values=, min_items=}`. Returns the decoded object (absent fields nil, explicit nulls as
--- json.null) or `nil, items`.
---@param text string raw request body
---@param fields table
---@return table|nil obj
---@return table|nil items
function M.json_body(text, fields)
  if text == nil or text == "" then
    return nil, { M.item("missing", { "body" }, "Field required", null) }
  end
  local obj, err, pos = json.decode(text)
  if obj == nil then
    return nil, { M.item("json_invalid", { "body", pos or 0 }, "JSON decode error", object(),
      object("error", err)) }
  end
  if not json.is_object(obj) then
    return nil, { M.item("model_attributes_type", { "body" },
      "Input should be a valid dictionary or object to extract fields from", obj) }
  end
  local errs = {}
  for _, f in ipairs(fields) do
    local v = obj[f.name]
    local loc = { "body", f.name }
    if v == nil then
      if f.required then
        errs[#errs + 1] = M.item("missing", loc, "Field required", obj)
      end
    elseif v == null then
      if not f.nullable then
        -- A required non-nullable field given as null fails its type check, as in pydantic.
        CHECKS[f.kind](errs, loc, v, f)
      end
    else
      CHECKS[f.kind](errs, loc, v, f)
    end
  end
  if #errs > 0 then return nil, errs end
  return obj
end

--- Validate an integer query parameter; returns the value (or default).
---@param errs table collected error items
---@param params table decoded query parameters
---@param name string
---@param default integer
---@param ge? integer
---@param le? integer
---@return integer
function M.query_int(errs, params, name, default, ge, le)
  local raw = params[name]
  if raw == nil then return default end
  local loc = { "query", name }
  local digits = raw:match("^%s*([-+]?%d+)%s*$")
  if not digits then
    errs[#errs + 1] = M.item("int_parsing", loc,
      "Input should be a valid integer, unable to parse string as an integer", raw)
    return default
  end
  local n = tonumber((gsub(digits, "^%+", "")))
  if ge and n < ge then
    errs[#errs + 1] = M.item("greater_than_equal", loc,
      format("Input should be greater than or equal to %d", ge), raw, object("ge", ge))
    return default
  end
  if le and n > le then
    errs[#errs + 1] = M.item("less_than_equal", loc,
      format("Input should be less than or equal to %d", le), raw, object("le", le))
    return default
  end
  return n
end

--- Validate an enum query parameter (nil when absent and no default).
---@param errs table
---@param params table
---@param name string
---@param values table
---@param default? string
---@return string|nil
function M.query_enum(errs, params, name, values, default)
  local raw = params[name]
  if raw == nil then return default end
  if not in_list(values, raw) then
    local exp = M.expected(values)
    errs[#errs + 1] = M.item("enum", { "query", name }, "Input should be " .. exp, raw,
      object("expected", exp))
    return default
  end
  return raw
end

--- Validate a string query parameter constrained by a regex-like pattern; `allowed` lists
--- the strings the pattern accepts (the pattern text is only used in the message).
---@param errs table
---@param params table
---@param name string
---@param pattern string e.g. "^(asc|desc)$"
---@param allowed table
---@param default? string
---@return string|nil
function M.query_pattern(errs, params, name, pattern, allowed, default)
  local raw = params[name]
  if raw == nil then return default end
  if not in_list(allowed, raw) then
    errs[#errs + 1] = M.item("string_pattern_mismatch", { "query", name },
      "String should match pattern '" .. pattern .. "'", raw, object("pattern", pattern))
    return default
  end
  return raw
end

--- True when `s` contains `needle` literally.
---@param s string|nil
---@param needle string
---@return boolean
function M.contains(s, needle)
  return type(s) == "string" and find(s, needle, 1, true) ~= nil
end

return M
