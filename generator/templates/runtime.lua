-- Included by pgwire.lua.ejs (one drop-in file), after the generated readers and tables (M, G, P,
-- OPENING): framing, resynchronisation, connection state and what the first pass keeps for later
-- passes, requests and responses, TLS hand-over, the Info column. Mirrored by src/decoder.ts.
--
-- Cost matters here: the dissector runs once per TCP segment and this loop once per message, on
-- captures of millions. Without a tree (tshark's summary mode, the first pass of tshark -2) it
-- makes no tree item and, for most messages, no table: the variables table is reused, the readers
-- decode only what is needed, and what later passes need is kept in flat arrays (see below).

local DESEGMENT_ONE_MORE = DESEGMENT_ONE_MORE_SEGMENT or 0x0fffffff
local tls_handle = Dissector.get("tls")
local in_tls = false

---------------------------------------------------------------------------------------------------
-- Connection state. A state is immutable (a change makes a new one, so that a snapshot is a
-- reference) and small: { core, txStatus, columns, rformats }, the fields that change with every
-- transaction and result apart from the core, which changes seldom (the names of src/decoder.ts
-- ConnState):
--   clientFraming "startup" | "typed"; startupSeen (the StartupMessage was seen); answerTo (the
--   request whose one-byte answer comes next); auth (last Authentication code); tls, gss; copy
--   ("in" | "out" | "both" | "dropped"); copyBoth (copy-both: replication); copyConfig (the COPY's
--   settings); copyStatements (COPY statements still to be answered); replication (replication
--   connection kind); payloadSet (what XLogData carry); stream (inside Stream Start..Stop);
--   relations, types (what the replication stream described).

-- States are shared: the same core, status, columns and formats are one table (the first pass
-- keeps a reference per frame and per change, and the same few states come again and again).
-- core.memo[status][columns][formats] = the state; weak, so that columns no state uses can go.
local NONE = {}
local WEAK_KEYS = { __mode = "k" }
local function state(core, txStatus, cols, rf)
  local memo = core.memo
  if not memo then
    memo = {}
    core.memo = memo
  end
  local a = memo[txStatus or NONE]
  if not a then
    a = setmetatable({}, WEAK_KEYS)
    memo[txStatus or NONE] = a
  end
  local b = a[cols or NONE]
  if not b then
    b = setmetatable({}, WEAK_KEYS)
    a[cols or NONE] = b
  end
  local S = b[rf or NONE]
  if not S then
    S = { core, txStatus, cols, rf }
    b[rf or NONE] = S
  end
  return S
end

local INITIAL = state({ clientFraming = "startup", auth = -1, tls = false, gss = false, plain = false })

-- plain: the usual case, where the loop frames typed messages itself (no startup phase, no
-- one-byte answer pending, no TLS or GSSAPI).
local function with_core(S, k, val)
  local core, n = S[1], {}
  for key, x in pairs(core) do
    if key ~= "memo" then n[key] = x end
  end
  n[k] = val
  n.plain = n.clientFraming == "typed" and not n.answerTo and not n.tls and not n.gss
  return state(n, S[2], S[3], S[4])
end

-- The payload set a replication command starts: the first of that command whose options were all
-- given; false when the command starts sets but its options match none; nil when it starts none.
local function payload_set_of(v)
  local starts = nil
  for _, set in pairs(P) do
    if set.command == v.replcmd then
      local all = true
      for i = 1, #set.options do
        if v["opt:" .. set.options[i]] == nil then all = false end
      end
      if all then return set.name end
      starts = false
    end
  end
  return starts
end

-- The effects of a message on its connection's state (spec/dsl.ts Effect; what each reads:
-- EFFECT_READS). c holds what the message's elements found (lists, copy statements, COPY progress).
local function apply_effects(S, effects, v, c)
  local core = S[1]
  for i = 1, #effects do
    local e = effects[i]
    if e == "txStatus" then
      if S[2] ~= v.status then S = state(core, v.status, S[3], S[4]) end
    elseif e == "rowDescription" then
      S = state(core, S[2], (c.lists and c.lists.columns) or EMPTY, nil)
    elseif e == "copyData" then
      -- How far the COPY got (copy_rows): kept by the first pass, not in the state.
      if c.cs and c.first then c.conn.cp = c.cs end
    elseif e == "copyStatement" then
      if core.copyStatements ~= c.copy then S = with_core(S, "copyStatements", c.copy) end
    elseif e == "startup" then
      S = with_core(with_core(with_core(S, "clientFraming", "typed"), "startupSeen", true), "replication", v.replmode)
    elseif e == "sslRequest" then S = with_core(S, "answerTo", "SSLRequest")
    elseif e == "gssRequest" then S = with_core(S, "answerTo", "GSSENCRequest")
    elseif e == "encryptionAnswer" then
      S = with_core(S, "answerTo", nil)
      if v.answer == 83 then S = with_core(S, "tls", true) elseif v.answer == 71 then S = with_core(S, "gss", true) end
    elseif e == "authRequest" then S = with_core(S, "auth", v.authtype)
    elseif e == "copyIn" or e == "copyOut" then
      -- The COPY statement it answers, if the query was seen: its rows can be split.
      local dir = (e == "copyIn") and "in" or "out"
      S = with_core(S, "copy", dir)
      local pending = S[1].copyStatements
      if pending then
        S = with_core(S, "copyConfig", copy_start(pending[1], v.format, dir))
        local rest = {}
        for k = 2, #pending do rest[k - 1] = pending[k] end
        S = with_core(S, "copyStatements", (#rest > 0) and rest or nil)
      else
        S = with_core(S, "copyConfig", nil)
      end
    elseif e == "copyBoth" then S = with_core(with_core(with_core(S, "copy", "both"), "copyBoth", true), "copyConfig", nil)
    elseif e == "copyInDone" then
      S = with_core(S, "copy", (S[1].copy == "both" or S[1].copy == "out") and "out" or nil)
    elseif e == "copyOutDone" then
      if S[1].copy == "both" then S = with_core(S, "copy", "in") elseif S[1].copy == "out" then S = with_core(S, "copy", nil) end
    elseif e == "copyError" then
      if S[1].copy then S = with_core(S, "copy", (S[1].copy == "in") and "dropped" or nil) end
    elseif e == "startReplication" then
      local set = payload_set_of(v)
      if set ~= nil then S = with_core(with_core(S, "payloadSet", set or nil), "stream", nil) end
    elseif e == "relation" then
      if type(v.relid) == "number" and type(v.nspname) == "string" and type(v.relname) == "string" then
        local rels = {}
        if S[1].relations then for id, r in pairs(S[1].relations) do rels[id] = r end end
        rels[v.relid] = { name = ((v.nspname == "") and "pg_catalog" or v.nspname) .. "." .. v.relname,
                          cols = (c.lists and c.lists.relcols) or {} }
        S = with_core(S, "relations", rels)
      end
    elseif e == "dataType" then
      if type(v.typid) == "number" and type(v.typname) == "string" then
        local types = {}
        if S[1].types then for id, name in pairs(S[1].types) do types[id] = name end end
        types[v.typid] = v.typname
        S = with_core(S, "types", types)
      end
    elseif e == "streamStart" then S = with_core(S, "stream", true)
    elseif e == "streamStop" then S = with_core(S, "stream", nil)
    end
    core = S[1]
  end
  if core.copyBoth and not core.copy then S = with_core(S, "copyBoth", nil) end
  if S[1].copyConfig and not S[1].copy then S = with_core(S, "copyConfig", nil) end
  return S
end

-- Where a message comes (spec/dsl.ts Phase), or nil before the StartupMessage was seen.
local function phase_of(core, fe)
  if not core.startupSeen then return nil end
  if core.auth ~= 0 then return "auth" end
  if fe then
    if core.copy == "in" or core.copy == "both" then return "copyIn" end
    if core.copy == "dropped" then return "copyDropped" end
    return "ready"
  end
  if core.copy == "out" or core.copy == "both" then return "copyOut" end
  return "ready"
end

-- The rows a command tag counts: its last number when its first word counts rows, else 0.
local function tag_rows(tag, counting)
  local w, n = smatch(tag, "^([A-Z]+) "), smatch(tag, " ([0-9]+)$")
  if w and n and counting[w] then return tonumber(n) end
  return 0
end

local function selects(when, core, s, body)
  if when.lastAuth then return when.lastAuth[core.auth] == true end
  if when.answerTo then return core.answerTo == when.answerTo end
  if when.copyBoth then return core.copyBoth == true and sbyte(s, body + 1) == when.copyBoth end
  if #s < body + 4 then return false end
  local code = u32(s, body + 1)
  if when.peekInt32 then return when.peekInt32[code] == true end
  if when.peekMajor then return floor(code / 65536) == when.peekMajor end
  return false
end

-- A finding's text: literal parts and variables.
local function render(parts, v)
  local out = {}
  for i = 1, #parts do
    local p = parts[i]
    if p.lit then out[#out + 1] = p.lit
    elseif p.s then out[#out + 1] = (v[p.v] == 1) and "" or "s"
    elseif v[p.v] ~= nil then out[#out + 1] = p.char and char_of(v[p.v]) or info_text(v[p.v])
    end
  end
  return tconcat(out)
end

-- SQL that sets a role's password with a literal: ALTER/CREATE ROLE/USER ... PASSWORD '...'.
local function sets_password_literal(sql)
  -- Most SQL has no quote, let alone PASSWORD: a plain search says so.
  if not sfind(sql, "'", 1, true) then return false end
  if not sfind(sql, "[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd][ \t\n\r\f\v]*'") then return false end
  local w1, w2 = smatch(sql, "^[ \t\n\r\f\v]*([A-Za-z]+)[ \t\n\r\f\v]+([A-Za-z]+)")
  if not w1 then return false end
  w1, w2 = ascii_upper(w1), ascii_upper(w2)
  return (w1 == "ALTER" or w1 == "CREATE") and (w2 == "ROLE" or w2 == "USER")
end

local function holds(w, core, v)
  if w.var then
    local x = v[w.var]
    if w.present ~= nil and (x ~= nil) ~= w.present then return false end
    if w.equals ~= nil and x ~= w.equals then return false end
    if w.oneOf and (x == nil or not w.oneOf[x]) then return false end
    if w.noneOf and x ~= nil and w.noneOf[x] then return false end
  end
  if w.lastAuth and not w.lastAuth[core.auth] then return false end
  if w.clear and in_tls then return false end
  if w.passwordLiteral then
    local sql = v[w.passwordLiteral]
    if type(sql) ~= "string" or not sets_password_literal(sql) then return false end
  end
  return true
end

-- A place where a message of this direction plausibly starts: a known type byte and a length in
-- its bounds, the message ending exactly at the end of the data or followed by another such header.
local function header_ok(s, p, groups, caplen)
  if p + 5 > caplen then return nil end
  local g = groups[sbyte(s, p + 1)]
  if not g then return nil end
  local len = u32(s, p + 2)
  if len < g.min or len > g.max then return nil end
  return p + 1 + len
end

local function resync_point(s, from, groups, caplen, total)
  for p = from, caplen - 5 do
    local nxt = header_ok(s, p, groups, caplen)
    if nxt and (nxt == total or header_ok(s, nxt, groups, caplen)) then return p end
  end
  return caplen
end

-- Bytes that are no message (an unknown type, a bad length): shown, flagged, skipped. Without a
-- tree, the experts go on the call's tree all the same.
local function add_undecoded(c, off, stop, key, text)
  local tree, tvb = c.root, c.tvb
  local t = tree
  if not c.nt then t = ADD(tree, pgwire, tvb(off, stop - off), "PostgreSQL: undecoded data") end
  t:add_proto_expert_info(E[key], text)
  if stop > off and not c.nt then ADD(t, F.undecoded, tvb(off, stop - off)) end
  t:add_proto_expert_info(E.resync, sformat("Skipped %d bytes to find the next message", stop - off))
end

local function add_partial(c, off)
  local t = c.root
  if not c.nt then t = ADD(t, pgwire, c.tvb(off, c.caplen - off), "PostgreSQL: partial message") end
  t:add_proto_expert_info(E.truncated, "Message cut short in the capture")
end

-- A key for the message that starts at off: its first bytes, at most 16 and never past its own
-- end, so that a later pass finds it however TCP split the frame's bytes into calls.
local function msg_key(s, off, caplen)
  local n = caplen - off
  if n >= 5 then
    local len = (sbyte(s, off + 1) == 0) and u32(s, off + 1) or (1 + u32(s, off + 2))
    if len >= 1 and len < n then n = len end
  end
  if n > 16 then n = 16 end
  return ssub(s, off + 1, off + n)
end

-- The packet that opens a connection (spec: MessageDef.opens) that s starts with, by code and length.
local function opening(s, caplen)
  if caplen < 8 or sbyte(s, 1) ~= 0 then return nil end
  local len, code = u32(s, 1), u32(s, 5)
  for i = 1, #OPENING do
    local o = OPENING[i]
    local known
    if o.codes then known = o.codes[code] == true else known = floor(code / 65536) == o.major end
    if known and len >= o.min and len <= o.max then return o end
  end
  return nil
end

---------------------------------------------------------------------------------------------------
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
--                  Info column (later calls append to it) }; a call key is msg_key of its data
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

---------------------------------------------------------------------------------------------------
-- The message loop of one call.

-- One context per nesting level (decrypted data comes back through a nested call from TLS).
local CTX = {}
local depth = 0

-- The fields the runtime adds to any message (its header, its links).
local COMMON_FIELDS = { F.msg, F.type, F.length, F.frontend, F.txStatus, F.responseTo, F.time, F.rowCount, F.tags,
  F.tagRows, F.sql, F.responseIn, F.cancelBackend, F.cancelRequest }

-- A filter, a column or a tap uses one of the fields the runtime adds, or one of the message's
-- (m.fields), in this pass. When nothing is asked of a message in a tree no one sees, the plugin
-- reads it as without a tree and adds only its item.
local COMMON_GEN, COMMON_REF = -1, false
local function any_ref(m)
  if COMMON_GEN ~= REF_GEN then
    COMMON_GEN, COMMON_REF = REF_GEN, false
    for i = 1, #COMMON_FIELDS do
      if REFS[COMMON_FIELDS[i]] then COMMON_REF = true end
    end
  end
  if COMMON_REF then return true end
  if m.rgen ~= REF_GEN then
    local fs, any = m.fields, false
    for i = 1, #fs do
      if REFS[fs[i]] then
        any = true
        break
      end
    end
    m.rgen, m.rany = REF_GEN, any
  end
  return m.rany
end

-- The message's item and r0 (a zero-length range at its start) when there is a tree.
local function add_message_item(c, off, size, shape, m, S)
  local tree, tvb, vis = c.root, c.tvb, c.vis
  local t = ADD(tree, pgwire, tvb(off, math.min(size, c.caplen - off)), "PostgreSQL: " .. m.name)
  local r0 = tvb(off, 0)
  if vis or REFS[F.msg] then GEN(ADD(t, F.msg, r0, m.name)) end
  if shape == "typed" then
    if vis or REFS[F.type] then ADD(t, F.type, tvb(off, 1)) end
    if vis or REFS[F.length] then ADD(t, F.length, tvb(off + 1, 4)) end
  elseif shape == "untyped" then
    if vis or REFS[F.length] then ADD(t, F.length, tvb(off, 4)) end
  end
  if vis or REFS[F.frontend] then GEN(ADD(t, F.frontend, r0, c.fe)) end
  if S[2] and (vis or REFS[F.txStatus]) then GEN(ADD(t, F.txStatus, r0, S[2])) end
  return t, r0
end

-- The captured data ends at caplen, the segment at its reported length (asked only when a message
-- runs past the captured bytes: a capture cut by its snap length).
local function total_of(c)
  local total = c.total
  if not total then
    total = c.tvb:reported_len()
    c.total = total
  end
  return total
end

-- Frames the message at off in its slow cases: the startup phase, a one-byte answer, TLS, GSSAPI.
-- Returns the group, header size and size of the message there; or nil and the action to take:
-- "again" (the state changed: look again), "stop" (no more in this call), "tls" (TLS takes the
-- rest), "skip" (bad bytes skipped: off moved).
local function frame_slow(c, S, off)
  local s, caplen, fe, pinfo = c.s, c.caplen, c.fe, c.pinfo
  local core = S[1]
  if core.tls and not in_tls then return nil, "tls" end
  if core.gss then
    if not c.nt then
      local t = ADD(c.root, pgwire, c.tvb(off, caplen - off), "PostgreSQL: GSSAPI-encrypted data")
      ADD(t, F.undecoded, c.tvb(off, caplen - off))
    end
    return nil, "stop"
  end
  local b1 = sbyte(s, off + 1)
  local shape = "typed"
  if fe and core.clientFraming == "startup" then
    if b1 == 22 and not in_tls then return nil, "again", with_core(S, "tls", true)
    elseif b1 == 0 then shape = "untyped"
    else return nil, "again", with_core(S, "clientFraming", "typed") end
  elseif core.answerTo and not fe and (b1 == 83 or b1 == 78 or b1 == 71) then
    return G.B.single, "single", 0, 1
  end
  local hdr = (shape == "typed") and 1 or 0
  if off + hdr + 4 > caplen then
    if off + hdr + 4 > total_of(c) and pinfo.can_desegment > 0 then
      pinfo.desegment_offset, pinfo.desegment_len = off, DESEGMENT_ONE_MORE
      return nil, "stop"
    end
    add_partial(c, off)
    return nil, "stop"
  end
  local groups = fe and G.F or G.B
  local g = groups[shape == "typed" and b1 or "untyped"]
  local len = u32(s, off + hdr + 1)
  if not g or len < g.min or len > g.max then return nil, "bad", g, len end
  return g, shape, hdr, hdr + len
end

-- TLS follows the server's 'S' (or a direct TLS ClientHello): Wireshark's TLS dissector takes the
-- bytes from off on, and hands decrypted data back to pgwire through the tls.port table. The
-- decrypted messages come back through a nested call that reads and updates the connection's
-- state: it is handed the current one (S) first, and its messages are numbered after the call's
-- (ord). Returns the number after the nested calls' messages.
local function hand_to_tls(c, S, off, ord)
  local first, pinfo = c.first, c.pinfo
  if first then
    c.conn.cur = S
    CUR_N = ord
  end
  in_tls = true
  local tvb, tree = c.tvb, c.root
  pcall(function() tls_handle:call(tvb(off):tvb(), pinfo, tree) end)
  in_tls = false
  if first then ord = CUR_N end
  if pinfo.desegment_len and pinfo.desegment_len > 0 then pinfo.desegment_offset = pinfo.desegment_offset + off end
  return ord
end

-- Bad bytes at off (an unknown type: g nil; or a length len its group g cannot have): skipped to
-- where a message plausibly starts again, with their item and Info piece (after ninfo pieces).
-- Returns that offset and the new count of Info pieces.
local function skip_undecoded(c, off, g, len, ninfo)
  local s, fe, infos = c.s, c.fe, c.infos
  local stop = resync_point(s, off + 1, fe and G.F or G.B, c.caplen, total_of(c))
  if ninfo > 0 then
    ninfo = ninfo + 1
    infos[ninfo] = ", "
  end
  ninfo = ninfo + 1
  if g then
    add_undecoded(c, off, stop, "badLength", sformat("Invalid message length %d", len))
    infos[ninfo] = "Bad length"
  else
    add_undecoded(c, off, stop, "unknownType",
      sformat("Unknown %s message type %d", fe and "frontend" or "backend", sbyte(s, off + 1)))
    infos[ninfo] = "Unknown message"
  end
  return stop, ninfo
end

-- Decodes the messages of one call; returns the new state and whether TLS took the rest.
-- The Info texts go into c.infos[1 .. c.ninfo], as pieces (", " between messages).
local function dissect_messages(c, S)
  local s, caplen, fe, pinfo = c.s, c.caplen, c.fe, c.pinfo
  local groups = fe and G.F or G.B
  local first, conn, nt = c.first, c.conn, c.nt
  local infos, ninfo, ord, g0 = c.infos, 0, c.ord, c.g0
  local prev = S
  -- Links (FR_K): the number the call's next link is predicted to have (nil: not known), the
  -- frame's completion bits, and whether the call's first link sets the frame's base.
  local kn, kbits, kbase = nil, 0, ord == 0
  -- The SQL last kept in RQ_SQL by this call (nil: none yet).
  local sqlprev = nil
  if not first and not fe then
    local x = FR_K[c.number]
    if x then
      kbits = floor(x / TWO32)
      if ord == 0 then kn = x % TWO32 end
    end
  end
  -- Where the current state puts messages (spec/dsl.ts Phase), computed when its core changes.
  local phase_core, phase = nil, nil
  local core = S[1]
  if fe and not in_tls and (core.clientFraming == "typed" or core.tls) and opening(s, caplen) then
    -- A client reusing the address and port pair of an earlier connection starts over.
    S = INITIAL
    if first then
      conn.q, conn.qm, conn.qo, conn.qh, conn.qt = {}, {}, {}, 1, 0
      conn.objs = { S = {}, P = {} }
      conn.cp = nil
      conn.started = nil
    end
  end
  local off = 0
  -- The reported length is never less than the captured one: past the captured bytes, stop.
  while off < caplen do
    core = S[1]
    local g, shape, hdr, size
    if core.plain then
      -- A typed message in the ready state: the usual case, framed here.
      shape, hdr = "typed", 1
      if off + 5 > caplen then
        if off + 5 > total_of(c) and pinfo.can_desegment > 0 then
          pinfo.desegment_offset, pinfo.desegment_len = off, DESEGMENT_ONE_MORE
          break
        end
        add_partial(c, off)
        break
      end
      local b1, x1, x2, x3, x4 = sbyte(s, off + 1, off + 5)
      g = groups[b1]
      size = ((x1 * 256 + x2) * 256 + x3) * 256 + x4
      if not g or size < g.min or size > g.max then
        shape, hdr, size = "bad", g, size
        g = nil
      else
        size = size + 1
      end
    else
      g, shape, hdr, size = frame_slow(c, S, off)
      if shape == "tls" then
        c.ord, c.ninfo = hand_to_tls(c, S, off, ord), ninfo
        return S, true
      elseif shape == "stop" then
        break
      elseif shape == "again" then
        S = hdr
      end
    end
    if shape == "bad" then
      -- hdr: the group (nil for an unknown type), size: the length it claimed.
      off, ninfo = skip_undecoded(c, off, hdr, size, ninfo)
    elseif g then
      local e = off + size
      if e > caplen and e > total_of(c) and pinfo.can_desegment > 0 then
        pinfo.desegment_offset, pinfo.desegment_len = off, e - c.total
        break
      end
      local obj = first and not fe and conn.rows
      if obj then
        -- Execute's rows are its portal's (columns, result formats), whatever came in between.
        local cols = obj.columns or (obj.stmt and obj.stmt.columns)
        local rf = obj.formats
        if (cols and cols ~= S[3]) or (rf and rf ~= S[4]) then S = state(S[1], S[2], cols or S[3], rf or S[4]) end
      end
      -- The message's number; the state before it, as the first pass had it.
      local gm, mi = g0 + ord, ord
      ord = ord + 1
      if first then
        if S ~= prev then
          MS[gm] = S
          prev = S
        end
      else
        local x = MS[gm]
        if x then S = x end
      end
      core = S[1]
      -- The variant whose selector holds; the last one (the group's fallback) when none does.
      local m = g.m
      if not m then
        local vs = g.v
        m = vs[#vs]
        for i = 1, #vs do
          local w = vs[i].when
          if not w or selects(w, core, s, off + hdr + 4) then
            m = vs[i]
            break
          end
        end
      end
      local t, lite
      if not nt then
        if c.vis or any_ref(m) then
          t, c.r0 = add_message_item(c, off, size, shape, m, S)
          c.cols, c.rf = S[3], S[4]
        else
          -- Nothing of it is asked for: its item (a filter on pgwire finds it, experts go there)
          -- and the reader without a tree.
          t = ADD(c.root, pgwire, c.tvb(off, math.min(size, caplen - off)), "PostgreSQL: " .. m.name)
          lite = true
        end
        c.t = t
      end
      if ninfo > 0 then
        ninfo = ninfo + 1
        infos[ninfo] = ", "
      end
      if e > caplen then
        x_expert(c, "truncated", sformat("Message cut short in the capture (%d of %d bytes)", caplen - off, size))
        ninfo = ninfo + 1
        infos[ninfo] = m.name
        break
      end
      -- The variables: one table, reused (each reader clears its own) unless names the data gave
      -- were bound in it.
      local v = c.v
      if c.dirty then
        v = {}
        c.v, c.dirty = v, false
      end
      if m.ctx then c.core, c.g, c.m, c.pt = core, gm, m, nil end
      -- The message's link (k for request k, -k for the response completing it, 0 for none): on
      -- later passes what the first pass kept (FR_K, MLX), before the reader (Bind's parameters).
      local k = 0
      local lk = m.lk
      if lk and not first then
        k = MLX[gm]
        if not k then
          if lk == 1 then
            if not kn and kbase then kn = rq_first(c.number) end
            k = kn or 0
          elseif mi < KBITS and floor(kbits / KBIT[mi]) % 2 == 1 then
            k = -(kn or 0)
          else
            k = 0
          end
        end
        if k ~= 0 then kn = (k < 0 and -k or k) + 1 end
      end
      c.k = k
      local body = (shape == "single") and off or (off + hdr + 4)
      if m.lenck and ((m.fixed and m.fixed ~= size - hdr) or (m.max and size - hdr > m.max)) then
        x_expert(c, "badLength", sformat("Invalid message length %d", size - hdr))
      end
      local stop
      if nt or lite then stop = m.nt(c, v, s, body, e) else stop = m.tree(c, v, s, body, e, t) end
      if stop and stop < e then x_expert(c, "trailing", sformat("%d bytes after the last field", e - stop)) end
      if m.cols then
        -- The same RowDescription again (a statement run again): the same list, so that the
        -- state it makes is the same one.
        local l = c.lists and c.lists.columns
        if l then
          local key = ssub(s, body + 1, e)
          local kept = COLS_OF[key]
          if kept then
            c.lists.columns = kept
          else
            if NCOLS >= 1024 then COLS_OF, NCOLS = {}, 0 end
            COLS_OF[key], NCOLS = l, NCOLS + 1
          end
        end
      end
      local allowed = m.allowed
      if allowed then
        if core ~= phase_core then phase_core, phase = core, phase_of(core, fe) end
        if phase and not allowed[phase] then
          x_expert(c, "unexpectedMessage", m.name .. " is not allowed " .. PHASE_TEXT[phase])
        end
      end
      if first then
        local of = m.obj
        if of then obj = of(conn.objs, v, c.lists) end
        if lk == 1 then
          -- A request: numbered, queued on its connection (link_request, inline).
          k = RQ_NEXT + 1
          RQ_NEXT = k
          local number = c.number
          if FR_K[number] == 0 then FR_K[number] = pinfo.abs_ts end
          RQ_FR[k] = number
          local qt = conn.qt + 1
          conn.q[qt], conn.qm[qt], conn.qo[qt], conn.qt = k, m, obj or false, qt
          if of then
            local sql = obj and obj.sql or false
            if sql ~= sqlprev then RQ_SQL[k], sqlprev = sql, sql end
          end
          if obj then
            -- Parameter types, where the statement has some.
            if m.objects.params and obj.types and #obj.types > 0 then RQ_PT[k] = obj.types end
          end
          if qt == conn.qh then conn.rows = rows_of(m, obj) end
        elseif lk == 2 then
          local qh = conn.qh
          if qh < conn.qt and conn.qm[qh].ends[m.name] and not m.objects then
            -- The oldest request is complete and others wait (link_response, inline).
            k = conn.q[qh]
            conn.qh = qh + 1
            conn.rows = rows_of(conn.qm[qh + 1], conn.qo[qh + 1])
            rq_set_resp(k, c.number)
            local tags = RQ_TAGS[k]
            if tags then RQ_TAGS[k] = cut_utf8(tconcat(tags, "; "), MAX_VALUE_BYTES) end
            k = -k
          else
            k = link_response(c, m, v, gm)
          end
        end
        if k ~= 0 then
          -- Kept as FR_K predicts it, or else in MLX.
          local number, a = c.number, k < 0 and -k or k
          if a ~= kn then
            -- The base: a server's frame keeps it; a client's is found again (rq_first).
            if kn == nil and kbase then
              if k < 0 then FR_K[number] = FR_K[number] + a end
            else
              MLX[gm] = k
            end
          end
          if k < 0 then
            if mi < KBITS then FR_K[number] = FR_K[number] + KBIT[mi] * TWO32 else MLX[gm] = k end
          end
          kn, kbase = a + 1, false
        end
        if m.rare then
          if m.start then conn.started = true end
          if m.cancelKey then cancel_first_pass(c, m, v, gm) end
        end
      end
      if t and not lite then add_links(c, t, gm, k, m.obj) end
      local fs = m.findings
      if fs then
        for i = 1, #fs do
          local f = fs[i]
          if holds(f.when, core, v) then x_expert(c, f.e, render(f.text, v)) end
        end
      end
      if t and not lite then
        local resp = k > 0 and RQ_FR[k] and rq_resp(k)
        if resp and resp > 0 and (c.vis or REFS[F.responseIn]) then
          GEN(ADD(t, F.responseIn, c.r0, resp))
        end
      end
      local info = m.info_s
      if info then
        ninfo = ninfo + 1
        infos[ninfo] = info
      else
        ninfo = m.info_f(v, infos, ninfo)
      end
      local found = m.found
      local sub = found and c.picked
      if sub then
        ninfo = ninfo + 1
        infos[ninfo] = " "
        info = sub.info_s
        if info then
          ninfo = ninfo + 1
          infos[ninfo] = info
        else
          ninfo = sub.info_f(v, infos, ninfo)
        end
      end
      local before = S
      if core.answerTo and not fe and shape == "typed" then S = with_core(S, "answerTo", nil) end
      local effects = m.effects
      if effects then
        -- ReadyForQuery's, the commonest, here.
        if m.onlyTxStatus then
          local x = v.status
          if S[2] ~= x then S = state(core, x, S[3], S[4]) end
        else
          S = apply_effects(S, effects, v, c)
        end
      end
      if found then
        if sub and sub.effects then S = apply_effects(S, sub.effects, v, c) end
        -- What its elements found must not outlive it.
        c.lists, c.picked, c.copy, c.cs = nil, nil, nil, nil
      end
      off = e
      if first and S ~= before and off < caplen then
        -- A later pass may start a call at the next message: remember the state there.
        local alt = FR_ALT[c.number]
        if not alt then
          alt = {}
          FR_ALT[c.number] = alt
        end
        alt[msg_key(s, off, caplen) .. c.tag] = S
      end
    end
  end
  c.ord, c.ninfo = ord, ninfo
  return S, false
end

local conns = {}
-- The frame of the last call (to tell when a new pass starts).
local LAST_NUMBER = 0

function pgwire.init()
  conns = {}
  LAST_NUMBER = 0
  refs_reset()
  cancel_keys = {}
  in_tls = false
  reset_records()
end

-- Connections by their port pair (a number) and then their address pair (a string), the same in
-- both directions and in every pass (tcp.stream is not available to Lua when tshark builds no
-- tree). Later passes find a frame's connection in FR_SC.
local function conn_of(pinfo, sp, dp)
  local a, z = tostring(pinfo.src), tostring(pinfo.dst)
  local pk, ak
  if sp < dp or (sp == dp and a < z) then
    pk, ak = sp * 65536 + dp, a .. " " .. z
  else
    pk, ak = dp * 65536 + sp, z .. " " .. a
  end
  local byport = conns[pk]
  if not byport then
    byport = {}
    conns[pk] = byport
  end
  local conn = byport[ak]
  return conn, byport, ak, a, z
end

local function new_conn(sport, saddr)
  return { sport = sport, saddr = saddr, cur = INITIAL, q = {}, qm = {}, qo = {}, qh = 1, qt = 0,
           objs = { S = {}, P = {} }, sc = {} }
end

function pgwire.dissector(tvb, pinfo, tree)
  local caplen = tvb:len()
  if caplen == 0 then return 0 end
  local number, visited = pinfo.number, pinfo.visited
  local sp, dp = pinfo.src_port, pinfo.dst_port
  local fr = FR_SC[number]
  local conn = visited and fr and fr[2]
  if not conn then
    local byport, ak, a, z
    conn, byport, ak, a, z = conn_of(pinfo, sp, dp)
    if not conn then
      local match = pinfo.match_uint
      local sport = (match == sp) and sp or dp
      conn = new_conn(sport, (sport == sp) and a or z)
      byport[ak] = conn
    end
    if sp == dp then conn.fe_dst = (z == conn.saddr) end
  end
  local fe
  if sp == dp then
    if visited or not conn.fe_dst then fe = tostring(pinfo.dst) == conn.saddr else fe = conn.fe_dst end
  else
    fe = dp == conn.sport
  end
  conn.fe_dst = nil

  -- Per-frame state, so that a second pass and a click in the GUI decode as the first pass did:
  -- the state at the frame's first call, and where a message changed it, the state at the next
  -- message (keyed by its first bytes, since TCP may split a frame's calls differently later).
  -- Most frames are one call; for a frame of several, FR_CALLS keeps where each call's messages
  -- start in the frame's numbering, and which call set the Info column (info), by call key.
  local tag = in_tls and "t" or ""
  local s = tvb:raw(0, caplen)
  local fs = fr and fr[1]
  local S, ord, calls, key16
  if visited and fs then
    S, ord = fs, 0
    local alt
    alt, calls = FR_ALT[number], FR_CALLS[number]
    if alt or calls then
      key16 = msg_key(s, 0, caplen) .. tag
      if alt and alt[key16] then S = alt[key16] end
      if calls then ord = calls[key16] or 0 end
    end
  else
    S = conn.cur
    if number ~= CUR_FRAME then
      -- The frame's first call (the first pass takes each frame once, its calls one after another).
      CUR_FRAME, CUR_N, CUR_S, CUR_LEN, CUR_TAG, CUR_SET = number, 0, s, caplen, tag, nil
    else
      calls = FR_CALLS[number]
      if not calls then
        calls = { [msg_key(CUR_S, 0, CUR_LEN) .. CUR_TAG] = 0 }
        FR_CALLS[number] = calls
      end
      key16 = msg_key(s, 0, caplen) .. tag
      if calls[key16] == nil then calls[key16] = CUR_N end
    end
    ord = CUR_N
    if not fs then
      local sc = conn.sc[S]
      if not sc then
        sc = { S, conn }
        conn.sc[S] = sc
      end
      FR_SC[number], FR_K[number] = sc, 0
    elseif S ~= fs then
      local alt = FR_ALT[number]
      if not alt then
        alt = {}
        FR_ALT[number] = alt
      end
      alt[key16 or (msg_key(s, 0, caplen) .. tag)] = S
    end
  end

  depth = depth + 1
  local c = CTX[depth]
  if not c then
    c = { v = {}, infos = {} }
    CTX[depth] = c
  end
  if not REF then REF, ADD, ADDPF, GEN = tree.referenced, tree.add, tree.add_packet_field, tree.set_generated end
  REF_TREE = tree
  -- A new pass (what filters use may have changed): a frame below the last one, or the same
  -- frame's first call again (calls[key16] == 0 for a frame of several calls).
  if number < LAST_NUMBER or (number == LAST_NUMBER and depth == 1 and (not calls or calls[key16] == 0)) then
    refs_reset()
  end
  LAST_NUMBER = number
  -- No tree (tshark without -V, filters or field output): decode for the Info column, the
  -- experts and the connection's state only. TreeItem's tostring tells a NULL tree apart from
  -- an invisible one (since Wireshark 1.99.8).
  local nt = sfind(tostring(tree), "has subtree=false", 1, true) ~= nil
  c.tvb, c.s, c.caplen, c.total, c.pinfo, c.root, c.fe, c.conn, c.tag = tvb, s, caplen, nil, pinfo, tree, fe,
    conn, tag
  c.nt, c.vis = nt, (not nt) and tree.visible
  c.first, c.number, c.cpprev = not visited, number, nil
  c.g0, c.ord, c.t = number * MSG_PER_FRAME, ord, nil
  c.ninfo = 0
  local ok, S2, handed = pcall(dissect_messages, c, S)
  if not visited then
    CUR_N = c.ord
  end
  depth = depth - 1
  if not ok then
    -- A bug, never the data's fault: show it as an expert item instead of a Lua error.
    local t = ADD(tree, pgwire, tvb(), "PostgreSQL: decoder error")
    t:add_proto_expert_info(E.overrun, "Decoder error: " .. tostring(S2))
    return caplen
  end
  if handed then return caplen end
  if not visited then conn.cur = S2 end

  local ninfo = c.ninfo
  if ninfo > 0 then
    -- The frame's first call with messages sets the Info column; later calls in the same frame
    -- (the rest of a segment after a reassembled message) append, since TCP fences what came before.
    local sets
    if visited then
      sets = not calls or not calls.info or calls.info == key16
    else
      sets = not CUR_SET
      if sets then CUR_SET = true end
      if calls and not calls.info then
        -- The call that set it: this one, or the frame's first.
        calls.info = sets and key16 or (msg_key(CUR_S, 0, CUR_LEN) .. CUR_TAG)
      end
    end
    local text = tconcat(c.infos, "", 1, ninfo)
    local cols = pinfo.cols
    cols.protocol = "PGWIRE"
    if sets then
      cols.info = (fe and "> " or "< ") .. text
    else
      cols.info:append(", " .. text)
    end
  end
  return caplen
end

---------------------------------------------------------------------------------------------------
-- Detection on other ports (mirrored by heuristicSide in src/decoder.ts): a segment that is one
-- whole startup packet (the client's side), or two or more whole typed messages that are valid in
-- one direction only.

local function typed_run(s, caplen, groups)
  local p, n = 0, 0
  while p < caplen do
    local nxt = header_ok(s, p, groups, caplen)
    if not nxt or nxt > caplen then return false end
    p, n = nxt, n + 1
  end
  return n >= 2
end

local function heuristic_side(s, caplen)
  if caplen >= 8 and sbyte(s, 1) == 0 then
    local o = opening(s, caplen)
    if not o or u32(s, 1) ~= caplen then return nil end
    if o.endsWithZero and sbyte(s, caplen) ~= 0 then return nil end
    if o.contains and not sfind(s, o.contains, 9, true) then return nil end
    return "F"
  end
  local f, b = typed_run(s, caplen, G.F), typed_run(s, caplen, G.B)
  if f and not b then return "F" end
  if b and not f then return "B" end
  return nil
end

local function heuristic(tvb, pinfo, tree)
  if not pgwire.prefs.heuristic then return false end
  local sp, dp = pinfo.src_port, pinfo.dst_port
  local conn, byport, ak, a, z = conn_of(pinfo, sp, dp)
  if conn then
    -- Found before: decode from the frame where it was found on, in every pass.
    if not conn.heur or pinfo.number < conn.heur then return false end
  else
    local caplen = tvb:len()
    if caplen < 5 or caplen ~= tvb:reported_len() or pinfo.visited then return false end
    local side = heuristic_side(tvb:raw(0, caplen), caplen)
    if not side then return false end
    if side == "F" then conn = new_conn(dp, z) else conn = new_conn(sp, a) end
    conn.heur = pinfo.number
    byport[ak] = conn
  end
  pgwire.dissector(tvb, pinfo, tree)
  return true
end

---------------------------------------------------------------------------------------------------
-- Registration: the port preference, Decode As, the TLS port table for decrypted data, and the
-- heuristic for other ports.

local registered = nil

local function register_ports()
  local tcp = DissectorTable.get("tcp.port")
  local tls = DissectorTable.get("tls.port")
  if registered then
    tcp:remove(registered, pgwire)
    if tls then tls:remove(registered, pgwire) end
  end
  registered = tostring(pgwire.prefs.ports)
  tcp:add(registered, pgwire)
  if tls then tls:add(registered, pgwire) end
end

function pgwire.prefs_changed()
  if tostring(pgwire.prefs.ports) ~= registered then register_ports() end
end

register_ports()
DissectorTable.get("tcp.port"):add_for_decode_as(pgwire)
pgwire:register_heuristic("tcp", heuristic)
