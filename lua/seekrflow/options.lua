--- seekrflow.options: the one place option tables are checked.
---
--- A schema maps each option name to a check: a Lua type name ("string",
--- "number", "boolean", "table", "function"), or a function(value) that
--- returns nil when the value is fine and otherwise what it must be
--- ("a number >= 0"). Every module (the client's options, watch, summary,
--- remediation, the luv driver, the Neovim plugin) checks its options here,
--- so every mistake reads the same:
---
---     watch: unknown option "timout" (known: backoff, clock, …, timeout); did you mean "timeout"?
---     watch: min_interval must be a number > 0, got -1
---
--- Pure Lua, no C: the Neovim plugin checks setup() options before any core
--- is loaded. `check` raises a structured error (which needs the core);
--- `problem` only returns the text.
local options = {}

-- Edit distance between a and b (insertions, deletions, substitutions and
-- swaps of two neighbours), enough to catch a typo in an option name.
local function distance(a, b)
  local la, lb = #a, #b
  local prev2, prev = nil, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    for j = 1, lb do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if prev2 and i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        d = math.min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
    end
    prev2, prev = prev, cur
  end
  return prev[lb]
end

--- The candidate closest to name, when it is close enough to be a typo
--- (at most 2 edits, and fewer than half of name's letters), else nil.
---@param name string
---@param candidates string[]
---@return string?
function options.suggest(name, candidates)
  if type(name) ~= "string" then return nil end
  local best, best_d = nil, math.huge
  local lower = name:lower()
  for _, c in ipairs(candidates) do
    local d = distance(lower, c:lower())
    if d < best_d or (d == best_d and best and c < best) then best, best_d = c, d end
  end
  if best and best_d <= 2 and best_d * 2 < math.max(#name, 2) then return best end
  -- "retries" for "max_retries": a known name that ends or starts with the given one
  for _, c in ipairs(candidates) do
    if #name >= 4 and (c:sub(-#name) == name or c:sub(1, #name) == name) then return c end
  end
  return nil
end

--- The sorted names of a schema (or of a set or list of names).
---@param schema table
---@return string[]
function options.names(schema)
  local names = {}
  for k, v in pairs(schema) do
    if type(k) == "number" then names[#names + 1] = v else names[#names + 1] = k end
  end
  table.sort(names)
  return names
end

--- The one wording of an unknown option:
--- `unknown option "X" (known: a, b, c); did you mean "b"?`
---@param name any
---@param known string[]|table a list of names or a schema
---@param what string? what the names are (default "option"), e.g. "watch option"
---@return string
function options.unknown(name, known, what)
  local names = options.names(known)
  local text = ('unknown %s %q (known: %s)'):format(what or "option", tostring(name), table.concat(names, ", "))
  local guess = options.suggest(name, names)
  if guess then text = text .. ('; did you mean %q?'):format(guess) end
  return text
end

local TYPE_WORDS = {
  string = "a string", number = "a number", boolean = "true or false", table = "a table",
  ["function"] = "a function",
}

local function describe(value)
  if type(value) == "string" then return ("%q"):format(value) end
  if type(value) == "number" or type(value) == "boolean" or value == nil then return tostring(value) end
  return "a " .. type(value)
end

--- What is wrong with opts against schema, or nil when nothing is. A
--- non-table opts, an unknown name or a value its check refuses.
---@param opts any
---@param schema table<string, string|fun(value: any): string?>
---@param what string? what the names are (default "option")
---@return string?
function options.problem(opts, schema, what)
  if opts == nil then return nil end
  if type(opts) ~= "table" then return "options must be a table, got " .. describe(opts) end
  -- sorted, so the first problem reported does not depend on table order
  local names = {}
  for name in pairs(opts) do names[#names + 1] = tostring(name) end
  table.sort(names)
  for _, key in ipairs(names) do
    local value = opts[key]
    local check = type(key) == "string" and schema[key] or nil
    if value == nil then -- a key that is not a string (tostring'ed above)
      return options.unknown(key, schema, what)
    end
    if check == nil then return options.unknown(key, schema, what) end
    local wanted
    if type(check) == "string" then
      if type(value) ~= check then wanted = TYPE_WORDS[check] or ("a " .. check) end
    else
      wanted = check(value)
    end
    if wanted then return ("%s must be %s, got %s"):format(key, wanted, describe(value)) end
  end
  return nil
end

--- Raises `<where>: <problem>` as a structured error of `kind` (default
--- "invalid_argument") when opts does not fit schema; returns opts (or {}
--- for nil) otherwise.
---@param where string the function checked, e.g. "watch" or "seekrflow.new"
---@param opts any
---@param schema table<string, string|fun(value: any): string?>
---@param kind string? error kind, default "invalid_argument"
---@param what string? what the names are (default "option")
---@return table
function options.check(where, opts, schema, kind, what)
  local problem = options.problem(opts, schema, what)
  if problem then
    error(require("seekrflow.errors").new(kind or "invalid_argument", where .. ": " .. problem), 0)
  end
  return opts or {}
end

-- Reusable checks (each returns nil or what the value must be).

local function finite(v)
  return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge
end

--- A check: a finite number >= low (or > low when not inclusive).
---@param low number
---@param inclusive boolean?
function options.number_at_least(low, inclusive)
  local wanted = "a number " .. (inclusive and ">= " or "> ") .. low
  return function(v)
    if not finite(v) or v < low or (not inclusive and v == low) then return wanted end
  end
end

--- A check: an integer from low to high (high optional).
---@param low integer
---@param high integer?
function options.integer(low, high)
  local wanted = high and ("a whole number from %d to %d"):format(low, high) or ("an integer >= " .. low)
  return function(v)
    if not finite(v) or v < low or math.floor(v) ~= v or (high and v > high) then return wanted end
  end
end

--- A check: a function or a table with __call.
function options.callable(v)
  if type(v) == "function" then return nil end
  local mt = getmetatable(v)
  if type(mt) == "table" and mt.__call ~= nil then return nil end
  return "a function"
end

--- A check: a non-empty string.
function options.non_empty_string(v)
  if type(v) ~= "string" or v == "" then return "a non-empty string" end
end

--- A check: one of the given strings.
---@param ... string
function options.one_of(...)
  local allowed, words = {}, {}
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    allowed[s] = true
    words[i] = ("%q"):format(s)
  end
  local wanted = "one of " .. table.concat(words, ", ")
  return function(v)
    if not allowed[v] then return wanted end
  end
end

return options
