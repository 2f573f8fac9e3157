--- bench/contenders/common.lua: what every Lua contender does the same way, so they
--- differ only in how they fetch and decode: the walk over every record, and the
--- timing loop (or the one-shot peak-RSS reading). Loaded with dofile by path, so it
--- needs no LUA_PATH (the LuaSocket contenders run without one).
local common = {}

--- The walk every contender does: touch each record's status.
function common.count_failed(d)
  local failed = 0
  for _, job in ipairs(d.ingestion_jobs) do
    for _, record in ipairs(job.records) do
      if record.status == "failed" then failed = failed + 1 end
    end
  end
  return failed
end

--- Runs once(): in mode "rss" a single time, printing the peak RSS in kB; otherwise n
--- timed times (after one untimed warm-up unless warm is false), one duration per line.
---@param once fun()
---@param clock fun(): number
---@param n integer
---@param mode string?
---@param warm boolean?
function common.run(once, clock, n, mode, warm)
  if mode == "rss" then
    once()
    print("rss " .. io.open("/proc/self/status"):read("*a"):match("VmHWM:%s*(%d+)"))
    return
  end
  if warm ~= false then once() end
  local out = {}
  for i = 1, n do
    local t0 = clock()
    once()
    out[i] = ("%.9f"):format(clock() - t0)
  end
  print(table.concat(out, "\n"))
end

return common
