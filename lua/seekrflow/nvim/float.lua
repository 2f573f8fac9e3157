--- seekrflow.nvim.float: a small floating window in the top-right corner that
--- shows text and never takes the focus (not focusable, never entered).
---
--- Every call must run on the main thread (not in a luv callback). Failures
--- to draw (a textlock, a closed tab page) are swallowed: progress display is
--- never worth an error.
local buffer = require "seekrflow.nvim.buffer"

local float = {}

local Float = {}
Float.__index = Float

local NS = vim.api.nvim_create_namespace("seekrflow_float")

local MIN_WIDTH, MAX_WIDTH = 24, 72

--- A window that appears on the first update.
---@return seekrflow.nvim.Float
function float.new()
  ---@class seekrflow.nvim.Float
  ---@field win integer? the window handle while shown
  ---@field buf integer? its scratch buffer
  local self = setmetatable({ closed = false }, Float)
  return self
end

-- The window only grows while it is shown, so it does not jitter as text changes.
local function placement(self, lines)
  local columns, rows = vim.o.columns, vim.o.lines
  local w = self.width or MIN_WIDTH
  for _, line in ipairs(lines) do w = math.max(w, vim.fn.strdisplaywidth(line)) end
  self.width = w
  w = math.min(w, MAX_WIDTH, math.max(1, columns - 4))
  local h = math.max(1, math.min(#lines, rows - 4))
  self.lines_shown = h
  -- anchored by its north-east corner to the editor's top-right, below a tabline
  -- (or below the floats of earlier watches: row)
  return {
    relative = "editor", anchor = "NE", row = self.row or 1, col = columns,
    width = w, height = h,
  }
end

local function ensure_buffer(self)
  if self.buf and vim.api.nvim_buf_is_valid(self.buf) then return self.buf end
  local buf = buffer.scratch(nil, "seekrflow-progress")
  self.buf = buf
  return buf
end

local function draw(self, lines, highlights)
  local buf = ensure_buffer(self)
  buffer.set_lines(buf, lines)
  vim.api.nvim_buf_clear_namespace(buf, NS, 0, -1)
  for _, mark in ipairs(highlights or {}) do
    vim.api.nvim_buf_add_highlight(buf, NS, mark[1], mark[2], 0, -1)
  end
  local config = placement(self, lines)
  if self.win and vim.api.nvim_win_is_valid(self.win) then
    vim.api.nvim_win_set_config(self.win, config)
  else
    config.focusable = false
    config.style = "minimal"
    config.border = "rounded"
    config.zindex = 45
    config.noautocmd = true
    -- false: do not enter the window; the cursor stays where the user is
    self.win = vim.api.nvim_open_win(buf, false, config)
    vim.api.nvim_win_set_option(self.win, "wrap", false)
    vim.api.nvim_win_set_option(self.win, "winhighlight", "Normal:NormalFloat,FloatBorder:FloatBorder")
  end
end

--- Shows these lines (opening the window if needed).
---@param lines string[]
---@param highlights { [1]: string, [2]: integer }[]? highlight group and 0-based line
---@return boolean shown
function Float:update(lines, highlights)
  if self.closed then return false end
  local ok = pcall(draw, self, lines, highlights)
  return ok
end

--- Rows of text the window shows (0 before the first update).
---@return integer
function Float:height()
  return self.lines_shown or 0
end

--- Moves the window to this editor row (floats of several watches stack).
---@param row integer
function Float:move(row)
  if self.row == row then return end
  self.row = row
  if self.win and vim.api.nvim_win_is_valid(self.win) then
    local config = vim.api.nvim_win_get_config(self.win)
    pcall(vim.api.nvim_win_set_config, self.win, {
      relative = "editor", anchor = "NE", row = row, col = vim.o.columns, width = config.width, height = config.height,
    })
  end
end

--- True while the window is on screen.
---@return boolean
function Float:is_open()
  return not self.closed and self.win ~= nil and vim.api.nvim_win_is_valid(self.win)
end

--- Closes the window for good (safe to call twice).
function Float:close()
  self.closed = true
  if self.win and vim.api.nvim_win_is_valid(self.win) then
    pcall(vim.api.nvim_win_close, self.win, true)
  end
  if self.buf and vim.api.nvim_buf_is_valid(self.buf) then
    pcall(vim.api.nvim_buf_delete, self.buf, { force = true })
  end
  self.win, self.buf = nil, nil
end

return float
