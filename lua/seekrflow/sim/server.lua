--- HTTP/1.1 server on LuaSocket: non-blocking sockets, `socket.select`, one coroutine per
--- connection.
--
-- Each connection runs in its own coroutine and yields whenever it would block (waiting to
-- read, to write, or sleeping for a latency fault), so one slow client never holds up the
-- others. The scheduler sleeps in `select` until a socket is ready or the nearest deadline
-- passes (capped, so the loop never spins and never oversleeps a timer).
local socket = require("socket")
local http = require("seekrflow.sim.http")
local reply = require("seekrflow.sim.reply")

local M = {}

local Server = {}
Server.__index = Server

local Conn = {}
Conn.__index = Conn

local gettime = socket.gettime
local find, sub, format = string.find, string.sub, string.format
local concat = table.concat
local yield = coroutine.yield

M.IO_TIMEOUT = 60        -- seconds without progress before a connection is dropped
M.SELECT_CAP = 0.05      -- longest single wait in select
M.MAX_CONNECTIONS = 900  -- stay below FD_SETSIZE; extra clients wait in the listen backlog
M.RECV_SIZE = 65536

-- ---------------------------------------------------------------------------------------------
-- connections
-- ---------------------------------------------------------------------------------------------

function Conn.new(sock, id)
  local ip, port = sock:getpeername()
  return setmetatable({
    sock = sock, buf = "", pos = 1, eof = false, closed = false,
    peer = (ip or "?") .. ":" .. tostring(port or "?"),
    info = { id = id },
  }, Conn)
end

-- Park this coroutine until the socket is ready; false when the I/O timeout passed first.
function Conn:wait(mode)
  return yield(mode, self.sock, gettime() + M.IO_TIMEOUT)
end

-- Park this coroutine for a while (latency and stall faults) without blocking others.
local function sleep(seconds)
  yield("sleep", nil, gettime() + seconds)
end

-- Next chunk of bytes from the socket. With a zero timeout, receive returns "timeout" only
-- when LuaSocket's own buffer is drained too, so waiting on select afterwards is safe.
function Conn:recv_chunk()
  if self.eof then return nil, "closed" end
  while true do
    local data, err, partial = self.sock:receive(M.RECV_SIZE)
    local chunk = data or partial
    if err == "closed" then self.eof = true end
    if chunk and chunk ~= "" then return chunk end
    if err ~= "timeout" then return nil, err or "closed" end
    if not self:wait("read") then return nil, "timeout" end
  end
end

--- Read a line (without its CR LF); `nil, "too long"` past `max` bytes.
function Conn:read_line(max)
  while true do
    local nl = find(self.buf, "\n", self.pos, true)
    if nl then
      local line = sub(self.buf, self.pos, nl - 1)
      self.pos = nl + 1
      if self.pos > M.RECV_SIZE then
        self.buf, self.pos = sub(self.buf, self.pos), 1
      end
      if sub(line, -1) == "\r" then line = sub(line, 1, -2) end
      if #line > max then return nil, "too long" end
      return line
    end
    if #self.buf - self.pos > max + 1 then return nil, "too long" end
    local chunk, err = self:recv_chunk()
    if not chunk then return nil, err end
    self.buf = sub(self.buf, self.pos) .. chunk
    self.pos = 1
  end
end

--- Read exactly n bytes.
function Conn:read(n)
  local avail = #self.buf - self.pos + 1
  if avail >= n then
    local s = sub(self.buf, self.pos, self.pos + n - 1)
    self.pos = self.pos + n
    return s
  end
  -- Collect pieces in a table: repeated string concatenation would be quadratic for uploads.
  local parts, have = { sub(self.buf, self.pos) }, avail
  self.buf, self.pos = "", 1
  while have < n do
    local chunk, err = self:recv_chunk()
    if not chunk then return nil, err end
    local need = n - have
    if #chunk > need then
      parts[#parts + 1] = sub(chunk, 1, need)
      self.buf = sub(chunk, need + 1)
      have = n
    else
      parts[#parts + 1] = chunk
      have = have + #chunk
    end
  end
  return concat(parts)
end

--- Write all of `data`.
function Conn:write(data)
  local i, n = 1, #data
  while i <= n do
    local last, err, partial = self.sock:send(data, i)
    if last then
      i = last + 1
    elseif err == "timeout" then
      i = (partial or i - 1) + 1
      if not self:wait("write") then return nil, "timeout" end
    else
      return nil, err
    end
  end
  return true
end

function Conn:close()
  if not self.closed then
    self.closed = true
    self.sock:close()
  end
end

-- Close with SO_LINGER 0 so the kernel sends RST instead of FIN.
function Conn:abort()
  if not self.closed then
    pcall(self.sock.setoption, self.sock, "linger", { on = true, timeout = 0 })
    self:close()
  end
end

-- ---------------------------------------------------------------------------------------------
-- request handling
-- ---------------------------------------------------------------------------------------------

function Server:logf(fmt, ...)
  if self.log then self.log(format(fmt, ...)) end
end

function Server:access(conn, req, status, bytes, started, note)
  if not self.access_log then return end
  -- Only the request line is logged: headers (and so the API key) never are.
  self.access_log(format('%s %s "%s %s HTTP/%s" %d %d %.1fms %s%s', os.date("!%Y-%m-%dT%H:%M:%SZ"),
    conn.peer, req.method or "-", req.target or "-", req.version or "1.1", status, bytes,
    (gettime() - started) * 1000, req.id or "-", note and (" " .. note) or ""))
end

local function call(self, fn)
  local ok, res = xpcall(fn, debug.traceback)
  if ok and type(res) == "table" then return res end
  self:logf("seekrflow-sim: internal error: %s", tostring(res))
  return reply.detail(500, "Internal Server Error")
end

local function head(req, status, content_type, length, extra, close)
  local h = {
    { "date", http.date(os.time()) },
    { "server", "seekrflow-sim" },
  }
  if content_type then h[#h + 1] = { "content-type", content_type } end
  if length then h[#h + 1] = { "content-length", length } end
  h[#h + 1] = { "cf-ray", req.id }
  for _, hv in ipairs(extra or {}) do h[#h + 1] = hv end
  if close then
    h[#h + 1] = { "connection", "close" }
  elseif req.version == "1.0" then
    h[#h + 1] = { "connection", "keep-alive" }
  end
  return http.format_head(status, h)
end

-- Carry out a response or fault action; returns true to keep the connection open.
function Server:perform(conn, req, action, started)
  if action.fault == "latency" then
    sleep((action.delay_ms or 0) / 1000)
    action = call(self, action.next)
  end
  if action.fault == "reset" then
    self:access(conn, req, 0, 0, started, "fault=reset")
    conn:abort()
    return false
  end
  local close = (not req.keep_alive) or action.close or not self.running
  if action.fault == "truncate" then
    conn:write(head(req, action.status, action.content_type, action.declared,
      action.headers, true) .. action.body)
    self:access(conn, req, action.status, #action.body, started, "fault=truncate")
    return false
  elseif action.fault == "stall" then
    conn:write(head(req, action.status, action.content_type, action.declared,
      action.headers, true))
    sleep((action.delay_ms or 0) / 1000)
    self:access(conn, req, action.status, 0, started, "fault=stall")
    return false
  end
  local body = action.no_body and "" or action.body
  -- RFC 9110 forbids Content-Length on 204; every other response carries it.
  local length = (not action.no_body) and #body or nil
  -- A response to HEAD announces the length of the body it does not send.
  if req.method == "HEAD" then body = "" end
  local ok = conn:write(head(req, action.status, action.content_type, length,
    action.headers, close) .. body)
  self:access(conn, req, action.status, #body, started)
  if action.after then action.after() end
  return ok and not close
end

function Server:handle_request(conn, req)
  local started = gettime()
  req.id = self.app.ids:ray()
  local action = call(self, function() return self.app:handle(req, conn.info) end)
  return self:perform(conn, req, action, started)
end

function Server:reject(conn, status, msg)
  local req = { id = self.app.ids:ray(), version = "1.1" }
  local body = reply.detail(status, http.reason(status) .. ": " .. (msg or "malformed request")).body
  conn:write(head(req, status, reply.JSON, #body, nil, true) .. body)
  self:access(conn, req, status, #body, gettime(), "malformed")
end

function Server:serve(conn)
  local function continue()
    return conn:write("HTTP/1.1 100 Continue\r\n\r\n")
  end
  while self.running do
    local req, err, status, msg = http.read_request(conn, continue)
    if not req then
      if err == "bad" then self:reject(conn, status, msg) end
      break
    end
    if not self:handle_request(conn, req) then break end
  end
  conn:close()
end

-- ---------------------------------------------------------------------------------------------
-- scheduling
-- ---------------------------------------------------------------------------------------------

function Server:resume(task, ...)
  local ok, mode, sock, deadline = coroutine.resume(task.co, ...)
  if not ok then
    -- The connection's coroutine failed (for example the peer vanished mid-write): drop
    -- only that connection and keep serving.
    self:logf("seekrflow-sim: connection %s failed: %s", task.conn.peer,
      debug.traceback(task.co, tostring(mode)))
    task.conn:abort()
    self.tasks[task] = nil
  elseif coroutine.status(task.co) == "dead" then
    self.tasks[task] = nil
  else
    task.mode, task.sock, task.deadline = mode, sock, deadline
  end
end

function Server:accept_all()
  while self.count < M.MAX_CONNECTIONS do
    local client = self.listener:accept()
    if not client then return end
    client:settimeout(0)
    pcall(client.setoption, client, "tcp-nodelay", true)
    self.conn_seq = self.conn_seq + 1
    local conn = Conn.new(client, self.conn_seq)
    local task = { conn = conn }
    task.co = coroutine.create(function() self:serve(conn) end)
    self.tasks[task] = true
    if self.app.on_accept then self.app:on_accept() end
    self:resume(task)
  end
end

--- Run one scheduler iteration, waiting at most `max_wait` seconds (default 50 ms).
---@param max_wait? number
function Server:step(max_wait)
  local now = gettime()
  local timeout = max_wait or M.SELECT_CAP
  local rl, wl = {}, {}
  local count = 0
  for task in pairs(self.tasks) do
    count = count + 1
    if task.mode == "read" then
      rl[#rl + 1] = task.sock
    elseif task.mode == "write" then
      wl[#wl + 1] = task.sock
    end
    if task.deadline and task.deadline - now < timeout then timeout = task.deadline - now end
  end
  self.count = count
  if self.running and count < M.MAX_CONNECTIONS then rl[#rl + 1] = self.listener end
  if timeout < 0 then timeout = 0 end
  local r, w = socket.select(rl, wl, timeout)
  if self.running and r[self.listener] then self:accept_all() end
  now = gettime()
  local ready = {}
  for task in pairs(self.tasks) do
    if (task.mode == "read" and r[task.sock]) or (task.mode == "write" and w[task.sock]) then
      ready[#ready + 1] = { task, true }
    elseif task.deadline and now >= task.deadline then
      ready[#ready + 1] = { task, false }
    end
  end
  for _, item in ipairs(ready) do
    if self.tasks[item[1]] then self:resume(item[1], item[2]) end
  end
end

--- Serve until `stop` is called, then close every socket.
function Server:run()
  while self.running do self:step() end
  self:close()
end

--- Ask the loop to finish after the current iteration.
function Server:stop()
  self.running = false
end

--- Close the listener and every open connection.
function Server:close()
  self.running = false
  for task in pairs(self.tasks) do task.conn:close() end
  self.tasks = {}
  if self.listener then
    self.listener:close()
    self.listener = nil
  end
end

--- The bound port number.
---@return integer
function Server:port()
  return self.bound_port
end

--- Bind a listening socket and create a server for `app`.
---@param opts table {host, port, app, log=fun(line)|nil, access_log=fun(line)|nil}
---@return table|nil server
---@return string|nil err
function M.new(opts)
  local listener, err = socket.bind(opts.host, opts.port, 128)
  if not listener then return nil, err end
  listener:settimeout(0)
  local _, port = listener:getsockname()
  return setmetatable({
    listener = listener,
    bound_port = tonumber(port),
    app = opts.app,
    log = opts.log,
    access_log = opts.access_log,
    tasks = {},
    count = 0,
    conn_seq = 0,
    running = true,
  }, Server)
end

return M
