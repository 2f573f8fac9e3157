--- seekrflow.nvim.progress: what a watch has seen so far, as lines for the
--- floating window.
---
--- It keeps the latest detail and a few facts from the watch events (job
--- status, the last timeline entry, alignment progress, a failed poll), and
--- draws every attached file from the detail: the file's latest record gives
--- its state and queue position. Pure data except `lines`, which measures text
--- with Neovim's display width and must run on the main thread.
local progress = {}

local safe = require("seekrflow.text").terminal_safe

local Progress = {}
Progress.__index = Progress

-- Glyph and highlight group of a file's state.
local LOOK = {
  completed = { "✓", nil },
  failed = { "✗", "DiagnosticError" },
  running = { "▶", "DiagnosticInfo" },
  queued = { "◷", "Comment" },
  attached = { "•", nil },
}

local MAX_FILES = 10
local MAX_NAME = 32

local function seconds_now()
  return vim.loop.hrtime() / 1e9
end

local function text_of(err)
  if type(err) == "table" and type(err.message) == "string" then return err.message end
  return tostring(err)
end

--- Starts the record of one watch.
---@param job_id string
---@param clock (fun(): number)? seconds; default a monotonic clock
---@return seekrflow.nvim.Progress
function progress.new(job_id, clock)
  ---@class seekrflow.nvim.Progress
  local self = setmetatable({
    job_id = job_id, clock = clock or seconds_now, events = 0,
  }, Progress)
  self.started = self.clock()
  return self
end

--- Takes one watch event (and the detail it came with).
---@param event seekrflow.WatchEvent
---@param detail table?
function Progress:update(event, detail)
  self.events = self.events + 1
  if type(detail) == "table" then self.detail = detail end
  local kind = event.type
  if kind == "poll_error" then
    self.poll_error = ("retrying (%d): %s"):format(event.attempt or 1, text_of(event.error))
    return
  end
  self.poll_error = nil
  if kind == "job_status" then
    self.status = event.to
    self.status_message = event.message
  elseif kind == "timeline" and type(event.event) == "table" then
    local e = event.event
    self.last = e.message or e.event_type
  elseif kind == "alignment" and type(event.alignment_job) == "table" then
    local a = event.alignment_job
    self.alignment = { status = a.status, step = event.to_step, progress = event.progress }
  end
end

--- Marks the watch as ended.
---@param result seekrflow.WatchResult?
---@param err any? the error when the watch could not run at all
function Progress:finish(result, err)
  self.ended = self.clock()
  self.result = result
  if result and type(result.detail) == "table" then
    self.detail = result.detail
    self.status = result.detail.status or self.status
  end
  if err ~= nil then
    self.end_error = text_of(err)
  elseif result and result.reason == "error" and result.error ~= nil then
    self.end_error = text_of(result.error)
  end
end

--- Each attached file with its current state, in the order of `files`.
---@return { name: string, state: string, queue_position: integer? }[]
function Progress:files()
  local detail = self.detail
  if type(detail) ~= "table" then return {} end
  local detail_fns = require "seekrflow.detail"
  local rows = {}
  for f in detail_fns.each_file(detail) do
    local state, record = detail_fns.file_status(detail, f)
    if state == nil then state = "unknown" end
    rows[#rows + 1] = {
      name = tostring(f.name or (record and record.filename) or f.file_id or "?"),
      state = tostring(state),
      queue_position = state == "queued" and record and tonumber(record.queue_position) or nil,
    }
  end
  return rows
end

local function width(text) return vim.fn.strdisplaywidth(text) end

local function clip(text, max)
  if width(text) <= max then return text end
  local n = vim.fn.strchars(text)
  while n > 0 and width(vim.fn.strcharpart(text, 0, n)) > max - 1 do n = n - 1 end
  return vim.fn.strcharpart(text, 0, n) .. "…"
end

local function elapsed_text(seconds)
  if seconds < 60 then return ("%.0fs"):format(seconds) end
  return ("%dm%02ds"):format(math.floor(seconds / 60), math.floor(seconds % 60))
end

local function counts(rows)
  local n = {}
  for _, row in ipairs(rows) do n[row.state] = (n[row.state] or 0) + 1 end
  local parts = {}
  for _, state in ipairs({ "running", "queued", "failed", "completed" }) do
    if n[state] then parts[#parts + 1] = n[state] .. " " .. state end
  end
  return table.concat(parts, ", ")
end

--- The window's text: lines and highlights ({ group, line (0-based) }).
---@return string[] lines
---@return { [1]: string, [2]: integer }[] highlights
function Progress:lines()
  local lines, marks = {}, {}
  local function add(text, group)
    -- every line quotes server text (names, statuses, messages): neutralised here, once
    lines[#lines + 1] = safe(text)
    if group then marks[#marks + 1] = { group, #lines - 1 } end
  end
  add("seekrflow " .. self.job_id, "Title")

  local rows = self:files()
  local status = self.status or "connecting…"
  local summary = counts(rows)
  local elapsed = elapsed_text((self.ended or self.clock()) - self.started)
  local head = status
  if summary ~= "" then head = head .. " · " .. summary end
  if self.result then
    head = head .. " · done in " .. elapsed
  else
    head = head .. " · " .. elapsed
  end
  add(head)

  local name_width = 0
  for i, row in ipairs(rows) do
    if i > MAX_FILES then break end
    row.label = clip(safe(row.name), MAX_NAME)
    name_width = math.max(name_width, width(row.label))
  end
  for i, row in ipairs(rows) do
    if i > MAX_FILES then
      add(("  … and %d more"):format(#rows - MAX_FILES))
      break
    end
    local look = LOOK[row.state] or { "?", nil }
    local state = row.state
    if row.queue_position then state = state .. " #" .. row.queue_position end
    add(("%s %s%s  %s"):format(look[1], row.label, (" "):rep(name_width - width(row.label)), state), look[2])
  end

  local a = self.alignment
  if a then
    local parts = { "alignment: " .. tostring(a.status or "?") }
    if a.step then parts[#parts + 1] = tostring(a.step) end
    if a.progress then parts[#parts + 1] = ("%d%%"):format(math.floor(tonumber(a.progress) or 0)) end
    add(table.concat(parts, " · "))
  end
  if self.poll_error then add(clip(self.poll_error, 70), "DiagnosticWarn") end
  if self.end_error then add(clip(self.end_error, 70), "DiagnosticError") end
  if self.last and not self.end_error then add(clip("last: " .. self.last, 70), "Comment") end
  return lines, marks
end

return progress
