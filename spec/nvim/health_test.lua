-- :checkhealth seekrflow, found through the runtimepath as Neovim does it.
local h = require "nvim.helpers"
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
    h.excludes(text, "No healthcheck found")
    h.excludes(text, "Failed to run healthcheck")
    h.contains(text, "libcurl")
    h.contains(text, "API key: set")
    h.contains(text, "LuaJIT")
    h.contains(text, "base URL reachable")
    h.contains(text, sim.base_url)
    h.excludes(text, sim.api_key, "the key leaked")
    h.excludes(text, "ERROR")
  end)

  test(":checkhealth seekrflow says when the key is refused, without showing it", function()
    require("seekrflow.nvim").setup { base_url = sim.base_url, api_key = BAD_KEY }
    local text = checkhealth()
    h.contains(text, "API key: set")
    h.contains(text, "refused")
    h.contains(text, "401")
    h.excludes(text, BAD_KEY, "the key leaked")
  end)

  test(":checkhealth seekrflow reports an unreachable base URL within its short timeout", function()
    require("seekrflow.nvim").setup { base_url = "http://127.0.0.1:9/v1", api_key = BAD_KEY }
    local t0 = h.now_ms()
    local text = checkhealth()
    h.ok(h.now_ms() - t0 < 5000, "the health check took more than 5 s")
    h.contains(text, "not reachable")
    h.excludes(text, BAD_KEY, "the key leaked")
  end)
end
