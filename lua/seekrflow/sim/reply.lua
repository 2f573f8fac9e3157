--- Response constructors shared by the API and control handlers.
--
-- A response is a plain table `{status, body, content_type, headers}` (headers a list of
-- {name, value}); the server adds framing headers (Content-Length, cf-ray, Date, ...).
local json = require("seekrflow.sim.json")
local validate = require("seekrflow.sim.validate")

local M = {}

M.JSON = "application/json"

--- JSON response.
---@param status integer
---@param value any
---@param headers? table
---@return table
function M.json(status, value, headers)
  -- The value is kept so a response mode can reshape it (seekrflow.sim.minimal).
  return { status = status, body = json.encode(value), value = value, content_type = M.JSON,
    headers = headers or {} }
end

--- FastAPI HTTPException-style `{"detail": "..."}` response.
---@param status integer
---@param detail string
---@return table
function M.detail(status, detail)
  return M.json(status, json.object("detail", detail))
end

--- 422 with pydantic-style error items.
---@param items table
---@return table
function M.unprocessable(items)
  return M.json(422, validate.body(items))
end

--- Non-JSON response.
---@param status integer
---@param body string
---@param content_type string|nil
---@param headers? table
---@return table
function M.raw(status, body, content_type, headers)
  return { status = status, body = body, content_type = content_type, headers = headers or {} }
end

--- Response without a body (204).
---@param status integer
---@return table
function M.empty(status)
  return { status = status, body = "", headers = {}, no_body = true }
end

return M
