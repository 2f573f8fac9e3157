-- "Not found" and business-rule refusals, in each convention a service may use: 404 and 409
-- (the simulator's default), or 400 and 422 with a `detail` sentence (sibling routers of the
-- published API; the simulator's spec-minimal mode). Whatever the status, the error gets the
-- class of what it means, and everything that branches on it (errors.is, the watch, the
-- remediation helpers, the seekrflow command) does the same thing. The answers are injected
-- with the simulator's faults, so this file checks both conventions in either mode.
local sim = require "helpers.sim"
local watch = require "seekrflow.watch"
local remediate = require "seekrflow.remediate"
local errors = sim.seekrflow.errors

local DETAIL = "GET /v1/flow/data-jobs/{id}"
local START = "POST /v1/flow/data-jobs/{id}/start"

local function fault(route, status, body)
  sim.fault { route = route, kind = "status", status = status, body = body }
end

local run_cli = require "contract.run_cli"

local NOT_FOUND = {
  { 404, '{"detail":"Data job \'dj-gone\' not found."}' },
  { 422, '{"detail":"Data job \'dj-gone\' not found."}' },
  { 400, '{"detail":"Data job dj-gone does not exist"}' },
}
local REFUSED = {
  { 409, '{"detail":"Data job cannot be started: its status is needs_review."}' },
  { 400, '{"detail":"Data job cannot be started: its status is needs_review."}' },
  { 422, '{"detail":"Data job cannot be started: its status is needs_review."}' },
}

describe("error conventions", function()
  local client
  sim.client_per_test(function(c) client = c end)

  for _, case in ipairs(NOT_FOUND) do
    local status, body = case[1], case[2]
    it(("not found as %d: errors.is, the watch, remediation and the command agree"):format(status), function()
      fault(DETAIL, status, body)
      local ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-gone")
      assert.is_false(ok)
      assert.equal(status, err.status)
      assert.equal("not_found", err.class)
      assert.is_true(errors.is(err, "not_found"))
      assert.is_false(errors.is(err, "conflict"))
      assert.is_false(err.retryable)

      fault(DETAIL, status, body)
      local t = 0
      local result = watch.wait(client, "dj-gone", {
        clock = function() return t end, sleep = function(s) t = t + s end, timeout = 60, errors = "return" })
      assert.equal("error", result.reason)
      assert.equal(1, result.polls) -- no retry can fix it
      assert.is_true(errors.is(result.error, "not_found"))

      fault(DETAIL, status, body)
      ok, err = pcall(remediate.remove_failed, client, "dj-gone")
      assert.is_false(ok)
      assert.is_true(errors.is(err, "not_found"))

      fault(DETAIL, status, body)
      local code, _, stderr = run_cli({ "show", "dj-gone" })
      assert.equal(1, code)
      assert.truthy(stderr:find("not_found", 1, true), stderr)
      fault(DETAIL, status, body)
      code, _, stderr = run_cli({ "show", "dj-gone", "--json" })
      assert.equal(1, code)
      local decoded = sim.seekrflow.json_decode(stderr).error
      assert.same({ status, "not_found" }, { decoded.status, decoded.class })
    end)
  end

  for _, case in ipairs(REFUSED) do
    local status, body = case[1], case[2]
    it(("a refusal as %d is a conflict for errors.is and the command"):format(status), function()
      local job = client.data_jobs:create { name = "refused", job_type = "principle_files" }
      fault(START, status, body)
      local ok, err = pcall(client.data_jobs.start, client.data_jobs, job.id)
      assert.is_false(ok)
      assert.equal(status, err.status)
      assert.is_true(errors.is(err, "conflict"))
      assert.is_false(errors.is(err, "not_found"))
      assert.equal("Data job cannot be started: its status is needs_review.", err.detail)

      fault(START, status, body)
      local code, _, stderr = run_cli({ "start", job.id })
      assert.equal(1, code)
      assert.truthy(stderr:find("cannot be started", 1, true), stderr)
      assert.truthy(stderr:find("conflict", 1, true), stderr)
    end)
  end

  it("validation 422s and bare 400s keep their own classes", function()
    fault(DETAIL, 422, '{"detail":[{"type":"missing","loc":["path","id"],"msg":"Field required"}]}')
    local ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-x")
    assert.is_false(ok)
    assert.equal("unprocessable", err.class)
    fault(DETAIL, 400, '{"error":"Bad Request","message":"The URL is malformed"}')
    ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-x")
    assert.is_false(ok)
    assert.equal("bad_request", err.class)
    fault(DETAIL, 404, '{"detail":"Not Found"}')
    ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-x")
    assert.is_false(ok)
    assert.equal("not_found", err.class)
  end)

  it("the simulator's own answers in its current mode", function()
    local ok, err = pcall(client.data_jobs.retrieve, client.data_jobs, "dj-missing")
    assert.is_false(ok)
    assert.same({ sim.NOT_FOUND, "not_found" }, { err.status, err.class })
    local job = client.data_jobs:create { name = "refused", job_type = "principle_files" }
    ok, err = pcall(client.data_jobs.start, client.data_jobs, job.id)
    assert.is_false(ok)
    assert.same({ sim.REFUSED, "conflict" }, { err.status, err.class })
  end)
end)
