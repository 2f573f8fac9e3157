--- Structured errors: the same values the C core raises, for Lua code.
---
--- Every error is a table with a `kind` ("connection", "timeout", "status",
--- "decode", "invalid_argument", "config", "cancelled") and a `message`;
--- status errors add `status`, `class`, `detail`, `request_id`, `retryable`
--- and `attempts`. `tostring(err)` gives one readable line.
local core = require "seekrflow.core"

local errors = {}

--- Status classes, so callers never match on message text. A 400 or 422 whose `detail` is a
--- sentence rather than pydantic's list is classed by its meaning: `not_found` when it says
--- so, else `conflict` (services that answer these cases that way); `status` keeps the number.
errors.classes = {
  bad_request = 400, unauthorized = 401, forbidden = 403, not_found = 404,
  request_timeout = 408, conflict = 409, unprocessable = 422, rate_limited = 429,
  server = "5xx", client = "other 4xx",
}

---@class seekrflow.Error
---@field kind "connection"|"timeout"|"status"|"decode"|"invalid_argument"|"config"|"cancelled"
---@field message string
---@field status integer? HTTP status, for kind "status"
---@field class string? "not_found", "rate_limited", "server", … for kind "status"
---@field detail string|table? the server's `detail` (a string, or the 422 list)
---@field body string|table? the decoded body, or the start of a non-JSON one
---@field request_id string? the server's request id (cf-ray)
---@field retryable boolean? whether a retry could succeed
---@field retry_after number? seconds the server asked to wait
---@field attempts integer? how many attempts were made
---@field method string?
---@field url string? never contains the API key

--- Makes a new error value.
---@param kind string
---@param message string
---@param fields table? extra fields
---@return seekrflow.Error
function errors.new(kind, message, fields)
  return core.new_error(kind, message, fields)
end

--- True when `value` is a seekrflow error.
---@param value any
---@return boolean
function errors.is_error(value)
  return type(value) == "table" and getmetatable(value) == core.error_mt
end

--- True when `value` is a seekrflow error of this kind or status class,
--- e.g. `errors.is(err, "not_found")`, `errors.is(err, "timeout")`.
---@param value any
---@param kind_or_class string
---@return boolean
function errors.is(value, kind_or_class)
  return errors.is_error(value) and (value.kind == kind_or_class or value.class == kind_or_class)
end

return errors
