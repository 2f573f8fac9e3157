--- The `seekrflow` command: the whole data-jobs workflow from a shell.
---
--- The command line is parsed by lua-argparse, which also writes the help text and the
--- bash, zsh and fish completions (`seekrflow completion bash`). Global flags go before or
--- after the command; unknown commands and flags get a "Did you mean".
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
local argparse = require "argparse"
local commands = require "seekrflow.cli.commands"
local values = require "seekrflow.cli.values"

local cli = {}

cli.EXIT = commands.EXIT

local DESCRIPTION = "Watch and fix SeekrFlow data jobs."

local EPILOG = [[
Global flags go before or after the command: seekrflow --json list, seekrflow list -j.
Durations: 90 (seconds), 90s, 15m, 1h, 1h30m.
Help for a command: seekrflow help watch (or seekrflow watch --help).

Exit codes: 0 done or ready, 1 service error, 2 usage, 3 needs review,
4 authentication/configuration, 5 alignment failed or cancelled, 6 timed out,
130 interrupted.]]

local COMMAND_EPILOG = "Global flags (--json, --api-key, --base-url, --team, --request-timeout, --no-color, "
  .. "--debug): see seekrflow --help."

local unpack_list = table.unpack or unpack -- luacheck: ignore 113

-- argparse's own --help prints and exits the process; here it notes which parser's help was
-- asked for, so `seekrflow watch --help` shows help even without the JOB it would need, and
-- tests can run the command in-process.
local function help_flag(parser, description, asked)
  return parser:flag("-h --help", description):action(function(result, target)
    result[target] = true
    asked.parser = asked.parser or parser
  end)
end

-- Keeps argparse's layout, sized for an 80-column terminal.
local function layout(parser)
  return parser:help_max_width(80):usage_max_width(80):help_description_margin(26)
end

--- The whole command line, as an argparse parser. Built per run: cheap, and no state
--- survives from one run to the next.
---@return table parser
function cli.parser(asked)
  asked = asked or {}
  local parser = layout(argparse("seekrflow", DESCRIPTION, EPILOG))
    :add_help(false):require_command(false):command_target("command")
  local global = {
    help_flag(parser, "Show help and exit.", asked),
    parser:flag("-V --version", "Print the version and exit."),
    parser:flag("-j --json", "Machine-readable output (JSON; one event per line for watches)."),
    parser:option("--api-key", "API key (default: $SEEKR_API_KEY)."):argname("KEY"),
    parser:option("--base-url", "API base URL (default: $SEEKR_BASE_URL, then https://flow.seekr.com/v1).")
      :argname("URL"),
    parser:option("--team", "Send x-team-id (default: $SEEKR_TEAM_ID)."):argname("ID")
      :convert(values.nonempty("--team")),
    parser:option("--request-timeout", "Time limit for each HTTP request (default: $SEEKR_TIMEOUT_SECS, "
      .. "then 600s)."):argname("DURATION"):convert(values.duration("--request-timeout")),
    parser:flag("--no-color", "No colours (also when NO_COLOR is set or output is not a terminal)."),
    parser:flag("--debug", "Log each HTTP attempt on stderr (never the key)."),
  }
  parser:group("Global flags (before or after the command)", unpack_list(global))
  for _, def in ipairs(commands.ordered) do
    local cmd = layout(parser:command(def.name, def.description, def.epilog or COMMAND_EPILOG))
      :add_help(false)
    cmd:summary(def.summary)
    if def.raw_args then
      cmd:handle_options(false)
      cmd:argument("args", "Arguments passed on."):args("*")
    else
      help_flag(cmd, "Show help for this command.", asked)
      if def.build then def.build(cmd) end
    end
    def.parser = cmd
  end
  return parser
end

-- Names of the flags present on the command line ("--base-url"), for error wording.
local function given_flags(argv)
  local given = {}
  for _, word in ipairs(argv) do
    if word == "--" then break end
    local name = word:match("^(%-%-[%w][%w%-]*)")
    if name then given[name] = true end
  end
  return given
end

--- Runs the command line; returns the exit code. io is injectable for tests.
---@param argv string[]
---@param io_ table? { write = fun(s), err = fun(s), isatty = boolean, columns = integer, env = fun(name) }
---@return integer
function cli.main(argv, io_)
  local out = io_ or {}
  if not out.write then
    -- Line by line even into a pipe or file: `seekrflow watch | tee log` must
    -- show each change as it happens, not when the watch ends.
    io.stdout:setvbuf("line")
  end
  local write = out.write or commands.stdout_writer()
  local err_write = out.err or function(s) io.stderr:write(s) end

  local asked = {}
  local parser = cli.parser(asked)
  local ok, parsed = parser:pparse(argv)
  if asked.parser then
    write(asked.parser:get_help() .. "\n")
    return commands.EXIT.ok
  end
  if not ok then
    -- argparse's message names the flag and, for near misses, says "Did you mean".
    local name, json
    for _, word in ipairs(argv) do
      if word == "--" then break end
      if word == "--json" or word == "-j" then json = true end
      if not name and commands.list[word] then name = word end
    end
    if json then
      -- a script asked for JSON: the error is JSON too (on stderr, like every error)
      err_write(require("seekrflow").json_encode({ error = { kind = "usage", message = parsed,
        command = name } }) .. "\n")
      return commands.EXIT.usage
    end
    local usage = name and commands.list[name].parser:get_usage() or parser:get_usage()
    err_write(("seekrflow%s: %s\n\n%s\nRun `seekrflow %s--help` for more.\n"):format(
      name and (" " .. name) or "", parsed, usage, name and (name .. " ") or ""))
    return commands.EXIT.usage
  end

  local name = parsed.command
  if parsed.version then name = "version" end
  if not name then
    err_write(parser:get_help() .. "\n")
    return commands.EXIT.usage
  end
  local command = commands.list[name]
  if command.raw_args then
    return command.run({ argv = parsed.args, write = write, err = err_write })
  end
  local ctx = commands.context(parsed, {
    name = name, write = write, err = err_write, isatty = out.isatty, columns = out.columns,
    env = out.env, given = given_flags(argv), parser = parser,
  })
  return commands.run(command, ctx)
end

cli.in_flags = values.in_flags

return cli
