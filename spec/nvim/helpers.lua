--- Helpers for the specs that run inside headless Neovim (spec/nvim/run.lua).
---
--- The simulator is driven through spec/nvim/sim.lua (its own HTTP exchange
--- for the control API, a blocking client of its own to prepare jobs), so the
--- code under test — the luv driver and the plugin — never sets up its own
--- fixtures. Every wait here is bounded: a broken feature fails a test, never
--- hangs it.
local sim = require "nvim.sim"

local h = { sim = sim }

local DETAIL = "GET /v1/flow/data-jobs/{id}"
h.DETAIL_ROUTE = DETAIL
h.CORRUPT = "The PDF may be corrupted, password-protected, or in an unsupported format."
h.CORRUPT_FIX = "Upload a valid, unprotected PDF."
h.EMPTY = "The file appears to be empty."
h.EMPTY_FIX = "Upload a file with content."

-- what before/after restore
local saved = {}

--- Fails the test with a message (level 2: the caller's line); for the
--- waits below. Tests assert with luassert.
function h.fail(message, level)
  error(message, (level or 1) + 1)
end

--- Lets the loop run until cond() is true; fails after `ms`.
function h.wait(ms, cond, what)
  if not vim.wait(ms, cond, 10) then
    h.fail(("timed out after %d ms waiting for %s"):format(ms, what or "a condition"), 2)
  end
end

--- Like h.wait for conditions that talk to the simulator (which waits itself:
--- vim.wait must not be nested).
function h.poll(ms, cond, what)
  local deadline = h.now_ms() + ms
  while not cond() do
    if h.now_ms() > deadline then
      h.fail(("timed out after %d ms waiting for %s"):format(ms, what or "a condition"), 2)
    end
    h.run_for(50)
  end
end

--- Lets the loop run for `ms` whatever happens.
function h.run_for(ms)
  vim.wait(ms, function() return false end, 10)
end

function h.now_ms()
  return vim.loop.hrtime() / 1e6
end

--- A timer ticking every 10 ms; returns a counter table { n = ticks } and a stop function.
function h.ticker()
  local counter = { n = 0 }
  local timer = vim.loop.new_timer()
  timer:start(10, 10, function() counter.n = counter.n + 1 end)
  saved.timers[#saved.timers + 1] = timer
  return counter, function()
    if not timer:is_closing() then
      timer:stop()
      timer:close()
    end
  end
end

--- Replaces vim.notify for this test; returns the list it fills with { msg, level }.
function h.capture_notify()
  local list = {}
  vim.notify = function(msg, level) -- luacheck: ignore 122
    list[#list + 1] = { msg = tostring(msg), level = level }
  end
  return list
end

--- The first captured notification whose text contains `text` (and has `level`).
function h.find_note(list, text, level)
  for _, n in ipairs(list) do
    if n.msg:find(text, 1, true) and (level == nil or n.level == level) then return n end
  end
  return nil
end

--- A driver for the simulator that the test cleanup closes.
function h.driver(opts)
  local o = { api_key = sim.api_key, base_url = sim.base_url, retry_initial_delay = 0.02, retry_max_delay = 0.1 }
  for k, v in pairs(opts or {}) do o[k] = v end
  local errors = {}
  local driver = require("seekrflow.luv").new(o, {
    uv = vim.loop, on_error = function(err) errors[#errors + 1] = err end,
  })
  saved.drivers[#saved.drivers + 1] = driver
  return driver, errors
end

--- A blocking client (not in socket mode) for preparing jobs.
function h.client()
  local client = sim.client()
  saved.clients[#saved.clients + 1] = client
  return client
end

--- A principle_files job with a good PDF, a corrupt PDF and an empty file.
function h.job_with_broken_files(client)
  return sim.job_with_files(client, {
    { "good.pdf", "%PDF-1.7 fine" },
    { "broken.pdf", "not a pdf at all" },
    { "empty.pdf", "" },
  }, { name = "nvim broken job" })
end

--- A job (made from `files`, h.job_with_broken_files's by default) once its ingestion has
--- ended, checked to need review; returns its id and the client.
function h.needs_review_job(files)
  local client = h.client()
  local id = files and sim.job_with_files(client, files) or h.job_with_broken_files(client)
  require("luassert").equal("needs_review", sim.settled(client, id).status)
  return id, client
end

--- Requests the simulator has served for a route.
function h.route_count(route)
  local stats = sim.stats()
  return stats and stats.routes and stats.routes[route] or 0
end

--- Floating windows on screen.
function h.floats()
  local found = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then found[#found + 1] = win end
  end
  return found
end

function h.buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

--- The plugin set up against the simulator (with more options).
function h.plugin(opts)
  local p = require "seekrflow.nvim"
  local o = { base_url = sim.base_url, api_key = sim.api_key }
  for k, v in pairs(opts or {}) do o[k] = v end
  p.setup(o)
  return p
end

--- The first buffer whose name contains `name` (e.g. "seekrflow://dashboard"), or nil.
function h.buffer_named(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):find(name, 1, true) then return b end
  end
  return nil
end

--- The buffer of :SeekrflowJobs, or nil.
function h.jobs_buffer() return h.buffer_named("seekrflow://jobs") end

--- Waits for the job list to show `id`; returns its buffer.
function h.wait_for_job_list(id)
  local buf
  h.wait(5000, function()
    buf = h.jobs_buffer()
    return buf ~= nil and h.buffer_text(buf):find(id, 1, true) ~= nil
  end, "the job list with " .. id)
  return buf
end

--- Runs before each test: a clean simulator at the suite's time scale.
function h.before()
  saved = { notify = vim.notify, timers = {}, drivers = {}, clients = {} }
  sim.reset()
  local config = sim.control("GET", "/_sim/config")
  h.time_scale = h.time_scale or (config and config.time_scale) or 200
end

--- Runs after each test, passed or not: undoes everything the test set up.
function h.after()
  vim.notify = saved.notify -- luacheck: ignore 122
  for _, timer in ipairs(saved.timers) do
    if not timer:is_closing() then
      timer:stop()
      timer:close()
    end
  end
  for _, driver in ipairs(saved.drivers) do pcall(driver.close, driver) end
  for _, client in ipairs(saved.clients) do pcall(client.close, client) end
  local plugin = package.loaded["seekrflow.nvim"]
  if plugin then plugin.close() end
  sim.control("DELETE", "/_sim/faults")
  sim.config { time_scale = h.time_scale }
  pcall(vim.cmd, "silent! cclose")
  pcall(vim.cmd, "silent! tabonly!")
  pcall(vim.cmd, "silent! only!")
  vim.fn.setqflist({}, "f")
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if buf ~= vim.api.nvim_get_current_buf() then pcall(vim.api.nvim_buf_delete, buf, { force = true }) end
  end
end

return h
