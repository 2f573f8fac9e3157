--- seekrflow.class: the method table of a Lua object type, and the check its methods make
--- first, so that calling one with a dot instead of a colon reads the same everywhere.
---
--- Pure Lua, no C: watch and watch_many load without the core, so the error is made by
--- the caller's `raise`.
local class = {}

--- A new method table (its own __index: the metatable of the instances) and check_self,
--- which a method calls as check_self(self, "name"): anything but an instance raises
--- "call <var>:<name>(…) with a colon, on <what>".
---@param var string how the docs name an instance, e.g. "w"
---@param what string where instances come from, e.g. "a watcher from watch.new"
---@param raise fun(message: string) raises the module's error
---@return table methods
---@return fun(self: any, method: string) check_self
function class.new(var, what, raise)
  local methods = {}
  methods.__index = methods
  local function check_self(self, method)
    if getmetatable(self) ~= methods then
      raise("call " .. var .. ":" .. method .. "(…) with a colon, on " .. what)
    end
  end
  return methods, check_self
end

return class
