--- Loads the C core, turning "undefined symbol" into advice.
---
--- A core.so built for one Lua cannot load into another (Neovim runs LuaJIT;
--- a rock built for 5.4 will not do). The dynamic loader then says something
--- like "undefined symbol: lua_newuserdatauv". This reads which Lua the file
--- was built for (a marker compiled into it) and says how to rebuild.
local loader = {}

local function this_lua()
  if rawget(_G, "jit") then return (rawget(_G, "jit").version or "LuaJIT") .. " (Lua 5.1 ABI)" end
  return _VERSION
end

--- package.searchpath for every Lua (5.1 and LuaJIT lack it); the file found, and it open.
local function search(name, path)
  local file_part = name:gsub("%.", "/")
  for template in path:gmatch("[^;]+") do
    local candidate = template:gsub("%?", file_part)
    local f = io.open(candidate, "rb")
    if f then return candidate, f end
  end
  return nil
end

-- The marker in an open core.so (which this closes).
local function marker(f)
  local bytes = f:read("*a")
  f:close()
  return bytes:match("seekrflow%-core%-built%-for=([^;%z]+);")
end

--- The Lua a built core.so was made for, read from its marker.
---@param path string
---@return string?
function loader.built_for(path)
  local f = io.open(path, "rb")
  return f and marker(f) or nil
end

--- require "seekrflow.core", or raise an error that says what to do.
function loader.core()
  local ok, core = pcall(require, "seekrflow.core")
  if ok then return core end
  local message = tostring(core)
  local path, f = search("seekrflow.core", package.cpath)
  local built = f and marker(f)
  local rebuild = rawget(_G, "jit") and "make LUA=luajit (or luarocks --lua-version=5.1 make …)"
    or ("make LUA=lua" .. _VERSION:match("%d+%.%d+") .. " (or luarocks --lua-version=" .. _VERSION:match("%d+%.%d+")
      .. " make …)")
  if built and built ~= (rawget(_G, "jit") and "LuaJIT (Lua 5.1 ABI)" or _VERSION) then
    error(("seekrflow's C core at %s was built for %s, but this is %s. Rebuild it for this Lua: %s")
      :format(path, built, this_lua(), rebuild), 0)
  end
  if not path then
    error(("seekrflow's C core (seekrflow/core.so) is not on package.cpath for %s. Build it with %s, "
      .. "or add its folder to LUA_CPATH."):format(this_lua(), rebuild), 0)
  end
  error(message, 0)
end

return loader
