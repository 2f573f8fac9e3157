--- The keys that act on a job (r retry, x remove failed, s start) wherever a line or a list
--- names one: the job list, a failures quickfix list, the dashboard. One table gives their
--- mappings, their help and the hint the buffers show.
local actions = {}

-- key, hint, the plugin's function, help
local KEYS = {
  { "r", "retry", "retry", "retry the transient failures" },
  { "x", "remove failed", "remove_failed", "remove the failed files" },
  { "s", "start", "start", "start alignment" },
}

local hint = {}
for i, a in ipairs(KEYS) do hint[i] = a[1] .. " " .. a[2] end
--- "r retry · x remove failed · s start", for a buffer's key hint.
actions.HINT = table.concat(hint, " · ")

--- What a key on a job does: fn(id) for the job job_here() gives, else says why not.
---@param plugin table require("seekrflow.nvim")
---@param job_here fun(): string?, string? the job id, or nil and why there is none
---@param fn fun(id: string)
---@return function
function actions.on_job(plugin, job_here, fn)
  return function()
    local id, why = job_here()
    if not id then return plugin._notify(why, vim.log.levels.INFO) end
    fn(id)
  end
end

--- Maps the action keys in buf, on the job job_here() gives (see on_job).
---@param plugin table require("seekrflow.nvim")
---@param buf integer
---@param job_here fun(): string?, string?
---@param opts table? more keymap options (nowait, silent, …)
function actions.map(plugin, buf, job_here, opts)
  for _, a in ipairs(KEYS) do
    local o = { buffer = buf, desc = "seekrflow: " .. a[4] }
    for k, v in pairs(opts or {}) do o[k] = v end
    vim.keymap.set("n", a[1], actions.on_job(plugin, job_here, function(id) plugin[a[3]](id) end), o)
  end
end

return actions
