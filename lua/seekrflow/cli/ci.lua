--- GitHub Actions output: when GITHUB_ACTIONS=true, each failed file becomes an `::error`
--- annotation (shown on the run's page) and the job's summary is appended as Markdown to
--- $GITHUB_STEP_SUMMARY. Nothing happens anywhere else.
local text = require "seekrflow.text"

local ci = {}

-- Workflow-command escaping: data escapes %, CR and LF; properties also : and ,.
local function escape_data(s)
  return (tostring(s or ""):gsub("%%", "%%25"):gsub("\r", "%%0D"):gsub("\n", "%%0A"))
end

local function escape_property(s)
  return (escape_data(s):gsub(":", "%%3A"):gsub(",", "%%2C"))
end

-- A Markdown table cell: one line, no column breaks, no HTML.
local function cell(s)
  return (tostring(s or ""):gsub("[%c]", " "):gsub("|", "\\|"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

--- The `::error` lines for a summary's failed files.
---@param s table a summary from seekrflow.summary.of
---@return string[]
function ci.annotations(s)
  local lines = {}
  for _, entry in ipairs(type(s.failed) == "table" and s.failed or {}) do
    local name = entry.filename or entry.file_id or "file"
    lines[#lines + 1] = ("::error title=%s::%s"):format(
      escape_property(("%s failed in %s"):format(name, tostring(s.job_id or "the data job"))),
      escape_data(("%s: %s — %s"):format(name, entry.error_message or "failed",
        entry.action_text or entry.suggested_fix or "see seekrflow failures")))
  end
  return lines
end

--- The Markdown summary of a job, for $GITHUB_STEP_SUMMARY.
---@param s table a summary from seekrflow.summary.of
---@param outcome string? how the watch ended ("reached", "needs_review", …)
---@return string
function ci.markdown(s, outcome)
  local out = {}
  out[#out + 1] = ("### seekrflow: %s — %s"):format(cell(s.job_name or s.job_id or "data job"), cell(s.status or "?"))
  out[#out + 1] = ""
  if outcome then out[#out + 1] = ("Watch ended: **%s**"):format(cell(outcome)) end
  local failed = type(s.failed) == "table" and s.failed or {}
  if #failed == 0 then
    out[#out + 1] = "No failed files."
  else
    out[#out + 1] = ("%d failed %s:"):format(#failed, text.plural(#failed, "file", "files"))
    out[#out + 1] = ""
    out[#out + 1] = "| File | File id | Error | Fix |"
    out[#out + 1] = "|---|---|---|---|"
    for _, e in ipairs(failed) do
      out[#out + 1] = ("| %s | `%s` | %s | %s |"):format(cell(e.filename), cell(e.file_id), cell(e.error_message),
        cell(e.action_text or e.suggested_fix))
    end
  end
  out[#out + 1] = ""
  return table.concat(out, "\n") .. "\n"
end

--- Reports a summary to GitHub Actions when running there. Annotations go to stdout, the
--- channel the runner reads workflow commands from (stderr with --json, which owns stdout).
---@param ctx table the command's context
---@param s table a summary from seekrflow.summary.of
---@param outcome string?
function ci.report(ctx, s, outcome)
  if ctx.getenv("GITHUB_ACTIONS") ~= "true" then return end
  local emit = ctx.flags.json and ctx.err or ctx.write
  for _, line in ipairs(ci.annotations(s)) do emit(line .. "\n") end
  local path = ctx.getenv("GITHUB_STEP_SUMMARY")
  if path and path ~= "" then
    local f, err = io.open(path, "ab")
    if not f then
      ctx.err(("seekrflow: cannot append to $GITHUB_STEP_SUMMARY (%s)\n"):format(tostring(err)))
      return
    end
    local ok, werr = f:write(ci.markdown(s, outcome))
    f:close()
    if not ok then ctx.err(("seekrflow: cannot append to $GITHUB_STEP_SUMMARY (%s)\n"):format(tostring(werr))) end
  end
end

return ci
