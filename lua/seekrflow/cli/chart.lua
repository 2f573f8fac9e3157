--- The pictures of a job for the seekrflow command, as its `timeline JOB --chart` (the
--- timeline drawn in the terminal) and `report JOB -o FILE.svg` (the standalone SVG report)
--- run them; commands.lua declares both. Both draw seekrflow.timeline's layout, like the
--- Neovim :SeekrflowTimeline buffer.
local text = require "seekrflow.text"
local timeline = require "seekrflow.timeline"

local cli_chart = {}

--- Rows a terminal chart shows before it groups files.
cli_chart.DEFAULT_ROWS = 50

-- The layout as JSON: its lists are arrays, also when empty.
local function layout_json(layout)
  local array_mt = require("seekrflow").array_mt
  setmetatable(layout.rows, array_mt)
  setmetatable(layout.events, array_mt)
  setmetatable(layout.ticks, array_mt)
  for _, row in ipairs(layout.rows) do
    setmetatable(row.segments, array_mt)
    setmetatable(row.notes, array_mt)
  end
  return layout
end

--- Prints the chart of a job (timeline --chart).
---@param ctx table the command's context
---@return integer exit code
function cli_chart.timeline(ctx)
  local d = ctx.client().data_jobs:retrieve(ctx.flags.job)
  local layout = timeline.layout(d, { now = os.time(), max_rows = ctx.flags.rows or cli_chart.DEFAULT_ROWS })
  if ctx.flags.json then
    ctx.json(layout_json(layout))
    return 0
  end
  local chart = require "seekrflow.chart"
  for _, line in ipairs(chart.render(chart.draw(layout, { width = ctx.columns }), ctx.paint)) do ctx.print(line) end
  if layout.summary.outcomes.failed > 0 then
    ctx.print(ctx.paint("dim", ("Fixes: seekrflow failures %s"):format(text.terminal_safe(ctx.flags.job))))
  end
  return 0
end

-- A file name made from a job id: letters, digits, dot, dash and underscore only.
local function default_output(job)
  return (job:gsub("[^%w%.%-_]", "_")) .. ".svg"
end

--- Writes the SVG report of a job (report).
---@param ctx table
---@return integer exit code
function cli_chart.report(ctx)
  local job = ctx.flags.job
  local path = ctx.flags.output or default_output(job)
  local d = ctx.client().data_jobs:retrieve(job)
  local report = require "seekrflow.report"
  local opts = { now = os.time(), width = ctx.flags.width }
  if path == "-" then
    ctx.write(report.svg(d, opts))
    return 0
  end
  local ok, err = report.write(path, d, opts)
  if not ok then error(err, 0) end
  local layout = timeline.layout(d, { max_rows = 1 })
  if ctx.flags.json then
    ctx.json({ path = path, job_id = d.id, status = d.status, files = layout.summary.files,
      failed = layout.summary.outcomes.failed })
  else
    ctx.print(("Report written to %s (%d %s, %s)"):format(text.terminal_safe(path), layout.summary.files,
      text.plural(layout.summary.files, "file", "files"), text.terminal_safe(d.status or "status unknown")))
  end
  return 0
end

return cli_chart
