--- HTTP/1.1 message parsing and formatting.
--
-- Parsing works on a "reader" supplied by the server: an object with
-- `read_line(max_len)` and `read(n)` that return data or `nil, err` and may yield inside a
-- coroutine while waiting for the socket. Keeping I/O out of this module lets the server
-- own scheduling, and keeps parsing testable with an in-memory reader.
local M = {}

local find, sub, lower, upper, gsub, format, char = string.find, string.sub, string.lower,
  string.upper, string.gsub, string.format, string.char
local concat = table.concat

M.MAX_HEADER_LINE = 16384
M.MAX_HEADERS = 100
M.MAX_BODY = 256 * 1024 * 1024

M.REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [202] = "Accepted",
  [204] = "No Content", [301] = "Moved Permanently", [302] = "Found", [304] = "Not Modified",
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [411] = "Length Required", [413] = "Content Too Large", [414] = "URI Too Long",
  [415] = "Unsupported Media Type",
  [417] = "Expectation Failed", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [431] = "Request Header Fields Too Large", [500] = "Internal Server Error",
  [501] = "Not Implemented", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout", [505] = "HTTP Version Not Supported",
}

--- Reason phrase for a status code.
---@param status integer
---@return string
function M.reason(status)
  return M.REASONS[status] or "Unknown"
end

--- Percent-decode a URL component; `plus_space` also turns `+` into a space (query strings).
---@param s string
---@param plus_space? boolean
---@return string
function M.unescape(s, plus_space)
  if plus_space then s = gsub(s, "+", " ") end
  return (gsub(s, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

--- Parse a query string into a table (the last value wins for repeated names, as FastAPI
--- does for scalar parameters) plus an ordered list of {name, value} pairs.
---@param qs string|nil
---@return table params, table list
function M.parse_query(qs)
  local params, list = {}, {}
  if not qs or qs == "" then return params, list end
  for part in string.gmatch(qs, "[^&]+") do
    local k, v = part:match("^([^=]*)=(.*)$")
    if not k then k, v = part, "" end
    k, v = M.unescape(k, true), M.unescape(v, true)
    params[k] = v
    list[#list + 1] = { k, v }
  end
  return params, list
end

-- A parse error carries the status to answer with; the connection is then closed because
-- the framing of anything that follows can no longer be trusted.
local function bad(status, msg)
  return nil, "bad", status, msg
end

local function read_headers(reader, headers, order)
  local count = 0
  while true do
    local line, err = reader:read_line(M.MAX_HEADER_LINE)
    if not line then
      if err == "too long" then return bad(431, "header line too long") end
      return nil, err
    end
    if line == "" then return true end
    count = count + 1
    if count > M.MAX_HEADERS then return bad(431, "too many header fields") end
    if find(line, "^[ \t]") then return bad(400, "obsolete header line folding") end
    local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
    if not name then return bad(400, "malformed header line") end
    name = lower(name)
    if headers[name] then
      headers[name] = headers[name] .. ", " .. value
    else
      headers[name] = value
      order[#order + 1] = name
    end
  end
end

local function read_chunked(reader, limit)
  local parts, total = {}, 0
  while true do
    local line, err = reader:read_line(4096)
    if not line then
      if err == "too long" then return bad(400, "chunk size line too long") end
      return nil, err
    end
    local hex = line:match("^(%x+)[ \t]*;?.*$")
    if not hex or #hex > 12 then return bad(400, "malformed chunk size") end
    local size = tonumber(hex, 16)
    if size == 0 then break end
    total = total + size
    if total > limit then return bad(413, "request body too large") end
    local data, derr = reader:read(size)
    if not data then return nil, derr end
    parts[#parts + 1] = data
    local crlf, cerr = reader:read_line(2)
    if not crlf then return nil, cerr end
    if crlf ~= "" then return bad(400, "missing CRLF after chunk data") end
  end
  -- Trailer fields are read and ignored.
  while true do
    local line, err = reader:read_line(M.MAX_HEADER_LINE)
    if not line then return nil, err end
    if line == "" then break end
  end
  return concat(parts)
end

--- Read one request from `reader`.
---
--- Returns the request table, or `nil, "closed"` when the peer closed cleanly before a new
--- request, `nil, err` for I/O errors, or `nil, "bad", status, message` for a malformed
--- request. `on_continue` is called before reading a body when the client sent
--- `Expect: 100-continue`.
---@param reader table
---@param on_continue? fun(): boolean|nil, string|nil
---@return table|nil req
---@return string|nil err
---@return integer|nil status
---@return string|nil message
function M.read_request(reader, on_continue)
  local line, err
  -- RFC 9112 lets a server skip empty lines before the request line.
  for _ = 1, 4 do
    line, err = reader:read_line(M.MAX_HEADER_LINE)
    if not line then
      if err == "too long" then return bad(414, "request line too long") end
      return nil, err
    end
    if line ~= "" then break end
  end
  if line == "" then return bad(400, "empty request line") end
  local method, target, major, minor = line:match("^(%u+) (%S+) HTTP/(%d)%.(%d)$")
  if not method then return bad(400, "malformed request line") end
  if major ~= "1" then return bad(505, "unsupported HTTP version") end
  local req = {
    method = method,
    target = target,
    version = major .. "." .. minor,
    headers = {},
    header_order = {},
  }
  local ok, herr, hstatus, hmsg = read_headers(reader, req.headers, req.header_order)
  if not ok then return nil, herr, hstatus, hmsg end

  -- absolute-form targets ("http://host/path") are accepted, as RFC 9112 requires.
  local path_part = target
  if not find(target, "^/") then
    path_part = target:match("^%a[%w+.-]*://[^/]*(/.*)$")
    if not path_part and target:match("^%a[%w+.-]*://[^/]*$") then path_part = "/" end
    if not path_part then return bad(400, "malformed request target") end
  end
  local raw_path, qs = path_part:match("^([^?#]*)%??([^#]*)")
  req.raw_path = raw_path
  req.path = M.unescape(raw_path)
  req.query_string = qs or ""
  req.params, req.param_list = M.parse_query(req.query_string)

  local h = req.headers
  local conn = lower(h["connection"] or "")
  if req.version == "1.0" then
    req.keep_alive = find(conn, "keep%-alive") ~= nil
  else
    req.keep_alive = find(conn, "close") == nil
  end

  -- Body framing: Transfer-Encoding wins over Content-Length (RFC 9112 section 6.3).
  local te = h["transfer-encoding"]
  local length
  if te then
    if not find(lower(te), "chunked%s*$") then return bad(501, "unsupported transfer-encoding") end
  elseif h["content-length"] then
    local cl = h["content-length"]
    -- Repeated identical values ("5, 5") are allowed; differing ones are not.
    local first
    for v in string.gmatch(cl, "[^,]+") do
      v = v:match("^%s*(.-)%s*$")
      if not find(v, "^%d+$") or #v > 15 then return bad(400, "invalid Content-Length") end
      if first and first ~= v then return bad(400, "conflicting Content-Length values") end
      first = v
    end
    length = tonumber(first)
    if length > M.MAX_BODY then return bad(413, "request body too large") end
  end

  local expect = h["expect"]
  if expect then
    if lower(expect) ~= "100-continue" then return bad(417, "unsupported expectation") end
    if (te or (length and length > 0)) and req.version ~= "1.0" and on_continue then
      local cok, cerr = on_continue()
      if not cok then return nil, cerr end
    end
  end

  if te then
    local body, berr, bstatus, bmsg = read_chunked(reader, M.MAX_BODY)
    if not body then return nil, berr, bstatus, bmsg end
    req.body = body
  elseif length and length > 0 then
    local body, berr = reader:read(length)
    if not body then return nil, berr end
    req.body = body
  else
    req.body = ""
  end
  return req
end

--- Serialize a response head. `headers` is a list of {name, value}.
---@param status integer
---@param headers table
---@return string
function M.format_head(status, headers)
  local out = { format("HTTP/1.1 %d %s\r\n", status, M.reason(status)) }
  for _, hv in ipairs(headers) do
    out[#out + 1] = hv[1] .. ": " .. tostring(hv[2]) .. "\r\n"
  end
  out[#out + 1] = "\r\n"
  return concat(out)
end

--- An HTTP-date (RFC 9110) for the Date header.
---@param t number seconds since the epoch
---@return string
function M.date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", math.floor(t))
end

-- ---------------------------------------------------------------------------------------------
-- Header parameters and multipart/form-data
-- ---------------------------------------------------------------------------------------------

--- Parse `value; a=b; c="d e"` into the main value (lower-cased) and a parameter table with
--- lower-cased names. Quoted strings may contain `;` and backslash escapes.
---@param value string
---@return string main, table params
function M.parse_params(value)
  local main, rest = value:match("^%s*([^;]*)(.*)$")
  main = lower((main or ""):match("^(.-)%s*$"))
  local params = {}
  local pos = 1
  while true do
    local s, e, name = find(rest, "^%s*;%s*([^=;%s]+)%s*=%s*", pos)
    if not s then
      local s2, e2 = find(rest, "^%s*;[^;]*", pos)
      if not s2 then break end
      pos = e2 + 1
    else
      pos = e + 1
      local v
      if sub(rest, pos, pos) == '"' then
        local buf = {}
        local i = pos + 1
        while i <= #rest do
          local c = sub(rest, i, i)
          if c == "\\" then
            buf[#buf + 1] = sub(rest, i + 1, i + 1)
            i = i + 2
          elseif c == '"' then
            break
          else
            buf[#buf + 1] = c
            i = i + 1
          end
        end
        v = concat(buf)
        pos = i + 1
      else
        local _, ve, tok = find(rest, "^([^;]*)", pos)
        v = tok:match("^(.-)%s*$")
        pos = ve + 1
      end
      params[lower(name)] = v
    end
  end
  return main, params
end

local function parse_part_headers(block)
  local headers = {}
  for line in string.gmatch(block, "[^\r\n]+") do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then headers[lower(name)] = value end
  end
  return headers
end

--- Parse a multipart/form-data body into a list of parts
--- `{name=, filename=, content_type=, data=}`.
---@param body string
---@param content_type string the request's Content-Type header value
---@return table|nil parts
---@return string|nil err
function M.parse_multipart(body, content_type)
  local main, params = M.parse_params(content_type or "")
  if main ~= "multipart/form-data" then return nil, "not multipart/form-data" end
  local boundary = params.boundary
  if not boundary or boundary == "" then return nil, "missing multipart boundary" end
  local delim = "--" .. boundary
  local parts = {}
  local s, e = find(body, delim, 1, true)
  if not s or (s > 1 and sub(body, s - 2, s - 1) ~= "\r\n") then
    return nil, "multipart boundary not found"
  end
  local pos = e + 1
  while true do
    if sub(body, pos, pos + 1) == "--" then break end
    -- Transport padding (spaces/tabs) may follow a delimiter before its CRLF.
    local _, le = find(body, "^[ \t]*\r\n", pos)
    if not le then return nil, "malformed multipart delimiter line" end
    pos = le + 1
    local hdr_block, content_start
    if sub(body, pos, pos + 1) == "\r\n" then
      hdr_block, content_start = "", pos + 2
    else
      local hs = find(body, "\r\n\r\n", pos, true)
      if not hs then return nil, "unterminated multipart part headers" end
      hdr_block, content_start = sub(body, pos, hs - 1), hs + 4
    end
    local ns, ne = find(body, "\r\n" .. delim, content_start, true)
    if not ns then return nil, "unterminated multipart body" end
    local headers = parse_part_headers(hdr_block)
    local disp, dparams = M.parse_params(headers["content-disposition"] or "")
    if disp ~= "form-data" then return nil, "multipart part without form-data disposition" end
    local filename = dparams.filename
    local ext = dparams["filename*"]
    if ext then
      -- RFC 5987: charset'lang'percent-encoded
      local enc = ext:match("^[^']*'[^']*'(.*)$")
      if enc then filename = M.unescape(enc) end
    end
    parts[#parts + 1] = {
      name = dparams.name,
      filename = filename,
      content_type = headers["content-type"],
      data = sub(body, content_start, ns - 1),
    }
    pos = ne + 1
  end
  return parts
end

--- Upper-case first letters of a lower-case header name (for display only).
---@param name string
---@return string
function M.canonical(name)
  return (gsub(name, "(%w)([%w]*)", function(a, b) return upper(a) .. b end))
end

return M
