--- seekrflow.nvim.quickfix: a job's failed files as a quickfix list.
---
--- A failed file is a file in SeekrFlow, not on disk, so entries carry no
--- filename or line: the text says it all ("name: error — fix: …") and the
--- module column says where it came from.
local quickfix = {}

local safe = require("seekrflow.text").terminal_safe

-- Server text, neutralised (no control, C1 or bidi characters reach the list).
local function or_text(value, fallback)
  if type(value) == "string" and value ~= "" then return safe(value) end
  return fallback
end

--- The quickfix text of one entry of summary.of(detail).failed.
---@param entry table
---@return string
function quickfix.text(entry)
  local name = or_text(entry.filename, or_text(entry.file_id, "?"))
  local err = or_text(entry.error_message, "failed (no error message)")
  local fix = or_text(entry.suggested_fix, or_text(entry.action_text, "check the file"))
  return ("%s: %s — fix: %s"):format(name, err, fix)
end

--- Quickfix items for a list of failed entries.
---@param failed table[] summary.of(detail).failed
---@return table[]
function quickfix.items(failed)
  local items = {}
  for _, entry in ipairs(failed or {}) do
    items[#items + 1] = { module = "seekrflow", text = quickfix.text(entry), type = "E", valid = 1 }
  end
  return items
end

--- The keys a failures list offers (mapped by the plugin), shown in its title.
quickfix.HINT = "r retry · x remove failed · s start"

--- The list's title for a job.
---@param job_id string
---@return string
function quickfix.title(job_id)
  return "seekrflow failures " .. safe(job_id) .. "  (" .. quickfix.HINT .. ")"
end

--- Makes a new quickfix list of the failed entries (main thread only); the
--- job id is kept in the list's context for the action keys.
---@param job_id string
---@param failed table[]
---@return integer count
function quickfix.set(job_id, failed)
  local items = quickfix.items(failed)
  vim.fn.setqflist({}, " ", { title = quickfix.title(job_id), items = items, context = { seekrflow_job = job_id } })
  return #items
end

--- The job id of the current quickfix list when it is a seekrflow failures list.
---@return string?
function quickfix.job_of_current_list()
  local ctx = vim.fn.getqflist({ context = 1 }).context
  if type(ctx) == "table" and type(ctx.seekrflow_job) == "string" then return ctx.seekrflow_job end
  return nil
end

return quickfix
