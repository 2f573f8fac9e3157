--- Path routing with FastAPI-like semantics.
--
-- Routes are tried in order; the first whose path and method both match wins. When some
-- route matches the path but none the method, the answer is 405, otherwise 404. Literal
-- routes are listed before `{id}` routes so `/data-jobs/gen_system_prompt` is not an id.
local M = {}
M.__index = M

local function split(path)
  local segs = {}
  for seg in path:gmatch("[^/]+") do segs[#segs + 1] = seg end
  return segs
end

--- Create a router from a list of `{method, pattern, handler}`.
---@param list table
---@return table
function M.new(list)
  local self = setmetatable({ routes = {} }, M)
  for _, r in ipairs(list) do self:add(r[1], r[2], r[3]) end
  return self
end

--- Add a route; pattern segments like `{id}` capture one path segment.
---@param method string
---@param pattern string
---@param handler function
function M:add(method, pattern, handler)
  self.routes[#self.routes + 1] = {
    method = method, pattern = pattern, handler = handler, segs = split(pattern),
    key = method .. " " .. pattern,
  }
end

local function match_path(route, segs)
  if #segs ~= #route.segs then return nil end
  local params = {}
  for i, want in ipairs(route.segs) do
    local name = want:match("^{(.+)}$")
    if name then
      params[name] = segs[i]
    elseif want ~= segs[i] then
      return nil
    end
  end
  return params
end

--- Match a request. Returns the route and its path parameters, or nil and 404/405 plus the
--- pattern that matched the path (for 405), for statistics.
---@param method string
---@param path string decoded path
---@return table|nil route
---@return table|integer params_or_status
---@return string|nil pattern
function M:match(method, path)
  -- A trailing slash is treated like none, rather than redirecting as Starlette would.
  if #path > 1 then path = path:gsub("/+$", "") end
  local segs = split(path)
  local path_hit
  for _, r in ipairs(self.routes) do
    local params = match_path(r, segs)
    if params then
      if r.method == method then return r, params, r.pattern end
      path_hit = path_hit or r.pattern
    end
  end
  if path_hit then return nil, 405, path_hit end
  return nil, 404, nil
end

return M
