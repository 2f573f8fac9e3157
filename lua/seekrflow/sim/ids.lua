--- Deterministic identifiers and randomness.
--
-- Uses a Park-Miller generator instead of math.random so that `--seed N` gives the same ids
-- on Lua 5.1, 5.4 and LuaJIT (their math.random implementations differ). All arithmetic stays
-- below 2^53, so it is exact with doubles.
local M = {}
M.__index = M

local floor = math.floor
local MOD = 2147483647
local MUL = 48271

--- Create a generator. Without a seed, one is taken from the real clock.
---@param seed? number
---@return table
function M.new(seed)
  local self = setmetatable({}, M)
  self:reseed(seed)
  -- Request ids come from their own counter so they never repeat after a reset re-seeds
  -- the generator, and so serving requests does not shift the sequence of seeded ids.
  self.ray_prefix = floor(require("socket").gettime() * 1000) % 4294967296
  self.ray_counter = 0
  return self
end

---@param seed? number
function M:reseed(seed)
  if seed == nil then
    local t = require("socket").gettime()
    seed = floor((t * 1e6) % MOD)
  end
  self.seed_value = seed
  local s = floor(seed) % MOD
  if s <= 0 then s = s + MOD - 1 end
  self.state = s
end

--- Uniform float in [0, 1).
---@return number
function M:random()
  self.state = (self.state * MUL) % MOD
  return (self.state - 1) / (MOD - 1)
end

--- Uniform integer in [0, n).
---@param n integer
---@return integer
function M:int(n)
  return floor(self:random() * n)
end

local HEX = "0123456789abcdef"

--- n random lower-case hex digits.
---@param n integer
---@return string
function M:hex(n)
  local out = {}
  for i = 1, n do
    local d = self:int(16)
    out[i] = HEX:sub(d + 1, d + 1)
  end
  return table.concat(out)
end

--- A random version-4 UUID string.
---@return string
function M:uuid()
  -- RFC 4122 variant: the first digit of the fourth group is one of 8, 9, a, b.
  local v = 9 + self:int(4)
  local variant = HEX:sub(v, v)
  return self:hex(8) .. "-" .. self:hex(4) .. "-4" .. self:hex(3) .. "-" .. variant ..
    self:hex(3) .. "-" .. self:hex(12)
end

--- A prefixed id such as `dj-<uuid>`.
---@param prefix string
---@return string
function M:id(prefix)
  return prefix .. "-" .. self:uuid()
end

--- A unique request id in the style of Cloudflare's `cf-ray` header.
---@return string
function M:ray()
  self.ray_counter = self.ray_counter + 1
  return string.format("%08x%08x-SIM", self.ray_prefix, self.ray_counter % 4294967296)
end

return M
