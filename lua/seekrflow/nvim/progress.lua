--- seekrflow.nvim.progress: draws a watch's progress (the rows of
--- seekrflow.progress, the model shared with `seekrflow watch`) as lines and
--- highlights for the floating window. Nothing here reads a detail: the model
--- does, and its strings are already neutralised.
local model = require "seekrflow.progress"
local text = require "seekrflow.text"

local progress = {}

local Progress = {}
Progress.__index = Progress

-- Highlight group of a file's state.
local GROUP = {
  failed = "DiagnosticError", running = "DiagnosticInfo", queued = "Comment", unknown = "DiagnosticWarn",
}

local MAX_FILES = 10
local MAX_NAME = 32
local MAX_LINE = 70

local function seconds_now()
  return vim.loop.hrtime() / 1e9
end

--- Starts the record of one watch.
---@param job_id string
---@param clock (fun(): number)? seconds; default a monotonic clock
---@return seekrflow.nvim.Progress
function progress.new(job_id, clock)
  ---@class seekrflow.nvim.Progress
  local self = setmetatable({
    job_id = job_id, tracker = model.new(job_id, { clock = clock or seconds_now }),
  }, Progress)
  return self
end

--- Takes one watch event (and the detail it came with).
---@param event seekrflow.WatchEvent
---@param detail table?
function Progress:update(event, detail) self.tracker:update(event, detail) end

--- Marks the watch as ended.
---@param result seekrflow.WatchResult?
---@param err any? the error when the watch could not run at all
function Progress:finish(result, err) self.tracker:finish(result, err) end

--- The model's view (seekrflow.progress).
---@return seekrflow.progress.View
function Progress:view() return self.tracker:view() end

--- Each attached file with its current state, in the order of `files`.
---@return seekrflow.progress.FileRow[]
function Progress:files() return self:view().files end

--- The window's text: lines and highlights ({ group, line (0-based) }).
---@return string[] lines
---@return { [1]: string, [2]: integer }[] highlights
function Progress:lines()
  local view = self:view()
  local lines, marks = {}, {}
  local function add(line, group)
    lines[#lines + 1] = line
    if group then marks[#marks + 1] = { group, #lines - 1 } end
  end
  add("seekrflow " .. view.job_id .. (view.name and ("  " .. text.clip(view.name, 40)) or ""), "Title")

  local head = view.status or "connecting…"
  if view.counts_text ~= "" then head = head .. " · " .. view.counts_text end
  head = head .. (view.done and " · done in " or " · ") .. text.duration(view.elapsed)
  add(head)

  local rows, name_width = view.files, 0
  for i, row in ipairs(rows) do
    if i > MAX_FILES then break end
    row.label = text.clip(row.name, MAX_NAME)
    name_width = math.max(name_width, text.width(row.label))
  end
  for i, row in ipairs(rows) do
    if i > MAX_FILES then
      add(("  … and %d more"):format(#rows - MAX_FILES))
      break
    end
    local look = model.LOOK[row.state]
    add(text.clip(("%s %s  %s"):format(look[1], text.pad(row.label, name_width), row.text), MAX_LINE),
      GROUP[row.state])
  end

  if view.alignment then add(view.alignment.text) end
  if view.poll_error then add(text.clip(view.poll_error, MAX_LINE), "DiagnosticWarn") end
  if view.end_error then add(text.clip(view.end_error, MAX_LINE), "DiagnosticError") end
  if view.last_event and not view.end_error then add(text.clip("last: " .. view.last_event, MAX_LINE), "Comment") end
  return lines, marks
end

return progress
