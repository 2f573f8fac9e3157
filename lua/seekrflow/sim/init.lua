--- SeekrFlow simulator entry points.
--
--   require("seekrflow.sim").main(argv)  -- the `seekrflow-sim` command; returns an exit code
--   require("seekrflow.sim").start(opts) -- embed: bind and return a server (see below)
local cli = require("seekrflow.sim.cli")
local app_mod = require("seekrflow.sim.app")
local server_mod = require("seekrflow.sim.server")

local M = {}

M.VERSION = "0.1.0"

local function stderr_line(line)
  io.stderr:write(line, "\n")
  io.stderr:flush()
end

--- Bind the simulator without running it. Options are those of the command line
--- (`host`, `port`, `api_keys`, `time_scale`, `workers`, `seed`, `log`, `quiet`,
--- `allow_remote`) plus `mode` ("default" or "spec-minimal"; when absent, the environment
--- variable SEEKRFLOW_SIM_MODE, else "default"; see seekrflow.sim.app MODES).
--- The returned server has `:port()`, `:run()` (blocks until `/_sim/shutdown` or `:stop()`),
--- `:step(max_wait)` (one scheduler iteration, for driving it from another loop) and
--- `:close()`; `server.app` is the application state.
---@param opts? table
---@return table|nil server
---@return string|nil err
function M.start(opts)
  opts = opts or {}
  local host = opts.host or "127.0.0.1"
  if not opts.allow_remote and not cli.is_loopback(host) then
    return nil, "refusing to listen on non-loopback address '" .. host .. "'"
  end
  local mode = opts.mode or os.getenv("SEEKRFLOW_SIM_MODE")
  if mode == "" then mode = nil end
  local app, aerr = app_mod.new({
    api_keys = opts.api_keys, time_scale = opts.time_scale, workers = opts.workers,
    seed = opts.seed, mode = mode,
  })
  if not app then return nil, "SEEKRFLOW_SIM_MODE: " .. aerr end
  local srv, err = server_mod.new({
    host = host, port = opts.port or 8787, app = app,
    log = (not opts.quiet) and stderr_line or nil,
    access_log = opts.log and stderr_line or nil,
  })
  if not srv then return nil, err end
  srv.app = app
  app.shutdown = function() srv:stop() end
  local shown = host:find(":", 1, true) and ("[" .. host .. "]") or host
  srv.url = "http://" .. shown .. ":" .. srv:port() .. "/v1"
  return srv
end

-- Write through a temporary file and rename, so a reader never sees a half-written port.
local function write_port_file(path, port)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then return nil, err end
  f:write(tostring(port), "\n")
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then return nil, rerr end
  return true
end

--- Run the command line; returns the process exit code.
---@param argv table
---@return integer
function M.main(argv)
  local opts, err = cli.parse(argv or {})
  if not opts then
    io.stderr:write("seekrflow-sim: ", err, "\n\n", cli.USAGE)
    return 2
  end
  if opts.help then
    io.stdout:write(cli.USAGE)
    return 0
  end
  local env_mode = os.getenv("SEEKRFLOW_SIM_MODE")
  if not opts.mode and env_mode and env_mode ~= "" and not app_mod.mode_named(env_mode) then
    stderr_line("seekrflow-sim: SEEKRFLOW_SIM_MODE must be 'default' or 'spec-minimal', got '" ..
      env_mode .. "'")
    return 2
  end
  local srv, serr = M.start(opts)
  if not srv then
    stderr_line("seekrflow-sim: cannot listen on " .. opts.host .. ":" .. opts.port .. ": " ..
      tostring(serr))
    return 1
  end
  if opts.port_file then
    local ok, perr = write_port_file(opts.port_file, srv:port())
    if not ok then
      stderr_line("seekrflow-sim: cannot write port file: " .. tostring(perr))
      srv:close()
      return 1
    end
  end
  -- The banner is printed even with --quiet: scripts may wait for it to know the server is up.
  io.stdout:write("seekrflow-sim listening on ", srv.url, " (api key: ", opts.api_keys[1],
    srv.app.mode.minimal and "; spec-minimal mode" or "", ")\n")
  io.stdout:flush()
  srv:run()
  return 0
end

return M
