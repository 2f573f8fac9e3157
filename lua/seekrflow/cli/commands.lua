--- The subcommands of `seekrflow`. Each takes a context (flags, positionals,
--- output functions, a lazily made client) and returns an exit code.
local seekrflow = require "seekrflow"
local core = require "seekrflow.core"
local render = require "seekrflow.cli.render"
local live = require "seekrflow.cli.live"

local commands = { list = {} }

local EXIT = {
  ok = 0, error = 1, usage = 2, needs_review = 3, auth = 4, failed = 5, timed_out = 6, interrupted = 130,
}
commands.EXIT = EXIT

-- Exit codes for each reason a watch ends.
local WATCH_EXIT = {
  reached = EXIT.ok, needs_review = EXIT.needs_review, failed = EXIT.failed, cancelled = EXIT.failed,
  timed_out = EXIT.timed_out, interrupted = EXIT.interrupted, error = EXIT.error,
}

--- A usage error raised inside a command, turned into exit code 2.
local function usage_error(message)
  error({ usage_error = message }, 0)
end

function commands.context(flags, positionals, io_)
  local ctx = { flags = flags, positionals = positionals, write = io_.write, err = io_.err, name = io_.name }
  local isatty = io_.isatty
  if isatty == nil then isatty = core.isatty(1) end
  ctx.isatty = isatty
  ctx.columns = io_.columns or (isatty and core.terminal_size(1)) or 100
  ctx.color = isatty and not flags["no-color"] and (os.getenv("NO_COLOR") or "") == "" and not flags.json
  ctx.paint = render.painter(ctx.color)
  function ctx.print(line) ctx.write((line or "") .. "\n") end
  function ctx.json(value) ctx.write(seekrflow.json_encode(value) .. "\n") end
  function ctx.client()
    if not ctx._client then
      local opts = {}
      if flags["api-key"] then opts.api_key = flags["api-key"] end
      if flags["base-url"] then opts.base_url = flags["base-url"] end
      if flags.team then opts.team_id = flags.team end
      if flags.timeout then opts.timeout = flags.timeout end
      if flags.debug then opts.debug = true end
      ctx._client = seekrflow.new(opts)
    end
    return ctx._client
  end
  return ctx
end

--- Runs a command, mapping errors to messages and exit codes.
function commands.run(command, ctx)
  local ok, result = xpcall(function() return command.run(ctx) end, function(e)
    if type(e) == "table" then return e end
    if type(e) == "string" and e:find("interrupted!", 1, true) then return { interrupted = true } end
    return { internal = debug.traceback(tostring(e), 2) }
  end)
  if ctx._client then ctx._client:close() end
  if ok then return result or EXIT.ok end
  local e = result
  if e.usage_error then
    ctx.err(("seekrflow %s: %s\n\n%s"):format(ctx.name, e.usage_error, command.usage))
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
  if ctx.flags.json then
    local fields = {}
    for k, v in pairs(e) do fields[k] = v end
    ctx.err(seekrflow.json_encode({ error = fields }) .. "\n")
  else
    ctx.err(tostring(e) .. "\n")
    if e.kind == "config" or e.class == "unauthorized" then
      ctx.err("Set SEEKR_API_KEY (or pass --api-key) to a valid SeekrFlow API key.\n")
    end
  end
  if e.kind == "config" or e.class == "unauthorized" or e.class == "forbidden" then return EXIT.auth end
  if e.kind == "invalid_argument" then return EXIT.usage end
  return EXIT.error
end

local function need(ctx, n, what)
  if #ctx.positionals < n then usage_error("missing " .. what) end
  return ctx.positionals[n]
end

local function no_extra(ctx, n)
  if #ctx.positionals > n then usage_error(("unexpected argument %q"):format(ctx.positionals[n + 1])) end
end

local function define(name, def)
  commands.list[name] = def
end

-- ---- list ----

define("list", {
  usage = [[
Usage: seekrflow list [--type TYPE] [--sort FIELD] [--order asc|desc] [--limit N] [--offset N] [--all]

List data jobs, newest first.
  --type    principle_files, context_grounded_files or context_grounded_vector_db
  --sort    name, created_at (default) or job_type
  --order   asc or desc (default)
  --limit   1-100 (default 25); with --all, the page size
  --all     every job, page after page
]],
  flags = { type = { kind = "string" }, sort = { kind = "string" }, order = { kind = "string" },
            limit = { kind = "number" }, offset = { kind = "number" }, all = { kind = "boolean" } },
  run = function(ctx)
    no_extra(ctx, 0)
    local f = ctx.flags
    local params = { job_type = f.type, sort_by = f.sort, sort_order = f.order, limit = f.limit, offset = f.offset }
    local jobs = {}
    if f.all then
      for job in ctx.client().data_jobs:iter(params) do jobs[#jobs + 1] = job end
    else
      jobs = ctx.client().data_jobs:list(params).data
    end
    if f.json then
      ctx.json(setmetatable(jobs, seekrflow.array_mt))
      return EXIT.ok
    end
    if #jobs == 0 then
      ctx.print("no data jobs")
      return EXIT.ok
    end
    local rows = {}
    for _, job in ipairs(jobs) do
      rows[#rows + 1] = { job.id, job.status, job.job_type, job.created_at and job.created_at:sub(1, 19), job.name }
    end
    render.table(ctx.print, { "ID", "STATUS", "TYPE", "CREATED", "NAME" }, rows, ctx.isatty and ctx.columns or nil)
    return EXIT.ok
  end,
})

-- ---- show, files, timeline ----

local function status_exit(detail)
  local s = detail.status
  if s == "needs_review" then return EXIT.needs_review end
  if s == "failed" or s == "cancelled" or s == "stopped" then return EXIT.failed end
  return EXIT.ok
end

define("show", {
  usage = [[
Usage: seekrflow show JOB

A job's status, files, ingestion and alignment. Exits 3 when it needs review,
5 when its alignment failed or was cancelled.
]],
  run = function(ctx)
    local id = need(ctx, 1, "JOB (a data job id)")
    no_extra(ctx, 1)
    local detail = ctx.client().data_jobs:retrieve(id)
    if ctx.flags.json then
      ctx.json(detail)
      return status_exit(detail)
    end
    local lines = live.frame(detail, { elapsed = 0 }, ctx.paint)
    -- "elapsed" means nothing for a snapshot: show when it was created instead
    lines[2] = lines[2]:gsub("   elapsed %S+$", "   created " .. tostring(detail.created_at))
    for _, line in ipairs(lines) do ctx.print(line) end
    ctx.print(("  type %s%s"):format(detail.job_type,
      detail.system_prompt and "" or ctx.paint("yellow", "   (no system prompt)")))
    return status_exit(detail)
  end,
})

--- A command that prints one list inside a job's detail as a table.
local function define_detail_list(name, def)
  define(name, {
    usage = def.usage,
    run = function(ctx)
      local id = need(ctx, 1, "JOB (a data job id)")
      no_extra(ctx, 1)
      local detail = ctx.client().data_jobs:retrieve(id)
      if ctx.flags.json then
        ctx.json(detail[def.field] or setmetatable({}, seekrflow.array_mt))
        return EXIT.ok
      end
      local rows = {}
      for item in detail[def.each](detail) do rows[#rows + 1] = def.row(item) end
      if #rows == 0 then
        ctx.print(def.empty)
        return EXIT.ok
      end
      render.table(ctx.print, def.headers, rows, ctx.isatty and ctx.columns or nil)
      return EXIT.ok
    end,
  })
end

define_detail_list("files", {
  usage = "Usage: seekrflow files JOB\n\nThe files attached to a job, with their ingestion status.\n",
  field = "files", each = "each_file", empty = "no files attached",
  headers = { "FILE ID", "NAME", "TYPE", "STATUS", "SIZE", "FIX" },
  row = function(file)
    return { file.file_id, file.name, file.type, file.status or (file.record_id == nil and "ready"),
      render.bytes(file.bytes), file.suggested_fix }
  end,
})

define_detail_list("timeline", {
  usage = "Usage: seekrflow timeline JOB\n\nA job's timeline events, oldest first.\n",
  field = "timeline", each = "each_event", empty = "no events",
  headers = { "TIME", "EVENT", "MESSAGE" },
  row = function(event)
    return { event.timestamp and event.timestamp:sub(1, 19), event.event_type, event.message }
  end,
})

-- ---- failures ----

define("failures", {
  usage = [[
Usage: seekrflow failures JOB

Only what failed: one line of cause and fix per file, grouped by cause, what
blocks alignment, and what to do next. Exits 0 when nothing failed and the job
is not blocked, 3 when it needs review.
]],
  run = function(ctx)
    local summary = require "seekrflow.summary"
    local id = need(ctx, 1, "JOB (a data job id)")
    no_extra(ctx, 1)
    local detail = ctx.client().data_jobs:retrieve(id)
    local s = summary.of(detail)
    if ctx.flags.json then
      ctx.json(s)
    else
      ctx.write(summary.render(s, { color = ctx.color, width = ctx.isatty and ctx.columns or nil }))
    end
    return (#s.failed > 0 or detail.status == "needs_review") and EXIT.needs_review or status_exit(detail)
  end,
})

-- ---- watch ----

define("watch", {
  usage = [[
Usage: seekrflow watch JOB [--until STATUS,…] [--timeout-after SECONDS] [--interval S] [--max-interval S]

Follow a job until it is ready to start, needs review, or its alignment ends.
On a terminal the view is redrawn in place; otherwise one line is printed per
change. At the end the failure summary is printed, if anything failed.

  --until           stop at these statuses (default: ready_to_start, needs_review,
                    completed, failed, cancelled, stopped)
  --timeout-after   give up after this many seconds (exit 6)
  --interval        first poll interval in seconds (default 1); it backs off
  --max-interval    longest poll interval (default 10) while nothing changes

Exit codes: 0 ready or completed, 3 needs review, 5 failed or cancelled,
6 timed out, 130 interrupted, 1 an error.
]],
  flags = { ["until"] = { kind = "list" }, ["timeout-after"] = { kind = "number" },
            interval = { kind = "number" }, ["max-interval"] = { kind = "number" } },
  run = function(ctx)
    local watch = require "seekrflow.watch"
    local summary = require "seekrflow.summary"
    local id = need(ctx, 1, "JOB (a data job id)")
    no_extra(ctx, 1)
    local f = ctx.flags
    local client = ctx.client()
    local started = seekrflow.monotonic()
    local state = { elapsed = 0, running_since = {} }
    local latest
    local view
    if f.json then
      view = nil
    elseif ctx.isatty then
      view = live.terminal(ctx.write, ctx.paint, ctx.columns)
    else
      view = live.lines(ctx.write, ctx.paint)
    end

    local function refresh()
      state.now = seekrflow.monotonic()
      state.elapsed = state.now - started
      if view and view.draw and latest then view:draw(latest, state) end
    end

    -- Events of the first poll describe the state as found, history included;
    -- line mode shows them as one snapshot, then only what changes.
    local first_poll_time, snapshot_pending = nil, true
    local function flush_snapshot()
      if snapshot_pending and view and view.snapshot and latest then view:snapshot(latest, state) end
      snapshot_pending = false
    end

    local function on_event(event, detail)
      latest = detail or latest
      if first_poll_time == nil then first_poll_time = event.time end
      if view and view.snapshot and snapshot_pending then
        if event.time == first_poll_time and event.type ~= "poll_error" then return end
        flush_snapshot()
      end
      state.elapsed = seekrflow.monotonic() - started
      local record = event.record
      if record and record.status == "running" and not state.running_since[record.record_id] then
        state.running_since[record.record_id] = seekrflow.monotonic()
      end
      if event.type == "timeline" then
        state.last_event = event.event.event_type .. " — " .. (event.event.message or "")
      elseif event.type == "poll_error" then
        state.note = ("could not reach the server; retrying in %.0f s"):format(event.delay or 0)
      elseif event.type == "job_status" then
        state.note = nil
      end
      if f.json then
        ctx.json(event)
      elseif view.event then
        view:event(event, state)
      end
    end

    local function sleep(seconds)
      flush_snapshot()
      -- sleep in short slices so the terminal view's clock keeps ticking
      local deadline = seekrflow.monotonic() + seconds
      refresh()
      while true do
        local left = deadline - seekrflow.monotonic()
        if left <= 0 then return end
        seekrflow.sleep(math.min(left, ctx.isatty and 1 or left))
        refresh()
      end
    end

    local result = watch.wait(client, id, {
      until_statuses = f["until"], timeout = f["timeout-after"],
      min_interval = f.interval, max_interval = f["max-interval"],
      on_event = on_event, sleep = sleep,
    })
    latest = result.detail or latest
    flush_snapshot()
    refresh()
    if f.json then
      ctx.json({ type = "result", reason = result.reason, status = latest and latest.status, error = result.error,
        polls = result.polls, elapsed = result.elapsed })
      return WATCH_EXIT[result.reason] or EXIT.error
    end
    local paint = ctx.paint
    ctx.print("")
    local verdicts = {
      reached = paint("green", "✓ " .. tostring(latest and latest.status)),
      needs_review = paint("yellow", "! needs review"),
      failed = paint("red", "✗ alignment failed"),
      cancelled = paint("red", "✗ cancelled"),
      timed_out = paint("yellow", "… still " .. tostring(latest and latest.status) .. " after the time limit"),
      interrupted = "interrupted",
      error = paint("red", "✗ " .. tostring(result.error)),
    }
    ctx.print(("%s  (%s, %d polls)"):format(verdicts[result.reason] or result.reason,
      render.duration(result.elapsed), result.polls or 0))
    if latest then
      local s = summary.of(latest)
      if #s.failed > 0 or result.reason == "needs_review" then
        ctx.print("")
        ctx.write(summary.render(s, { color = ctx.color, width = ctx.isatty and ctx.columns or nil }))
      end
    end
    if result.reason == "error" and result.error and (result.error.class == "unauthorized"
        or result.error.class == "forbidden") then
      return EXIT.auth
    end
    return WATCH_EXIT[result.reason] or EXIT.error
  end,
})

-- ---- create, update, start, cancel, delete, outputs ----

local function print_job(ctx, job, verb)
  if ctx.flags.json then
    ctx.json(job)
  else
    ctx.print(("%s %s  %s  (%s)"):format(verb, job.id, job.name or "", job.status or "?"))
  end
end

define("create", {
  usage = [[
Usage: seekrflow create --name NAME --type TYPE [--system-prompt TEXT] [--instructions TEXT] [--vector-db ID]

Create a data job and print its id. TYPE is principle_files,
context_grounded_files or context_grounded_vector_db.
]],
  flags = { name = { kind = "string" }, type = { kind = "string" }, ["system-prompt"] = { kind = "string" },
            instructions = { kind = "string" }, ["vector-db"] = { kind = "string" } },
  run = function(ctx)
    no_extra(ctx, 0)
    local f = ctx.flags
    if not f.name then usage_error("--name is required") end
    if not f.type then usage_error("--type is required") end
    local job = ctx.client().data_jobs:create { name = f.name, job_type = f.type,
      system_prompt = f["system-prompt"], instructions = f.instructions, vector_database_id = f["vector-db"] }
    if ctx.flags.json then ctx.json(job) else ctx.print(job.id) end
    return EXIT.ok
  end,
})

define("update", {
  usage = [[
Usage: seekrflow update JOB [--name NAME] [--system-prompt TEXT] [--instructions TEXT] [--vector-db ID]
]],
  flags = { name = { kind = "string" }, ["system-prompt"] = { kind = "string" },
            instructions = { kind = "string" }, ["vector-db"] = { kind = "string" } },
  run = function(ctx)
    local id = need(ctx, 1, "JOB (a data job id)")
    no_extra(ctx, 1)
    local f = ctx.flags
    if not (f.name or f["system-prompt"] or f.instructions or f["vector-db"]) then
      usage_error("nothing to change: give --name, --system-prompt, --instructions or --vector-db")
    end
    local job = ctx.client().data_jobs:update(id, { name = f.name, system_prompt = f["system-prompt"],
      instructions = f.instructions, vector_database_id = f["vector-db"] })
    print_job(ctx, job, "updated")
    return EXIT.ok
  end,
})

local function simple(name, method, verb, help)
  define(name, {
    usage = ("Usage: seekrflow %s JOB\n\n%s\n"):format(name, help),
    run = function(ctx)
      local id = need(ctx, 1, "JOB (a data job id)")
      no_extra(ctx, 1)
      local job = ctx.client().data_jobs[method](ctx.client().data_jobs, id)
      print_job(ctx, job, verb)
      return EXIT.ok
    end,
  })
end
simple("start", "start", "started", "Start alignment. The job must be ready_to_start.")
simple("cancel", "cancel", "cancelled", "Cancel the job's alignment.")

define("delete", {
  usage = "Usage: seekrflow delete JOB\n\nDelete a data job. This cannot be undone.\n",
  run = function(ctx)
    local id = need(ctx, 1, "JOB (a data job id)")
    no_extra(ctx, 1)
    ctx.client().data_jobs:delete(id)
    if ctx.flags.json then ctx.json({ id = id, deleted = true }) else ctx.print("deleted " .. id) end
    return EXIT.ok
  end,
})

define("outputs", {
  usage = "Usage: seekrflow outputs JOB\n\nThe alignment's output files (use the fine-tune one to fine-tune).\n",
  run = function(ctx)
    local id = need(ctx, 1, "JOB (a data job id)")
    no_extra(ctx, 1)
    local outputs = ctx.client().data_jobs:outputs(id)
    if ctx.flags.json then ctx.json(outputs) return EXIT.ok end
    if #outputs == 0 then ctx.print("no outputs yet") return EXIT.ok end
    local rows = {}
    for _, o in ipairs(outputs) do
      rows[#rows + 1] = { o.id, o.filename, o.purpose, o.file_type, render.bytes(o.bytes) }
    end
    render.table(ctx.print, { "ID", "FILENAME", "PURPOSE", "TYPE", "SIZE" }, rows, ctx.isatty and ctx.columns or nil)
    return EXIT.ok
  end,
})

-- ---- files: upload, add-files, remove-files ----

define("upload", {
  usage = [[
Usage: seekrflow upload PATH... [--purpose PURPOSE]

Upload documents (PDF, DOCX, DOC, PPT, PPTX, Markdown) and print one file id
per line, ready for `seekrflow add-files`. PURPOSE defaults to alignment.
]],
  flags = { purpose = { kind = "string" } },
  run = function(ctx)
    need(ctx, 1, "PATH (a file to upload)")
    local uploaded = {}
    for _, path in ipairs(ctx.positionals) do
      local file = ctx.client().files:upload(path, { purpose = ctx.flags.purpose })
      uploaded[#uploaded + 1] = file
      if not ctx.flags.json then ctx.print(file.id .. "\t" .. (file.filename or path)) end
    end
    if ctx.flags.json then ctx.json(setmetatable(uploaded, seekrflow.array_mt)) end
    return EXIT.ok
  end,
})

define("add-files", {
  usage = [[
Usage: seekrflow add-files JOB FILE_ID... [--upload PATH]... [--method METHOD]
       seekrflow add-files JOB --retry-failed

Attach files to a job; ingestion starts for everything but Markdown.
  --upload PATH     upload a document first and attach it (repeatable)
  --method          ingestion method (default: the server's, "best")
  --retry-failed    attach again the files whose failure was transient
]],
  flags = { upload = { kind = "list" }, method = { kind = "string" }, ["retry-failed"] = { kind = "boolean" } },
  run = function(ctx)
    local id = need(ctx, 1, "JOB (a data job id)")
    local client = ctx.client()
    local detail
    if ctx.flags["retry-failed"] then
      no_extra(ctx, 1)
      detail = require("seekrflow.remediate").retry(client, id)
    else
      local ids = {}
      for i = 2, #ctx.positionals do ids[#ids + 1] = ctx.positionals[i] end
      for _, path in ipairs(ctx.flags.upload or {}) do ids[#ids + 1] = client.files:upload(path).id end
      if #ids == 0 then usage_error("give at least one FILE_ID or --upload PATH") end
      detail = client.data_jobs:add_files(id, { file_ids = ids, method = ctx.flags.method })
    end
    print_job(ctx, detail, "files added to")
    return EXIT.ok
  end,
})

define("remove-files", {
  usage = [[
Usage: seekrflow remove-files JOB FILE_ID...
       seekrflow remove-files JOB --failed

Detach files from a job. --failed detaches every file whose ingestion failed,
which is how a job in needs_review usually becomes ready_to_start.
]],
  flags = { failed = { kind = "boolean" } },
  run = function(ctx)
    local id = need(ctx, 1, "JOB (a data job id)")
    local detail
    if ctx.flags.failed then
      no_extra(ctx, 1)
      detail = require("seekrflow.remediate").remove_failed(ctx.client(), id)
    else
      need(ctx, 2, "FILE_ID (or --failed)")
      local ids = {}
      for i = 2, #ctx.positionals do ids[#ids + 1] = ctx.positionals[i] end
      detail = ctx.client().data_jobs:remove_files(id, ids)
    end
    print_job(ctx, detail, "files removed from")
    return EXIT.ok
  end,
})

-- ---- sim ----

define("sim", {
  raw_args = true,
  usage = "Usage: seekrflow sim [simulator flags]   (see seekrflow sim --help)\n",
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
