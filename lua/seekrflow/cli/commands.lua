--- The subcommands of `seekrflow`. Each declares its flags and arguments for lua-argparse
--- (`build`) and runs with a context (parsed flags, output functions, a lazily made client),
--- returning an exit code.
local seekrflow = require "seekrflow"
local text = require "seekrflow.text"
local values = require "seekrflow.cli.values"
local uploads = require "seekrflow.cli.uploads"
local follow = require "seekrflow.cli.follow"

local commands = { list = {}, ordered = {} }

local EXIT = {
  ok = 0, error = 1, usage = 2, needs_review = 3, auth = 4, failed = 5, timed_out = 6, interrupted = 130,
}
commands.EXIT = EXIT

-- Exit codes for each reason a watch ends.
local WATCH_EXIT = {
  reached = EXIT.ok, needs_review = EXIT.needs_review, failed = EXIT.failed, cancelled = EXIT.failed,
  timed_out = EXIT.timed_out, interrupted = EXIT.interrupted, error = EXIT.error,
}

local safe = text.terminal_safe -- server text made inert: shown, never obeyed

--- A table that encodes as a JSON array, also when empty.
local function array(t)
  return setmetatable(t or {}, seekrflow.array_mt)
end

--- A usage error raised inside a command, turned into exit code 2.
local function usage_error(message)
  error({ usage_error = message }, 0)
end

--- Standard output as a function that fails loudly: a full disk or a closed file is an
--- error (exit 1), never output silently lost. A closed pipe ends quietly.
function commands.stdout_writer()
  return function(s)
    local ok, err = io.stdout:write(s)
    if not ok then error({ write_error = tostring(err) }, 0) end
  end
end

function commands.context(flags, io_)
  local ctx = { flags = flags, write = io_.write, err = io_.err, name = io_.name, given = io_.given or {},
    parser = io_.parser }
  local core = require "seekrflow.core"
  local isatty = io_.isatty
  if isatty == nil then isatty = core.isatty(1) end
  ctx.isatty = isatty
  ctx.columns = io_.columns or (isatty and core.terminal_size(1)) or 100
  ctx.width = isatty and ctx.columns or nil -- what tables are cut to: nothing in a pipe or a file
  ctx.getenv = io_.env or os.getenv
  ctx.color = isatty and not flags.no_color and (ctx.getenv("NO_COLOR") or "") == "" and not flags.json
  ctx.paint = text.painter(ctx.color)
  function ctx.print(line) ctx.write((line or "") .. "\n") end
  function ctx.json(value) ctx.write(seekrflow.json_encode(value) .. "\n") end
  function ctx.table(headers, rows)
    for _, line in ipairs(text.table(headers, rows, ctx.width)) do ctx.print(line) end
  end
  function ctx.client()
    if not ctx._client then
      local opts = {}
      if flags.api_key then opts.api_key = flags.api_key end
      if flags.base_url then opts.base_url = flags.base_url end
      if flags.team then opts.team_id = flags.team end
      if flags.request_timeout then opts.timeout = flags.request_timeout end
      if flags.debug then opts.debug = true end
      ctx._client = seekrflow.new(opts)
    end
    return ctx._client
  end
  return ctx
end

-- A configuration error caused by a flag is a usage error; the hint about the key only
-- follows errors about the key.
local function about_key(e)
  local message = tostring(e.message or "")
  return e.class == "unauthorized" or message:find("api_key", 1, true) ~= nil
    or message:find("API key", 1, true) ~= nil
end

local function from_flag(ctx, e)
  local message = tostring(e.message or "")
  for word, flag in pairs({ base_url = "--base-url", team_id = "--team", api_key = "--api-key",
    timeout = "--request-timeout" }) do
    if message:find(word, 1, true) and ctx.given[flag] then return true end
  end
  return false
end

--- Runs a command, mapping errors to messages and exit codes.
function commands.run(command, ctx)
  local ok, result = xpcall(function() return command.run(ctx) end, function(e)
    if type(e) == "table" then return e end
    if follow.is_interrupt(e) then return { interrupted = true } end
    return { internal = debug.traceback(tostring(e), 2) }
  end)
  if ctx._client then ctx._client:close() end
  if ok then return result or EXIT.ok end
  local e = result
  if e.write_error then
    if e.write_error:find("Broken pipe", 1, true) then return EXIT.ok end
    ctx.err(("seekrflow: cannot write the output: %s\n"):format(e.write_error))
    return EXIT.error
  end
  if e.usage_error then
    ctx.err(("seekrflow %s: %s\n\n%s\n"):format(ctx.name, e.usage_error, command.parser:get_usage()))
    return EXIT.usage
  end
  if e.interrupted then
    ctx.err("seekrflow: interrupted\n")
    return EXIT.interrupted
  end
  if e.internal then
    ctx.err("seekrflow: internal error, please report it:\n" .. e.internal .. "\n")
    return EXIT.error
  end
  local usage = e.kind == "invalid_argument" or (e.kind == "config" and from_flag(ctx, e))
  if ctx.flags.json then
    local fields = {}
    for k, v in pairs(e) do fields[k] = v end
    if e.kind == "config" or e.kind == "invalid_argument" then
      fields.message = values.in_flags(tostring(e.message or ""), ctx.given)
    end
    ctx.err(seekrflow.json_encode({ error = fields }) .. "\n")
  else
    local message = tostring(e)
    if e.kind == "config" or e.kind == "invalid_argument" then
      message = "seekrflow " .. ctx.name .. ": " .. values.in_flags(tostring(e.message or message), ctx.given)
    else
      -- the transport's hints name the option; the server's own words are left alone
      message = message:gsub("an http:// base_url", "an http:// " .. (ctx.given["--base-url"] and "--base-url"
        or "SEEKR_BASE_URL"))
    end
    ctx.err(safe(message) .. "\n")
    if (e.kind == "config" or e.class == "unauthorized") and about_key(e) then
      ctx.err("Set SEEKR_API_KEY (or pass --api-key) to a valid SeekrFlow API key.\n")
    end
  end
  if usage then return EXIT.usage end
  if e.kind == "config" or e.class == "unauthorized" or e.class == "forbidden" then return EXIT.auth end
  return EXIT.error
end

uploads.setup { usage_error = usage_error }
follow.setup { EXIT = EXIT, WATCH_EXIT = WATCH_EXIT }

--- Adds a command. def: summary (one line for seekrflow --help), description, epilog?,
--- build(cmd) declaring its arguments and flags on the lua-argparse command (targets
--- become ctx.flags fields: --max-interval -> ctx.flags.max_interval), and run(ctx)
--- returning an exit code. Called for each command below, before the parser is built.
---@param name string
---@param def table
function commands.define(name, def)
  def.name = name
  commands.list[name] = def
  commands.ordered[#commands.ordered + 1] = def
end
local define = commands.define

-- ---- what several commands share: flags, and how their output ends ----

local JOB_TYPES = { "principle_files", "context_grounded_files", "context_grounded_vector_db" }

local function job_argument(cmd)
  cmd:argument("job", "A data job id (dj-…)."):argname("JOB")
end

local function type_option(cmd, help)
  return cmd:option("--type", help):argname("TYPE"):choices(JOB_TYPES)
end

local function timeout_option(cmd, what)
  cmd:option("-t --timeout", ("Give up waiting %s after this long (exit 6)."):format(what))
    :argname("DURATION"):convert(values.duration("--timeout"))
end

local UNTIL_HELP = "Stop at these statuses, comma-separated (default: ready_to_start, needs_review, "
  .. "completed, failed, cancelled, stopped)."

--- How a watch polls and when it stops: --until, --interval, --max-interval.
local function watch_options(cmd)
  cmd:option("--until", UNTIL_HELP):argname("STATUS,…"):convert(function(list_text)
    local list = {}
    for part in list_text:gmatch("[^,%s]+") do list[#list + 1] = part end
    if #list == 0 then return nil, "give at least one status" end
    return list
  end)
  cmd:option("--interval", "First poll interval (default 1s); it backs off while nothing changes.")
    :argname("DURATION"):convert(values.duration("--interval"))
  cmd:option("--max-interval", "Longest poll interval (default 10s)."):argname("DURATION")
    :convert(values.duration("--max-interval"))
end

--- The flags of a command that can go on to follow the job: `flag` ("-w --watch") saying
--- what it follows, then --timeout and the watch's own options.
local function then_watch_options(cmd, flag, help)
  cmd:flag(flag, help .. " (exit codes of seekrflow watch).")
  timeout_option(cmd, ("(with %s)"):format(flag:match("%-%-%S+")))
  watch_options(cmd)
end

--- The watch's options from the flags of any command that follows a job.
local function follow_options(f)
  return { until_statuses = f["until"], timeout = f.timeout or f.timeout_after, min_interval = f.interval,
    max_interval = f.max_interval }
end

--- The end of most commands: `value` as JSON with --json, else the line `line`; exit 0.
local function done(ctx, value, line)
  if ctx.flags.json then ctx.json(value) else ctx.print(line) end
  return EXIT.ok
end

--- A job acted on, as one line: "cancelled dj-…  name  (status)".
local function job_line(verb, job)
  return ("%s %s  %s  (%s)"):format(verb, safe(job.id), safe(job.name or ""), safe(job.status or "?"))
end

--- The end of a command that acted on a job: the job as JSON, or its line; exit 0.
local function print_job(ctx, job, verb)
  return done(ctx, job, job_line(verb, job))
end

--- The end of a command that goes on to follow job `id` (--watch, --wait): its line (not
--- with --json, where the watch's events say it all), then the watch's exit code.
local function then_watch(ctx, id, line, opts)
  if not ctx.flags.json then ctx.print(line) end
  return follow.run(ctx, id, opts or follow_options(ctx.flags))
end

--- The end of a command that shows a list: `value` as JSON with --json; else a table with a
--- row for each step of the iterator (view.row makes its cells, made terminal-safe here; a
--- missing one shows as "-"), or the line view.empty when there is none.
local function show_list(ctx, value, view, each, state, start)
  if ctx.flags.json then
    ctx.json(value)
    return EXIT.ok
  end
  local rows = {}
  for a, b, c, d in each, state, start do
    local cells = view.row(a, b, c, d)
    for col = 1, #view.headers do cells[col] = cells[col] ~= nil and safe(cells[col]) or nil end
    rows[#rows + 1] = cells
  end
  if #rows == 0 then
    ctx.print(view.empty)
  else
    ctx.table(view.headers, rows)
  end
  return EXIT.ok
end

-- ---- list ----

local JOBS = {
  headers = { "ID", "STATUS", "TYPE", "CREATED", "NAME" }, empty = "no data jobs",
  row = function(_, job)
    return { job.id, job.status, job.job_type, type(job.created_at) == "string" and job.created_at:sub(1, 19) or nil,
      job.name }
  end,
}

define("list", {
  summary = "List data jobs.",
  description = "List data jobs, newest first.",
  build = function(cmd)
    type_option(cmd, "Only jobs of this type.")
    cmd:option("--sort", "Sort by name, created_at (default) or job_type."):argname("FIELD")
      :choices({ "name", "created_at", "job_type" })
    cmd:option("--order", "asc or desc (default)."):choices({ "asc", "desc" })
    cmd:option("-l --limit", "1-100 (default 25); with --all, the page size."):argname("N")
      :convert(values.integer("--limit", 1, 100))
    cmd:option("--offset", "Skip this many jobs."):argname("N"):convert(values.integer("--offset", 0))
    cmd:flag("-a --all", "Every job, page after page.")
  end,
  run = function(ctx)
    local f = ctx.flags
    local params = { job_type = f.type, sort_by = f.sort, sort_order = f.order, limit = f.limit, offset = f.offset }
    local jobs = {}
    if f.all then
      for job in ctx.client().data_jobs:iter(params) do jobs[#jobs + 1] = job end
    else
      jobs = ctx.client().data_jobs:list(params).data or {}
    end
    return show_list(ctx, array(jobs), JOBS, ipairs(jobs))
  end,
})

-- ---- show, files, timeline, report ----

local function status_exit(detail)
  local s = detail.status
  if s == "needs_review" then return EXIT.needs_review end
  if s == "failed" or s == "cancelled" or s == "stopped" then return EXIT.failed end
  return EXIT.ok
end

define("show", {
  summary = "A job's status, files and alignment.",
  description = "A job's status, files, ingestion and alignment. Exits 0 whatever the job's state; "
    .. "with --exit-status, 3 when it needs review and 5 when its alignment failed or was cancelled.",
  build = function(cmd)
    job_argument(cmd)
    cmd:flag("--exit-status", "Exit 3 on needs_review, 5 on failed or cancelled alignment.")
  end,
  run = function(ctx)
    local detail = ctx.client().data_jobs:retrieve(ctx.flags.job)
    local code = ctx.flags.exit_status and status_exit(detail) or EXIT.ok
    if ctx.flags.json then
      ctx.json(detail)
      return code
    end
    local live = require "seekrflow.cli.live"
    -- "elapsed" means nothing for a snapshot: it shows when the job was created instead
    for _, line in ipairs(live.frame(live.view_of(detail), ctx.paint, { created = tostring(detail.created_at) })) do
      ctx.print(line)
    end
    ctx.print(("  type %s%s"):format(safe(detail.job_type),
      detail.system_prompt and "" or ctx.paint("yellow", "   (no system prompt)")))
    return code
  end,
})

local detail_fns = require "seekrflow.detail"

--- Shows the list `view.field` of the job's detail (view.each walks it).
local function show_detail_list(ctx, view)
  local detail = ctx.client().data_jobs:retrieve(ctx.flags.job)
  return show_list(ctx, detail[view.field] or array(), view, view.each(detail))
end

local FILES = {
  field = "files", each = detail_fns.each_file, empty = "no files attached",
  headers = { "FILE ID", "NAME", "TYPE", "STATUS", "SIZE", "FIX" },
  row = function(file, record, _, status)
    -- the file's status as seekrflow.detail decides it (each_file's 4th value; Markdown needs
    -- no ingestion)
    if record == nil and detail_fns.is_markdown(file) then status = "ready (Markdown)" end
    return { file.file_id, file.name, file.type, status, text.bytes(file.bytes),
      record and record.suggested_fix or file.suggested_fix }
  end,
}

define("files", {
  summary = "The files attached to a job.",
  description = "The files attached to a job, with their ingestion status.",
  build = job_argument,
  run = function(ctx) return show_detail_list(ctx, FILES) end,
})

local EVENTS = {
  field = "timeline", each = detail_fns.each_event, empty = "no events",
  headers = { "TIME", "EVENT", "MESSAGE" },
  row = function(event)
    return { type(event.timestamp) == "string" and event.timestamp:sub(1, 19) or nil, event.event_type,
      event.message }
  end,
}

-- timeline --chart and report: the job as a picture (cli/chart.lua runs them)
local cli_chart = require "seekrflow.cli.chart"

define("timeline", {
  summary = "A job's timeline events.",
  description = "A job's timeline events, oldest first. With --chart, the job as a picture: one row per file "
    .. "from queued to running to done or failed on a time axis, the alignment, the events and a summary.",
  build = function(cmd)
    job_argument(cmd)
    cmd:flag("--chart", "Draw the job's files, alignment and events on a time axis.")
    cmd:option("--rows", ("With --chart: at most this many file rows; more files are grouped (default %d).")
      :format(cli_chart.DEFAULT_ROWS)):argname("N"):convert(values.integer("--rows", 1, 10000))
  end,
  run = function(ctx)
    if ctx.flags.chart then return cli_chart.timeline(ctx) end
    return show_detail_list(ctx, EVENTS)
  end,
})

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

-- ---- failures ----

define("failures", {
  summary = "What failed, why, and how to fix it.",
  description = "Only what failed: one line of cause and fix per file, grouped by cause, what blocks "
    .. "alignment, and what to do next. Exits 0 when nothing failed and the job is not blocked, 3 when it "
    .. "needs review. With --all, the same for every job that needs review.",
  build = function(cmd)
    cmd:argument("job", "A data job id (dj-…)."):argname("JOB"):args("?")
    cmd:flag("-a --all", "Every job that needs review or has failed files (the 100 most recent).")
    type_option(cmd, "With --all: only jobs of this type.")
  end,
  run = function(ctx)
    local f = ctx.flags
    if f.all then
      if f.job then usage_error("give a JOB id or --all, not both") end
      return require("seekrflow.cli.many").failures(ctx, { job_type = f.type })
    end
    if not f.job then usage_error("give a JOB id (or --all)") end
    if f.type then usage_error("--type goes with --all") end
    local summary = require "seekrflow.summary"
    local detail = ctx.client().data_jobs:retrieve(f.job)
    local s = summary.of(detail)
    if f.json then
      ctx.json(s)
    else
      ctx.write(summary.render(s, { color = ctx.color, width = ctx.width }))
    end
    require("seekrflow.cli.ci").report(ctx, s)
    return (#s.failed > 0 or detail.status == "needs_review") and EXIT.needs_review or status_exit(detail)
  end,
})

-- ---- watch ----

define("watch", {
  summary = "Follow jobs live until they are ready, need review or end.",
  description = "Follow a job until it is ready to start, needs review, or its alignment ends. On a "
    .. "terminal the view is redrawn in place; otherwise one line is printed per change; with --json one "
    .. "event per line. At the end the failure summary is printed, if anything failed. With several JOBs, "
    .. "or --all for every job still moving, one row per job.",
  epilog = "Exit codes: 0 ready or completed, 3 needs review, 5 failed or cancelled, 6 timed out, "
    .. "130 interrupted, 1 an error; with several jobs, the worst of them (130, 4, 1, 5, 6, 3, 0).",
  build = function(cmd)
    cmd:argument("jobs", "Data job ids (dj-…)."):argname("JOB"):args("*")
    cmd:flag("-a --all", "Every job of the team (or personal space) that has not reached a final state.")
    type_option(cmd, "With --all: only jobs of this type.")
    cmd:option("--concurrency", "With several jobs: requests in flight at once (default 4)."):argname("N")
      :convert(values.integer("--concurrency", 1, 8))
    watch_options(cmd)
    timeout_option(cmd, "")
    -- the old name of --timeout, kept working for scripts
    cmd:option("--timeout-after"):argname("DURATION"):convert(values.duration("--timeout-after")):hidden(true)
  end,
  run = function(ctx)
    local f = ctx.flags
    if f.all and #f.jobs > 0 then usage_error("give JOB ids or --all, not both") end
    if not f.all and #f.jobs == 0 then usage_error("give a JOB id (or several, or --all)") end
    if f.type and not f.all then usage_error("--type goes with --all") end
    if #f.jobs == 1 then return follow.run(ctx, f.jobs[1], follow_options(f)) end
    local opts = follow_options(f)
    opts.concurrency = f.concurrency
    return require("seekrflow.cli.many").watch(ctx, f.all and { all = true, job_type = f.type } or f.jobs, opts)
  end,
})

-- ---- create, update, start, cancel, delete, outputs ----

--- The job's fields that create and update set, from their flags.
local function job_fields(f)
  return { name = f.name, system_prompt = f.system_prompt, instructions = f.instructions,
    vector_database_id = f.vector_db }
end

define("create", {
  summary = "Create a data job.",
  description = "Create a data job and print its id. With --upload, upload documents and attach them "
    .. "too; with --watch, then follow the ingestion like seekrflow watch.",
  build = function(cmd)
    cmd:option("-n --name", "The job's name."):argname("NAME"):count(1)
    type_option(cmd, "The job type."):count(1)
    cmd:option("--system-prompt", "System prompt (principle_files jobs need one)."):argname("TEXT")
    cmd:option("--instructions", "Instructions."):argname("TEXT")
    cmd:option("--vector-db", "Vector database id."):argname("ID")
    cmd:option("-u --upload", "Upload these documents and attach them."):argname("PATH"):args("+"):count("*")
    cmd:option("--method", "Ingestion method for the uploads (default: the server's)."):argname("METHOD")
    then_watch_options(cmd, "-w --watch", "Follow the job after creating it")
  end,
  run = function(ctx)
    local f = ctx.flags
    local paths = uploads.paths(f.upload)
    uploads.check_paths(paths)
    local client = ctx.client()
    local fields = job_fields(f)
    fields.job_type = f.type
    local job = client.data_jobs:create(fields)
    if #paths > 0 then
      local attached, err = pcall(function()
        local ids = {}
        for _, file in ipairs(uploads(ctx, paths)) do ids[#ids + 1] = file.id end
        job = client.data_jobs:add_files(job.id, { file_ids = ids, method = f.method })
      end)
      if not attached then
        -- the job exists: say which, so a retry does not make a second one
        ctx.err(("seekrflow create: data job %s was created, but attaching the documents failed "
          .. "(retry with seekrflow add-files %s --upload …):\n"):format(safe(job.id), safe(job.id)))
        error(err, 0)
      end
    end
    if f.watch then return then_watch(ctx, job.id, "created " .. safe(job.id)) end
    return done(ctx, job, safe(job.id))
  end,
})

define("update", {
  summary = "Change a job's name, prompt, instructions or vector database.",
  description = "Change a job's name, system prompt, instructions or vector database.",
  build = function(cmd)
    job_argument(cmd)
    cmd:option("-n --name", "New name."):argname("NAME")
    cmd:option("--system-prompt", "New system prompt."):argname("TEXT")
    cmd:option("--instructions", "New instructions."):argname("TEXT")
    cmd:option("--vector-db", "New vector database id."):argname("ID")
  end,
  run = function(ctx)
    local changes = job_fields(ctx.flags)
    if next(changes) == nil then
      usage_error("nothing to change: give --name, --system-prompt, --instructions or --vector-db")
    end
    return print_job(ctx, ctx.client().data_jobs:update(ctx.flags.job, changes), "updated")
  end,
})

define("start", {
  summary = "Start alignment.",
  description = "Start alignment. The job must be ready_to_start. With --watch, follow it to the end.",
  build = function(cmd)
    job_argument(cmd)
    then_watch_options(cmd, "-w --watch", "Follow the alignment until it ends")
  end,
  run = function(ctx)
    local job = ctx.client().data_jobs:start(ctx.flags.job)
    if not ctx.flags.watch then return print_job(ctx, job, "started") end
    local opts = follow_options(ctx.flags)
    opts.until_statuses = opts.until_statuses or { "completed", "failed", "cancelled", "stopped" }
    return then_watch(ctx, ctx.flags.job, job_line("started", job), opts)
  end,
})

define("cancel", {
  summary = "Cancel alignment.",
  description = "Cancel the job's alignment.",
  build = job_argument,
  run = function(ctx) return print_job(ctx, ctx.client().data_jobs:cancel(ctx.flags.job), "cancelled") end,
})

define("delete", {
  summary = "Delete a job.",
  description = "Delete a data job. This cannot be undone.",
  build = job_argument,
  run = function(ctx)
    local id = ctx.flags.job
    ctx.client().data_jobs:delete(id)
    return done(ctx, { id = id, deleted = true }, "deleted " .. safe(id))
  end,
})

local OUTPUTS = {
  headers = { "ID", "FILENAME", "PURPOSE", "TYPE", "SIZE" }, empty = "no outputs yet",
  row = function(_, o) return { o.id, o.filename, o.purpose, o.file_type, text.bytes(o.bytes) } end,
}

define("outputs", {
  summary = "The alignment's output files.",
  description = "The alignment's output files (use the fine-tune one to fine-tune).",
  build = job_argument,
  run = function(ctx)
    local outputs = ctx.client().data_jobs:outputs(ctx.flags.job)
    return show_list(ctx, outputs, OUTPUTS, ipairs(outputs))
  end,
})

define("download", {
  summary = "Download the alignment's output files.",
  description = "Download the alignment's output files (seekrflow outputs) into a folder, each under "
    .. "its own name (a file of that name is replaced, only once the download is complete). Prints the "
    .. "path of each file saved, one per line; on a terminal, each file as it arrives.",
  build = function(cmd)
    job_argument(cmd)
    cmd:option("-d --dir", "The folder to save into (default: the current one); it must exist."):argname("DIR")
      :default(".")
  end,
  run = function(ctx)
    local dir = ctx.flags.dir
    local probe = io.open(dir .. "/.", "r")
    if not probe then usage_error(("--dir %q is not an existing folder"):format(dir)) end
    probe:close()
    local client = ctx.client()
    local outputs = client.data_jobs:outputs(ctx.flags.job)
    if #outputs == 0 then return done(ctx, array(), OUTPUTS.empty) end
    local saved, taken = {}, {}
    for i, o in ipairs(outputs) do
      local name = uploads.local_name(o.filename, o.id)
      -- two outputs of one name keep both: the second gets its id in front
      if taken[name] then name = uploads.local_name(o.id .. "-" .. name, o.id) end
      taken[name] = true
      local path = dir:gsub("/+$", "") .. "/" .. name -- "out/" gives out/name, not out//name
      if ctx.isatty and not ctx.flags.json then
        ctx.write(("[%d/%d] %s …"):format(i, #outputs, safe(name)))
      end
      local result = client.files:download(o.id, path)
      saved[#saved + 1] = { id = o.id, filename = o.filename, purpose = o.purpose, path = path,
        bytes = result.bytes }
      -- with --json, one array at the end
      if ctx.isatty and not ctx.flags.json then
        ctx.print((" %s  %s"):format(text.bytes(result.bytes), ctx.paint("green", "✓")))
      elseif not ctx.flags.json then
        ctx.print(safe(path))
      end
    end
    if ctx.flags.json then ctx.json(array(saved)) end
    return EXIT.ok
  end,
})

-- ---- files: upload, add-files, remove-files ----

define("upload", {
  summary = "Upload documents, print their file ids.",
  description = "Upload documents and print one file id per line, ready for seekrflow add-files: "
    .. "ids=$(seekrflow upload *.pdf) then seekrflow add-files \"$JOB\" $ids. On a terminal (or with "
    .. "--table) a table of ids, names and sizes instead.",
  build = function(cmd)
    cmd:argument("paths", "Documents to upload."):argname("PATH"):args("+")
    cmd:option("--purpose", "File purpose (default: alignment)."):argname("PURPOSE")
    cmd:flag("--table", "Print a table (id, name, size) even into a pipe.")
  end,
  run = function(ctx)
    local paths = ctx.flags.paths
    uploads.check_paths(paths)
    local uploaded = uploads(ctx, paths, ctx.flags.purpose)
    if ctx.flags.json or ctx.flags.table or ctx.isatty then
      return show_list(ctx, array(uploaded), {
        headers = { "FILE ID", "NAME", "SIZE" },
        row = function(i, file) return { file.id, file.filename or paths[i], text.bytes(file.bytes) } end,
      }, ipairs(uploaded))
    end
    for _, file in ipairs(uploaded) do ctx.print(safe(file.id)) end
    return EXIT.ok
  end,
})

--- The failed files of a job that add-files --retry-failed or remove-files --failed act on: the
--- job's detail, its failure summary, and the ids of its plan `kind` ("retry", "remove").
local function remedy_plan(ctx, id, kind)
  local before = ctx.client().data_jobs:retrieve(id)
  local s = require("seekrflow.summary").of(before)
  return before, s, s.plan[kind] or {}
end

--- Failed files by name and id, as "a.pdf (file-…), file-…".
local function names_of(s, ids)
  local by_id = {}
  for _, entry in ipairs(s.failed) do by_id[entry.file_id] = entry.filename end
  local parts = {}
  for _, id in ipairs(ids) do
    parts[#parts + 1] = by_id[id] and ("%s (%s)"):format(safe(by_id[id]), safe(id)) or safe(id)
  end
  return table.concat(parts, ", ")
end

define("add-files", {
  summary = "Attach files to a job (ingestion starts).",
  description = "Attach files to a job; ingestion starts for everything but Markdown. FILE_IDs are ids "
    .. "printed by seekrflow upload (file-…), never paths: use --upload for documents on disk.",
  build = function(cmd)
    job_argument(cmd)
    cmd:argument("file_ids", "Ids of uploaded files."):argname("FILE_ID"):args("*")
    cmd:option("-u --upload", "Upload these documents first and attach them."):argname("PATH"):args("+")
      :count("*")
    cmd:option("--method", "Ingestion method (default: the server's, \"best\")."):argname("METHOD")
    cmd:flag("--retry-failed", "Attach again the files whose failure was transient.")
    then_watch_options(cmd, "-w --wait", "Wait until ingestion ends")
  end,
  run = function(ctx)
    local f = ctx.flags
    local id = f.job
    local detail, line
    if f.retry_failed then
      if #f.file_ids > 0 or #uploads.paths(f.upload) > 0 then
        usage_error("--retry-failed attaches the failed files again: give no FILE_ID or --upload with it")
      end
      local before, s, retry = remedy_plan(ctx, id, "retry")
      if #retry == 0 then
        return done(ctx, { id = before.id, retried = array() }, ("nothing to retry: no file of %s failed for a "
          .. "reason a retry can fix%s"):format(safe(id), #s.failed > 0 and " (see seekrflow failures "
          .. safe(id) .. ")" or ""))
      end
      detail = require("seekrflow.remediate").retry(ctx.client(), before)
      line = ("re-added %d %s to %s: %s"):format(#retry, text.plural(#retry, "file", "files"), safe(id),
        names_of(s, retry))
    else
      uploads.check_ids(f.file_ids)
      local paths = uploads.paths(f.upload)
      uploads.check_paths(paths)
      local ids = {}
      for _, file_id in ipairs(f.file_ids) do ids[#ids + 1] = file_id end
      if #ids == 0 and #paths == 0 then usage_error("give at least one FILE_ID or --upload PATH...") end
      for _, file in ipairs(uploads(ctx, paths)) do ids[#ids + 1] = file.id end
      detail = ctx.client().data_jobs:add_files(id, { file_ids = ids, method = f.method })
      line = job_line("files added to", detail)
    end
    if f.wait then return then_watch(ctx, id, line) end
    return done(ctx, detail, line)
  end,
})

define("remove-files", {
  summary = "Detach files from a job (--failed: every failed file).",
  description = "Detach files from a job. --failed detaches every file whose ingestion failed, which is "
    .. "how a job in needs_review usually becomes ready_to_start.",
  build = function(cmd)
    job_argument(cmd)
    cmd:argument("file_ids", "Ids of attached files."):argname("FILE_ID"):args("*")
    cmd:flag("--failed", "Detach every file whose ingestion failed.")
  end,
  run = function(ctx)
    local f = ctx.flags
    local id = f.job
    if f.failed then
      if #f.file_ids > 0 then usage_error("--failed detaches the failed files: give no FILE_ID with it") end
      local before, s, removed = remedy_plan(ctx, id, "remove")
      if #removed == 0 then
        return done(ctx, { id = before.id, removed = array() }, ("nothing to remove: no failed files in %s")
          :format(safe(id)))
      end
      local detail = require("seekrflow.remediate").remove_failed(ctx.client(), before)
      return done(ctx, detail, ("removed %d failed %s from %s: %s\n  now %s"):format(#removed,
        text.plural(#removed, "file", "files"), safe(id), names_of(s, removed), safe(detail.status)))
    end
    if #f.file_ids == 0 then usage_error("give at least one FILE_ID (or --failed)") end
    uploads.check_ids(f.file_ids)
    return print_job(ctx, ctx.client().data_jobs:remove_files(id, f.file_ids), "files removed from")
  end,
})

-- ---- version, completion, sim ----

define("version", {
  summary = "Print the version.",
  description = "Print the version of seekrflow, the Lua it runs on, libcurl and the TLS library.",
  run = function(ctx)
    return done(ctx, { version = seekrflow._VERSION, lua = seekrflow.built_for, curl = seekrflow.curl_version,
      tls = seekrflow.tls_backend }, ("seekrflow %s (%s, libcurl %s, %s)"):format(seekrflow._VERSION,
      seekrflow.built_for, seekrflow.curl_version, seekrflow.tls_backend))
  end,
})

define("help", {
  summary = "Help for a command.",
  description = "Help for seekrflow or one of its commands.",
  build = function(cmd)
    cmd:argument("topic", "A command."):argname("COMMAND"):args("?")
  end,
  run = function(ctx)
    local topic = ctx.flags.topic
    local parser = ctx.parser
    if topic ~= nil then
      local def = commands.list[topic]
      if not def then usage_error(("no command %q: see seekrflow --help"):format(topic)) end
      parser = def.parser
    end
    ctx.write(parser:get_help() .. "\n")
    return EXIT.ok
  end,
})

define("completion", {
  summary = "Print a shell completion script (bash, zsh or fish).",
  description = "Print the completion script for a shell. Installed with make install and the rock; "
    .. "to try it: source <(seekrflow completion bash).",
  build = function(cmd)
    cmd:argument("shell", "The shell."):choices({ "bash", "zsh", "fish" })
  end,
  run = function(ctx)
    local parser = ctx.parser
    local script = ({ bash = parser.get_bash_complete, zsh = parser.get_zsh_complete,
      fish = parser.get_fish_complete })[ctx.flags.shell](parser)
    ctx.write(script)
    return EXIT.ok
  end,
})

define("sim", {
  raw_args = true,
  summary = "Run the local simulator (seekrflow sim --help).",
  description = "Run the local SeekrFlow simulator; its flags are those of seekrflow-sim.",
  run = function(io_)
    local ok, sim = pcall(require, "seekrflow.sim")
    if not ok then
      io_.err("seekrflow sim needs LuaSocket (Debian: apt-get install lua-socket): " .. tostring(sim) .. "\n")
      return EXIT.error
    end
    local code = sim.main(io_.argv)
    return type(code) == "number" and code or EXIT.ok
  end,
})

return commands
