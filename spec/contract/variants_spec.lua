-- Answers the published API allows that our simulator does not send by itself: status
-- `pending`, fractional `progress` (and a string `step_progress`), `+00:00` offsets, record
-- statuses outside the four we know, and a detail with only the required fields. Each is
-- served by the simulator's fault injection (status 200 with the body given here) and goes
-- through the real client, the summary, the watch loop and the seekrflow command.
local sim = require "helpers.sim"
local util = require "helpers.util"
local summary, watch = util.modules("summary", "watch")

local DETAIL = "GET /v1/flow/data-jobs/{id}"
local ID = "dj-variant"

-- The required fields of DataJobDetailResponse, plus `extra` (a JSON text of more members).
local function detail_json(status, extra)
  return ([=[{"id":"%s","user_id":"user-1","name":"variant job","job_type":"principle_files",
"alignment_job_id":null,"created_at":"2025-11-14T07:35:21.700005+00:00",
"updated_at":"2025-11-14T07:36:02+00:00","status":"%s"%s}]=]):format(ID, status,
    extra and ("," .. extra) or "")
end

local function serve(...)
  for _, body in ipairs({ ... }) do
    sim.fault { route = DETAIL, kind = "status", status = 200, body = body }
  end
end

local run_cli = require "contract.run_cli"

-- Shows the job through the command and checks it neither crashed nor failed to read it.
local function shows(...)
  local code, out, err = run_cli({ "show", ID })
  assert.is_number(code)
  assert.is_true(code ~= 1 and code ~= 2, "show exited " .. code .. ": " .. err)
  assert.is_nil(err:find("internal error", 1, true), err)
  assert.is_nil(err:find("decode", 1, true), err)
  for _, text in ipairs({ ... }) do assert.truthy(out:find(text, 1, true), text .. " not in:\n" .. out) end
  return code, out
end

local function simulated_watch(client, opts)
  local t, events = 0, {}
  opts = opts or {}
  opts.clock = function() return t end
  opts.sleep = function(s) t = t + s end
  opts.timeout = opts.timeout or 60
  opts.on_event = function(e) events[#events + 1] = e end
  return watch.wait(client, ID, opts), events
end

describe("spec-valid variants", function()
  local client
  sim.client_per_test(function(c) client = c end)

  it("a detail with only the required fields", function()
    serve(detail_json("needs_review"))
    local d = client.data_jobs:retrieve(ID)
    assert.equal("needs_review", d.status)
    assert.is_nil(d.files)
    local s = summary.of(d)
    assert.equal("needs_review", s.status)
    assert.same({}, s.failed)
    assert.is_string(summary.render(s, {}))
    serve(detail_json("needs_review"))
    local result = simulated_watch(client)
    assert.equal("needs_review", result.reason)
    serve(detail_json("needs_review"))
    shows("variant job", "needs_review")
    serve(detail_json("needs_review"))
    local code, _, err = run_cli({ "failures", ID })
    assert.is_number(code)
    assert.is_nil(err:find("internal error", 1, true), err)
  end)

  it("status pending: alignment not started yet is not an end", function()
    local pending = detail_json("pending", [=["alignment_job_id":"al-1","alignment_job":{"id":"al-1",
"created_at":"2025-11-14T07:40:00+00:00","status":"pending"}]=])
    local completed = detail_json("completed", [=["alignment_job_id":"al-1","alignment_job":{"id":"al-1",
"created_at":"2025-11-14T07:40:00+00:00","status":"completed","progress":1}]=])
    serve(pending, completed)
    local result, events = simulated_watch(client)
    assert.equal("reached", result.reason)
    assert.equal("completed", result.detail.status)
    assert.equal(2, result.polls)
    local statuses = {}
    for _, e in ipairs(util.where(events, "type", "job_status")) do statuses[#statuses + 1] = e.to end
    assert.same({ "pending", "completed" }, statuses)
    serve(pending)
    shows("pending")
    serve(pending)
    assert.is_false(summary.of(client.data_jobs:retrieve(ID)).can_start)
  end)

  it("fractional progress and a string step_progress", function()
    local running = detail_json("running", [=["alignment_job":{"id":"al-1",
"created_at":"2025-11-14T07:40:00+00:00","status":"running","current_step":"generating",
"step_progress":"3/10","progress":0.425,"eta_minutes":7}]=])
    local d = (function()
      serve(running)
      return client.data_jobs:retrieve(ID)
    end)()
    assert.equal(0.425, d.alignment_job.progress)
    assert.equal("3/10", d.alignment_job.step_progress)
    serve(running, running)
    local result, events = simulated_watch(client, { until_statuses = { "completed" }, timeout = 1,
      max_interval = 2 })
    assert.equal("timed_out", result.reason)
    local alignment = util.where(events, "type", "alignment")
    assert.is_true(#alignment >= 1)
    assert.equal(0.425, alignment[1].progress)
    serve(running)
    shows("running", "generating")
  end)

  it("timestamps with a +00:00 offset", function()
    local body = detail_json("ready_to_start", [=["files":[{"file_id":"file-1","name":"a.md","type":"md",
"created_at":"2025-11-14T07:30:00+00:00"}],"timeline":[{"timestamp":"2025-11-14T07:35:21.700005+00:00",
"event_type":"Created","message":"Data job created."}]]=])
    serve(body)
    local d = client.data_jobs:retrieve(ID)
    assert.equal("2025-11-14T07:35:21.700005+00:00", d.created_at)
    assert.is_true(summary.of(d).can_start)
    serve(body)
    local result = simulated_watch(client)
    assert.equal("reached", result.reason)
    serve(body)
    shows("a.md", "ready_to_start")
  end)

  it("a record status outside queued, running, completed and failed", function()
    local body = detail_json("file_processing", [=["ingestion_jobs":[{"id":"ij-1","status":"running",
"created_at":"2025-11-14T07:36:00+00:00","updated_at":"2025-11-14T07:36:01+00:00","file_ids":["file-1"],
"records":[{"record_id":"ijf-1","ingestion_job_id":"ij-1","alignment_file_id":"file-1","user_id":"user-1",
"filename":"a.pdf","status":"deduplicating","created_at":"2025-11-14T07:36:00+00:00"}]}],
"files":[{"file_id":"file-1","record_id":"ijf-1","name":"a.pdf","type":"pdf","status":"deduplicating"}]]=])
    serve(body)
    local s = summary.of(client.data_jobs:retrieve(ID))
    assert.same({}, s.failed)
    assert.is_false(s.can_start)
    serve(body, body)
    local result, events = simulated_watch(client, { timeout = 1, max_interval = 2 })
    assert.equal("timed_out", result.reason)
    local added = util.where(events, "type", "record_added")
    assert.equal(1, #added)
    assert.equal("deduplicating", added[1].record.status)
    serve(body)
    shows("a.pdf", "deduplicating")
  end)
end)
