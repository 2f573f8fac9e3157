--- Documents and file ids on the seekrflow command line: `--upload PATH...` takes any
--- number of paths, and a FILE_ID argument must look like an id, never like a path, so a
--- shell glob (`add-files J *.pdf`) is an error with a hint instead of file names sent as ids.
local uploads = {}

local usage_error

function uploads.setup(deps)
  usage_error = deps.usage_error
end

--- True when path names something on disk (a file or a directory).
local function exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

--- The paths of every `--upload` (repeatable, each with one or more paths), flattened.
---@param groups string[][]?
---@return string[]
function uploads.paths(groups)
  local paths = {}
  for _, group in ipairs(groups or {}) do
    for _, path in ipairs(type(group) == "table" and group or { group }) do paths[#paths + 1] = path end
  end
  return paths
end

--- Refuses paths that cannot be read, before anything is sent.
---@param paths string[]
function uploads.check_paths(paths)
  for _, path in ipairs(paths) do
    local f = io.open(path, "rb")
    local readable = f ~= nil and select(2, f:read(1)) == nil
    if f then f:close() end
    if not readable then usage_error(("cannot read %q: no such file, or not a regular file"):format(path)) end
  end
end

--- Refuses FILE_ID arguments that are paths or do not look like file ids (file-…, md-file-…).
---@param ids string[]
function uploads.check_ids(ids)
  for _, id in ipairs(ids) do
    if exists(id) then
      usage_error(("%q is a file on disk, not a file id: to upload it and attach it, use --upload %s"):format(
        id, id))
    end
    if not id:match("^[%w][%w_%-]*$") then
      usage_error(("%q does not look like a file id (file-…): FILE_IDs are printed by seekrflow upload; "
        .. "documents on disk go with --upload PATH..."):format(id))
    end
  end
end

--- Uploads each path in order; returns the uploaded files.
---@param ctx table
---@param paths string[]
---@param purpose string?
---@return table[]
function uploads.upload(ctx, paths, purpose)
  local files = ctx.client().files
  local uploaded = {}
  for _, path in ipairs(paths) do uploaded[#uploaded + 1] = files:upload(path, { purpose = purpose }) end
  return uploaded
end

--- A safe local file name for a file the server named: its last path part, without control
--- characters; the file id when nothing usable is left ("", ".", "..", a hidden name).
---@param name any the server's filename
---@param id string the file's id (checked by the library before any request)
---@return string
function uploads.local_name(name, id)
  local base = type(name) == "string" and name:match("([^/\\]*)$") or ""
  base = base:gsub("[%c\127]", "")
  if base == "" or base:sub(1, 1) == "." or #base > 255 then return (tostring(id):gsub("[/\\%c]", "_")) end
  return base
end

return setmetatable(uploads, { __call = function(_, ...) return uploads.upload(...) end })
