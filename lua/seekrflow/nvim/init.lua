--- seekrflow.nvim: SeekrFlow data jobs inside Neovim, without ever blocking it.
---
---     require("seekrflow.nvim").setup {
---       api_key = "…",          -- default: $SEEKR_API_KEY
---       base_url = "…",         -- default: $SEEKR_BASE_URL, then https://flow.seekr.com/v1
---     }
---
--- Commands (made by setup):
---   :SeekrflowWatch {job_id}    follow a job live in a small float; notify at the end and
---                               put the failed files in the quickfix list
---   :SeekrflowWatchStop         stop following
---   :SeekrflowJobs [limit]      list the newest jobs in a scratch buffer
---   :SeekrflowFailures {job_id} the failed files in the quickfix list, then :copen
---
--- Every request goes through one seekrflow.luv driver on Neovim's own loop
--- (vim.loop), made on the first command. Setup does no I/O and loads no C;
--- it only appends this checkout's build/luajit/?.so to package.cpath, where
--- `make LUA=luajit` (a plugin manager's build step) puts the core.
--- Errors are notified at ERROR level with the error's message: no traceback,
--- never the API key.
local M = {}

local quickfix = require "seekrflow.nvim.quickfix"
local text_util = require "seekrflow.text"
local options = require "seekrflow.options"

---@class seekrflow.nvim.Options
---@field api_key string? default: $SEEKR_API_KEY (read when the first command runs)
---@field base_url string? default: $SEEKR_BASE_URL, then https://flow.seekr.com/v1
---@field team_id string? default: $SEEKR_TEAM_ID
---@field ca_file string? a CA bundle (PEM) to trust instead of the system's
---@field notify boolean? notify when a watch starts and ends; errors are always notified; default true
---@field float boolean? show a watch's progress in a floating window; default true
---@field float_linger number? seconds the float stays after a watch ends; default 4
---@field watch table? seekrflow.watch options: timeout, min_interval, max_interval, backoff,
---                    max_poll_errors, until_statuses
---@field client table? more seekrflow.new options (timeout, max_retries, ca_path, …)

local OPTION_TYPES = {
  api_key = "string", base_url = "string", team_id = "string", ca_file = "string",
  notify = "boolean", float = "boolean", float_linger = options.number_at_least(0, true),
  watch = "table", client = "table",
}
-- the seekrflow.watch options the plugin passes on (its own on_event, sleep
-- and clock are set by the driver)
local WATCH_OPTIONS = {
  timeout = true, min_interval = true, max_interval = true, backoff = true,
  max_poll_errors = true, until_statuses = true,
}

local LEVELS = vim.log.levels

-- One plugin state per Neovim: the resolved options, the driver (lazily), the
-- running watch, floats still on screen, and a generation that close() bumps
-- so that callbacks already scheduled by then do nothing.
local state = {
  config = nil, driver = nil, watch = nil, floats = {}, generation = 0, jobs = nil,
}

local function copy(t)
  local out = {}
  for k, v in pairs(t or {}) do out[k] = v end
  return out
end

-- The API key in effect, only to scrub it from anything shown.
local function effective_key()
  local cfg = state.config or {}
  local key = cfg.api_key or (cfg.client and cfg.client.api_key) or os.getenv("SEEKR_API_KEY")
  if type(key) == "string" and key ~= "" then return key end
  return nil
end

local function redact(text)
  local key = effective_key()
  if not key then return text end
  local out, from = {}, 1
  while true do
    local s, e = text:find(key, from, true)
    if not s then break end
    out[#out + 1] = text:sub(from, s - 1)
    out[#out + 1] = "[redacted]"
    from = e + 1
  end
  out[#out + 1] = text:sub(from)
  return table.concat(out)
end

local message_of = text_util.message_of

-- Main thread only. Errors always show; the rest only with notify = true.
local function notify(message, level)
  local cfg = state.config
  if level ~= LEVELS.ERROR and cfg and cfg.notify == false then return end
  -- messages quote server text (names, status messages, errors): neutralised here, once
  vim.notify(redact("seekrflow: " .. text_util.terminal_safe(message, true)), level, { title = "seekrflow" })
end

local function notify_error(prefix, err)
  local text = message_of(err)
  notify(prefix and (prefix .. ": " .. text) or text, LEVELS.ERROR)
end

-- Runs fn on the main thread later, unless close() or setup() came in between.
local function later(fn)
  local generation = state.generation
  vim.schedule(function()
    if state.generation ~= generation then return end
    local ok, err = pcall(fn)
    if not ok then notify_error("internal error", err) end
  end)
end

local function client_options(cfg)
  local o = copy(cfg.client)
  for _, name in ipairs({ "api_key", "base_url", "team_id", "ca_file" }) do
    if cfg[name] ~= nil then o[name] = cfg[name] end
  end
  return o
end

--- The options seekrflow.new gets (including the API key: never show them).
--- For :checkhealth; nil before setup.
---@return table?
function M._client_options()
  if not state.config then return nil end
  return client_options(state.config)
end

--- The options setup resolved (a copy), or nil before setup.
---@return seekrflow.nvim.Options?
function M.config()
  if not state.config then return nil end
  return copy(state.config)
end

--- require "seekrflow", without Lua 5.1's memory of a failure: there a failed
--- require leaves a marker that turns every later attempt into "loop or previous
--- error loading module", even once the core has been built. Raises the loader's
--- message (which says how to rebuild) on failure.
---@return table seekrflow
function M._require_core()
  local function forget_failures()
    for name, value in pairs(package.loaded) do
      if type(name) == "string" and name:find("^seekrflow") and type(value) ~= "table" then
        package.loaded[name] = nil
      end
    end
  end
  forget_failures() -- left by an earlier require that failed
  local ok, seekrflow = pcall(require, "seekrflow")
  if ok then return seekrflow end
  forget_failures()
  error(seekrflow, 0)
end

-- The driver, made on first use. Raises a structured error (no key, a core
-- built for another Lua, …) that the command wrapper notifies.
local function driver()
  if state.driver and not state.driver.closed then return state.driver end
  if not state.config then
    error({ message = "call require(\"seekrflow.nvim\").setup() first" }, 0)
  end
  local seekrflow = M._require_core()
  local client = seekrflow.new(client_options(state.config))
  state.driver = require("seekrflow.luv").new(client, {
    uv = vim.loop,
    -- an error raised inside one of our callbacks: show it, once we may
    on_error = function(err) later(function() notify_error("internal error", err) end) end,
  })
  return state.driver
end

local unpack = rawget(table, "unpack") or unpack -- 5.1 and LuaJIT: the global

-- Calls fn; an error it raises becomes an ERROR notification (and nil).
local function protect(fn, ...)
  local results = { pcall(fn, ...) }
  if not results[1] then
    notify_error(nil, results[2])
    return nil
  end
  return unpack(results, 2, table.maxn(results))
end

-- fn wrapped by protect, for commands and mappings.
local function guarded(fn)
  return function(...) return protect(fn, ...) end
end

local function job_id_of(text)
  local id = vim.trim(text or "")
  if id == "" then error({ message = "give a data job id, e.g. :SeekrflowWatch dj-…" }, 0) end
  return id
end

-- ---------------------------------------------------------------------------
-- floats
-- ---------------------------------------------------------------------------

local function close_float(f)
  if f then
    f:close()
    state.floats[f] = nil
  end
end

local function close_floats()
  for f in pairs(state.floats) do f:close() end
  state.floats = {}
end

-- ---------------------------------------------------------------------------
-- watch
-- ---------------------------------------------------------------------------

local function render(w)
  if w.float then w.float:update(w.progress:lines()) end
end

-- From a luv callback: one render per burst of events, on the main thread.
local function request_render(w)
  if w.render_pending then return end
  w.render_pending = true
  later(function()
    w.render_pending = false
    if not w.stopped then render(w) end
  end)
end

local function plural(n, one, many)
  return ("%d %s"):format(n, text_util.plural(n, one, many))
end

local END_TEXT = {
  reached = { "%s is %s", LEVELS.INFO },
  needs_review = { "%s needs review (%s)", LEVELS.WARN },
  failed = { "%s: alignment ended as %s", LEVELS.ERROR },
  cancelled = { "%s was cancelled (status %s)", LEVELS.WARN },
  timed_out = { "stopped watching %s: timed out (status %s)", LEVELS.WARN },
}

local function stop_ticking(w)
  local timer = w.ticker
  w.ticker = nil
  if timer and not timer:is_closing() then
    timer:stop()
    timer:close()
  end
end

-- Redraws once a second, so the elapsed time moves while nothing changes.
local function start_ticking(w)
  if not w.float then return end
  w.ticker = vim.loop.new_timer()
  w.ticker:start(1000, 1000, function() request_render(w) end)
end

local function finish_watch(w, result, err)
  if w.stopped or state.watch ~= w then return end
  state.watch = nil
  w.stopped = true
  stop_ticking(w)
  w.progress:finish(result, err)
  render(w)
  if w.float then
    local f = w.float
    vim.defer_fn(function() close_float(f) end, math.floor((state.config.float_linger or 4) * 1000))
  end

  local failed = {}
  if result and type(result.detail) == "table" then
    local ok, s = pcall(require("seekrflow.summary").of, result.detail)
    if ok and type(s.failed) == "table" then failed = s.failed end
  end
  local note = ""
  if #failed > 0 then
    quickfix.set(w.job_id, failed)
    note = (". %s in the quickfix list (:copen)"):format(plural(#failed, "failed file is", "failed files are"))
  end

  if not result then return notify_error("watching " .. w.job_id, err) end
  local status = result.detail and result.detail.status or "unknown"
  if result.reason == "error" then
    return notify(("watching %s failed: %s%s"):format(w.job_id, message_of(result.error), note), LEVELS.ERROR)
  end
  if result.reason == "interrupted" then return end
  local text = END_TEXT[result.reason] or { "%s: %s", LEVELS.INFO }
  local message = text[1]:format(w.job_id, status)
  local detail_message = result.detail and result.detail.status_message
  if result.reason == "needs_review" and type(detail_message) == "string" then
    message = ("%s needs review: %s"):format(w.job_id, (detail_message:gsub("%.%s*$", "")))
  end
  -- a failed file is worth a warning even when the job went on without it
  local level = text[2]
  if #failed > 0 and level == LEVELS.INFO then level = LEVELS.WARN end
  notify(message .. note, level)
end

local function stop_watch(quiet)
  local w = state.watch
  if not w then
    if not quiet then notify("no watch is running", LEVELS.INFO) end
    return false
  end
  state.watch = nil
  w.stopped = true
  stop_ticking(w)
  w.task:cancel()
  close_float(w.float)
  if not quiet then notify("stopped watching " .. w.job_id, LEVELS.INFO) end
  return true
end

local function watch_job(job_id)
  local d = driver()
  stop_watch(true)
  close_floats()
  local cfg = state.config
  ---@class seekrflow.nvim.Watch
  local w = {
    job_id = job_id,
    progress = require("seekrflow.nvim.progress").new(job_id),
    stopped = false,
  }
  if cfg.float ~= false then
    w.float = require("seekrflow.nvim.float").new()
    state.floats[w.float] = true
  end
  local opts = copy(cfg.watch)
  opts.on_event = function(event, detail)
    w.progress:update(event, detail)
    request_render(w)
  end
  state.watch = w
  local ok, task = pcall(d.watch, d, job_id, opts, function(result, err)
    later(function() finish_watch(w, result, err) end)
  end)
  if not ok then
    state.watch = nil
    w.stopped = true
    close_float(w.float)
    error(task, 0)
  end
  w.task = task
  start_ticking(w)
  render(w)
  notify("watching " .. job_id, LEVELS.INFO)
end

--- Stops the running watch; nothing of it fires afterwards.
---@param quiet boolean? do not notify
---@return boolean? stopped false when nothing was being watched
function M.stop(quiet) return protect(stop_watch, quiet) end

--- The job being watched, or nil (for a statusline, say).
---@return string?
function M.watching()
  return state.watch and state.watch.job_id or nil
end

--- Watches a job live (replacing any running watch): progress in a float,
--- a notification at the end, failed files in the quickfix list.
---@param job_id string
function M.watch(job_id) return protect(watch_job, job_id) end

-- ---------------------------------------------------------------------------
-- failures
-- ---------------------------------------------------------------------------

local function failures(job_id, on_done)
  local d = driver()
  d:send(d.client.data_jobs:retrieve(job_id, { async = true }), function(detail, err)
    later(function()
      if detail == nil then
        notify_error(job_id, err)
        if on_done then on_done(nil) end
        return
      end
      local failed = require("seekrflow.summary").of(detail).failed
      if #failed == 0 then
        notify(("nothing failed in %s (status %s)"):format(job_id, tostring(detail.status)), LEVELS.INFO)
      else
        quickfix.set(job_id, failed)
        vim.cmd("copen")
      end
      if on_done then on_done(#failed) end
    end)
  end)
end

--- Fetches a job and puts its failed files in the quickfix list, then :copen.
---@param job_id string
---@param on_done fun(count: integer?)? called after (count nil on error)
function M.failures(job_id, on_done) return protect(failures, job_id, on_done) end

-- ---------------------------------------------------------------------------
-- jobs
-- ---------------------------------------------------------------------------

local JOBS_BUFFER = "seekrflow://jobs"

local function jobs_lines(jobs)
  local safe = text_util.terminal_safe
  local rows, ids = {}, {}
  for _, job in ipairs(jobs) do
    if type(job) == "table" then
      rows[#rows + 1] = { safe(job.id or "?"), safe(job.status or "?"), safe(job.job_type or "?"), safe(job.name) }
      ids[#rows + 1] = type(job.id) == "string" and job.id or nil -- line n + 1 of the buffer
    end
  end
  local lines = text_util.table({ "id", "status", "type", "name" }, rows)
  if #rows == 0 then lines[2] = "(no data jobs)" end
  return lines, ids
end

local function jobs_buffer()
  local buf = state.jobs
  if buf and vim.api.nvim_buf_is_valid(buf) then return buf end
  buf = vim.api.nvim_create_buf(false, true)
  pcall(vim.api.nvim_buf_set_name, buf, JOBS_BUFFER) -- taken by a buffer of an earlier list: no name
  vim.api.nvim_buf_set_option(buf, "bufhidden", "wipe")
  vim.api.nvim_buf_set_option(buf, "filetype", "seekrflow-jobs")
  local function id_here()
    return (state.job_ids or {})[vim.api.nvim_win_get_cursor(0)[1]]
  end
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, desc = "close the job list" })
  vim.keymap.set("n", "<CR>", guarded(function()
    local id = id_here()
    if id then M.watch(id) end
  end), { buffer = buf, desc = "watch the job under the cursor" })
  vim.keymap.set("n", "f", guarded(function()
    local id = id_here()
    if id then M.failures(id) end
  end), { buffer = buf, desc = "failed files of the job under the cursor" })
  state.jobs = buf
  return buf
end

local function show_jobs(jobs)
  local lines, ids = jobs_lines(jobs)
  local buf = jobs_buffer()
  vim.api.nvim_buf_set_option(buf, "modifiable", true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(buf, "modifiable", false)
  state.job_ids = ids
  if vim.fn.bufwinid(buf) == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, buf)
    vim.api.nvim_win_set_height(0, math.min(#lines, 15))
  end
  return buf
end

local function list_jobs(limit, on_done)
  local d = driver()
  local request = d.client.data_jobs:list(
    { sort_by = "created_at", sort_order = "desc", limit = limit or 20 }, { async = true })
  d:send(request, function(page, err)
    later(function()
      if page == nil then
        notify_error("listing jobs", err)
        if on_done then on_done(nil) end
        return
      end
      local buf = show_jobs(type(page.data) == "table" and page.data or {})
      if on_done then on_done(buf) end
    end)
  end)
end

--- Lists the newest jobs in a scratch buffer (<CR> watches, f shows failures, q closes).
---@param limit integer? 1–100, default 20
---@param on_done fun(buf: integer?)? called after (nil on error)
function M.jobs(limit, on_done) return protect(list_jobs, limit, on_done) end

-- ---------------------------------------------------------------------------
-- setup and teardown
-- ---------------------------------------------------------------------------

--- Cancels everything in flight, closes the driver (and its client) and the
--- floats. Commands stay defined; the next one makes a new driver.
function M.close()
  state.generation = state.generation + 1
  local w = state.watch
  state.watch = nil
  if w then
    w.stopped = true
    stop_ticking(w)
  end
  close_floats()
  local d = state.driver
  state.driver = nil
  if d then pcall(d.close, d) end
end

-- Checked without the C core (setup loads none): plain string errors,
-- pointing at the caller of setup.
local function check_options(opts)
  local problem = options.problem(opts, OPTION_TYPES)
  if problem then error("seekrflow.nvim.setup: " .. problem, 3) end
  if opts == nil then opts = {} end
  for name in pairs(opts.watch or {}) do
    if not WATCH_OPTIONS[name] then
      error("seekrflow.nvim.setup: " .. options.unknown(name, WATCH_OPTIONS, "watch option"), 3)
    end
  end
  local cfg = copy(opts)
  cfg.watch, cfg.client = copy(opts.watch), copy(opts.client)
  if cfg.notify == nil then cfg.notify = true end
  if cfg.float == nil then cfg.float = true end
  if cfg.float_linger == nil then cfg.float_linger = 4 end
  return cfg
end

-- A checkout whose core was built with `make LUA=luajit` (a plugin manager's build
-- step) keeps it in build/luajit/, which is on no search path: let require find it
-- there, after everything already on package.cpath (an installed rock wins).
local function add_checkout_cpath()
  local source = debug.getinfo(1, "S").source
  if type(source) ~= "string" or source:sub(1, 1) ~= "@" then return end
  local root = source:sub(2):match("^(.-)[/\\]lua[/\\]seekrflow[/\\]nvim[/\\]init%.lua$")
  if not root or root == "" then return end
  local pattern = root .. "/build/luajit/?.so"
  if not package.cpath:find(pattern, 1, true) then package.cpath = package.cpath .. ";" .. pattern end
end

--- Defines the commands. No I/O: the client is made by the first command.
--- Calling it again closes the old driver and applies the new options.
---@param opts seekrflow.nvim.Options?
function M.setup(opts)
  local cfg = check_options(opts)
  M.close()
  state.config = cfg
  add_checkout_cpath()

  local create = vim.api.nvim_create_user_command
  create("SeekrflowWatch", guarded(function(args) M.watch(job_id_of(args.args)) end),
    { nargs = 1, force = true, desc = "seekrflow: watch a data job live" })
  create("SeekrflowWatchStop", guarded(function() M.stop() end),
    { nargs = 0, force = true, desc = "seekrflow: stop watching" })
  create("SeekrflowJobs", guarded(function(args)
    local limit = nil
    if args.args ~= "" then
      limit = tonumber(args.args)
      if not limit then error({ message = "usage: :SeekrflowJobs [limit 1-100]" }, 0) end
    end
    M.jobs(limit)
  end), { nargs = "?", force = true, desc = "seekrflow: list data jobs" })
  create("SeekrflowFailures", guarded(function(args) M.failures(job_id_of(args.args)) end),
    { nargs = 1, force = true, desc = "seekrflow: failed files of a data job into the quickfix list" })
  require("seekrflow.nvim.dashboard").register(M, driver, guarded)

  local group = vim.api.nvim_create_augroup("seekrflow", { clear = true })
  vim.api.nvim_create_autocmd("VimLeavePre", {
    group = group, desc = "seekrflow: close the client", callback = function() M.close() end,
  })
end

return M
