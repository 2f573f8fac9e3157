--- Spec helper: the seekrflow command run against the simulator, in-process (`run`) or as a
--- process of its own (`command_line`, `shell`).
local sim = require "helpers.sim"
local cli = require "seekrflow.cli"

local helper = {}

--- The checkout's root and the interpreter tools/run-specs runs the specs with.
helper.ROOT = os.getenv("SEEKRFLOW_ROOT") or "."
helper.LUA = os.getenv("SEEKRFLOW_LUA") or "lua5.4"
helper.ESC = string.char(27)

-- The command sees no variable of the environment the specs run in (a NO_COLOR or a
-- GITHUB_ACTIONS there would change its output); a spec passes opts.env to set some.
local function no_environment() return nil end

--- Runs the command in-process; returns exit code, stdout, stderr.
--- opts: no_auth (no --base-url/--api-key), api_key, isatty, columns, env (a getenv; default:
--- an empty environment), on_output (called with all the output so far after each write: a
--- spec can move the simulator on once the command has shown a state, instead of racing it).
function helper.run(argv, opts)
  opts = opts or {}
  local out, err = {}, {}
  local full = {}
  for _, a in ipairs(argv) do full[#full + 1] = a end
  if not opts.no_auth then
    full[#full + 1] = "--base-url=" .. sim.base_url
    full[#full + 1] = "--api-key=" .. (opts.api_key or sim.api_key)
  end
  local code = cli.main(full, {
    write = function(s)
      out[#out + 1] = s
      if opts.on_output then opts.on_output(table.concat(out)) end
    end,
    err = function(s) err[#err + 1] = s end,
    isatty = opts.isatty or false,
    columns = opts.columns or 100,
    env = opts.env or no_environment,
  })
  return code, table.concat(out), table.concat(err)
end

--- The shell command that runs bin/seekrflow against the simulator with `args` (quoted
--- already); `runner`, if given, goes before the interpreter (e.g. a timeout(1) call).
---@param args string
---@param runner string?
---@return string
function helper.command_line(args, runner)
  return ("SEEKR_BASE_URL=%q SEEKR_API_KEY=%s %s%s %q %s"):format(sim.base_url, sim.api_key,
    runner and runner .. " " or "", helper.LUA, helper.ROOT .. "/bin/seekrflow", args)
end

--- Runs bin/seekrflow as a process; returns exit code and output (stdout and stderr unless
--- `redirect` says otherwise).
function helper.shell(args, redirect)
  local p = assert(io.popen(("%s %s; echo \"exit:$?\""):format(helper.command_line(args), redirect or "2>&1")))
  local text = p:read("*a")
  p:close()
  local code = tonumber(text:match("exit:(%d+)%s*$"))
  return code, (text:gsub("exit:%d+%s*$", ""))
end

--- Whether a command of this name is on the PATH; without it the spec calling this is
--- marked pending, saying `why`.
---@param name string
---@param why string
---@return boolean
function helper.installed(name, why)
  local found = os.execute("command -v " .. name .. " >/dev/null 2>&1")
  if found == true or found == 0 then return true end -- later Luas return true, 5.1 the status
  pending(why)
  return false
end

return helper
