-- Every error class, each produced by the simulator over real HTTP.
local sim = require "helpers.sim"
local seekrflow = sim.seekrflow

local DETAIL = "GET /v1/flow/data-jobs/{id}"
local LIST = "GET /v1/flow/data-jobs"

local function failing(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error")
  assert.is_true(seekrflow.errors.is_error(err), "not a structured error: " .. tostring(err))
  return err
end

describe("errors", function()
  local client, job_id

  before_each(function()
    sim.reset()
    client = sim.client()
    job_id = client.data_jobs:create { name = "e", job_type = "principle_files" }.id
  end)

  after_each(function() client:close() end)

  it("401: a wrong key", function()
    local bad = sim.client { api_key = "wrong-key" }
    local err = failing(function() bad.data_jobs:list() end)
    assert.equal("status", err.kind)
    assert.equal(401, err.status)
    assert.equal("unauthorized", err.class)
    assert.is_string(err.detail)
    assert.is_false(err.retryable)
    assert.equal(1, err.attempts)
    assert.is_nil(tostring(err):find("wrong-key", 1, true))
    bad:close()
  end)

  it("403: a key without permission and a team the key cannot use", function()
    local readonly = sim.client { api_key = "sim-readonly-key" }
    assert.equal("list", readonly.data_jobs:list().object)
    local err = failing(function() readonly.data_jobs:create { name = "x", job_type = "principle_files" } end)
    assert.equal(403, err.status)
    assert.equal("forbidden", err.class)
    readonly:close()
    local foreign = sim.client { team_id = "team-elsewhere" }
    err = failing(function() foreign.data_jobs:list() end)
    assert.equal(403, err.status)
    foreign:close()
    local team = sim.client { team_id = "team-sim" }
    assert.equal("list", team.data_jobs:list().object)
    team:close()
  end)

  it("404 and 409 carry the server's detail", function()
    local err = failing(function() client.data_jobs:start(job_id) end)
    assert.equal(409, err.status)
    assert.equal("conflict", err.class)
    assert.matches("needs_review", err.detail)
    assert.matches(err.detail, err.message, 1, true)
    err = failing(function() client.data_jobs:delete("dj-nope") end)
    assert.equal(404, err.status)
  end)

  it("422 from the server keeps the validation list", function()
    local err = failing(function()
      client:request("POST", "flow/data-jobs", { body = { name = "", job_type = "nope" } })
    end)
    assert.equal(422, err.status)
    assert.is_true(#err.detail >= 1)
    assert.matches("body", err.message)
  end)

  it("429 with Retry-After is waited out and retried", function()
    sim.fault { route = DETAIL, kind = "status", status = 429, retry_after = 1, times = 1 }
    local t0 = seekrflow.monotonic()
    local detail = client.data_jobs:retrieve(job_id)
    assert.equal(job_id, detail.id)
    assert.equal(2, #sim.requests_for(DETAIL))
    assert.is_true(seekrflow.monotonic() - t0 >= 0.9, "Retry-After: 1 was not waited out")
  end)

  it("429 asking to wait longer than the cap is not retried", function()
    sim.fault { route = DETAIL, kind = "status", status = 429, retry_after = 120, times = 1 }
    local err = failing(function() client.data_jobs:retrieve(job_id) end)
    assert.equal(429, err.status)
    assert.equal("rate_limited", err.class)
    assert.equal(120, err.retry_after)
    assert.is_true(err.retryable)
    assert.equal(1, err.attempts)
  end)

  it("honours retry-after-ms", function()
    sim.fault { route = DETAIL, kind = "status", status = 503, retry_after_ms = 50, times = 1 }
    assert.equal(job_id, client.data_jobs:retrieve(job_id).id)
  end)

  it("500 and 503 on a GET are retried, then reported with the attempt count", function()
    sim.fault { route = DETAIL, kind = "status", status = 500, times = 1 }
    assert.equal(job_id, client.data_jobs:retrieve(job_id).id)
    sim.fault { route = DETAIL, kind = "status", status = 503, times = -1 }
    local err = failing(function() client.data_jobs:retrieve(job_id) end)
    assert.equal(503, err.status)
    assert.equal("server", err.class)
    assert.equal(3, err.attempts) -- the first try and max_retries = 2
    assert.matches("after 3 attempts", tostring(err))
  end)

  it("408 on a GET is retried; on a POST it is not", function()
    sim.fault { route = DETAIL, kind = "status", status = 408, times = 1 }
    assert.equal(job_id, client.data_jobs:retrieve(job_id).id)
    assert.equal(2, #sim.requests_for(DETAIL))
    sim.fault { route = "POST /v1/flow/data-jobs", kind = "status", status = 408, times = 1 }
    local err = failing(function() client.data_jobs:create { name = "x", job_type = "principle_files" } end)
    assert.equal(408, err.status)
    assert.equal("request_timeout", err.class)
    assert.equal(1, err.attempts)
  end)

  it("a reset connection is a connection error, retried for a GET", function()
    sim.fault { route = DETAIL, kind = "reset", times = 1 }
    assert.equal(job_id, client.data_jobs:retrieve(job_id).id)
    sim.fault { route = DETAIL, kind = "reset", times = -1 }
    local err = failing(function() client.data_jobs:retrieve(job_id, { max_retries = 0 }) end)
    assert.equal("connection", err.kind)
    assert.is_true(err.retryable)
  end)

  it("a truncated body is never decoded as if whole", function()
    sim.fault { route = DETAIL, kind = "truncate", times = -1 }
    local err = failing(function() client.data_jobs:retrieve(job_id, { max_retries = 1 }) end)
    assert.equal("connection", err.kind)
    assert.equal(2, err.attempts)
  end)

  it("a non-JSON body is a decode error that shows what came back", function()
    sim.fault { route = DETAIL, kind = "non_json", times = -1 }
    local err = failing(function() client.data_jobs:retrieve(job_id) end)
    assert.equal("decode", err.kind)
    assert.matches("html", err.message)
    sim.fault { route = LIST, kind = "non_json", status = 502, times = -1 }
    err = failing(function() client.data_jobs:list(nil, { max_retries = 0 }) end)
    assert.equal(502, err.status)
    assert.matches("html", err.body)
  end)

  it("a slow response is a timeout, not a hang", function()
    sim.fault { route = DETAIL, kind = "latency", delay_ms = 3000, times = -1 }
    local err = failing(function() client.data_jobs:retrieve(job_id, { timeout = 0.3, max_retries = 0 }) end)
    assert.equal("timeout", err.kind)
    assert.is_true(err.retryable)
  end)

  it("a stalled transfer is a timeout", function()
    sim.fault { route = DETAIL, kind = "stall", delay_ms = 4000, times = -1 }
    local err = failing(function() client.data_jobs:retrieve(job_id, { stall_timeout = 1, max_retries = 0 }) end)
    assert.equal("timeout", err.kind)
    assert.matches("stall", err.message)
  end)

  it("nothing listening is a connection error", function()
    local nowhere = seekrflow.new { api_key = "k", base_url = "http://127.0.0.1:1/v1", max_retries = 1,
      retry_initial_delay = 0.01 }
    local err = failing(function() nowhere.data_jobs:list() end)
    assert.equal("connection", err.kind)
    assert.equal(2, err.attempts)
    nowhere:close()
  end)

  it("carries the request id and a readable line", function()
    local err = failing(function() client.data_jobs:retrieve("dj-missing") end)
    assert.is_string(err.request_id)
    assert.matches("request id " .. err.request_id:gsub("%p", "%%%0"), tostring(err))
    -- where the library was called from comes first, as in Lua's own errors
    assert.equal("spec/errors_spec.lua:171", err.where)
    assert.matches("^spec/errors_spec%.lua:171: seekrflow status error: HTTP 404 Not Found", tostring(err))
    assert.matches("GET http://127%.0%.0%.1:%d+/v1/flow/data%-jobs/dj%-missing", tostring(err))
  end)
end)

describe("retries of requests that are not idempotent", function()
  local client, job_id, file_id
  local ADD = "POST /v1/flow/data-jobs/{id}/add-files"

  before_each(function()
    sim.reset()
    client = sim.client()
    job_id = client.data_jobs:create { name = "r", job_type = "principle_files", system_prompt = "p" }.id
    file_id = sim.file("a.pdf", "%PDF-1.7").id
  end)

  after_each(function() client:close() end)

  it("a failing add-files (500) is sent once, never twice", function()
    sim.fault { route = ADD, kind = "status", status = 500, times = 1 }
    local err = failing(function() client.data_jobs:add_files(job_id, { file_id }) end)
    assert.equal(500, err.status)
    assert.equal(1, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(1, #sim.requests_for(ADD))
  end)

  it("a reset after add-files was sent is not resent", function()
    client.data_jobs:list() -- warm a keep-alive connection
    sim.fault { route = ADD, kind = "reset", times = 1 }
    local err = failing(function() client.data_jobs:add_files(job_id, { file_id }) end)
    assert.equal("connection", err.kind)
    assert.equal(1, #sim.requests_for(ADD))
  end)

  it("a timeout on add-files is not resent", function()
    sim.fault { route = ADD, kind = "latency", delay_ms = 2000, times = 1 }
    failing(function() client.data_jobs:add_files(job_id, { file_id }, { timeout = 0.3 }) end)
    assert.equal(1, #sim.requests_for(ADD))
  end)

  it("429 and 503 on add-files are retried: the server did not act", function()
    sim.fault { route = ADD, kind = "status", status = 503, times = 1 }
    sim.fault { route = ADD, kind = "status", status = 429, retry_after_ms = 10, times = 1 }
    local detail = client.data_jobs:add_files(job_id, { file_id })
    assert.equal(1, #detail.ingestion_jobs)
    assert.equal(3, #sim.requests_for(ADD))
  end)
end)
