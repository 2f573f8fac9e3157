--- What the simulator's stores (jobs, files, faults) share: an instance emptied by its own
--- reset(), lookups by id, and the page of a sorted list that the list routes return.
local M = {}

--- A store class: a table that is its instances' metatable.
---@return table
function M.class()
  local class = {}
  class.__index = class
  return class
end

--- A new instance of class with `fields`, then emptied by class.reset (which /_sim/reset
--- calls again later).
---@param class table
---@param fields table?
---@return table
function M.new(class, fields)
  local self = setmetatable(fields or {}, class)
  self:reset()
  return self
end

--- A method store:get(id): the entry of self[field] under id, or nil.
---@param field string
---@return fun(self: table, id: string): table|nil
function M.getter(field)
  return function(self, id) return self[field][id] end
end

--- The position of the first entry of list whose `key` is value, or nil.
---@param list table
---@param key string
---@param value any
---@return integer|nil
function M.index_of(list, key, value)
  for i, entry in ipairs(list) do
    if entry[key] == value then return i end
  end
  return nil
end

--- list[offset + 1 .. offset + limit]: one page of a sorted list.
---@param list table
---@param offset integer
---@param limit integer
---@return table
function M.page(list, offset, limit)
  local out = {}
  for i = offset + 1, math.min(#list, offset + limit) do out[#out + 1] = list[i] end
  return out
end

return M
