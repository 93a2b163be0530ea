-- Requests and responses: what the first pass keeps for later passes, the links between a request
-- and its response (frames, time, rows, command tags), statements and portals, cancel keys.
-- Mirrored by src/decoder/links.ts.

-- The rows a command tag counts: its last number when its first word counts rows, else 0.
local function tag_rows(tag, counting)
  local w, n = smatch(tag, "^([A-Z]+) "), smatch(tag, " ([0-9]+)$")
  if w and n and counting[w] then return tonumber(n) end
  return 0
end

-- What the first pass keeps for later passes (a second pass, a click in the GUI), in flat arrays:
-- a table per frame or per message would cost more than the rest of the dissector, in time and
-- in memory.
--
-- A message is known by its frame and its place in the frame (i, from 0, across the frame's
-- calls), as one number g = frame * MSG_PER_FRAME + i (a frame holds fewer: its messages come from
-- one TCP segment and at most one message reassembled before it). Requests are numbered in the
-- order the first pass sees them (k, from 1).
--   FR_SC[frame]   { state at the frame's first call, the frame's connection }, one pair per
--                  connection and state (conn.sc): later passes need not look the connection up
--   FR_CALLS[frame]  for a frame of several calls (most have one): { [call key] = the number of
--                  the call's first message in the frame, info = the key of the call that set the
--                  Info column (later calls append to it), twins = true when two calls start
--                  with the same bytes }; a call key is msg_key of its data, and for the later of
--                  two such twins "@" and its Tvb:offset as well
--   FR_ALT[frame]  { [key] = state } the state at other calls of the frame where it differs
--   MS[g]          the state before message g where it is not the one message g - 1 left
--   FR_K[frame]    the frame's links to requests, predicted rather than kept per message: a
--                  request message is request kn, a response that completes a request completes
--                  kn, where kn is one more than the last link in the call, and for the frame's
--                  first call starts at the base b. A server's frame: FR_K is b + bits * 2^32,
--                  bit i set when the frame's message i (i < KBITS) completes a request. A
--                  client's frame: FR_K is the frame's time if it holds a request (0 if not), and
--                  b is found in RQ_FR (requests are numbered in frame order: rq_first). MLX[g]
--                  holds the link (k for request k, -k for the response completing it) of each
--                  message g that the rule does not predict: the first link of a later call, a
--                  request answered out of order, a completion past the bits.
--   MX[g]          { unexpected = true } for a response no request waits for; for a CancelRequest
--                  { backend, request }: the BackendKeyData's frame and the request its backend ran
--   MCP[g]         a CopyData's COPY progress (copy_pack)
--   RQ_FR[k]       the request's frame f (its time: FR_K[f]) and the frame of the response that
--                  completed it, f + d, as f + d * 2^32 (d = 0: none yet; d past RESP_MAX: in
--                  RQ_RESPX[k]): one number, not two; RQ_ROWS[k] the rows before it (nil: none);
--   RQ_SQL[k]      the SQL of the statement or portal it refers to (false: none known), kept only
--                  where it differs from the previous such request's in the call (rq_sql);
--                  RQ_PT[k] the parameter types a
--                  Bind's values are typed by; RQ_TAGS[k] the command tags before the response (a
--                  list, once completed the text), RQ_TAGROWS[k] the rows they count.
-- A connection keeps its requests still waiting in conn.q[conn.qh .. conn.qt] (request numbers),
-- conn.qm (their messages) and conn.qo (the object each refers to, or false).

local FR_SC, FR_K, FR_CALLS, FR_ALT, MS, MLX, MX
local MSG_PER_FRAME = 1048576
local RQ_FR, RQ_RESPX, RQ_ROWS, RQ_SQL, RQ_TAGS, RQ_TAGROWS

-- A request's frame and the frame of its response, from RQ_FR (see above).
local TWO32, RESP_MAX = 4294967296, 2097151
local function rq_frame(k) return RQ_FR[k] % TWO32 end
local function rq_resp(k)
  local x = RQ_FR[k]
  local d = floor(x / TWO32)
  if d == 0 then return 0 end
  if d == RESP_MAX then return RQ_RESPX[k] end
  return x % TWO32 + d
end
local function rq_set_resp(k, frame)
  local x = RQ_FR[k]
  local d = frame - x % TWO32
  if d <= 0 or d >= RESP_MAX then
    RQ_RESPX[k] = frame
    d = RESP_MAX
  end
  RQ_FR[k] = x + d * TWO32
end
local RQ_NEXT
-- Bits of FR_K: 2^i for message i of a frame.
local KBITS, KBIT = 21, { [0] = 1 }
for i = 1, KBITS - 1 do KBIT[i] = KBIT[i - 1] * 2 end
-- First pass: the frame the last call was for, its messages so far, its first call's data (for
-- its key, needed only if the frame has another call), and whether a call set its Info column.
local CUR_FRAME, CUR_N, CUR_S, CUR_LEN, CUR_TAG, CUR_SET

-- RowDescription bodies seen, and the column lists made of them (emptied when it grows).
local COLS_OF, NCOLS = {}, 0

local function reset_records()
  FR_SC, FR_K, FR_CALLS, FR_ALT, MS, MLX, MX, MCP = {}, {}, {}, {}, {}, {}, {}, {}
  RQ_FR, RQ_RESPX, RQ_ROWS, RQ_SQL, RQ_PT, RQ_TAGS, RQ_TAGROWS = {}, {}, {}, {}, {}, {}, {}
  RQ_NEXT, SQL_TEXT = 0, {}
  CUR_FRAME, CUR_N = -1, 0
end
reset_records()

-- What an answer tells of the object its request refers to (spec/dsl.ts answerTypes, answerColumns).
local function answer(m, obj, lists)
  local o = m.objects
  if not obj then return end
  -- The parameter types as the server resolved them: later Binds of the statement use them.
  if o.answerTypes then obj.types = (lists and lists[o.answerTypes]) or {} end
  if o.answerColumns then obj.columns = (lists and lists[o.answerColumns]) or {} end
end

-- The object whose rows answer a request (Execute: its portal), if it says so.
local function rows_of(m, obj)
  local o = m.objects
  if obj and o and o.rows then return obj end
  return nil
end

-- A server message, first pass: the response that completes a waiting request (returns -k), or
-- one that belongs to the oldest one (rows, command tags; returns 0).
local function link_response(c, m, v, g)
  local conn = c.conn
  local q, qm, qo, qh, qt = conn.q, conn.qm, conn.qo, conn.qh, conn.qt
  -- Seen from its start, a connection answers only what was asked.
  if qh > qt then
    if conn.started then MX[g] = { unexpected = true } end
    return 0
  end
  local name = m.name
  for i = qh, qt do
    if qm[i].ends[name] then
      -- This completes request k; the ones before it got no answer (skipped after an error).
      local k = q[i]
      if m.objects then answer(m, qo[i], c.lists) end
      if i == qt then
        conn.qh, conn.qt, conn.rows = 1, 0, nil
      else
        conn.qh = i + 1
        conn.rows = rows_of(qm[i + 1], qo[i + 1])
      end
      rq_set_resp(k, c.number)
      local tags = RQ_TAGS[k]
      if tags then RQ_TAGS[k] = cut_utf8(tconcat(tags, "; "), MAX_VALUE_BYTES) end
      return -k
    end
  end
  local k = q[qh]
  if m.row then RQ_ROWS[k] = (RQ_ROWS[k] or 0) + 1 end
  local tag = m.commandTag and v[m.commandTag.var]
  if type(tag) == "string" then
    local tags = RQ_TAGS[k]
    if not tags then
      tags = {}
      RQ_TAGS[k] = tags
    end
    tags[#tags + 1] = tag
    RQ_TAGROWS[k] = math.min((RQ_TAGROWS[k] or 0) + tag_rows(tag, m.commandTag.counting), 4294967295)
  end
  if m.objects then answer(m, qo[qh], c.lists) end
  return 0
end

-- Cancel keys across connections: "pid key" -> the BackendKeyData's frame and connection.
local cancel_keys = {}

local function cancel_first_pass(c, m, v, g)
  if v.pid == nil or v.key == nil then return end
  local k = (type(v.pid) == "number" and sformat("%d", v.pid) or tostring(v.pid)) .. " " ..
    (type(v.key) == "number" and sformat("%d", v.key) or v.key)
  if m.cancelKey == "register" then
    cancel_keys[k] = { frame = c.number, conn = c.conn }
    return
  end
  local owner = cancel_keys[k]
  if not owner then return end
  local oc = owner.conn
  local head = oc.qh <= oc.qt and rq_frame(oc.q[oc.qh]) or nil
  MX[g] = { backend = owner.frame, request = head }
end

-- The first request of client frame f (requests are numbered in the order of their frames).
local function rq_first(f)
  local lo, hi = 1, RQ_NEXT
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if RQ_FR[mid] % TWO32 < f then lo = mid + 1 else hi = mid end
  end
  if lo <= RQ_NEXT and RQ_FR[lo] % TWO32 == f then return lo end
  return nil
end

-- The SQL request k refers to: the last one kept at or before it (the first request of a call that
-- refers to an object keeps its SQL, so the walk stays in the request's call).
local function rq_sql(k)
  for j = k, math.max(1, k - 65535), -1 do
    local x = RQ_SQL[j]
    if x ~= nil then return x or nil end
  end
  return nil
end

-- What the first pass found for message g, in its tree t: its link back to the request (k, as in
-- MLX), the SQL it refers to (refers: the message refers to an object), Bind's parameters, the
-- cancel links. r0: the message's zero-length range.
local function add_links(c, t, g, k, refers)
  local vis, r0 = c.vis, c.r0
  if k < 0 and RQ_FR[-k] then
    k = -k
    local rf = rq_frame(k)
    if vis or REFS[F.responseTo] then GEN(ADD(t, F.responseTo, r0, rf)) end
    if vis or REFS[F.time] then
      local us = floor((c.pinfo.abs_ts - FR_K[rf]) * 1000000 + 0.5)
      GEN(ADD(t, F.time, r0, NSTime.new(floor(us / 1000000), (us % 1000000) * 1000)))
    end
    local rows = RQ_ROWS[k]
    if rows and (vis or REFS[F.rowCount]) then GEN(ADD(t, F.rowCount, r0, rows)) end
    local tags = RQ_TAGS[k]
    if type(tags) == "string" then
      if vis or REFS[F.tags] then GEN(ADD(t, F.tags, r0, tags)) end
      local tr = RQ_TAGROWS[k]
      if tr > 0 and (vis or REFS[F.tagRows]) then GEN(ADD(t, F.tagRows, r0, tr)) end
    end
  elseif k > 0 and refers then
    local sql = rq_sql(k)
    if sql and (vis or REFS[F.sql]) then GEN(ADD(t, F.sql, r0, sql)) end
  end
  local x = MX[g]
  if x then
    if x.backend and (vis or REFS[F.cancelBackend]) then GEN(ADD(t, F.cancelBackend, r0, x.backend)) end
    if x.request and (vis or REFS[F.cancelRequest]) then GEN(ADD(t, F.cancelRequest, r0, x.request)) end
    if x.unexpected then t:add_proto_expert_info(E.unexpectedResponse, "A response with no request waiting for it") end
  end
end
