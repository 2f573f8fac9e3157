--- The `seekrflow` command: the whole data-jobs workflow from a shell.
---
--- Exit codes (also in `seekrflow --help`):
---   0 done: ready to start, completed, or the command succeeded
---   1 an error talking to the service (network, server, not found, …)
---   2 usage: a wrong flag or argument
---   3 the job needs review (failed files, missing prompt, …)
---   4 authentication or configuration (no key, 401, 403)
---   5 alignment failed or was cancelled
---   6 timed out waiting
---   130 interrupted (Ctrl-C)
local args = require "seekrflow.cli.args"
local commands = require "seekrflow.cli.commands"

local cli = {}

cli.EXIT = commands.EXIT

local GLOBAL_FLAGS = {
  help = { kind = "boolean" }, json = { kind = "boolean" }, ["no-color"] = { kind = "boolean" },
  ["api-key"] = { kind = "string" }, ["base-url"] = { kind = "string" }, team = { kind = "string" },
  timeout = { kind = "number" }, version = { kind = "boolean" }, debug = { kind = "boolean" },
}

local USAGE = [[
Usage: seekrflow <command> [arguments] [flags]

Watch and fix SeekrFlow data jobs.

Jobs:
  list                 list data jobs
  show JOB             a job's status, files and alignment
  watch JOB            follow a job live until it is ready, needs review or ends
  failures JOB         what failed, why, and how to fix it
  files JOB            the files attached to a job
  timeline JOB         a job's timeline events
  create               create a data job
  update JOB           change a job's name, prompt, instructions or vector database
  start JOB            start alignment
  cancel JOB           cancel alignment
  delete JOB           delete a job
  outputs JOB          the alignment's output files

Files:
  upload PATH...       upload documents, print their file ids
  add-files JOB ID...  attach files (ingestion starts)
  remove-files JOB ID...  detach files (--failed: every failed file)

Other:
  sim                  run the local simulator (see `seekrflow sim --help`)

Flags for every command:
  --json               machine-readable output
  --api-key KEY        default: $SEEKR_API_KEY
  --base-url URL       default: $SEEKR_BASE_URL, then https://flow.seekr.com/v1
  --team ID            send x-team-id (default: $SEEKR_TEAM_ID)
  --timeout SECONDS    per request (default: $SEEKR_TIMEOUT_SECS, then 600)
  --no-color           no colours (also when NO_COLOR is set or output is not a terminal)
  --debug              log each HTTP attempt on stderr (never the key)
  --help               help for a command: seekrflow watch --help

Exit codes: 0 done or ready, 1 service error, 2 usage, 3 needs review,
4 authentication/configuration, 5 alignment failed or cancelled, 6 timed out,
130 interrupted.
]]

--- Runs the command line; returns the exit code. io is injectable for tests.
---@param argv string[]
---@param io_ table? { write = fun(s), err = fun(s), isatty = boolean, columns = integer }
---@return integer
function cli.main(argv, io_)
  local out = io_ or {}
  if not out.write then
    -- Line by line even into a pipe or file: `seekrflow watch | tee log` must
    -- show each change as it happens, not when the watch ends.
    io.stdout:setvbuf("line")
  end
  local write = out.write or function(s) io.stdout:write(s) end
  local err_write = out.err or function(s) io.stderr:write(s) end

  local name = argv[1]
  if name == nil or name == "--help" or name == "-h" or name == "help" then
    write(USAGE)
    return name == nil and commands.EXIT.usage or commands.EXIT.ok
  end
  if name == "--version" then
    local seekrflow = require "seekrflow"
    write(("seekrflow %s (%s, libcurl %s, %s)\n"):format(seekrflow._VERSION, seekrflow.built_for,
      seekrflow.curl_version, seekrflow.tls_backend))
    return commands.EXIT.ok
  end
  local command = commands.list[name]
  if not command then
    err_write(("seekrflow: unknown command %q\nRun `seekrflow --help` to see the commands.\n"):format(name))
    return commands.EXIT.usage
  end

  local rest = {}
  for i = 2, #argv do rest[#rest + 1] = argv[i] end
  if command.raw_args then
    return command.run({ argv = rest, write = write, err = err_write })
  end

  local spec = {}
  for k, v in pairs(GLOBAL_FLAGS) do spec[k] = v end
  for k, v in pairs(command.flags or {}) do spec[k] = v end
  local flags, positionals = args.parse(rest, spec)
  if not flags then
    err_write(("seekrflow %s: %s\n\n%s"):format(name, positionals, command.usage))
    return commands.EXIT.usage
  end
  if flags.help then
    write(command.usage)
    return commands.EXIT.ok
  end
  local ctx = commands.context(flags, positionals, {
    name = name, write = write, err = err_write, isatty = out.isatty, columns = out.columns,
  })
  return commands.run(command, ctx)
end

return cli
