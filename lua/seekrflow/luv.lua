--- seekrflow.luv: requests and watches inside a libuv event loop (luv, or
--- Neovim's vim.uv / vim.loop) that never block the loop.
---
---     local driver = require("seekrflow.luv").new(seekrflow.new { … })
---     driver:spawn(function(task)
---       local detail, err = task:await(driver.client.data_jobs:retrieve(id, { async = true }))
---       task:sleep(2)
---       …
---     end, function(ok, result_or_err) … end)
---
--- The driver puts its client in socket mode: libcurl tells the C core which
--- sockets it needs and when its timer is due; the driver turns that into
--- luv poll and timer handles, and tells libcurl when they fire. The client's
--- retry waits become luv timers too. Nothing here sleeps or spins.
---
--- Callbacks run on the loop's thread. Errors reach the caller, as `nil, err`
--- from task:await or as on_done(false, err), never as a traceback inside a
--- luv callback. After cancel() or close(), nothing fires.
local watch = require "seekrflow.watch"
local errors = require "seekrflow.errors"
local options = require "seekrflow.options"

local luv = {}

local Driver = {}
Driver.__index = Driver

local Task = {}
Task.__index = Task

-- luv's poll event names for libcurl's interest, and back.
local WANT = { ["in"] = "r", out = "w", inout = "rw" }
local READY = { r = "in", w = "out", rw = "inout" }

-- luv keeps one loop per Lua state, but the loop is memory of the table the first
-- `require "luv"` returned (its `_loop` field); the state only records its address. Loading
-- luv again in the same state (busted between spec files, a plugin reloader: both clear
-- package.loaded) gives a table that shares that loop without owning it, and once the first
-- table is collected the loop is freed under the second: a crash in the next luv call. So
-- the table that owns the loop, once seen here, is kept in the registry for the life of the
-- state, and reused instead of loading luv again.
local OWNER_KEY = "seekrflow.luv: the luv module that owns this state's loop"

local function registry()
  local get = type(debug) == "table" and debug.getregistry
  return get and get() or nil
end

local function loop_owner()
  local reg = registry()
  return reg and reg[OWNER_KEY]
end

--- Keeps `uv` for the life of the Lua state when it is the luv module that owns the loop.
local function keep_owner(uv)
  local reg = registry()
  if reg and reg[OWNER_KEY] == nil and type(uv) == "table" and rawget(uv, "_loop") ~= nil then
    reg[OWNER_KEY] = uv
  end
  return uv
end

--- The luv module a driver uses when given none: Neovim's `vim.uv` (or `vim.loop`), else
--- this Lua state's luv, loaded once however often package.loaded is cleared.
---@return table
function luv.uv()
  local vim = rawget(_G, "vim")
  if type(vim) == "table" and (vim.uv or vim.loop) then return vim.uv or vim.loop end
  return loop_owner() or keep_owner(package.loaded.luv or require "luv")
end

local DRIVER_OPTIONS = { uv = "table", on_error = options.callable }

local function invalid(message)
  error(errors.new("invalid_argument", message), 3)
end

local function is_request(value)
  return type(value) == "userdata" and tostring(value):find("^seekrflow%.request") ~= nil
end

local function close_handle(handle)
  if handle and not handle:is_closing() then
    handle:stop()
    handle:close()
  end
end

--- Makes a driver for a client (or for a new client made from options). From then on the
--- client's close() also closes the driver, with Driver:close's loop pass outside the loop.
---@param client_or_opts seekrflow.Client|seekrflow.Options
---@param opts { uv: table?, on_error: fun(err: any)? }?
---@return seekrflow.LuvDriver
function luv.new(client_or_opts, opts)
  local problem = options.problem(opts, DRIVER_OPTIONS)
  if problem then invalid("seekrflow.luv.new: " .. problem) end
  opts = opts or {}
  local client = client_or_opts
  if type(client_or_opts) == "table" or client_or_opts == nil then
    client = require("seekrflow").new(client_or_opts)
  elseif type(client) ~= "userdata" or type(client.socket_mode) ~= "function" then
    invalid("seekrflow.luv.new: give a seekrflow client or the options for one")
  end
  local uv = opts.uv and keep_owner(opts.uv) or luv.uv()
  client:socket_mode()
  ---@class seekrflow.LuvDriver
  local driver = setmetatable({
    client = client, uv = uv, on_error = opts.on_error,
    polls = {}, pending = {}, tasks = {}, closed = false,
  }, Driver)
  driver.curl_timer = uv.new_timer()
  -- Closing the client directly must not leave handles that keep the loop alive.
  client:on_close(function() driver:_teardown() end)
  return driver
end

--- Reports an error raised by a user callback, where it cannot reach a caller.
function Driver:_report(err)
  if self.on_error then
    pcall(self.on_error, err)
    return
  end
  local vim = rawget(_G, "vim")
  local text = "seekrflow: error in a callback: " .. tostring(err)
  if type(vim) == "table" and vim.schedule and vim.notify then
    vim.schedule(function() vim.notify(text, vim.log and vim.log.levels and vim.log.levels.ERROR) end)
  else
    io.stderr:write(text, "\n")
  end
end

--- Mirrors libcurl's socket and timer wishes into luv handles.
function Driver:_apply()
  if self.closed then return end
  local changes, timer_ms = self.client:socket_changes()
  for _, change in ipairs(changes) do
    local fd, poll = change.fd, self.polls[change.fd]
    if change.want == "remove" then
      close_handle(poll)
      self.polls[fd] = nil
    else
      if not poll or poll:is_closing() then
        poll = self.uv.new_socket_poll(fd)
        self.polls[fd] = poll
      end
      poll:start(WANT[change.want], function(err, events)
        self:_on_socket(fd, err and "error" or READY[events] or "inout")
      end)
    end
  end
  if timer_ms ~= nil then
    self.curl_timer:stop()
    if timer_ms >= 0 then
      self.curl_timer:start(timer_ms, 0, function() self:_on_curl_timer() end)
    end
  end
end

function Driver:_on_socket(fd, events)
  if self.closed then return end
  self.client:socket_action(fd, events)
  self:_service()
end

function Driver:_on_curl_timer()
  if self.closed then return end
  self.client:socket_action()
  self:_service()
end

--- Steps every pending request; finished ones get their callbacks, after the
--- loop over pending is done (a callback may send more requests).
function Driver:_service()
  if self.closed then return end
  local finished = {}
  for request, entry in pairs(self.pending) do
    local done, wait_ms = request:step()
    if done then
      self.pending[request] = nil
      close_handle(entry.retry_timer)
      finished[#finished + 1] = { request, entry }
    elseif request:state() == "waiting" then
      -- the request is waiting out a backoff or Retry-After: wake it then
      entry.retry_timer = entry.retry_timer or self.uv.new_timer()
      entry.retry_timer:stop()
      entry.retry_timer:start(math.max(0, wait_ms or 0), 0, function() self:_service() end)
    end
  end
  self:_apply()
  for _, item in ipairs(finished) do
    local request, entry = item[1], item[2]
    -- a raising client throws the error; an errors = "return" client gives nil, err
    local ok, value, err = pcall(request.result, request)
    if not ok then value, err = nil, value end
    request:close()
    -- an earlier callback of this pass may have closed the driver: then nothing fires
    if not entry.cancelled and not self.closed then
      local cb_ok, cb_err = pcall(entry.callback, value, err)
      if not cb_ok then self:_report(cb_err) end
    end
  end
end

--- Sends a request made with `{ async = true }`; callback(value, err) runs on
--- the loop when it finishes. Returns a handle whose cancel() stops it.
---@param request seekrflow.Request
---@param callback fun(value: any, err: seekrflow.Error?)
---@return { cancel: fun(self) }
function Driver:send(request, callback)
  if getmetatable(self) ~= Driver then invalid("driver:send must be called with a colon") end
  if self.closed then invalid("the driver is closed") end
  if not is_request(request) then
    invalid("driver:send takes a request: call the method with { async = true }, e.g. "
      .. "client.data_jobs:retrieve(id, { async = true })")
  end
  if type(callback) ~= "function" then invalid("driver:send needs a callback function(value, err)") end
  local entry = { callback = callback }
  self.pending[request] = entry
  self:_service()
  local driver = self
  return {
    cancel = function()
      if driver.pending[request] then
        driver.pending[request] = nil
        entry.cancelled = true
        close_handle(entry.retry_timer)
        request:cancel()
        request:close()
        driver:_apply()
      end
    end,
  }
end

--- Runs fn(task) as a coroutine: task:await(request) and task:sleep(seconds)
--- read like blocking code but yield to the loop. on_done(true, results…) or
--- on_done(false, err) follows, unless the task was cancelled.
---@param fn fun(task: seekrflow.LuvTask): any
---@param on_done fun(ok: boolean, ...)?
---@return seekrflow.LuvTask
function Driver:spawn(fn, on_done)
  if getmetatable(self) ~= Driver then invalid("driver:spawn must be called with a colon") end
  if self.closed then invalid("the driver is closed") end
  if type(fn) ~= "function" then invalid("driver:spawn needs a function(task)") end
  ---@class seekrflow.LuvTask
  local task = setmetatable({ driver = self, cancelled = false, done = false }, Task)
  self.tasks[task] = true
  local co = coroutine.create(function() return fn(task) end)

  local function finish(...)
    task.done = true
    self.tasks[task] = nil
    -- a task that slept keeps its timer for the next sleep: free it now it is done
    close_handle(task.timer)
    task.timer = nil
    if on_done and not task.cancelled then
      local ok, err = pcall(on_done, ...)
      if not ok then self:_report(err) end
    end
  end

  local resume
  resume = function(...)
    if task.cancelled or self.closed then return end
    local results = { coroutine.resume(co, ...) }
    if not results[1] then return finish(false, results[2]) end
    if coroutine.status(co) == "dead" then
      return finish(true, (table.unpack or unpack)(results, 2, table.maxn and table.maxn(results) or #results))
    end
    local command = results[2]
    if type(command) ~= "table" or not command.seekrflow_task then
      return finish(false, errors.new("invalid_argument",
        "a task yielded on its own; inside driver:spawn use task:await and task:sleep"))
    end
    if command.await then
      -- The request may finish inside send() itself, and the resumed task may
      -- already await another one: only a still-pending handle is current.
      local completed = false
      local handle = self:send(command.await, function(value, err)
        completed = true
        task.current = nil
        resume(value, err)
      end)
      if not completed then task.current = handle end
    else
      task.timer = task.timer or self.uv.new_timer()
      task.timer:start(math.floor(command.sleep * 1000 + 0.5), 0, function() resume() end)
    end
  end
  resume()
  return task
end

--- Inside a task: waits for a request without blocking the loop; returns
--- value, or nil and the error.
---@param request seekrflow.Request
function Task:await(request)
  if getmetatable(self) ~= Task then invalid("task:await must be called with a colon") end
  if not is_request(request) then
    invalid("task:await takes a request: call the method with { async = true }")
  end
  return coroutine.yield({ seekrflow_task = true, await = request })
end

--- Inside a task: lets the loop run for `seconds`.
---@param seconds number
function Task:sleep(seconds)
  if getmetatable(self) ~= Task then invalid("task:sleep must be called with a colon") end
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    invalid("task:sleep needs a number of seconds")
  end
  coroutine.yield({ seekrflow_task = true, sleep = seconds })
end

--- Stops the task: its request is cancelled, its timer stopped, and neither
--- it nor its on_done runs again.
function Task:cancel()
  if self.cancelled or self.done then return end
  self.cancelled = true
  self.driver.tasks[self] = nil
  if self.current then self.current.cancel() end
  close_handle(self.timer)
end

--- Watches a job without blocking: the options are seekrflow.watch's (on_event,
--- until_statuses, timeout, intervals…); on_done(result) gets the watch result.
---@param job_id string
---@param opts seekrflow.WatchOptions?
---@param on_done fun(result: seekrflow.WatchResult?, err: any?)
---@return seekrflow.LuvTask
function Driver:watch(job_id, opts, on_done)
  if getmetatable(self) ~= Driver then invalid("driver:watch must be called with a colon") end
  opts = opts or {}
  if type(opts) ~= "table" then invalid("driver:watch options must be a table") end
  if opts.sleep ~= nil then invalid("driver:watch waits on the loop; it takes no sleep option") end
  local retrieve_opts = { async = true }
  for k, v in pairs(opts.retrieve_opts or {}) do retrieve_opts[k] = v end
  local watch_opts = {}
  for k, v in pairs(opts) do watch_opts[k] = v end
  watch_opts.retrieve_opts = nil
  local watcher = watch.new(self.client, job_id, watch_opts)
  local data_jobs = self.client.data_jobs
  return self:spawn(function(task)
    while true do
      local detail, err = task:await(data_jobs:retrieve(job_id, retrieve_opts))
      local _, done = watcher:feed(detail, err)
      if done then return watcher:result() end
      task:sleep(watcher:next_delay())
    end
  end, function(ok, result)
    if not on_done then return end
    if ok then on_done(result) else on_done(nil, result) end
  end)
end

--- Cancels every task and request and releases the loop's handles.
function Driver:_teardown()
  if self.closed then return end
  self.closed = true
  for task in pairs(self.tasks) do task:cancel() end
  for request, entry in pairs(self.pending) do
    entry.cancelled = true
    close_handle(entry.retry_timer)
    pcall(request.cancel, request)
    pcall(request.close, request)
  end
  self.pending = {}
  for fd, poll in pairs(self.polls) do
    close_handle(poll)
    self.polls[fd] = nil
  end
  close_handle(self.curl_timer)
  self:_release_closed()
end

--- libuv frees a closed handle only in a pass of its loop. Inside the loop that pass comes
--- by itself; outside it (the host's uv.run has returned) nothing may run the loop again
--- before the program ends, and luv before 1.46 frees a handle still closing at exit and then
--- walks it (a crash). So a close outside the loop lets one non-blocking pass release the
--- handles now. Only for standalone luv, whose loop_mode() says whether its loop runs: in a
--- host that runs the loop itself (Neovim), loop_mode() is always nil.
function Driver:_release_closed()
  local uv = self.uv
  if loop_owner() == nil or type(uv.loop_mode) ~= "function" or type(uv.run) ~= "function" then return end
  if uv.loop_mode() == nil then uv.run("nowait") end
end

--- Cancels everything in flight, releases the handles and closes the client.
--- Safe to call twice. Called outside the loop (standalone luv, its uv.run has returned),
--- close() runs one `uv.run("nowait")` pass to release the handles at once, so any other
--- callback already due on that loop (a timer, a poll of the host's own) may run inside
--- close(). Inside the loop, and in a host that runs the loop itself (Neovim), no pass is run.
--- Closing the client directly (client:close()) does the same: it tears its driver down.
function Driver:close()
  self:_teardown()
  if not self.client:is_closed() then self.client:close() end
end

return luv
