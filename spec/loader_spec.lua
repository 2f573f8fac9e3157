-- Loading the C core: a core built for another Lua must explain itself.
local loader = require "seekrflow.loader"
local core = require "seekrflow.core"

local ROOT = os.getenv("SEEKRFLOW_ROOT") or "."

local function this_build()
  return rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
end

describe("seekrflow.loader", function()
  it("reads which Lua a built core is for from the file itself", function()
    local path = ROOT .. "/build/" .. this_build() .. "/seekrflow/core.so"
    assert.equal(core.built_for, loader.built_for(path))
    assert.is_nil(loader.built_for(ROOT .. "/README.md"))
    assert.is_nil(loader.built_for(ROOT .. "/no/such/file"))
  end)

  it("says which Lua a core was built for and how to rebuild, not 'undefined symbol'", function()
    -- Load a core built for another Lua into this one, in a child process.
    local other, other_lua
    for _, candidate in ipairs({ "lua5.4", "luajit", "lua5.1", "lua5.3" }) do
      local f = io.open(ROOT .. "/build/" .. candidate .. "/seekrflow/core.so", "rb")
      if f then f:close() end
      local compatible = (candidate == "luajit" or candidate == "lua5.1")
        and (this_build() == "luajit" or this_build() == "lua5.1")
      if f and candidate ~= this_build() and not compatible then
        other = candidate
        break
      end
    end
    if not other then
      pending("no core built for another Lua here (make LUA=luajit)")
      return
    end
    other_lua = os.getenv("SEEKRFLOW_LUA") or "lua5.4"
    local cmd = ("cd %q && LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/%s/?.so;;' %s -e "
      .. "'require \"seekrflow\"' 2>&1"):format(ROOT, other, other_lua)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    assert.matches("was built for", out)
    assert.matches("Rebuild it for this Lua: make LUA=", out)
    assert.is_nil(out:find("undefined symbol", 1, true))
  end)
end)
