--- bench/compare.lua: seekrflow side by side with the floor (libcurl + lua-cjson in C),
--- LuaSocket + lua-cjson, LuaSocket + dkjson and Python's http.client + json, all
--- fetching the same detail from the same nginx, decoding it to native values and reading
--- every record's status. Contenders run in alternation, round after round (short
--- batches, so a burst of load elsewhere on the machine hits them alike), and each reports
--- per-request times; the tables give medians, ratios and the best time, then the targets.
--- Run through `make bench` (tools/bench starts nginx and sets the environment).
local env = os.getenv
local base = assert(env("BENCH_URL"), "run through make bench")
local big_id, small_id = assert(env("BENCH_BIG_ID")), assert(env("BENCH_SMALL_ID"))
local floor_bin = assert(env("BENCH_FLOOR"))
local root = assert(env("BENCH_ROOT"))
local rounds = tonumber(env("BENCH_ROUNDS") or "8")
local luas = {}
for l in (env("BENCH_LUAS") or "lua5.4 luajit"):gmatch("%S+") do luas[#luas + 1] = l end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function lua_env(lua)
  return ("LUA_PATH=%s LUA_CPATH=%s "):format(q(root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;;"),
    q(root .. "/build/" .. lua .. "/?.so;;"))
end

local function run(cmd)
  local pipe = assert(io.popen(cmd .. " 2>&1"))
  local out = pipe:read("*a")
  local ok = pipe:close()
  local times = {}
  for line in out:gmatch("[^\n]+") do
    local t = tonumber(line)
    if t then times[#times + 1] = t end
  end
  if not ok or (#times == 0 and not out:match("^rss") and not out:match("^watch")) then
    io.stderr:write("bench: failed: ", cmd, "\n", out, "\n")
    os.exit(1)
  end
  return times, out
end

local function url(prefix, id) return base .. prefix .. "/v1/flow/data-jobs/" .. id end

-- `program` running bench/contenders/<file> with the arguments given (each quoted).
local function script(program, file, ...)
  local words = { program, q(root) .. "/bench/contenders/" .. file }
  for _, a in ipairs({ ... }) do words[#words + 1] = q(a) end
  return table.concat(words, " ")
end

-- A contender's command for n requests against (prefix, id): `head(prefix, id)` (the program
-- and what it fetches), the count, then `flags` and the mode ("rss" or none).
local function command(head, flags)
  return function(prefix, id, n, mode)
    return ("%s %d %s %s"):format(head(prefix, id), n, flags or "", mode or "")
  end
end

-- The head of a contender script that takes the detail's URL, then `extra` if given.
local function fetching_url(program, file, extra)
  return function(prefix, id) return script(program, file, url(prefix, id), extra) end
end

-- A contender: a name and how to run n requests against (prefix, id).
local function contenders(gzip, with_dkjson)
  local list = {
    { name = gzip and "floor: libcurl + lua-cjson (C), asking for gzip" or "floor: libcurl + lua-cjson (C)",
      floor = true,
      cmd = command(function(prefix, id) return q(floor_bin) .. " " .. q(url(prefix, id)) end, gzip and "gzip") },
  }
  for _, lua in ipairs(luas) do
    list[#list + 1] = { name = "seekrflow data_jobs:retrieve (" .. lua .. ")", seekrflow = lua,
      cmd = command(function(prefix, id)
        return script(lua_env(lua) .. lua, "seekrflow.lua", base .. prefix .. "/v1", id)
      end) }
  end
  if not gzip then
    for _, lua in ipairs(luas) do
      list[#list + 1] = { name = "LuaSocket + lua-cjson, new connection (" .. lua .. ")", socket_cjson = lua,
        cmd = command(fetching_url(lua, "socket.lua", "cjson")) }
    end
    if with_dkjson then
      list[#list + 1] = { name = "LuaSocket + dkjson (lua5.4)", slow = true,
        cmd = command(fetching_url("lua5.4", "socket.lua", "dkjson")) }
    end
    list[#list + 1] = { name = "Python stdlib http.client + json", python = true,
      cmd = command(fetching_url("python3", "python_stdlib.py")) }
  end
  return list
end

local function median(t)
  table.sort(t)
  local n = #t
  if n == 0 then return 0 / 0 end
  if n % 2 == 1 then return t[(n + 1) / 2] end
  return (t[n / 2] + t[n / 2 + 1]) / 2
end

local function scenario(title, prefix, id, per_round, list)
  local times = {}
  for _, c in ipairs(list) do times[c] = {} end
  for _ = 1, rounds do
    for _, c in ipairs(list) do
      local n = c.slow and 1 or per_round
      for _, t in ipairs((run(c.cmd(prefix, id, n)))) do table.insert(times[c], t) end
    end
  end
  local floor
  for _, c in ipairs(list) do
    c.median = median(times[c])
    c.best = times[c][1] -- sorted by median()
    c.samples = #times[c]
    if c.floor then floor = c.median end
  end
  print(("\n%s (%d rounds, medians)"):format(title, rounds))
  print(("  %-52s %11s %8s %11s %8s"):format("contender", "median", "x floor", "best", "samples"))
  local function shown(t) return t >= 0.01 and ("%.1f ms"):format(t * 1000) or ("%.0f us"):format(t * 1e6) end
  for _, c in ipairs(list) do
    print(("  %-52s %11s %7.2fx %11s %8d"):format(c.name, shown(c.median), c.median / floor, shown(c.best), c.samples))
  end
  return list, floor
end

local function pick(list, key, value)
  for _, c in ipairs(list) do
    if c[key] and (value == nil or c[key] == value) then return c end
  end
end

local verdicts = {}
local function target(text, ok, got)
  verdicts[#verdicts + 1] = ("  [%s] %s: %s"):format(ok and "met" or "NOT met", text, got)
end

local big_plain, big_floor = scenario("Big detail (" .. (env("BENCH_BIG_BYTES") or "?") .. " bytes, 20,000 records)",
  "", big_id, 2, contenders(false, true))
local big_gzip, gzip_floor = scenario("Big detail, gzip on", "/gz", big_id, 2, contenders(true, false))
local small, small_floor = scenario("Small detail (" .. (env("BENCH_SMALL_BYTES") or "?")
  .. " bytes), keep-alive", "", small_id, 200, contenders(false, false))

for _, lua in ipairs(luas) do
  local s = pick(big_plain, "seekrflow", lua).median
  local py = pick(big_plain, "python").median
  local sc = pick(big_plain, "socket_cjson", lua).median
  target(("big detail <= 0.85x floor (%s)"):format(lua), s <= 0.85 * big_floor, ("%.2fx"):format(s / big_floor))
  target(("big detail >= 1.2x faster than Python stdlib (%s)"):format(lua), py / s >= 1.2, ("%.2fx"):format(py / s))
  target(("big detail >= 1.15x faster than LuaSocket + lua-cjson (%s)"):format(lua), sc / s >= 1.15,
    ("%.2fx"):format(sc / s))
  local g = pick(big_gzip, "seekrflow", lua).median
  target(("gzip on <= 0.9x floor asking for gzip (%s)"):format(lua), g <= 0.9 * gzip_floor,
    ("%.2fx"):format(g / gzip_floor))
  local ss = pick(small, "seekrflow", lua).median
  local ssc = pick(small, "socket_cjson", lua).median
  target(("small detail keep-alive <= 1.05x floor (%s)"):format(lua), ss <= 1.05 * small_floor,
    ("%.2fx"):format(ss / small_floor))
  target(("small detail >= 1.3x faster than LuaSocket + lua-cjson (%s)"):format(lua), ssc / ss >= 1.3,
    ("%.2fx"):format(ssc / ss))
end

-- Peak RSS of a process that does one big retrieve (and nothing else).
print("\nPeak RSS, one big retrieve in a fresh process")
local floor_rss
for _, c in ipairs(big_plain) do
  if not c.slow then
    local _, out = run(c.cmd("", big_id, 1, "rss"))
    local kb = tonumber(out:match("rss (%d+)"))
    if c.floor then floor_rss = kb end
    c.rss = kb
    print(("  %-52s %9.1f MB %8.2fx"):format(c.name, kb / 1024, kb / floor_rss))
  end
end
for _, lua in ipairs(luas) do
  local kb = pick(big_plain, "seekrflow", lua).rss
  target(("peak RSS <= floor + 10%% (%s)"):format(lua), kb <= floor_rss * 1.1, ("%.2fx"):format(kb / floor_rss))
end

-- A watch waiting between polls.
local seconds = tonumber(env("BENCH_WATCH_SECONDS") or "10")
print(("\nA watch polling the small detail every 1-2 s for %d s"):format(seconds))
for _, lua in ipairs(luas) do
  local _, out = run(script(lua_env(lua) .. lua, "watch_idle.lua", base .. "/v1", small_id, tostring(seconds)))
  local cpu, wall = out:match("cpu ([%d.]+) wall ([%d.]+)")
  local share = tonumber(cpu) / tonumber(wall) * 100
  print(("  %-52s %8.3f %% of a core (%.3f s CPU in %.1f s)"):format("seekrflow watch (" .. lua .. ")", share,
    tonumber(cpu), tonumber(wall)))
  target(("a waiting watch uses < 1%% of a core (%s)"):format(lua), share < 1, ("%.3f %%"):format(share))
end

print("\nTargets")
print(table.concat(verdicts, "\n"))
