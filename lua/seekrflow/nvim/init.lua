--- seekrflow.nvim: SeekrFlow data jobs inside Neovim, without ever blocking it.
---
---     require("seekrflow.nvim").setup {   -- optional: the commands exist without it
---       api_key = "…",          -- default: $SEEKR_API_KEY
---       base_url = "…",         -- default: $SEEKR_BASE_URL, then https://flow.seekr.com/v1
---     }
---
--- Commands (defined by plugin/seekrflow.lua at startup, and by setup):
---   :SeekrflowWatch {job_id}       follow a job live in a float (several watches: stacked
---                                  floats); notify at the end, failed files to quickfix
---   :SeekrflowWatch {id} {id}… | --all [--type T], :SeekrflowDashboard [...]
---                                  several jobs in one live buffer (nvim/dashboard.lua)
---   :SeekrflowWatchStop [job_id]   stop following one job, or all
---   :SeekrflowJobs [limit]         the newest jobs in a scratch buffer, with keys to act
---   :SeekrflowFailures {job_id}    the failed files in the quickfix list, then :copen
---   :SeekrflowRetry / :SeekrflowRemoveFailed / :SeekrflowStart {job_id}
---                                  act on a job (each asks first, then reports)
--- Job ids complete from a list of recent jobs, refreshed in the background.
--- See :help seekrflow.
---
--- Every request goes through one seekrflow.luv driver on Neovim's own loop
--- (vim.loop), made on the first command. Neither loading this module nor
--- setup does I/O or loads C; setup only checks options. The driver's core is
--- looked up on package.cpath, then in this checkout's build/luajit/, where
--- `make LUA=luajit` (a plugin manager's build step) puts it.
--- Errors are notified at ERROR level with the error's message: no traceback,
--- never the API key. Server text is neutralised (seekrflow.text.terminal_safe).
local M = {}

local quickfix = require "seekrflow.nvim.quickfix"
local buffer = require "seekrflow.nvim.buffer"
local actions = require "seekrflow.nvim.actions"
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

-- How long a list of recent jobs serves completion before a refresh.
local RECENT_TTL = 30

local LEVELS = vim.log.levels

-- One plugin state per Neovim: the resolved options (setup's, or the
-- defaults), the driver (lazily), the running watches by job id (and their
-- order, for stacking floats), floats still on screen, the recent job ids for
-- completion, a generation that close() bumps so that callbacks already
-- scheduled by then do nothing, and what close() tells the views that follow
-- something on the driver (M._on_close).
local state = {
  config = nil, driver = nil, watches = {}, order = {}, floats = {}, generation = 0, jobs = nil,
  recent = { ids = {}, at = nil, loading = false }, on_close = {},
}

local function copy(t)
  local out = {}
  for k, v in pairs(t or {}) do out[k] = v end
  return out
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

-- setup()'s options, or the defaults when it was never called.
local function config()
  if not state.config then state.config = check_options(nil) end
  return state.config
end

-- The API key in effect, only to scrub it from anything shown.
local function effective_key()
  local cfg = state.config or {}
  local key = cfg.api_key or (cfg.client and cfg.client.api_key) or os.getenv("SEEKR_API_KEY")
  if type(key) == "string" and key ~= "" then return key end
  return nil
end

-- The key scrubbed from anything shown, by the core's one redaction function
-- (core.redact). Without the core loaded no server has answered, so the key
-- cannot have been echoed; should it appear anyway, nothing of the text is shown.
local function redact(text)
  local key = effective_key()
  if not key then return text end
  local core = package.loaded["seekrflow.core"] -- never loaded just for this
  if type(core) == "table" and type(core.redact) == "function" then return core.redact(text, key) end
  if text:find(key, 1, true) then return "seekrflow: a message was hidden because it contained the API key" end
  return text
end

local message_of = text_util.message_of

-- vim.notify as Neovim ships it writes to the message area: a message longer
-- than the room left there (or with a line break) stops the editor at a
-- hit-enter prompt. Through it, a message is one line that fits; a
-- replacement (nvim-notify, …) gets the whole text.
local function is_builtin_notify()
  local info = type(vim.notify) == "function" and debug.getinfo(vim.notify, "S") or nil
  local source = info and info.source or ""
  -- Neovim's own (vim/_editor.lua, or vim/shared.lua before 0.7), not a plugin's
  return source:find("[/@]vim/_editor%.lua$") ~= nil or source:find("[/@]vim/shared%.lua$") ~= nil
end

local function fit_message_area(message)
  if not is_builtin_notify() then return message end
  local room = tonumber(vim.v.echospace) or (vim.o.columns - 12)
  return text_util.clip((message:gsub("\n", " ")), math.max(room, 20))
end

-- Main thread only. Errors always show; the rest only with notify = true.
local function notify(message, level)
  if level ~= LEVELS.ERROR and config().notify == false then return end
  -- messages quote server text (names, status messages, errors): neutralised here, once
  local text = redact("seekrflow: " .. text_util.terminal_safe(message, true))
  vim.notify(fit_message_area(text), level, { title = "seekrflow" })
end

--- The plugin's one way to notify, for its views too (dashboard, timeline): `notify = false`
--- silences all but errors; the text is neutralised and the key scrubbed here.
M._notify = notify

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

--- The options seekrflow.new gets (including the API key: never show them):
--- setup's, or the defaults (the environment) without setup. For :checkhealth.
---@return table
function M._client_options()
  return client_options(config())
end

--- Whether setup() was called.
---@return boolean
function M._configured() return state.config ~= nil and state.config.from_setup == true end

--- The options setup resolved (a copy), or nil before setup.
---@return seekrflow.nvim.Options?
function M.config()
  if not M._configured() then return nil end
  local cfg = copy(state.config)
  cfg.from_setup = nil
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

--- require "seekrflow", without Lua 5.1's memory of a failure: there a failed
--- require leaves a marker that turns every later attempt into "loop or previous
--- error loading module", even once the core has been built. Raises the loader's
--- message (which says how to rebuild) on failure.
---@return table seekrflow
function M._require_core()
  add_checkout_cpath()
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
  local seekrflow = M._require_core()
  local client = seekrflow.new(client_options(config()))
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

local function job_ids_of(text)
  local ids = {}
  for id in (text or ""):gmatch("%S+") do ids[#ids + 1] = id end
  if #ids == 0 then
    error({ message = "give a data job id, e.g. :SeekrflowWatch dj-…" }, 0)
  end
  return ids
end

local function plural(n, one, many)
  return ("%d %s"):format(n, text_util.plural(n, one, many))
end

--- Asks a yes/no question (main thread); true for yes. Replaceable, e.g. by
--- tests or a UI plugin: require("seekrflow.nvim").confirm = function(question) … end
---@param question string
---@return boolean
function M.confirm(question)
  return vim.fn.confirm(question, "&Yes\n&No", 2) == 1
end

-- ---------------------------------------------------------------------------
-- recent jobs, for completion
-- ---------------------------------------------------------------------------

local function remember(ids)
  state.recent.ids, state.recent.at = ids, vim.loop.now() / 1000
end

local function remember_jobs(jobs)
  local ids = {}
  for _, job in ipairs(jobs) do
    if type(job) == "table" and type(job.id) == "string" then ids[#ids + 1] = job.id end
  end
  remember(ids)
end

-- Starts a background refresh of the recent list (one at a time); never raises.
local function refresh_recent()
  if state.recent.loading then return end
  local ok, d = pcall(driver)
  if not ok then return end
  state.recent.loading = true
  local ok_send = pcall(function()
    local request = d.client.data_jobs:list({ sort_by = "created_at", sort_order = "desc", limit = 50 },
      { async = true })
    d:send(request, function(page)
      state.recent.loading = false
      if type(page) == "table" and type(page.data) == "table" then remember_jobs(page.data) end
    end)
  end)
  if not ok_send then state.recent.loading = false end
end

--- Job ids for completion: the jobs being watched, then the most recent ones
--- (from the last list, refreshed in the background when older than 30 s).
---@param arglead string
---@return string[]
function M.complete_job_ids(arglead)
  local now = vim.loop.now() / 1000
  if state.recent.at == nil or now - state.recent.at > RECENT_TTL then refresh_recent() end
  local out, seen = {}, {}
  local function add(id)
    if not seen[id] and id:sub(1, #(arglead or "")) == (arglead or "") then
      seen[id] = true
      out[#out + 1] = id
    end
  end
  for _, id in ipairs(state.order) do add(id) end
  for _, id in ipairs(state.recent.ids) do add(id) end
  return out
end

-- Sets the failures list and maps the action keys in a quickfix window
-- already open (the FileType autocommand covers the ones opened later).
local function set_quickfix(job_id, failed)
  quickfix.set(job_id, failed)
  for _, info in ipairs(vim.fn.getwininfo()) do
    if info.quickfix == 1 and info.loclist == 0 then M._map_quickfix(info.bufnr) end
  end
end

-- ---------------------------------------------------------------------------
-- floats
-- ---------------------------------------------------------------------------

local float_order = {} -- floats on screen, top to bottom

local function restack()
  local kept, row = {}, 1
  for _, f in ipairs(float_order) do
    if state.floats[f] and not f.closed then
      kept[#kept + 1] = f
      f:move(row)
      row = row + f:height() + 2 -- its border
    end
  end
  float_order = kept
end

local function new_float()
  local f = require("seekrflow.nvim.float").new()
  state.floats[f] = true
  float_order[#float_order + 1] = f
  return f
end

local function close_float(f)
  if f then
    f:close()
    state.floats[f] = nil
    restack()
  end
end

local function close_floats()
  for f in pairs(state.floats) do f:close() end
  state.floats, float_order = {}, {}
end

-- ---------------------------------------------------------------------------
-- watch
-- ---------------------------------------------------------------------------

local function render(w)
  if w.float then
    local lines, marks = w.progress:lines()
    w.float:update(lines, marks)
    restack()
  end
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

local function forget_watch(w)
  state.watches[w.job_id] = nil
  for i, id in ipairs(state.order) do
    if id == w.job_id then
      table.remove(state.order, i)
      break
    end
  end
end

local function end_message(w, result, failed)
  local note = ""
  if #failed > 0 then
    note = (". %s in the quickfix list (:copen)"):format(plural(#failed, "failed file is", "failed files are"))
  end
  if result.reason == "error" then
    return ("watching %s failed: %s%s"):format(w.job_id, message_of(result.error), note), LEVELS.ERROR
  end
  local status = result.detail and result.detail.status or "unknown"
  local text = END_TEXT[result.reason] or { "%s: %s", LEVELS.INFO }
  local message = text[1]:format(w.job_id, tostring(status))
  local detail_message = result.detail and result.detail.status_message
  if result.reason == "needs_review" and type(detail_message) == "string" then
    message = ("%s needs review: %s"):format(w.job_id, (detail_message:gsub("%.%s*$", "")))
  end
  -- a failed file is worth a warning even when the job went on without it
  local level = text[2]
  if #failed > 0 and level == LEVELS.INFO then level = LEVELS.WARN end
  return message .. note, level
end

local function finish_watch(w, result, err)
  if w.stopped or state.watches[w.job_id] ~= w then return end
  forget_watch(w)
  w.stopped = true
  stop_ticking(w)
  -- the final frame first, and on screen before any message: never a stale frame
  w.progress:finish(result, err)
  render(w)
  pcall(vim.cmd, "redraw")
  if w.float then
    local f = w.float
    vim.defer_fn(function() close_float(f) end, math.floor((config().float_linger or 4) * 1000))
  end

  local failed = {}
  if result and type(result.detail) == "table" then
    local ok, s = pcall(require("seekrflow.summary").of, result.detail)
    if ok and type(s.failed) == "table" then failed = s.failed end
  end
  if #failed > 0 then set_quickfix(w.job_id, failed) end

  if not result then return notify_error("watching " .. w.job_id, err) end
  if result.reason == "interrupted" then return end
  notify(end_message(w, result, failed))
end

local function stop_one(w)
  forget_watch(w)
  w.stopped = true
  stop_ticking(w)
  if w.task then w.task:cancel() end
  close_float(w.float)
end

local function stop_watches(job_id, quiet)
  local targets = {}
  if job_id then
    if state.watches[job_id] then targets[1] = state.watches[job_id] end
  else
    for _, id in ipairs(state.order) do targets[#targets + 1] = state.watches[id] end
  end
  if #targets == 0 then
    if not quiet then
      notify(job_id and ("not watching " .. job_id) or "no watch is running", LEVELS.INFO)
    end
    return false
  end
  for _, w in ipairs(targets) do
    stop_one(w)
    if not quiet then notify("stopped watching " .. w.job_id, LEVELS.INFO) end
  end
  return true
end

local function watch_job(job_id)
  local d = driver()
  if state.watches[job_id] then stop_one(state.watches[job_id]) end
  local cfg = config()
  ---@class seekrflow.nvim.Watch
  local w = {
    job_id = job_id,
    progress = require("seekrflow.nvim.progress").new(job_id),
    stopped = false,
  }
  if cfg.float ~= false then w.float = new_float() end
  local opts = copy(cfg.watch)
  opts.on_event = function(event, detail)
    w.progress:update(event, detail)
    request_render(w)
  end
  state.watches[job_id] = w
  state.order[#state.order + 1] = job_id
  local ok, task = pcall(d.watch, d, job_id, opts, function(result, err)
    later(function() finish_watch(w, result, err) end)
  end)
  if not ok then
    forget_watch(w)
    w.stopped = true
    close_float(w.float)
    error(task, 0)
  end
  w.task = task
  start_ticking(w)
  render(w)
  notify("watching " .. job_id, LEVELS.INFO)
end

--- Stops watching job_id, or every watch without one; nothing of it fires afterwards.
---@param quiet_or_job_id boolean|string|nil a job id, or true: stop all without notifying
---@return boolean? stopped false when nothing was being watched
function M.stop(quiet_or_job_id)
  if type(quiet_or_job_id) == "string" then return protect(stop_watches, quiet_or_job_id, false) end
  return protect(stop_watches, nil, quiet_or_job_id == true)
end

--- The job being watched first (for a statusline, say), or nil; then the
--- list of every job being watched.
---@return string? first
---@return string[] all
function M.watching()
  return state.order[1], copy(state.order)
end

--- Watches jobs live, next to any already watched (watching a job again
--- restarts its watch): progress in a float each, a notification at the end,
--- failed files in the quickfix list.
---@param job_ids string|string[]
function M.watch(job_ids)
  if type(job_ids) ~= "table" then job_ids = { job_ids } end
  for _, id in ipairs(job_ids) do protect(watch_job, id) end
end

-- ---------------------------------------------------------------------------
-- failures
-- ---------------------------------------------------------------------------

-- Fetches a job's detail; then(detail) runs on the main thread. An error is
-- notified, and on_done(nil) called.
local function with_detail(job_id, on_done, next_step)
  local d = driver()
  d:send(d.client.data_jobs:retrieve(job_id, { async = true }), function(detail, err)
    later(function()
      if detail == nil then
        notify_error(job_id, err)
        if on_done then on_done(nil) end
        return
      end
      next_step(detail)
    end)
  end)
end

-- with_detail, with the detail's summary (seekrflow.summary.of) too.
local function with_summary(job_id, on_done, next_step)
  with_detail(job_id, on_done, function(detail) next_step(detail, require("seekrflow.summary").of(detail)) end)
end

local function failures(job_id, on_done)
  with_summary(job_id, on_done, function(detail, s)
    local failed = s.failed
    if #failed == 0 then
      notify(("nothing failed in %s (status %s)"):format(job_id, tostring(detail.status)), LEVELS.INFO)
    else
      set_quickfix(job_id, failed)
      vim.cmd("copen")
    end
    if on_done then on_done(#failed) end
  end)
end

--- Fetches a job and puts its failed files in the quickfix list, then :copen.
---@param job_id string
---@param on_done fun(count: integer?)? called after (count nil on error)
function M.failures(job_id, on_done) return protect(failures, job_id, on_done) end

-- ---------------------------------------------------------------------------
-- actions: retry, remove failed, start
-- ---------------------------------------------------------------------------

-- Sends requests one after the other (each a function returning an async
-- request); then(last_value) on the main thread, or the first error notified.
local function send_all(makers, what, on_done, then_step)
  local d = driver()
  local i, last = 0, nil
  local function step()
    i = i + 1
    if i > #makers then
      later(function() then_step(last) end)
      return
    end
    d:send(makers[i](d.client), function(value, err)
      if value == nil then
        later(function()
          notify_error(what, err)
          if on_done then on_done(nil) end
        end)
        return
      end
      last = value
      step()
    end)
  end
  step()
end

local function report(job_id, detail, did, on_done)
  notify(("%s %s: status now %s"):format(did, job_id, tostring(detail and detail.status or "unknown")), LEVELS.INFO)
  if on_done then on_done(detail) end
end

-- Says why nothing was sent; on_done(false).
local function nothing_sent(message, level, on_done)
  notify(message, level)
  if on_done then on_done(false) end
end

-- The end of every action: asks a.question; on yes sends a.makers (send_all, a.sending names
-- it in an error) and reports the new status after a.did; on no says a.action was cancelled.
local function ask_then_send(job_id, a, on_done)
  if not M.confirm(a.question) then
    return nothing_sent(a.action .. " cancelled: nothing sent", LEVELS.INFO, on_done)
  end
  send_all(a.makers, a.sending, on_done, function(new) report(job_id, new, a.did, on_done) end)
end

-- retry and remove_failed: the batches remediate plans for a detail, one request each, and
-- their words (%s: the job id; `question` and `did` take the file count, then the job id).
local BATCH_ACTIONS = {
  retry = { plan = "retry_batches", nothing = "nothing to retry in %s: no failure that a retry could fix",
    question = "Add %s of %s again?", action = "retry of %s", sending = "retrying in %s",
    did = { "added %s again to", "file", "files" },
    send = function(data_jobs, job_id, b)
      return data_jobs:add_files(job_id, { file_ids = b.file_ids, method = b.method }, { async = true })
    end },
  remove = { plan = "remove_batches", nothing = "nothing to remove from %s: no failed file",
    question = "Remove %s from %s?", action = "removal from %s", sending = "removing failed files from %s",
    did = { "removed %s from", "failed file", "failed files" },
    send = function(data_jobs, job_id, b) return data_jobs:remove_files(job_id, b.file_ids, { async = true }) end },
}

local function send_batches(name, job_id, on_done)
  local a = BATCH_ACTIONS[name]
  with_detail(job_id, on_done, function(detail)
    local count, makers = 0, {}
    for _, b in ipairs(require("seekrflow.remediate")[a.plan](detail)) do
      count = count + #b.file_ids
      makers[#makers + 1] = function(client) return a.send(client.data_jobs, job_id, b) end
    end
    if count == 0 then return nothing_sent(a.nothing:format(job_id), LEVELS.INFO, on_done) end
    ask_then_send(job_id, {
      question = a.question:format(plural(count, "failed file", "failed files"), job_id),
      action = a.action:format(job_id), makers = makers, sending = a.sending:format(job_id),
      did = a.did[1]:format(plural(count, a.did[2], a.did[3])),
    }, on_done)
  end)
end

local function retry_failed(job_id, on_done) send_batches("retry", job_id, on_done) end

local function remove_failed(job_id, on_done) send_batches("remove", job_id, on_done) end

local function start_job(job_id, on_done)
  with_summary(job_id, on_done, function(detail, s)
    if not s.can_start then
      local why = {}
      for _, b in ipairs(s.blockers) do why[#why + 1] = tostring(b.message) end
      if #why == 0 then why[1] = "its status is " .. tostring(detail.status) end
      return nothing_sent(("%s cannot start: %s"):format(job_id, table.concat(why, "; ")), LEVELS.WARN, on_done)
    end
    ask_then_send(job_id, {
      question = ("Start alignment of %s?"):format(job_id),
      action = "start of " .. job_id, sending = "starting " .. job_id,
      makers = { function(client) return client.data_jobs:start(job_id, { async = true }) end },
      did = "started",
    }, on_done)
  end)
end

--- Adds a job's transiently failed files again (remediate.retry_batches),
--- after asking; reports the new status. on_done(detail | false | nil).
---@param job_id string
---@param on_done fun(result: table|false|nil)? the new detail, false when nothing was sent, nil on error
function M.retry(job_id, on_done) return protect(retry_failed, job_id, on_done) end

--- Removes a job's failed files, after asking; reports the new status.
---@param job_id string
---@param on_done fun(result: table|false|nil)?
function M.remove_failed(job_id, on_done) return protect(remove_failed, job_id, on_done) end

--- Starts a job's alignment, after asking (or says why it cannot start).
---@param job_id string
---@param on_done fun(result: table|false|nil)?
function M.start(job_id, on_done) return protect(start_job, job_id, on_done) end

-- ---------------------------------------------------------------------------
-- jobs
-- ---------------------------------------------------------------------------

local JOBS_BUFFER = "seekrflow://jobs"
local JOBS_HINT = "<CR> watch · f failures · " .. actions.HINT .. " · q close"

local function jobs_lines(jobs)
  local safe = text_util.terminal_safe
  local rows, ids = {}, {}
  for _, job in ipairs(jobs) do
    if type(job) == "table" then
      rows[#rows + 1] = { safe(job.id or "?"), safe(job.status or "?"), safe(job.job_type or "?"), safe(job.name) }
      ids[#rows + 2] = type(job.id) == "string" and job.id or nil -- after the hint and the header
    end
  end
  local lines = text_util.table({ "id", "status", "type", "name" }, rows)
  table.insert(lines, 1, JOBS_HINT)
  if #rows == 0 then lines[3] = "(no data jobs)" end
  return lines, ids
end

local function jobs_buffer()
  local buf = state.jobs
  if buf and vim.api.nvim_buf_is_valid(buf) then return buf end
  buf = buffer.scratch(JOBS_BUFFER, "seekrflow-jobs")
  local function id_here()
    local line = vim.api.nvim_win_get_cursor(0)[1]
    local id = (state.job_ids or {})[line]
    if id then return id end
    return nil, line <= 2 and "no job on this line: move the cursor to a job's line first"
      or "no job id on this line"
  end
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, desc = "close the job list" })
  vim.keymap.set("n", "<CR>", actions.on_job(M, id_here, function(id) M.watch(id) end),
    { buffer = buf, desc = "watch the job under the cursor" })
  vim.keymap.set("n", "f", actions.on_job(M, id_here, function(id) M.failures(id) end),
    { buffer = buf, desc = "failed files of the job under the cursor" })
  actions.map(M, buf, id_here)
  state.jobs = buf
  return buf
end

local function show_jobs(jobs)
  local lines, ids = jobs_lines(jobs)
  local buf = jobs_buffer()
  buffer.set_lines(buf, lines)
  state.job_ids = ids
  local win, opened = buffer.show(buf)
  if opened then vim.api.nvim_win_set_height(win, math.min(#lines, 15)) end
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
      local jobs = type(page.data) == "table" and page.data or {}
      remember_jobs(jobs)
      local buf = show_jobs(jobs)
      if on_done then on_done(buf) end
    end)
  end)
end

--- Lists the newest jobs in a scratch buffer (<CR> watches, f shows failures,
--- r retries, x removes failed files, s starts, q closes).
---@param limit integer? 1–100, default 20
---@param on_done fun(buf: integer?)? called after (nil on error)
function M.jobs(limit, on_done) return protect(list_jobs, limit, on_done) end

-- ---------------------------------------------------------------------------
-- the quickfix list's keys
-- ---------------------------------------------------------------------------

--- Maps the action keys in a quickfix window showing a seekrflow failures list
--- (called by the plugin's FileType qf autocommand).
---@param buf integer
function M._map_quickfix(buf)
  local function job_here()
    local id = quickfix.job_of_current_list()
    if id then return id end
    return nil, "this quickfix list is not a seekrflow failures list"
  end
  if not job_here() then return end
  actions.map(M, buf, job_here)
end

-- ---------------------------------------------------------------------------
-- setup and teardown
-- ---------------------------------------------------------------------------

--- For a view that follows something on the plugin's driver (the dashboard, a timeline):
--- `stopped` runs on the main thread at the next close() (setup again, VimLeavePre), once the
--- driver is closed and nothing of the view's watch fires any more, so that the view says it
--- stopped instead of still claiming to be live. One per `key` (a later call replaces it);
--- `stopped` nil: forget it (the view stopped on its own).
---@param key any the view
---@param stopped fun()?
function M._on_close(key, stopped)
  state.on_close[key] = stopped
end

--- Cancels everything in flight, closes the driver (and its client) and the
--- floats, then tells the views that followed something on it (M._on_close).
--- Commands stay defined; the next one makes a new driver.
function M.close()
  state.generation = state.generation + 1
  for _, id in ipairs(state.order) do
    local w = state.watches[id]
    if w then
      w.stopped = true
      stop_ticking(w)
    end
  end
  state.watches, state.order = {}, {}
  state.recent = { ids = {}, at = nil, loading = false }
  close_floats()
  local d = state.driver
  state.driver = nil
  if d then pcall(d.close, d) end
  local views = state.on_close
  state.on_close = {}
  for _, stopped in pairs(views) do protect(stopped) end
end

--- Runs a command by name (the commands of plugin/seekrflow.lua call this).
---@param name string
---@param args table the command's arguments (nvim_create_user_command's)
function M._command(name, args)
  protect(function()
    if name == "SeekrflowWatch" then
      local fargs = args.fargs or job_ids_of(args.args)
      -- several ids, or --all: the dashboard (nvim/dashboard.lua, watch.many)
      if #fargs > 1 or (fargs[1] or ""):sub(1, 2) == "--" then
        local dashboard = require "seekrflow.nvim.dashboard"
        return dashboard.open(M, driver(), dashboard.targets(fargs))
      end
      M.watch(job_ids_of(args.args))
    elseif name == "SeekrflowDashboard" then
      local dashboard = require "seekrflow.nvim.dashboard"
      local fargs = args.fargs or {}
      dashboard.open(M, driver(), dashboard.targets(fargs[1] and fargs or { "--all" }))
    elseif name == "SeekrflowWatchStop" then
      local id = vim.trim(args.args or "")
      M.stop(id ~= "" and id or nil)
    elseif name == "SeekrflowJobs" then
      local limit = nil
      if args.args ~= "" then
        limit = tonumber(args.args)
        if not limit then error({ message = "usage: :SeekrflowJobs [limit 1-100]" }, 0) end
      end
      M.jobs(limit)
    elseif name == "SeekrflowFailures" then
      M.failures(job_ids_of(args.args)[1])
    elseif name == "SeekrflowTimeline" then
      require("seekrflow.nvim.timeline").open(M, driver(), job_ids_of(args.args)[1])
    elseif name == "SeekrflowRetry" then
      M.retry(job_ids_of(args.args)[1])
    elseif name == "SeekrflowRemoveFailed" then
      M.remove_failed(job_ids_of(args.args)[1])
    elseif name == "SeekrflowStart" then
      M.start(job_ids_of(args.args)[1])
    end
  end)
end

--- Checks and applies options; optional (the commands work without it, with
--- the environment's settings). No I/O: the client is made by the first
--- command. Calling it again closes the old driver and applies the new options.
---@param opts seekrflow.nvim.Options?
function M.setup(opts)
  local cfg = check_options(opts)
  M.close()
  cfg.from_setup = true
  state.config = cfg
  require("seekrflow.nvim.commands").define()
end

return M
