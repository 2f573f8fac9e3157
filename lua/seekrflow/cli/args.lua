--- A small argument parser for the seekrflow command: long flags
--- (`--name value`, `--name=value`), booleans, repeatable flags, and
--- positionals; `--` ends the flags. Errors are values, never raised.
local args = {}

--- Parses argv against a spec { flag_name = { kind = "string"|"number"|"boolean"|"list" } }.
---@param argv string[]
---@param spec table<string, {kind: string}>
---@return table? flags
---@return string[]|string positionals, or the error message
function args.parse(argv, spec)
  local flags, positionals = {}, {}
  local i, only_positionals = 1, false
  while i <= #argv do
    local word = argv[i]
    if only_positionals or word == "-" or word:sub(1, 1) ~= "-" then
      positionals[#positionals + 1] = word
    elseif word == "--" then
      only_positionals = true
    else
      local name, inline = word:match("^%-%-([%w][%w%-]*)=(.*)$")
      name = name or word:match("^%-%-([%w][%w%-]*)$")
      if word == "-h" then name = "help" end
      if not name then return nil, ("unknown option %s"):format(word) end
      local def = spec[name]
      if not def then return nil, ("unknown option --%s"):format(name) end
      if def.kind == "boolean" then
        if inline ~= nil then return nil, ("--%s takes no value"):format(name) end
        flags[name] = true
      else
        local value = inline
        if value == nil then
          i = i + 1
          value = argv[i]
          -- "--limit --json" is a forgotten value, not a limit of "--json";
          -- a value that really starts with "--" can be given as --name=--value
          if value == nil or value:sub(1, 2) == "--" then return nil, ("--%s needs a value"):format(name) end
        end
        if def.kind == "number" then
          local n = tonumber(value)
          if not n or n < 0 then return nil, ("--%s needs a non-negative number, got %q"):format(name, value) end
          value = n
        end
        if def.kind == "list" then
          flags[name] = flags[name] or {}
          for part in value:gmatch("[^,]+") do flags[name][#flags[name] + 1] = part end
        else
          flags[name] = value
        end
      end
    end
    i = i + 1
  end
  return flags, positionals
end

return args
