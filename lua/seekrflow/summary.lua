--- seekrflow.summary: what failed in a data job, why, and what to do about it.
---
---     local summary = require "seekrflow.summary"
---     local s = summary.of(client.data_jobs:retrieve "dj-…")
---     print(summary.render(s, { color = true, width = 100 }))
---
--- Pure Lua and no I/O, so it works on any decoded detail: one from the
--- client, one decoded from a file, or a hand-made table. The result is plain
--- data that a CLI can print or encode as JSON (its lists carry array_mt, so an
--- empty one encodes as []).
local array_mt = require("seekrflow.core").array_mt

--- Marks a list as a JSON array (tables stay plain otherwise).
local function as_array(list)
  return setmetatable(list, array_mt)
end

local errors = require "seekrflow.errors"
local text_util = require "seekrflow.text"
local detail_fns = require "seekrflow.detail"
local options = require "seekrflow.options"

local summary = {}

---@alias seekrflow.summary.Action "replace"|"retry"|"retry_then_support"|"support"|"review"

---@class seekrflow.summary.Cause
---@field error_message string the documented error text
---@field suggested_fix string the documented suggested fix
---@field action seekrflow.summary.Action
---@field action_text string one line telling the user what to do

--- The six errors the Monitor ingestion page documents, by cause key. The
--- texts are the documented ones, verbatim, so they can be compared with what
--- the server sends.
---@type table<string, seekrflow.summary.Cause>
summary.CAUSES = {
  empty_file = {
    error_message = "The file appears to be empty.",
    suggested_fix = "Upload a file with content.",
    action = "replace",
    action_text = "Upload a copy with content, add it, then remove the empty file.",
  },
  corrupt_pdf = {
    error_message = "The PDF may be corrupted, password-protected, or in an unsupported format.",
    suggested_fix = "Upload a valid, unprotected PDF.",
    action = "replace",
    action_text = "Upload a valid, unprotected PDF, add it, then remove this one.",
  },
  oversized_pages = {
    error_message = "The PDF contains pages that exceed the maximum supported size.",
    suggested_fix = "Re-export the PDF with smaller page dimensions.",
    action = "replace",
    action_text = "Re-export the PDF with smaller page dimensions, upload and add it, then remove this one.",
  },
  file_not_found = {
    error_message = "The file was not found or is not owned by the current user.",
    suggested_fix = "Re-upload the file or verify the correct file_id.",
    action = "replace",
    action_text = "Re-upload the file (or check the file id), add the new id, then remove this one.",
  },
  service_unavailable = {
    error_message = "Service temporarily unavailable.",
    suggested_fix = "Retry the job after a brief wait.",
    action = "retry",
    action_text = "A temporary outage: add the same file again after a brief wait.",
  },
  internal_failure = {
    error_message = "Internal processing failure.",
    suggested_fix = "If the issue persists, contact support.",
    action = "retry_then_support",
    action_text = "Add the same file again once; if it fails again, contact support.",
  },
}

-- Used when an internal failure happens again for the same file: the docs say
-- to contact support "if the issue persists", and a second failure is that.
local SUPPORT_TEXT = "Failed again after a retry: contact SeekrFlow support, the issue persists."
local REVIEW_TEXT = "Check the file and contact support if it persists."

-- Fixed order for ties, so output never depends on table iteration order.
local CAUSE_ORDER = { "empty_file", "corrupt_pdf", "oversized_pages", "file_not_found",
  "service_unavailable", "internal_failure", "unknown" }
local CAUSE_RANK = {}
for i, key in ipairs(CAUSE_ORDER) do CAUSE_RANK[key] = i end

-- Statuses a job only has after /start (the alignment job's): nothing about
-- ingestion can block it any more.
local ALIGNMENT_STATUSES = { pending = true, queued = true, running = true, cancelled = true,
  failed = true, completed = true, stopped = true }
local PRE_START_STATUSES = { file_processing = true, needs_review = true, ready_to_start = true }

local function fail(message)
  error(errors.new("invalid_argument", message), 0)
end

-- Case, surrounding whitespace, runs of spaces and a final period vary between
-- API versions and proxies; none of them changes what the error means.
local function normalize(text)
  if type(text) ~= "string" then return nil end
  text = text:lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""):gsub("%.$", "")
  return text
end

local BY_MESSAGE, BY_FIX = {}, {}
for key, cause in pairs(summary.CAUSES) do
  BY_MESSAGE[normalize(cause.error_message)] = key
  BY_FIX[normalize(cause.suggested_fix)] = key
end

--- The cause key of a server error message: one of the keys of summary.CAUSES,
--- or "unknown" when the text is not a documented one.
---@param error_message string?
---@return string cause
function summary.cause_of(error_message)
  return BY_MESSAGE[normalize(error_message) or ""] or "unknown"
end

local function str(v)
  if type(v) == "string" then return v end
  return nil
end

local plural = text_util.plural

local function unknown_action_text(suggested_fix)
  if type(suggested_fix) == "string" and suggested_fix:match("%S") then
    return "Follow the suggested fix: " .. suggested_fix
  end
  return REVIEW_TEXT
end

-- The one value every entry shares, or nil when they differ.
local function common(entries, field)
  local value = entries[1] and entries[1][field]
  for i = 2, #entries do
    if entries[i][field] ~= value then return nil end
  end
  return value
end

---@class seekrflow.summary.Entry
---@field filename string?
---@field file_id string?
---@field record_id string?
---@field ingestion_job_id string?
---@field error_message string?
---@field suggested_fix string?
---@field failed_at string?
---@field cause string a key of summary.CAUSES, or "unknown"
---@field action seekrflow.summary.Action
---@field action_text string

---@class seekrflow.summary.Group
---@field cause string
---@field error_message string? the documented text; for "unknown", the server's when every file shares it
---@field suggested_fix string?
---@field action seekrflow.summary.Action shared by the group's files (else the cause's documented action)
---@field count integer
---@field files seekrflow.summary.Entry[]

---@alias seekrflow.summary.BlockerKind
---| "ingesting"
---| "failed_files"
---| "no_viable_file"
---| "missing_system_prompt"
---| "missing_vector_database_id"
---| "no_files"
---| "status" # not ready for a reason the detail does not show

---@class seekrflow.summary.Blocker
---@field kind seekrflow.summary.BlockerKind
---@field message string

---@class seekrflow.summary.Plan
---@field remove string[] every failed file
---@field retry string[] files to add again (transient or first internal failure)
---@field replace string[] files to replace with a corrected upload
---@field support string[] files to report to support

---@class seekrflow.Summary
---@field job_id string?
---@field job_name string?
---@field job_type string?
---@field status string?
---@field status_message string?
---@field failed seekrflow.summary.Entry[]
---@field causes seekrflow.summary.Group[]
---@field blockers seekrflow.summary.Blocker[]
---@field can_start boolean
---@field can_start_after_removal boolean
---@field viable_files integer
---@field plan seekrflow.summary.Plan

-- Builds the entry for an attached file whose latest record failed. earlier_failure(file,
-- record, cause) says whether another record of the file failed with that cause before.
local function make_entry(file, record, ingestion_job, earlier_failure)
  local entry = {
    filename = str(record and record.filename) or str(file.name) or str(file.file_id),
    file_id = str(file.file_id),
    record_id = str(file.record_id),
    ingestion_job_id = record and (str(record.ingestion_job_id) or str(ingestion_job.id)) or nil,
    error_message = record and str(record.error_message) or nil,
    suggested_fix = record and str(record.suggested_fix) or str(file.suggested_fix),
    failed_at = record and str(record.failed_at) or nil,
  }
  local cause = summary.cause_of(entry.error_message)
  if cause == "unknown" and entry.error_message == nil then
    -- files[] carries the suggested fix but not the message: when only that
    -- is known (a partial detail), it still identifies a documented cause.
    cause = BY_FIX[normalize(entry.suggested_fix) or ""] or "unknown"
  end
  entry.cause = cause
  local documented = summary.CAUSES[cause]
  if documented then
    entry.action, entry.action_text = documented.action, documented.action_text
  else
    entry.action, entry.action_text = "review", unknown_action_text(entry.suggested_fix)
  end
  if cause == "internal_failure" and entry.file_id and earlier_failure(file, record, cause) then
    entry.action, entry.action_text = "support", SUPPORT_TEXT
  end
  return entry
end

local function by_file_then_time(a, b)
  local fa, fb = a.filename or "", b.filename or ""
  if fa ~= fb then return fa < fb end
  local ta, tb = a.failed_at or "", b.failed_at or ""
  if ta ~= tb then return ta < tb end
  return (a.file_id or "") < (b.file_id or "")
end

local function group_causes(failed)
  local groups, index = {}, {}
  for _, entry in ipairs(failed) do
    local g = index[entry.cause]
    if not g then
      g = { cause = entry.cause, files = {} }
      index[entry.cause] = g
      groups[#groups + 1] = g
    end
    g.files[#g.files + 1] = entry
  end
  for _, g in ipairs(groups) do
    local documented = summary.CAUSES[g.cause]
    g.count = #g.files
    if documented then
      g.error_message, g.suggested_fix = documented.error_message, documented.suggested_fix
      g.action = common(g.files, "action") or documented.action
    else
      g.error_message, g.suggested_fix = common(g.files, "error_message"), common(g.files, "suggested_fix")
      g.action = "review"
    end
  end
  table.sort(groups, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return CAUSE_RANK[a.cause] < CAUSE_RANK[b.cause]
  end)
  return groups
end

local function name_list(failed, limit)
  local names = {}
  for i, entry in ipairs(failed) do
    if i > limit then
      names[#names + 1] = ("and %d more"):format(#failed - limit)
      break
    end
    names[#names + 1] = entry.filename or entry.file_id or "?"
  end
  return table.concat(names, ", ")
end

--- Summarises a data job detail: every failed file with its cause and fix,
--- what blocks /start, and a plan of which files to remove, retry, replace
--- or report. Works on partial details: missing fields give empty results.
--- A detail without `files` has no files attached (the API may leave an empty
--- list out), so summarise a detail, not a list item: a list item has no
--- `files` either.
---@param detail table a decoded data job detail
---@return seekrflow.Summary
function summary.of(detail)
  if type(detail) ~= "table" then
    fail("summary.of: expected a data job detail (a table), got " .. type(detail))
  end
  local status = str(detail.status)
  local job_type = str(detail.job_type)

  -- Which records are a file's is the detail module's rule (detail.records_of); the
  -- records are indexed on first need, once, and each failed one classified once.
  -- Deleted records count as history: removing a file and adding it again is also a retry.
  local records_of, cause_of_record = nil, {}
  local function earlier_failure(file, record, cause)
    records_of = records_of or detail_fns.records_by_file(detail, { include_deleted = true })
    for _, r in records_of(file) do
      if r ~= record and str(r.record_id) ~= str(file.record_id) and detail_fns.is_failed(r) then
        cause_of_record[r] = cause_of_record[r] or summary.cause_of(r.error_message)
        if cause_of_record[r] == cause then return true end
      end
    end
    return false
  end

  -- Which record is a file's current one, and so its status, is the detail
  -- module's rule (seekrflow.detail), used here as it is everywhere.
  local failed, viable, ingesting, attached = {}, 0, 0, 0
  for file, record, ij, file_status in detail_fns.each_file(detail) do
    attached = attached + 1
    if file_status == "completed" then
      viable = viable + 1
    elseif file_status == "failed" then
      failed[#failed + 1] = make_entry(file, record, ij or {}, earlier_failure)
    elseif file_status == "queued" or file_status == "running" or file_status == "pending" then
      ingesting = ingesting + 1
    end
  end
  table.sort(failed, by_file_then_time)

  local plan = { remove = {}, retry = {}, replace = {}, support = {} }
  local seen = {}
  for _, entry in ipairs(failed) do
    local id = entry.file_id
    if id and not seen[id] then
      seen[id] = true
      plan.remove[#plan.remove + 1] = id
      local a = entry.action
      local list = (a == "retry" or a == "retry_then_support") and plan.retry
        or a == "replace" and plan.replace or a == "support" and plan.support or nil
      if list then list[#list + 1] = id end
    end
  end

  local past_start = ALIGNMENT_STATUSES[status] == true or
    (not PRE_START_STATUSES[status] and (detail.alignment_job_id ~= nil or type(detail.alignment_job) == "table"))
  local can_start = status == "ready_to_start"
  local file_based = job_type ~= "context_grounded_vector_db"
  local missing_prompt = job_type == "principle_files" and detail.system_prompt == nil
  local missing_vdb = job_type == "context_grounded_vector_db" and detail.vector_database_id == nil
  local still_ingesting = ingesting > 0 or status == "file_processing"

  local blockers = {}
  local function block(kind, message) blockers[#blockers + 1] = { kind = kind, message = message } end
  if not (can_start or past_start) then
    if still_ingesting then
      if ingesting > 0 then
        block("ingesting", ("%d %s still being ingested"):format(ingesting, plural(ingesting, "file is", "files are")))
      else
        block("ingesting", "Files are still being ingested")
      end
    end
    if #failed > 0 then
      block("failed_files", ("%d %s failed ingestion: %s"):format(#failed, plural(#failed, "file", "files"),
        name_list(failed, 5)))
    end
    if file_based then
      -- a detail without files[] has none attached (the API may leave an empty list
      -- out); every job type but context_grounded_vector_db needs files, so a
      -- detail that does not say its type is blocked by that too
      if attached == 0 then
        block("no_files", "No files are attached: add at least one document")
      elseif viable == 0 and not still_ingesting then
        block("no_viable_file", "No attached file would remain usable once the failed ones are removed")
      end
    end
    if missing_prompt then
      block("missing_system_prompt", "principle_files jobs need a system prompt, and this one has none")
    end
    if missing_vdb then
      block("missing_vector_database_id", "context_grounded_vector_db jobs need a vector_database_id")
    end
    if #blockers == 0 and status ~= nil then
      -- The server says it is not ready but the detail does not show why:
      -- pass its own words on rather than claim there is nothing to do.
      block("status", detail.status_message and ("%s: %s"):format(status, tostring(detail.status_message))
        or ("The job's status is %s"):format(status))
    end
  end

  local unexplained = blockers[#blockers] ~= nil and blockers[#blockers].kind == "status"
  local can_start_after_removal
  if can_start then
    can_start_after_removal = true
  elseif past_start then
    can_start_after_removal = false
  else
    can_start_after_removal = not still_ingesting and not missing_prompt and not missing_vdb and not unexplained
      and (not file_based or viable >= 1)
  end

  -- Lists carry array_mt so that JSON output writes an empty one as [], not {}.
  local causes = group_causes(failed)
  for _, group in ipairs(causes) do as_array(group.files) end
  for _, list in pairs(plan) do as_array(list) end
  return {
    job_id = str(detail.id),
    job_name = str(detail.name),
    job_type = job_type,
    status = status,
    status_message = str(detail.status_message),
    failed = as_array(failed),
    causes = as_array(causes),
    blockers = as_array(blockers),
    can_start = can_start,
    can_start_after_removal = can_start_after_removal,
    viable_files = viable,
    plan = plan,
  }
end

-- ---------------------------------------------------------------------------
-- render
-- ---------------------------------------------------------------------------

-- Below this, wrapping would leave a word or two per line: unreadable, so a
-- narrower width is treated as this one.
local MIN_WIDTH = 20
local RENDER_OPTIONS = { color = "boolean", width = options.number_at_least(1, true) }

local columns, prefix, terminal_safe = text_util.width, text_util.prefix, text_util.terminal_safe

local painted = text_util.painter(true)

local function paint(text, style, color)
  if color then return painted(style, text) end
  return text
end

-- Paints pieces ({ text, style }), one escape sequence per run of a style
-- rather than per word, so colored output stays readable in a log.
local function emit(lead, pieces, color, out)
  local parts, run_text, run_style = { lead }, {}, nil
  local function close()
    if #run_text > 0 then parts[#parts + 1] = paint(table.concat(run_text), run_style, color) end
    run_text = {}
  end
  for _, piece in ipairs(pieces) do
    if piece[2] ~= run_style then
      close()
      run_style = piece[2]
    end
    run_text[#run_text + 1] = piece[1]
  end
  close()
  out[#out + 1] = table.concat(parts)
end

-- Splits a line's segments into words; a word is a list of pieces, since a
-- style can change inside one ("✗" then a name, a label then ": ").
local function words_of(line)
  local words, word = {}, nil
  for _, seg in ipairs(line) do
    local text, i = seg[1], 1
    while i <= #text do
      local s, e = text:find("%s+", i)
      local stop = s and s - 1 or #text
      if stop >= i then
        word = word or {}
        word[#word + 1] = { text:sub(i, stop), seg[2] }
        if seg.keep then word.keep = true end
      end
      if not s then break end
      if word then words[#words + 1] = word end
      word = nil
      i = e + 1
    end
  end
  if word then words[#words + 1] = word end
  return words
end

local function word_columns(word)
  local n = 0
  for _, piece in ipairs(word) do n = n + columns(piece[1]) end
  return n
end

-- The first n columns of a word, then "…": for a single word (a long id or
-- name) wider than a whole line.
local function cut(word, n)
  local out, left = {}, math.max(n - 1, 0)
  for _, piece in ipairs(word) do
    local w = columns(piece[1])
    if w >= left then
      out[#out + 1] = { prefix(piece[1], left) .. "…", piece[2] }
      return out
    end
    out[#out + 1] = piece
    left = left - w
  end
  return out
end

-- A line is { indent, hang, command, exact, { text, style, keep = b }, … }:
-- segments of styled text; `hang` indents continuation lines; `command`
-- lines end broken lines with a backslash so the wrapped command still
-- pastes into a shell. A word wider than a whole line is cut, except in
-- `exact` lines and `keep` segments (ids): a cut id is worse than a long line.
local function layout(line, width, color, out)
  local indent = line.indent or ""
  if not width then
    emit(indent, line, color, out)
    return
  end
  local hang = line.hang or (indent .. "  ")
  local tail = line.command and " \\" or ""
  local pieces, used, lead, count = {}, columns(indent), indent, 0
  local function flush(last)
    if not last then pieces[#pieces + 1] = { tail } end
    emit(lead, pieces, color, out)
    pieces, lead, used, count = {}, hang, columns(hang), 0
  end
  for _, word in ipairs(words_of(line)) do
    local wide = word_columns(word)
    local room = width - used - (count > 0 and 1 or 0) - #tail
    if wide > room and count > 0 then
      flush(false)
      room = width - used - #tail
    end
    if wide > room and not (line.exact or word.keep) then
      word = cut(word, room)
      wide = word_columns(word)
    end
    if count > 0 then
      -- The space takes the style only when both neighbours share it, so a
      -- run of one style stays one escape sequence.
      local before, after = pieces[#pieces][2], word[1][2]
      pieces[#pieces + 1] = { " ", before == after and before or nil }
    end
    for _, piece in ipairs(word) do pieces[#pieces + 1] = piece end
    used, count = used + (count > 0 and 1 or 0) + wide, count + 1
  end
  flush(true)
end

local function job_label(s)
  local label = s.job_id or "data job"
  if s.job_name then label = ("%s %q"):format(label, s.job_name) end
  return label
end

-- A blocker message inside the verdict's sentence: "No files …" reads
-- "no files …" there, while an acronym or an identifier stays as it is.
local function sentence_part(message)
  message = tostring(message)
  return (message:gsub("^(%u)(%l)", function(a, b) return a:lower() .. b end))
end

local function ids_text(ids)
  return table.concat(ids, " ")
end

--- Renders a summary for a terminal, in the spirit of `gh run view
--- --log-failed`: only what failed (one line of cause and fix per file,
--- grouped by cause), then what blocks /start, what to do next, and a one-line
--- verdict. A job with nothing wrong gets a single line. Every line ends
--- with "\n", so the text can be written out as it is.
---@param s seekrflow.Summary from summary.of
---@param opts { color: boolean?, width: integer? }? color: ANSI styles (default off); width: wrap at this column
---@return string
function summary.render(s, opts)
  if type(s) ~= "table" then fail("summary.render: expected a summary from summary.of, got " .. type(s)) end
  local problem = options.problem(opts, RENDER_OPTIONS)
  if problem then fail("summary.render: " .. problem) end
  opts = opts or {}
  local width = opts.width
  width = width and math.max(math.floor(width), MIN_WIDTH)
  local color = opts.color == true

  local failed = type(s.failed) == "table" and s.failed or {}
  local blockers = type(s.blockers) == "table" and s.blockers or {}
  local plan = type(s.plan) == "table" and s.plan or {}
  local lines = {}
  -- pieces quote server text (names, ids, errors, status messages): neutralised
  -- here, once, before any colour is added
  local function add(line)
    for _, piece in ipairs(line) do piece[1] = terminal_safe(piece[1]) end
    lines[#lines + 1] = line
  end
  local job = s.job_id or "<job>"

  if #failed == 0 and #blockers == 0 then
    local text
    if s.can_start then
      text = job_label(s) .. " is ready to start."
    elseif ALIGNMENT_STATUSES[s.status] then
      text = ("%s: %s (alignment started)."):format(job_label(s), s.status)
    else
      text = ("%s: %s"):format(job_label(s), s.status or "status unknown")
      if s.status_message then text = text .. " — " .. s.status_message end
    end
    add { { text } }
  else
    local head = job_label(s)
    if s.job_type then head = head .. " (" .. s.job_type .. ")" end
    add { exact = true, { head, "bold" }, { ": " .. (s.status or "status unknown") } }

    for _, g in ipairs(type(s.causes) == "table" and s.causes or {}) do
      add {}
      local files = g.files or {}
      local title = summary.CAUSES[g.cause] and g.error_message or "Other errors"
      add { { title, "bold" }, { (" (%d %s)"):format(#files, plural(#files, "file", "files")) } }
      for _, e in ipairs(files) do
        local what = ""
        if not summary.CAUSES[e.cause] and e.error_message then what = e.error_message .. " — " end
        add { indent = "  ", hang = "    ", { "✗", "red" }, { " " .. (e.filename or "?") .. " " },
          { "(" .. (e.file_id or "no file id") .. "): ", nil, keep = true }, { what },
          { e.action_text or REVIEW_TEXT, "yellow" } }
      end
    end

    if #blockers > 0 then
      add {}
      add { { "Blocking /start:", "bold" } }
      for _, b in ipairs(blockers) do add { indent = "  ", hang = "    ", { "- " .. tostring(b.message) } } end
    end

    local next_steps = {}
    local function step(label, command)
      next_steps[#next_steps + 1] = { indent = "  ", hang = "      ", command = command ~= nil, exact = true,
        { label .. ": ", "yellow" }, command and { command } or nil }
    end
    local remove, retry = plan.remove or {}, plan.retry or {}
    local replace, support = plan.replace or {}, plan.support or {}
    -- The command's own shortcuts, and never "remove" and "add again" for one file: the
    -- retry goes first (a retried file is no longer failed), then --failed removes the rest.
    local retrying = {}
    for _, id in ipairs(retry) do retrying[id] = true end
    local rest = 0
    for _, id in ipairs(remove) do if not retrying[id] then rest = rest + 1 end end
    if #retry > 0 then
      step("Add the transient failures again after a brief wait", "seekrflow add-files " .. job .. " --retry-failed")
    end
    if rest > 0 then
      step(#retry > 0 and "Then remove the other failed files" or "Remove the failed files",
        "seekrflow remove-files " .. job .. " --failed")
    end
    if #replace > 0 then
      next_steps[#next_steps + 1] = { indent = "  ", hang = "      ", exact = true,
        { "Replace with corrected uploads (upload, add, then remove the old file): ", "yellow" },
        { ids_text(replace) } }
    end
    if #support > 0 then
      next_steps[#next_steps + 1] = { indent = "  ", hang = "      ", exact = true,
        { "Contact SeekrFlow support about: ", "yellow" }, { ids_text(support) } }
    end
    local todo = {
      ingesting = "Wait for ingestion to finish, then look again.",
      no_files = "Add at least one document.",
      no_viable_file = "Add at least one file that ingests successfully.",
      missing_system_prompt = "Set a system prompt (principle_files jobs need one).",
      missing_vector_database_id = "Set the job's vector_database_id.",
    }
    for _, b in ipairs(blockers) do
      if todo[b.kind] then
        next_steps[#next_steps + 1] = { indent = "  ", hang = "    ", { todo[b.kind], "yellow" } }
      end
    end
    local started = ALIGNMENT_STATUSES[s.status] == true
    if #next_steps > 0 and not started then
      add {}
      add { { "Next:", "bold" } }
      for _, l in ipairs(next_steps) do add(l) end
    end

    add {}
    local verdict
    if s.can_start then
      verdict = "Ready to start."
    elseif started then
      verdict = ("Already started (%s): files can no longer be added or removed."):format(s.status)
    elseif #failed > 0 and s.can_start_after_removal then
      verdict = "Ready to start once the failed files are removed."
    else
      local reasons = {}
      for _, b in ipairs(blockers) do
        if b.kind ~= "failed_files" then reasons[#reasons + 1] = sentence_part(b.message) end
      end
      if #reasons == 0 then
        for _, b in ipairs(blockers) do reasons[#reasons + 1] = sentence_part(b.message) end
      end
      verdict = #reasons > 0 and ("Cannot start: " .. table.concat(reasons, "; ") .. ".")
        or ("Cannot start: the job's status is " .. tostring(s.status or "unknown") .. ".")
    end
    add { { verdict, "bold" } }
  end

  local out = {}
  for _, line in ipairs(lines) do
    if #line == 0 then out[#out + 1] = "" else layout(line, width, color, out) end
  end
  return table.concat(out, "\n") .. "\n"
end

return summary
