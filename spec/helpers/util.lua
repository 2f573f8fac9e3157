--- Small helpers shared by the specs.
local util = {}

--- Runs fn, expects it to fail with an invalid_argument error, returns the error.
function util.arg_error(fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error")
  assert(type(err) == "table" and err.kind == "invalid_argument", "expected invalid_argument, got " .. tostring(err))
  return err
end

--- A fresh temporary directory (remove it with util.remove_dir).
function util.temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  return dir
end

function util.remove_dir(dir)
  os.execute("rm -rf '" .. dir .. "'")
end

--- Writes content to dir/name and returns the path.
function util.write_file(dir, name, content)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

--- The content of a file, or nil when there is none (yet).
function util.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

--- The lines of a text, without their newlines.
function util.lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

--- The items of a list whose `field` is `value`, in order (e.g. the events of one type).
function util.where(list, field, value)
  local found = {}
  for _, item in ipairs(list) do
    if item[field] == value then found[#found + 1] = item end
  end
  return found
end

--- The first item of a list whose `field` is `value`, or nil.
function util.first(list, field, value)
  return util.where(list, field, value)[1]
end

-- The first of the lines that `matches`; an error listing them all when none does.
local function line_where(lines, matches, what)
  for _, line in ipairs(lines) do
    if matches(line) then return line end
  end
  error("no " .. what .. " in:\n" .. table.concat(lines, "\n"), 3)
end

--- The line of a chart's row: the one starting with its label.
function util.row_line(lines, label)
  return line_where(lines, function(line) return line:sub(1, #label) == label end, "row " .. label)
end

--- The first line containing `text` (plain, not a pattern).
function util.line_with(lines, text)
  return line_where(lines, function(line) return line:find(text, 1, true) ~= nil end, "line with " .. text)
end

--- The seekrflow modules a spec tests, by short name: util.modules("core", "chart") returns
--- require "seekrflow.core", require "seekrflow.chart".
function util.modules(name, ...)
  if name == nil then return end
  return require("seekrflow." .. name), util.modules(...)
end

--- Steps a watch_many loop (watch_many.new) until it is done, waiting as it asks; returns it.
function util.step_to_end(m)
  while true do
    local _, done, wait = m:step()
    if done then return m end
    m:wait(wait)
  end
end

return util
