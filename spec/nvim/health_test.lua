-- :checkhealth seekrflow, found through the runtimepath as Neovim does it.
local h = require "nvim.helpers"
local assert = require "luassert"
local sim = h.sim

local BAD_KEY = "sk-nvim-health-not-a-key-4410"

local function checkhealth()
  vim.cmd("silent checkhealth seekrflow")
  local text = h.buffer_text(vim.api.nvim_get_current_buf())
  vim.cmd("silent! tabclose")
  return text
end

return function(test)
  test(":checkhealth seekrflow reports the core, libcurl, the key (not its value) and reachability", function()
    require("seekrflow.nvim").setup { base_url = sim.base_url, api_key = sim.api_key }
    local text = checkhealth()
    assert.no.matches("No healthcheck found", text, 1, true)
    assert.no.matches("Failed to run healthcheck", text, 1, true)
    assert.matches("libcurl", text, 1, true)
    assert.matches("API key: set", text, 1, true)
    assert.matches("LuaJIT", text, 1, true)
    assert.matches("base URL reachable", text, 1, true)
    assert.matches(sim.base_url, text, 1, true)
    assert.no.matches(sim.api_key, text, 1, true, "the key leaked")
    assert.no.matches("ERROR", text, 1, true)
  end)

  test(":checkhealth seekrflow says when the key is refused, without showing it", function()
    require("seekrflow.nvim").setup { base_url = sim.base_url, api_key = BAD_KEY }
    local text = checkhealth()
    assert.matches("API key: set", text, 1, true)
    assert.matches("refused", text, 1, true)
    assert.matches("401", text, 1, true)
    assert.no.matches(BAD_KEY, text, 1, true, "the key leaked")
  end)

  test(":checkhealth seekrflow reports an unreachable base URL within its short timeout", function()
    require("seekrflow.nvim").setup { base_url = "http://127.0.0.1:9/v1", api_key = BAD_KEY }
    local t0 = h.now_ms()
    local text = checkhealth()
    assert.is_truthy(h.now_ms() - t0 < 5000, "the health check took more than 5 s")
    assert.matches("not reachable", text, 1, true)
    assert.no.matches(BAD_KEY, text, 1, true, "the key leaked")
  end)
end
