--- In-memory file storage behind the Files API (`/v1/flow/files`).
--
-- Uploaded documents, the Markdown produced by ingestion and alignment outputs all live
-- here, so every file id the API hands out can be fetched again.
local json = require("seekrflow.sim.json")
local clock = require("seekrflow.sim.clock")
local minimal = require("seekrflow.sim.minimal")
local store = require("seekrflow.sim.store")

local M = store.class()

local lower = string.lower

--- AlignmentFileType (contract section 5.4): what add-files accepts.
M.ALIGNMENT_TYPES = { "html", "md", "rst", "rtf", "txt", "xml", "json", "jsonl", "csv", "doc",
  "docx", "pdf", "ppt", "pptx" }
--- TrainingFileType: files of these types can be stored (alignment outputs) but not added.
M.TRAINING_TYPES = { "jsonl", "parquet", "pt" }

local KNOWN_TYPES = {}
for _, list in ipairs({ M.ALIGNMENT_TYPES, M.TRAINING_TYPES }) do
  for _, t in ipairs(list) do KNOWN_TYPES[t] = true end
end

M.PURPOSES = { "reinforcement-fine-tune", "fine-tune", "preference-fine-tune", "pre-train",
  "alignment" }

--- File type from a filename's extension, or nil when it is not a known type.
---@param filename string|nil
---@return string|nil
function M.type_of(filename)
  local ext = filename and filename:match("%.([%w]+)$")
  ext = ext and lower(ext)
  if ext and KNOWN_TYPES[ext] then return ext end
  return nil
end

--- Create an empty store.
---@param ids table id generator (seekrflow.sim.ids)
---@param user_id string owner recorded as `created_by`
---@return table
function M.new(ids, user_id)
  return store.new(M, { ids = ids, user_id = user_id })
end

function M:reset()
  self.by_id = {}
  self.seq = 0
end

--- Store a file.
---@param opts table {filename, content, purpose, created_at, id?, original_file_id?}
---@return table file
function M:add(opts)
  self.seq = self.seq + 1
  local f = {
    id = opts.id or self.ids:id("file"),
    created_at = opts.created_at,
    type = M.type_of(opts.filename),
    purpose = opts.purpose,
    filename = opts.filename,
    bytes = #opts.content,
    created_by = self.user_id,
    original_file_id = opts.original_file_id,
    content = opts.content,
    seq = self.seq,
  }
  self.by_id[f.id] = f
  return f
end

--- A stored file by id, or nil: files:get(id).
M.get = store.getter("by_id")

--- Delete a file (hard delete: later lookups return nil).
---@param id string
---@return boolean deleted
function M:delete(id)
  if not self.by_id[id] then return false end
  self.by_id[id] = nil
  return true
end

local SORT_KEYS = { created_at = true, filename = true, type = true, bytes = true }

--- Files filtered by purpose, sorted (ties broken by creation order) and sliced.
---@param opts table {purpose?, sort_by, sort_order, limit, offset}
---@return table list
function M:list(opts)
  local all = {}
  for _, f in pairs(self.by_id) do
    if not opts.purpose or opts.purpose == "" or f.purpose == opts.purpose then
      all[#all + 1] = f
    end
  end
  local key = SORT_KEYS[opts.sort_by] and opts.sort_by or "created_at"
  local desc = opts.sort_order == "desc"
  table.sort(all, function(a, b)
    local va, vb = a[key], b[key]
    if va == nil then va = "" end
    if vb == nil then vb = "" end
    if type(va) ~= type(vb) then va, vb = tostring(va), tostring(vb) end
    if va ~= vb then
      if desc then return va > vb end
      return va < vb
    end
    if desc then return a.seq > b.seq end
    return a.seq < b.seq
  end)
  return store.page(all, opts.offset, opts.limit)
end

--- FileResponse JSON shape (contract section 8).
---@param f table
---@return table
function M.view(f)
  return minimal.tag(json.object(
    "id", f.id,
    "object", "file",
    "created_at", clock.iso(f.created_at),
    "type", f.type,
    "purpose", f.purpose,
    "filename", f.filename,
    "bytes", f.bytes,
    "created_by", f.created_by,
    "original_file_id", f.original_file_id,
    "deleted", false), "FileResponse")
end

return M
