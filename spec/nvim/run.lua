--- A tiny test runner for inside headless Neovim:
---
---     SEEKRFLOW_SIM_URL=http://127.0.0.1:PORT SEEKRFLOW_ROOT=$PWD \
---       nvim --headless -u NONE -i NONE -c "luafile spec/nvim/run.lua"
---
--- It runs every spec/nvim/*_test.lua (SEEKRFLOW_NVIM_FILTER: only tests whose
--- name contains it), prints one line per test and a last line
--- "N passed, N failed", then quits with :cquit 1 on a failure, :qall! if all
--- passed. A test file returns function(test) and calls test(name, fn) for
--- each test. Tests wait with vim.wait (bounded); a global deadline
--- (SEEKRFLOW_NVIM_DEADLINE seconds, default 240) ends a run that hangs anyway.
local root = os.getenv("SEEKRFLOW_ROOT") or vim.fn.getcwd()
package.path = table.concat({ root .. "/lua/?.lua", root .. "/lua/?/init.lua", root .. "/spec/?.lua",
  package.path }, ";")
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath
-- so that :checkhealth finds lua/seekrflow/health.lua
vim.opt.runtimepath:prepend(root)

local deadline_s = tonumber(os.getenv("SEEKRFLOW_NVIM_DEADLINE") or "") or 240
local filter = os.getenv("SEEKRFLOW_NVIM_FILTER")
local started = vim.loop.hrtime()
local passed, failed = 0, 0

local function out(line)
  io.stdout:write(line, "\n")
  io.stdout:flush()
end

local function elapsed_s()
  return (vim.loop.hrtime() - started) / 1e9
end

-- Even a test stuck outside vim.wait cannot keep the run going past the deadline.
local watchdog = vim.loop.new_timer()
watchdog:start(math.floor((deadline_s + 15) * 1000), 0, function()
  io.stdout:write(("the run passed its deadline of %d s and was stopped\n%d passed, %d failed\n")
    :format(deadline_s, passed, failed + 1))
  io.stdout:flush()
  os.exit(1)
end)

local function indent(text)
  return "    " .. tostring(text):gsub("\n", "\n    ")
end

local function main()
  local tests = {}
  local files = vim.fn.glob(root .. "/spec/nvim/*_test.lua", false, true)
  table.sort(files)
  for _, file in ipairs(files) do
    local short = file:sub(#root + 2)
    local chunk, load_err = loadfile(file)
    local ok, register = chunk ~= nil, nil
    if ok then ok, register = pcall(chunk) end
    if ok and type(register) == "function" then
      ok, load_err = pcall(register, function(name, fn)
        if not filter or name:find(filter, 1, true) then
          tests[#tests + 1] = { name = name, fn = fn, file = short }
        end
      end)
    elseif ok then
      ok, load_err = false, "does not return function(test)"
    else
      load_err = load_err or register
    end
    if not ok then
      failed = failed + 1
      out(("not ok - %s: could not load\n%s"):format(short, indent(load_err)))
    end
  end

  local helpers = require "nvim.helpers"
  for i, t in ipairs(tests) do
    if elapsed_s() > deadline_s then
      failed = failed + 1
      out(("not ok %d - %s (not run: the run passed its deadline of %d s)"):format(i, t.name, deadline_s))
    else
      local t0 = vim.loop.hrtime()
      local ok, err = pcall(helpers.before)
      if ok then ok, err = xpcall(t.fn, debug.traceback) end
      local clean_ok, clean_err = pcall(helpers.after)
      if ok and not clean_ok then ok, err = false, "cleanup failed: " .. tostring(clean_err) end
      local took = (vim.loop.hrtime() - t0) / 1e9
      if ok then
        passed = passed + 1
        out(("ok %d - %s (%.2f s)"):format(i, t.name, took))
      else
        failed = failed + 1
        out(("not ok %d - %s (%.2f s)\n%s"):format(i, t.name, took, indent(err)))
      end
    end
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  failed = failed + 1
  out("not ok - the runner failed\n" .. indent(err))
end
if passed + failed == 0 then
  failed = 1
  out("not ok - no tests found in spec/nvim/*_test.lua")
end
watchdog:stop()
watchdog:close()
out(("%d passed, %d failed"):format(passed, failed))
vim.cmd(failed > 0 and "cquit 1" or "qall!")
