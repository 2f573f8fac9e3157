--- The simulator's address and the control calls that both spec helpers share:
--- spec/helpers/sim.lua (over LuaSocket) and spec/nvim/sim.lua (over vim.loop inside Neovim)
--- each give `sim.seekrflow` and `sim.control`, and get these on top.
---@param sim table
---@param how_to_run? string how to run the specs, for the message when there is no simulator
return function(sim, how_to_run)
  sim.url = os.getenv("SEEKRFLOW_SIM_URL")
  assert(sim.url, "SEEKRFLOW_SIM_URL is not set: run the specs with " .. (how_to_run or "sh tools/run-specs"))
  sim.base_url = sim.url .. "/v1"
  sim.api_key = "sim-key"

  --- Adds a fault: { route = "GET /v1/flow/data-jobs/{id}", kind = "status", status = 503, … }.
  function sim.fault(spec)
    local body, status = sim.control("POST", "/_sim/faults", spec)
    assert(status == 201, "could not add fault: " .. tostring(status))
    return body
  end

  function sim.stats() return (sim.control("GET", "/_sim/stats")) end

  function sim.config(values)
    local body, status = sim.control("POST", "/_sim/config", values)
    assert(status == 200, "could not configure the simulator: " .. tostring(status))
    return body
  end

  --- Stores a file (content padded to `size` bytes when given); returns its FileResponse.
  function sim.file(filename, content, size)
    local body, status = sim.control("POST", "/_sim/files",
      { filename = filename, content = content, purpose = "alignment", size = size })
    assert(status == 200 or status == 201, "could not create file: " .. tostring(status))
    return body
  end

  --- A client for the simulator; fast retries so specs stay quick.
  function sim.client(opts)
    local o = { api_key = sim.api_key, base_url = sim.base_url, retry_initial_delay = 0.02, retry_max_delay = 0.1 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return sim.seekrflow.new(o)
  end

  --- Creates a job and attaches files ({ name, content[, size] } each); returns the job id
  --- and the file ids.
  function sim.job_with_files(client, files, fields)
    local job = { name = "spec job", job_type = "principle_files", system_prompt = "You are a test." }
    for k, v in pairs(fields or {}) do job[k] = v end
    local created = client.data_jobs:create(job)
    local ids = {}
    for i, f in ipairs(files) do ids[i] = sim.file(f[1], f[2], f[3]).id end
    if #ids > 0 then client.data_jobs:add_files(created.id, ids) end
    return created.id, ids
  end

  --- Files ({ name, content } each, for sim.job_with_files) that end in each outcome once: a
  --- PDF that completes after a while, an empty file that fails, and Markdown, named
  --- `markdown_name` (default "notes.md"), which needs no ingestion.
  function sim.outcome_files(markdown_name)
    return {
      { "handbook.pdf", "%PDF-1.7\n" .. string.rep("Refund policy.\n", 200) },
      { "empty.pptx", "" },
      { markdown_name or "notes.md", "# Notes\n" },
    }
  end

  return sim
end
