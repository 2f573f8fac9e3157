--- seekrflow.nvim.commands: the user commands and autocommands, defined by
--- plugin/seekrflow.lua at startup (and again by setup, for setups that do
--- not source plugin/). Defining them loads nothing else and does no I/O:
--- each command loads seekrflow.nvim when it runs.
local commands = {}

local function plugin() return require "seekrflow.nvim" end

local function complete_job_ids(arglead)
  local ok, ids = pcall(function() return plugin().complete_job_ids(arglead) end)
  return ok and ids or {}
end

--- name, nargs, description, completes job ids
commands.LIST = {
  { "SeekrflowWatch", "+", "watch a data job live (several, or --all: the dashboard)", true },
  { "SeekrflowDashboard", "*", "every moving job (or the given ones) in one buffer", true },
  { "SeekrflowWatchStop", "?", "stop watching a job (or all)", true },
  { "SeekrflowJobs", "?", "list data jobs", false },
  { "SeekrflowFailures", 1, "failed files of a data job into the quickfix list", true },
  { "SeekrflowTimeline", 1, "a data job's files, alignment and events on a time axis", true },
  { "SeekrflowRetry", 1, "add a job's transiently failed files again", true },
  { "SeekrflowRemoveFailed", 1, "remove a job's failed files", true },
  { "SeekrflowStart", 1, "start a job's alignment", true },
}

--- Defines the commands (force: setup may run it again) and the autocommands.
function commands.define()
  for _, c in ipairs(commands.LIST) do
    local name = c[1]
    vim.api.nvim_create_user_command(name, function(args) plugin()._command(name, args) end, {
      nargs = c[2], force = true, desc = "seekrflow: " .. c[3],
      complete = c[4] and complete_job_ids or nil,
    })
  end
  local group = vim.api.nvim_create_augroup("seekrflow", { clear = true })
  vim.api.nvim_create_autocmd("VimLeavePre", {
    group = group, desc = "seekrflow: close the client",
    callback = function()
      local loaded = package.loaded["seekrflow.nvim"]
      if loaded then loaded.close() end
    end,
  })
  vim.api.nvim_create_autocmd("FileType", {
    group = group, pattern = "qf", desc = "seekrflow: action keys in a failures list",
    callback = function(ev)
      if package.loaded["seekrflow.nvim"] then plugin()._map_quickfix(ev.buf) end
    end,
  })
end

return commands
