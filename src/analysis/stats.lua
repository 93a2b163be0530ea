-- The plugin's own statistics: `tshark -q -z pgwire,queries|errors|conns[,FILTER]` and the GUI's
-- Statistics > PostgreSQL. The numbers are `pgwire stats`'s: what became of each request follows
-- src/analysis/analyzer.ts (answered, failed, skipped after an error, unanswered), the tables
-- follow src/analysis/stats.ts (query shapes by normalizeSql, times in buckets 2 % wide), so both
-- are mirrored there.
--
-- A collection is a set of taps: "tcp" (every TCP segment: the stream number, SYN, FIN, RST) and,
-- with a filter, "frame" with it (which frames the filter passes). The dissector hands it each
-- message with its link (links.lua: k > 0 for request k, -k for the response completing it),
-- in every pass, only while a collection runs (STATS is nil otherwise: one test per message).
-- With a filter, a request counts when its own frame, the frame that ended it or that of the error
-- that failed it passes; an error when its frame passes; a connection when one of its messages'
-- frames passes. What a frame adds is held back until the frame's taps have run (the next frame,
-- or the end).

-- The collections under way (nil: none), and what the dissector calls for each message; the rest
-- of the file is in a function of its own (Lua allows a function 200 locals, the plugin's main
-- chunk has nearly as many).
local STATS, stats_message
(function()

local LOG102 = math.log(1.02)

-- SQL keywords a query shape writes in capitals (analyzer.ts SQL_KEYWORDS).
local SQL_KEYWORDS = {}
for w in string.gmatch(
  "ABORT ALL ALTER ANALYZE AND ANY ARRAY AS ASC BEGIN BETWEEN BY CALL CASE CAST CHECKPOINT CLOSE " ..
  "COMMIT CONFLICT COPY CREATE CROSS CURSOR DEALLOCATE DECLARE DEFAULT DELETE DESC DISCARD DISTINCT " ..
  "DO DROP ELSE END ESCAPE EXCEPT EXECUTE EXISTS EXPLAIN FALSE FETCH FILTER FOR FROM FULL GRANT GROUP " ..
  "HAVING ILIKE IN INNER INSERT INTERSECT INTO IS ISOLATION JOIN LATERAL LEFT LEVEL LIKE LIMIT LISTEN " ..
  "LOCK NOT NOTHING NOTIFY NULL NULLS OFFSET ON ONLY OR ORDER OUTER OVER PARTITION PREPARE READ " ..
  "REFRESH RELEASE RESET RETURNING REVOKE RIGHT ROLLBACK SAVEPOINT SELECT SET SHOW SIMILAR START " ..
  "STDIN STDOUT TABLE THEN TO TRANSACTION TRUE TRUNCATE UNION UNLISTEN UPDATE USING VACUUM VALUES " ..
  "WHEN WHERE WINDOW WITH WORK WRITE", "%S+") do
  SQL_KEYWORDS[w] = true
end

-- Byte classes: [A-Za-z_0-9$] (IDC), [A-Za-z0-9_] (WORD, a regex's \w).
local IDC, WORD = {}, {}
for b = 0, 255 do
  local ch = string.char(b)
  WORD[b] = smatch(ch, "[A-Za-z0-9_]") ~= nil
  IDC[b] = WORD[b] or ch == "$"
end
local DIGIT = {}
for b = 48, 57 do DIGIT[b] = true end

-- A quoted text from the quote at i (q: its byte): the end of `q(?:[^q]|qq)*q` as a regex
-- finds it (pairs taken greedily, the last pair's first quote closing when no lone quote does),
-- or nil when none starts there.
local function quoted_end(s, i, q)
  local n, j, pair = #s, i + 1, nil
  while j <= n do
    local b = sbyte(s, j)
    if b ~= q then
      j = j + 1
    elseif sbyte(s, j + 1) == q then
      pair = j
      j = j + 2
    else
      return j
    end
  end
  return pair
end

-- s with each match replaced by ?: match_end(s, i) is the end of the match that starts at i, or nil;
-- the next match is looked for after it (a regex's global replace).
local function to_placeholders(s, match_end)
  local out, n, i, from = {}, #s, 1, 1
  while i <= n do
    local e = match_end(s, i)
    if e then
      out[#out + 1] = ssub(s, from, i - 1)
      out[#out + 1] = "?"
      i, from = e + 1, e + 1
    else
      i = i + 1
    end
  end
  out[#out + 1] = ssub(s, from)
  return tconcat(out)
end

-- `[Ee]?'(?:[^']|'')*'`
local function literal_end(s, i)
  local b = sbyte(s, i)
  if b == 39 then return quoted_end(s, i, 39) end
  if (b == 69 or b == 101) and sbyte(s, i + 1) == 39 then return quoted_end(s, i + 1, 39) end
  return nil
end

-- The end of a run of digits from j (j - 1 if none).
local function digits(s, j)
  while DIGIT[sbyte(s, j) or 0] do j = j + 1 end
  return j - 1
end

-- An exponent `[eE][+-]?\d+` after position p: its end, or nil.
local function exponent_end(s, p)
  local b = sbyte(s, p + 1)
  if b ~= 69 and b ~= 101 then return nil end
  local q = p + 2
  local sign = sbyte(s, q)
  if sign == 43 or sign == 45 then q = q + 1 end
  local x = digits(s, q)
  if x >= q then return x end
  return nil
end

-- `(?<![A-Za-z_0-9$])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_0-9$])`, the lookbehind on the
-- text as it was, the candidates in the order a regex tries them (the fraction and the exponent
-- each taken whole or not at all).
local function number_end(s, i)
  if i > 1 and IDC[sbyte(s, i - 1)] then return nil end
  local j = i
  if sbyte(s, j) == 45 then j = j + 1 end
  local d = digits(s, j)
  if d < j then return nil end
  local cands = {}
  if sbyte(s, d + 1) == 46 then
    local f = digits(s, d + 2)
    if f >= d + 2 then
      cands[#cands + 1] = exponent_end(s, f)
      cands[#cands + 1] = f
    end
  end
  cands[#cands + 1] = exponent_end(s, d)
  cands[#cands + 1] = d
  for c = 1, #cands do
    if not IDC[sbyte(s, cands[c] + 1) or 0] then return cands[c] end
  end
  return nil
end

-- `\b(IN\s*)\(\s*\?(?:\s*,\s*\?)+\s*\)` (any case) -> $1(...), after whitespace is folded.
local function fold_in_lists(s)
  local out, from, i = {}, 1, 1
  while true do
    local a = sfind(s, "[Ii][Nn]", i)
    if not a then break end
    local e = nil
    local kw = a + 1
    if a == 1 or not WORD[sbyte(s, a - 1)] then
      local j = kw + 1
      if sbyte(s, j) == 32 then j = j + 1 end
      local open = j
      if sbyte(s, j) == 40 then
        j = j + 1
        if sbyte(s, j) == 32 then j = j + 1 end
        if sbyte(s, j) == 63 then
          j = j + 1
          local more = 0
          while true do
            local p = j
            if sbyte(s, p) == 32 then p = p + 1 end
            if sbyte(s, p) ~= 44 then break end
            p = p + 1
            if sbyte(s, p) == 32 then p = p + 1 end
            if sbyte(s, p) ~= 63 then break end
            j, more = p + 1, more + 1
          end
          if more > 0 then
            if sbyte(s, j) == 32 then j = j + 1 end
            if sbyte(s, j) == 41 then e = j end
          end
        end
      end
      if e then
        out[#out + 1] = ssub(s, from, open - 1)
        out[#out + 1] = "(...)"
        from, i = e + 1, e + 1
      end
    end
    if not e then i = a + 1 end
  end
  out[#out + 1] = ssub(s, from)
  return tconcat(out)
end

-- Keywords in capitals in a part outside quoted identifiers: runs of letters not after
-- [A-Za-z_0-9$.] (within the part) and not before [A-Za-z_0-9$].
local function capitals(part)
  return (sgsub(part, "()([A-Za-z_]+)()", function(a, w, z)
    if a > 1 then
      local b = sbyte(part, a - 1)
      if IDC[b] or b == 46 then return nil end
    end
    if IDC[sbyte(part, z) or 0] then return nil end
    local u = string.upper(w)
    if SQL_KEYWORDS[u] then return u end
    return nil
  end))
end

-- Whitespace as a regex's \s has it beyond ASCII, in UTF-8: NBSP, U+1680, U+2000..U+200A,
-- U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF.
local UNICODE_SPACES = { "\194\160", "\225\154\128", "\226\128[\128-\138\168\169\175]", "\226\129\159",
  "\227\128\128", "\239\187\191" }

-- A query's shape (analyzer.ts normalizeSql): comments and a trailing semicolon dropped, literals
-- and parameters as ?, whitespace folded, IN lists as (...), keywords in capitals.
local function normalize_sql(sql)
  local s = sgsub(sql, "%-%-[^\n]*", " ")
  s = sgsub(s, "/%*.-%*/", " ")
  s = to_placeholders(s, literal_end)
  s = sgsub(s, "%$%d+", "?")
  s = to_placeholders(s, number_end)
  if sfind(s, "[\194\225\226\227\239]") then
    for i = 1, #UNICODE_SPACES do s = sgsub(s, UNICODE_SPACES[i], " ") end
  end
  s = sgsub(s, "%s+", " ")
  s = fold_in_lists(s)
  s = sgsub(s, "[%s;]+$", "")
  s = smatch(s, "^%s*(.-)%s*$")
  -- Split at quoted identifiers ("..."), which keep their case.
  local out, from, i, n = {}, 1, 1, #s
  while i <= n do
    local q = sfind(s, '"', i, true)
    if not q then break end
    local e = quoted_end(s, q, 34)
    if e then
      out[#out + 1] = capitals(ssub(s, from, q - 1))
      out[#out + 1] = ssub(s, q, e)
      from, i = e + 1, e + 1
    else
      break
    end
  end
  out[#out + 1] = capitals(ssub(s, from))
  return tconcat(out)
end

-- Response times in buckets 2 % wide from 1 us (stats.ts Histogram).
local function hist_new() return { b = {}, count = 0, total = 0, max = 0 } end
local function hist_add(h, seconds)
  local us = math.max(1, seconds * 1e6)
  local b = floor(math.log(us) / LOG102)
  h.b[b] = (h.b[b] or 0) + 1
  h.count = h.count + 1
  h.total = h.total + seconds
  if seconds > h.max then h.max = seconds end
end
local function hist_quantile(h, q)
  if h.count == 0 then return 0 end
  local want = math.max(1, math.ceil(q * h.count))
  local keys = {}
  for b in pairs(h.b) do keys[#keys + 1] = b end
  table.sort(keys)
  local seen = 0
  for i = 1, #keys do
    seen = seen + h.b[keys[i]]
    if seen >= want then return math.min(h.max, 1.02 ^ (keys[i] + 1) / 1e6) end
  end
  return h.max
end

-- Seconds to whole microseconds, as stats.ts rounds them.
local function us_of(t) return floor(t * 1e6 + 0.5) end

-- START_REPLICATION as the replication grammar has it (analyzer.ts startReplication): such a
-- Query starts a stream, not a request with a response time.
local function starts_replication(sql)
  local u = string.upper(sql)
  local r = smatch(u, "^%s*START_REPLICATION%s+(.*)$")
  if not r then return false end
  local function after_slot(x)
    local y = smatch(x, '^SLOT%s+"[^"]*"%s+(.*)$')
    if y then return y end
    return smatch(x, "^SLOT%s+%S+%s+(.*)$")
  end
  local function rest_ok(x)
    x = smatch(x, "^LOGICAL%s+(.*)$") or smatch(x, "^PHYSICAL%s+(.*)$") or x
    x = smatch(x, "^[0-9A-F]+/[0-9A-F]+(.*)$")
    if not x then return false end
    x = smatch(x, "^%s+TIMELINE%s+%d+(.*)$") or x
    x = smatch(x, "^%s*(.*)$")
    x = smatch(x, "^%(.*%)(.*)$") or x
    return smatch(x, "^%s*;?%s*$") ~= nil
  end
  local s = after_slot(r)
  if s and rest_ok(s) then return true end
  return rest_ok(r)
end

local REQUESTS = { Query = true, Execute = true, FunctionCall = true }

local function stats_reset(st)
  st.conns, st.nconns = {}, 0 -- per Lua connection (conn of connection.lua): its record
  st.streams, st.syns = {}, {} -- stream -> record; stream -> time of its SYN
  st.queries, st.nq = {}, 0
  st.shapes, st.nshapes = {}, 0
  st.errors, st.nerr = {}, 0
  st.done = {} -- connections closed, in the order they closed
  st.seq = 0
  st.frame, st.cur = -1, nil
  st.matched = -1
  st.pnew, st.pdone, st.perr = {}, {}, {}
end

-- A request's end, counted into its shape (stats.ts Stats.request).
local function count_request(st, r)
  local key = st.shapes[r.sql]
  if not key then
    if st.nshapes >= 10000 then st.shapes, st.nshapes = {}, 0 end
    key = normalize_sql(r.sql)
    st.shapes[r.sql], st.nshapes = key, st.nshapes + 1
  end
  local q = st.queries[key]
  if not q then
    st.nq = st.nq + 1
    q = { query = key, hist = hist_new(), failed = hist_new(), failures = {}, rows = 0, count = 0, skipped = 0,
          unanswered = 0, order = st.nq }
    st.queries[key] = q
  end
  q.count = q.count + 1
  q.rows = q.rows + r.rows
  if r.outcome == "skipped" then
    q.skipped = q.skipped + 1
  elseif r.err then
    q.failures[r.err] = (q.failures[r.err] or 0) + 1
    hist_add(q.failed, r.dur or 0)
  elseif r.dur then
    hist_add(q.hist, r.dur)
  else
    q.unanswered = q.unanswered + 1
  end
end

local function count_error(st, e)
  local x = st.errors[e.code]
  if not x then
    st.nerr = st.nerr + 1
    x = { code = e.code, name = e.name, severity = e.severity, count = 0, example = e.message, order = st.nerr }
    st.errors[e.code] = x
  end
  x.count = x.count + 1
end

-- What a frame added, now that its taps have run: with a filter, only what it passes.
local function flush(st)
  local f = st.frame
  local pass = (not st.filtered) or st.matched == f
  local pn, pe = st.pnew, st.perr
  for i = 1, #pn do pn[i].m = pass end
  for i = 1, #pe do
    local e = pe[i]
    e.m = pass
    if pass then count_error(st, e) end
  end
  local pd = st.pdone
  for i = 1, #pd do
    -- Its own frame, the frame that ended it, or that of the error that failed it.
    local r = pd[i]
    if pass or r.m or (r.via and r.via.m) then count_request(st, r) end
  end
  -- The connection of the frame's messages, if it had some.
  local cur = st.cur
  if pass and cur and cur.lastf == f then cur.m = true end
  if #pn > 0 then st.pnew = {} end
  if #pd > 0 then st.pdone = {} end
  if #st.perr > 0 then st.perr = {} end
end

-- Every tap and dissector call of a frame starts here: the previous frame is over. A frame
-- before the last one is a new pass (tshark -2, a retap): the collection starts over.
local function stat_frame(st, number)
  if number == st.frame then return end
  if number < st.frame then
    stats_reset(st)
  else
    flush(st)
  end
  st.frame, st.time = number, nil
end

local function request_done(st, r, outcome)
  r.done, r.outcome = true, outcome
  local pd = st.pdone
  pd[#pd + 1] = r
end

-- Drops the ended requests at the front of the connection's list, and the answered Syncs.
local function trim(cs)
  local p, h = cs.pend, cs.ph
  while h <= #p and p[h].done do h = h + 1 end
  if h > #p then
    cs.pend, cs.ph = {}, 1
  elseif h > 64 and h * 2 > #p then
    local rest = {}
    for i = h, #p do rest[#rest + 1] = p[i] end
    cs.pend, cs.ph = rest, 1
  else
    cs.ph = h
  end
  if cs.sh > #cs.syncs then cs.syncs, cs.sh = {}, 1 end
end

-- The requests not yet ended, oldest first (OpenRequests.pending).
local function pending(cs)
  trim(cs)
  local out, p = {}, cs.pend
  for i = cs.ph, #p do
    if not p[i].done then out[#out + 1] = p[i] end
  end
  return out
end

local function fail(st, r, e, dur, time)
  if not r.err then r.err, r.via = e.code, e end
  r.dur = dur or math.max(0, time - r.time)
  request_done(st, r, "failed")
end

-- Seconds from request -k to its response at `time`, to the microsecond (as pgwire.time).
local function response_time(time, k)
  return floor((time - FR_K[rq_frame(-k)]) * 1000000 + 0.5) / 1000000
end

-- An endpoint as the tables show it: address:port.
local function endpoint(addr, port) return tostring(addr) .. ":" .. port end

-- The connection's record, made at its first message.
local function conn_stats(st, c)
  local conn = c.conn
  local cs = st.conns[conn]
  if cs and not cs.closed then return cs end
  local pinfo = c.pinfo
  local client, server
  if c.fe then
    client, server = endpoint(pinfo.src, pinfo.src_port), endpoint(pinfo.dst, pinfo.dst_port)
  else
    client, server = endpoint(pinfo.dst, pinfo.dst_port), endpoint(pinfo.src, pinfo.src_port)
  end
  st.nconns = st.nconns + 1
  cs = { client = client, server = server, first = pinfo.abs_ts, last = pinfo.abs_ts, methods = {}, auth = nil,
         tls = false, requests = 0, errors = 0, pend = {}, ph = 1, q = {}, qh = 1, syncs = {}, sh = 1,
         step = nil, order = st.nconns, m = false, closed = false }
  st.conns[conn] = cs
  return cs
end

-- The connection is over (FIN both ways, RST, or the end of the capture): its requests still
-- waiting got no answer in the capture.
local function conn_finish(st, cs)
  if cs.closed then return end
  cs.closed = true
  local p = pending(cs)
  for i = 1, #p do request_done(st, p[i], "unanswered") end
  -- Kept for the table of connections: its numbers, not its queues.
  cs.pend, cs.q, cs.syncs, cs.step = {}, {}, {}, nil
  st.done[#st.done + 1] = cs
  if cs.stream and st.streams[cs.stream] == cs then st.streams[cs.stream] = nil end
end

-- A message of the frame being dissected (framing.lua): k its link (links.lua), v its variables.
local function stat_message(st, c, m, v, k)
  -- The frame's time, read from pinfo (a call into Wireshark) once per frame.
  local number, time = c.number, st.time
  if number ~= st.frame or not time then
    stat_frame(st, number)
    time = c.pinfo.abs_ts
    st.time = time
  end
  local cs = conn_stats(st, c)
  st.cur, cs.last, cs.lastf = cs, time, number
  local name = m.name
  -- The request this message is a request for, or an answer to (the decoder's queue, mirrored).
  local entry = nil
  if k > 0 then
    entry = { k = k, name = name, rec = nil }
    cs.q[#cs.q + 1] = entry
  elseif k < 0 then
    local q = cs.q
    for i = cs.qh, #q do
      if q[i].k == -k then
        entry = q[i]
        cs.qh = i + 1
        break
      end
    end
    if cs.qh > #q then cs.q, cs.qh = {}, 1 end
  elseif not c.fe and cs.qh <= #cs.q then
    entry = cs.q[cs.qh]
  end
  if c.fe then
    if name == "StartupMessage" then
      cs.startup = true
      cs.user, cs.database, cs.app0 = v.user, v.database, v.application_name
    elseif name == "CancelRequest" then
      cs.cancel = true
    elseif name == "Sync" then
      cs.step = nil
      st.seq = st.seq + 1
      cs.syncs[#cs.syncs + 1] = st.seq
    elseif REQUESTS[name] then
      local sql
      if name == "Query" then
        sql = type(v.query) == "string" and v.query or ""
        if starts_replication(sql) then return end
      elseif name == "Execute" then
        sql = (k > 0 and rq_sql(k)) or "(an unnamed portal the capture did not show)"
      else
        sql = "function call (OID " .. (type(v.oid) == "number" and sformat("%d", v.oid) or "?") .. ")"
      end
      st.seq = st.seq + 1
      local r = { sql = sql, time = time, rows = 0, seq = st.seq, m = false }
      if entry then entry.rec = r end
      cs.pend[#cs.pend + 1] = r
      cs.requests = cs.requests + 1
      local pn = st.pnew
      pn[#pn + 1] = r
      local step = cs.step
      if step then
        cs.step = nil
        fail(st, r, step.e, step.dur, time)
      end
    end
    return
  end
  if name == "SSLResponse" or name == "GSSENCResponse" then
    if v.answer == 83 then cs.tls = true end
  elseif name == "AuthenticationOk" then
    if #cs.methods == 0 then cs.methods[1] = "trust" end
    cs.auth = "ok"
  elseif m.auth then
    -- An authentication request's method, as the spec names it (authMethod); SASL's with every
    -- mechanism the server offers.
    local text = m.auth
    if name == "AuthenticationSASL" then
      local l, mechs = c.lists and c.lists.mechs, {}
      for i = 1, (l and #l or 0) do mechs[i] = tostring(l[i][1]) end
      text = text .. " (" .. tconcat(mechs, ", ") .. ")"
    end
    cs.methods[#cs.methods + 1] = text
  elseif name == "ParameterStatus" then
    if v.name == "application_name" then cs.app = type(v.value) == "string" and v.value or "" end
  elseif name == "ErrorResponse" then
    local sev = v.severity_v
    if type(sev) ~= "string" then sev = type(v.severity) == "string" and v.severity or "" end
    local e = { code = type(v.code) == "string" and v.code or "", name = type(v.codename) == "string" and v.codename or nil,
                severity = sev, message = type(v.message) == "string" and v.message or "" }
    cs.errors = cs.errors + 1
    local pe = st.perr
    pe[#pe + 1] = e
    if cs.auth ~= "ok" and cs.startup then cs.auth = "failed" end
    local r = entry and entry.rec
    if r then
      if not r.err then r.err, r.via = e.code, e end
    elseif entry then
      -- An error for a Parse, Bind, Describe, Close or Sync: the first request of its step
      -- (before the next Sync) fails with it, now or when it is sent (analyzer.ts failPipelined).
      local dur = k < 0 and response_time(time, k) or 0
      local nxt = cs.syncs[cs.sh]
      local first = pending(cs)[1]
      if first and not (nxt and first.seq > nxt) then
        fail(st, first, e, dur, time)
      elseif not nxt then
        cs.step = { e = e, dur = dur }
      end
    end
    if (sev == "FATAL" or sev == "PANIC") and cs.auth == "ok" then
      -- The session ends: the request running gets the error, those queued behind it never run.
      local p = pending(cs)
      for i = 1, #p do
        if i == 1 then fail(st, p[i], e, nil, time) else request_done(st, p[i], "skipped") end
      end
    end
  end
  if entry then
    local r = entry.rec
    if r and not r.done then
      if m.row then r.rows = r.rows + 1 end
      if k < 0 then
        r.dur = response_time(time, k)
        request_done(st, r, r.err and "failed" or "ok")
        trim(cs)
      end
    elseif not r and name == "ReadyForQuery" and entry.name == "Sync" then
      -- The Sync is answered: what was sent before it and still waits was skipped.
      local at = cs.syncs[cs.sh]
      if at then
        cs.sh = cs.sh + 1
        local p = pending(cs)
        for i = 1, #p do
          if p[i].seq > at then break end
          request_done(st, p[i], "skipped")
        end
      end
    end
  end
end

-- The dissector's call (framing.lua), for each collection: a failure ends that collection's
-- counting with a note in its output, never a Lua error in the dissector.
function stats_message(c, m, v, k)
  for i = 1, #STATS do
    local st = STATS[i]
    if not st.failure then
      local ok, err = pcall(stat_message, st, c, m, v, k)
      if not ok then st.failure = tostring(err) end
    end
  end
end

-- A TCP segment (the "tcp" tap): its stream, and SYN, FIN and RST for the connections' times.
local function stat_tcp(st, pinfo, th)
  local number = pinfo.number
  stat_frame(st, number)
  local stream = th and th.th_stream
  if type(stream) ~= "number" then return end
  local flags = th.th_flags or 0
  local cs = st.streams[stream]
  local cur = st.cur
  if cur and cur.lastf == number and not cur.stream then
    -- The connection of this frame's messages.
    cur.stream = stream
    cur.syn = st.syns[stream]
    st.syns[stream] = nil
    st.streams[stream] = cur
    cs = cur
  end
  local syn, ack, fin, rst = floor(flags / 2) % 2 == 1, floor(flags / 16) % 2 == 1, flags % 2 == 1,
    floor(flags / 4) % 2 == 1
  if syn then
    if not ack and not (cs and cs.syn) then
      if cs then cs.syn = pinfo.abs_ts elseif not st.syns[stream] then st.syns[stream] = pinfo.abs_ts end
    end
    return
  end
  if not (fin or rst) then return end
  if not cs then
    st.syns[stream] = nil
    return
  end
  cs.last = pinfo.abs_ts
  if rst then
    conn_finish(st, cs)
  else
    local side = (endpoint(pinfo.src, pinfo.src_port) == cs.client) and "finc" or "fins"
    cs[side] = true
    if cs.finc and cs.fins then conn_finish(st, cs) end
  end
end

-- The tables (stats.ts result), as text.
local function ms(us) return sformat("%d.%03d", floor(us / 1000), us % 1000) end

local function text_table(headers, rows, right)
  local w = {}
  for i = 1, #headers do
    w[i] = #headers[i]
    for r = 1, #rows do w[i] = math.max(w[i], #rows[r][i]) end
  end
  local function line(cells)
    local out = {}
    for i = 1, #cells do
      local pad = string.rep(" ", w[i] - #cells[i])
      out[i] = right[i] and (pad .. cells[i]) or (cells[i] .. pad)
    end
    return (sgsub(tconcat(out, "  "), "%s+$", ""))
  end
  local lines = { line(headers) }
  local dashes = {}
  for i = 1, #headers do dashes[i] = string.rep("-", w[i]) end
  lines[2] = line(dashes)
  for r = 1, #rows do lines[#lines + 1] = line(rows[r]) end
  return tconcat(lines, "\n") .. "\n"
end

local function plural(n, word) return sformat("%d %s%s", n, word, n == 1 and "" or "s") end

local function queries_text(st)
  local list = {}
  for _, q in pairs(st.queries) do list[#list + 1] = q end
  for i = 1, #list do list[i].total_us = us_of(list[i].hist.total) end
  table.sort(list, function(a, b)
    if a.total_us ~= b.total_us then return a.total_us > b.total_us end
    if a.count ~= b.count then return a.count > b.count end
    return a.order < b.order
  end)
  local rows, requests = {}, 0
  for i = 1, #list do
    local q = list[i]
    requests = requests + q.count
    local h = q.hist
    local times = { "-", "-", "-", "-", "-" }
    if h.count > 0 then
      times = { ms(q.total_us), ms(us_of(h.total / h.count)), ms(us_of(hist_quantile(h, 0.5))),
                ms(us_of(hist_quantile(h, 0.95))), ms(us_of(h.max)) }
    end
    local errors = sformat("%d", q.failed.count)
    if q.failed.count > 0 then
      local codes = {}
      for code, n in pairs(q.failures) do codes[#codes + 1] = { code, n } end
      table.sort(codes, function(a, b)
        if a[2] ~= b[2] then return a[2] > b[2] end
        return a[1] < b[1]
      end)
      for j = 1, #codes do codes[j] = codes[j][1] .. ":" .. sformat("%d", codes[j][2]) end
      -- With the mean time from the request to the error that failed it (stats.ts failedMean).
      errors = errors .. " (" .. tconcat(codes, " ") .. "; " .. ms(us_of(q.failed.total / q.failed.count)) .. ")"
    end
    local extra = {}
    if q.skipped > 0 then extra[#extra + 1] = sformat("%d skipped", q.skipped) end
    if q.unanswered > 0 then extra[#extra + 1] = sformat("%d unanswered", q.unanswered) end
    rows[i] = { sformat("%d", q.count), times[1], times[2], times[3], times[4], times[5], sformat("%d", q.rows),
                errors, #extra > 0 and tconcat(extra, ", ") or "", q.query }
  end
  return "Queries (" .. plural(#list, "shape") .. ", " .. plural(requests, "request") .. "; times in ms of the " ..
    "answered ones)\n" ..
    text_table({ "count", "total", "mean", "p50", "p95", "max", "rows", "errors", "not run", "query" }, rows,
      { true, true, true, true, true, true, true, false, false, false })
end

local function errors_text(st)
  local list, total = {}, 0
  for _, e in pairs(st.errors) do list[#list + 1] = e end
  table.sort(list, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return a.order < b.order
  end)
  local rows = {}
  for i = 1, #list do
    local e = list[i]
    total = total + e.count
    rows[i] = { sformat("%d", e.count), e.severity, e.code, e.name or "", e.example }
  end
  local head = "Errors by SQLSTATE (" .. sformat("%d", total) .. ")\n"
  if #rows == 0 then return head .. "none\n" end
  return head .. text_table({ "count", "severity", "code", "condition", "example" }, rows,
    { true, false, false, false, false })
end

local function conns_text(st)
  -- Every connection is over by now (stats_text): those of the frames that passed.
  local uniq = {}
  for i = 1, #st.done do
    if st.done[i].m then uniq[#uniq + 1] = st.done[i] end
  end
  table.sort(uniq, function(a, b)
    local x, y = a.stream or -1, b.stream or -1
    if x ~= y then return x < y end
    return a.order < b.order
  end)
  local rows = {}
  for i = 1, #uniq do
    local cs = uniq[i]
    local start = cs.syn or cs.first
    local app = cs.app
    if app == nil or app == "" then app = cs.app0 end
    local auth = cs.cancel and "cancel request" or (#cs.methods > 0 and tconcat(cs.methods, " + ") or "(not seen)")
    local str = function(x) return type(x) == "string" and x or "" end
    rows[i] = { cs.stream and sformat("%d", cs.stream) or "?", cs.client, cs.server, str(cs.user), str(cs.database),
                str(app), auth, cs.tls and "yes" or "no", sformat("%d", cs.requests), sformat("%d", cs.errors),
                ms(us_of(cs.last - start)) }
  end
  return "Connections (" .. sformat("%d", #rows) .. "; duration in ms)\n" ..
    text_table({ "stream", "client", "server", "user", "database", "application", "auth", "tls", "requests",
      "errors", "duration" }, rows,
      { true, false, false, false, false, false, false, false, true, true, true })
end

local TABLES = { queries = queries_text, errors = errors_text, conns = conns_text }

-- The table's text at the end of a collection (the connections still open are over).
local function stats_text(st, which)
  flush(st)
  for _, cs in pairs(st.conns) do conn_finish(st, cs) end
  flush(st)
  return TABLES[which](st)
end

-- Starts a collection: its taps, registered now (a bad filter raises here). draw(text) gets the
-- table at the end of each pass over the packets.
local function stats_start(which, filter, draw)
  local st = { filtered = filter ~= nil }
  stats_reset(st)
  -- The filter's tap first: a filter that does not compile raises before anything is registered.
  local frames = filter and Listener.new("frame", filter)
  local tcp = Listener.new("tcp")
  STATS = STATS or {}
  STATS[#STATS + 1] = st
  function tcp.packet(pinfo, _, th)
    if st.failure then return end
    local ok, err = pcall(stat_tcp, st, pinfo, th)
    if not ok then st.failure = tostring(err) end
  end
  function tcp.reset() stats_reset(st) end
  function tcp.draw()
    local ok, text = pcall(stats_text, st, which)
    if not ok then st.failure = tostring(text) end
    if st.failure then text = "pgwire: the statistics stopped on an internal error: " .. st.failure .. "\n" end
    draw(text)
  end
  if frames then
    function frames.packet(pinfo) st.matched = pinfo.number end
  end
  local function stop()
    tcp:remove()
    if frames then frames:remove() end
    for i = #STATS, 1, -1 do
      if STATS[i] == st then table.remove(STATS, i) end
    end
    if #STATS == 0 then STATS = nil end
  end
  return stop
end

local TITLES = { queries = "PostgreSQL queries", errors = "PostgreSQL errors", conns = "PostgreSQL connections" }
local RULE = string.rep("=", 80)

-- What Listener.new said of a filter, without its place in this file: Wireshark's reason.
local function why_invalid(err)
  local text = sgsub(sgsub(tostring(err), "^[^\n]-:%d+: ", ""), "%s*\n%s*", " ")
  return smatch(text, " is invalid %- (.*)$") or text
end

-- tshark -z pgwire,queries[,FILTER] and the others.
if register_stat_cmd_arg then
  for _, which in ipairs({ "queries", "errors", "conns" }) do
    register_stat_cmd_arg("pgwire," .. which, function(arg)
      local filter = smatch(arg or "", "^pgwire," .. which .. ",(.+)$")
      local ok, err = pcall(stats_start, which, filter, function(text)
        print(RULE)
        print(TITLES[which] .. " (pgwire)")
        if filter then print("Filter: " .. filter) end
        print("")
        io.write(text)
        print(RULE)
      end)
      if not ok then
        -- As tshark stops on its own statistics' bad filters: one line, exit status 1.
        io.stderr:write("tshark: -z pgwire," .. which .. ": the filter \"" .. tostring(filter) .. "\" does not " ..
          "compile: " .. why_invalid(err) .. "\n")
        os.exit(1)
      end
    end)
  end
end

-- Statistics > PostgreSQL in the GUI: the table of every packet the display filter shows.
if gui_enabled and gui_enabled() and register_menu then
  for _, item in ipairs({ { "queries", "Queries" }, { "errors", "Errors by SQLSTATE" }, { "conns", "Connections" } }) do
    local which = item[1]
    register_menu("PostgreSQL/" .. item[2], function()
      local filter = get_filter and get_filter() or nil
      if filter == "" then filter = nil end
      local win = TextWindow.new(TITLES[which] .. " (pgwire)")
      local ok, stop = pcall(stats_start, which, filter, function(text)
        win:set((filter and ("Filter: " .. filter .. "\n\n") or "") .. text)
      end)
      if not ok then
        -- A display filter typed but not applied, that does not compile.
        win:set("The display filter \"" .. filter .. "\" does not compile: " .. why_invalid(stop) .. "\n")
        return
      end
      win:set_atclose(stop)
      retap_packets()
    end, MENU_STAT_UNSORTED)
  end
end
end)()
