--- Text output for the seekrflow command. Every helper is the shared one of
--- `seekrflow.text` (one rule in one place); this module only adds printing a table
--- line by line through the command's output function.
local text = require "seekrflow.text"

local render = {
  safe = text.terminal_safe, -- server text made inert: shown, never obeyed
  painter = text.painter,
  width = text.width,
  clip = text.clip,
  duration = text.duration,
  parse_time = text.parse_time,
  iso_time = text.iso_time,
  bytes = text.bytes,
  plural = text.plural,
}

--- Prints rows as aligned columns through out(line); see seekrflow.text.table.
---@param out fun(line: string)
---@param headers string[]
---@param rows any[][]
---@param max_width integer?
function render.table(out, headers, rows, max_width)
  for _, line in ipairs(text.table(headers, rows, max_width)) do out(line) end
end

return render
