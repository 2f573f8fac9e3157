--- API-key and team checks (contract section 1).
--
-- The real service takes the raw key in `Authorization` (no `Bearer ` prefix) and scopes
-- requests to a team through the optional `x-team-id` header.
local M = {}
M.__index = M

M.READONLY_KEY = "sim-readonly-key"
M.TEAM = "team-sim"

--- Create a checker for the given keys (the read-only key is always accepted as well).
---@param keys table list of full-access keys
---@return table
function M.new(keys)
  local self = setmetatable({ keys = {} }, M)
  for _, k in ipairs(keys) do self.keys[k] = true end
  return self
end

--- Check a request. Returns nil when allowed, otherwise a status and a detail message.
---@param method string
---@param headers table lower-case header names
---@return integer|nil status
---@return string|nil detail
function M:check(method, headers)
  local key = headers["authorization"]
  if key == nil or key:match("^%s*$") then
    return 401, "Not authenticated. Send your API key in the Authorization header."
  end
  if key:lower():match("^bearer%s") then
    return 401, "Invalid Authorization header: send the raw API key, without the 'Bearer ' " ..
      "prefix (Authorization: <api-key>)."
  end
  local readonly = key == M.READONLY_KEY
  if not readonly and not self.keys[key] then
    return 401, "Invalid API key."
  end
  local team = headers["x-team-id"]
  if team ~= nil and team ~= "" and team ~= M.TEAM then
    return 403, "This API key has no access to team '" .. team .. "'"
  end
  if readonly and method ~= "GET" and method ~= "HEAD" then
    return 403, "This API key is read-only and does not have permission to perform " ..
      method .. " requests."
  end
  return nil
end

return M
