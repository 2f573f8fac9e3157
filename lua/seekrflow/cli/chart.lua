--- The pictures of a job for the seekrflow command: `timeline JOB --chart`
--- (the timeline drawn in the terminal) and `report JOB -o FILE.svg` (the
--- standalone SVG report). Both draw seekrflow.timeline's layout, like the
--- Neovim :SeekrflowTimeline buffer.
local seekrflow = require "seekrflow"
local chart = require "seekrflow.chart"
local report = require "seekrflow.report"
local text = require "seekrflow.text"
local timeline = require "seekrflow.timeline"
local values = require "seekrflow.cli.values"

local cli_chart = {}

-- Rows a terminal chart shows before it groups files.
local DEFAULT_ROWS = 50

-- The layout as JSON: its lists are arrays, also when empty.
local function layout_json(layout)
  local array_mt = seekrflow.array_mt
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
  local layout = timeline.layout(d, { now = os.time(), max_rows = ctx.flags.rows or DEFAULT_ROWS })
  if ctx.flags.json then
    ctx.json(layout_json(layout))
    return 0
  end
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

--- Adds --chart to the timeline command and defines the report command.
---@param list table<string, table> the command definitions by name
---@param define fun(name: string, def: table)
---@param job_argument fun(cmd: table) declares the JOB argument
function cli_chart.register(list, define, job_argument)
  local events = list.timeline
  local build_events, run_events = events.build, events.run
  events.description = events.description .. " With --chart, the job as a picture: one row per file from "
    .. "queued to running to done or failed on a time axis, the alignment, the events and a summary."
  events.build = function(cmd)
    build_events(cmd)
    cmd:flag("--chart", "Draw the job's files, alignment and events on a time axis.")
    cmd:option("--rows", ("With --chart: at most this many file rows; more files are grouped (default %d).")
      :format(DEFAULT_ROWS)):argname("N"):convert(values.integer("--rows", 1, 10000))
  end
  events.run = function(ctx)
    if ctx.flags.chart then return cli_chart.timeline(ctx) end
    return run_events(ctx)
  end

  define("report", {
    summary = "Write a job's timeline and failures as an SVG picture.",
    description = "Writes one standalone SVG file (no scripts, no links): every file's wait and run on a "
      .. "time axis, the alignment, the events, the job's status, and each failure with its suggested "
      .. "fix. Hover a bar for its durations. Open it in a browser or attach it to a CI run.",
    build = function(cmd)
      job_argument(cmd)
      cmd:option("-o --output", "Where to write it (default: JOB.svg; - for standard output)."):argname("FILE")
        :convert(values.nonempty("--output"))
      cmd:option("--width", "Picture width in pixels (default 1100, at least 700).")
        :argname("PIXELS"):convert(values.integer("--width", 700, 10000))
    end,
    run = cli_chart.report,
  })
end

return cli_chart
