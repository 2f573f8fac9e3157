--- Simulated clock.
--
-- Simulated time runs `scale` times faster than real time, starting at the real wall-clock
-- time when the clock was created, so timestamps look current while a 60-second lifecycle
-- can finish in a fraction of a real second. All simulated times are integer microseconds
-- since the Unix epoch (exact in a double up to year 2255, so this also works on Lua 5.1).
local socket = require("socket")

local M = {}
M.__index = M

local floor = math.floor

--- Real wall-clock time in seconds (float).
---@return number
function M.real_now()
  return socket.gettime()
end

--- Create a clock.
---@param scale number simulated seconds per real second (0 freezes time)
---@param real_now? fun(): number source of real time, for tests
---@return table clock
function M.new(scale, real_now)
  local self = setmetatable({}, M)
  self.real_source = real_now or M.real_now
  self.scale = scale or 1
  self.real0 = self.real_source()
  self.sim0 = floor(self.real0 * 1e6)
  self.last = self.sim0
  self.last_stamp = 0
  return self
end

--- Current simulated time in microseconds; never goes backwards.
---@return number
function M:now()
  local t = self.sim0 + floor((self.real_source() - self.real0) * 1e6 * self.scale)
  if t < self.last then t = self.last end
  self.last = t
  return t
end

--- A simulated time for a new record that is strictly greater than every earlier stamp,
--- so objects created in quick succession still sort by creation time.
---@return number
function M:stamp()
  local t = self:now()
  if t <= self.last_stamp then t = self.last_stamp + 1 end
  self.last_stamp = t
  return t
end

--- Change the speed without a jump in simulated time.
---@param scale number
function M:set_scale(scale)
  local now = self:now()
  self.real0 = self.real_source()
  self.sim0 = now
  self.scale = scale
end

--- Jump simulated time forward.
---@param seconds number
function M:advance(seconds)
  self.sim0 = self.sim0 + floor(seconds * 1e6)
end

--- Format simulated microseconds as ISO-8601 UTC with microseconds and `Z`.
---@param us number|nil
---@return string|nil
function M.iso(us)
  if us == nil then return nil end
  local secs = floor(us / 1e6)
  local frac = us - secs * 1e6
  return os.date("!%Y-%m-%dT%H:%M:%S", secs) .. string.format(".%06dZ", frac)
end

--- Convert simulated seconds to microseconds.
---@param seconds number
---@return number
function M.seconds(seconds)
  return floor(seconds * 1e6)
end

return M
