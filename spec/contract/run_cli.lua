--- Runs the seekrflow command in-process against the simulator, for the contract specs;
--- returns the exit code, stdout and stderr.
local sim = require "helpers.sim"
local cli = require "seekrflow.cli"

return function(argv)
  local out, err = {}, {}
  local full = {}
  for _, a in ipairs(argv) do full[#full + 1] = a end
  full[#full + 1] = "--base-url=" .. sim.base_url
  full[#full + 1] = "--api-key=" .. sim.api_key
  local code = cli.main(full, {
    write = function(s) out[#out + 1] = s end,
    err = function(s) err[#err + 1] = s end,
    isatty = false, columns = 100,
  })
  return code, table.concat(out), table.concat(err)
end
