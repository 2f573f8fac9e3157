--- The plugin's scratch buffers (the job list, the dashboard, a timeline, the progress
--- floats): made, written and shown one way.
local buffer = {}

--- A new scratch buffer with its filetype; `name` when given and free (a buffer of an
--- earlier list may still hold it: then none). `bufhidden`: what happens once no window
--- shows it ("wipe" by default). It keeps no undo history: every redraw would be an undo
--- step, and a live view redrawn for hours would hold each picture it ever showed.
---@param name string?
---@param filetype string
---@param bufhidden string?
---@return integer buf
function buffer.scratch(name, filetype, bufhidden)
  local buf = vim.api.nvim_create_buf(false, true)
  if name then pcall(vim.api.nvim_buf_set_name, buf, name) end
  vim.api.nvim_buf_set_option(buf, "bufhidden", bufhidden or "wipe")
  vim.api.nvim_buf_set_option(buf, "undolevels", -1)
  vim.api.nvim_buf_set_option(buf, "filetype", filetype)
  return buf
end

--- Replaces the lines of a buffer the user cannot edit: all of them, or those from `first`
--- up to `last` (0-based, `last` excluded, as nvim_buf_set_lines counts).
---@param buf integer
---@param lines string[]
---@param first integer? default 0
---@param last integer? default -1: to the end
function buffer.set_lines(buf, lines, first, last)
  vim.api.nvim_buf_set_option(buf, "modifiable", true)
  vim.api.nvim_buf_set_lines(buf, first or 0, last or -1, false, lines)
  vim.api.nvim_buf_set_option(buf, "modifiable", false)
end

--- The window showing buf, split off at the bottom when none did; then whether it is new.
---@param buf integer
---@return integer win
---@return boolean opened
function buffer.show(buf)
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then return win, false end
  vim.cmd("botright split")
  win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, buf)
  return win, true
end

return buffer
