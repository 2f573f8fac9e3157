--- Spec helper: the seekrflow command run in-process against the simulator.
local sim = require "helpers.sim"
local cli = require "seekrflow.cli"

local helper = {}

--- Runs the command in-process; returns exit code, stdout, stderr.
--- opts: no_auth (no --base-url/--api-key), api_key, isatty, columns, env (a getenv),
--- on_output (called with all the output so far after each write: a spec can move the
--- simulator on once the command has shown a state, instead of racing it).
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
    env = opts.env,
  })
  return code, table.concat(out), table.concat(err)
end

return helper
