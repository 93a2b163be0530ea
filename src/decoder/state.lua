-- Connection state: what a connection is doing (startup, authentication, COPY, replication) as
-- its messages change it (spec/dsl.ts Effect), where a message comes (Phase), which variant of a
-- type byte applies (Selector) and whether a finding holds (Condition). Mirrored by
-- src/decoder/state.ts.

-- The call runs on data that TLS decrypted (set by framing.lua's hand_to_tls): findings that hold
-- only in clear text (Condition.clear) do not.
local in_tls = false

-- Connection state. A state is immutable (a change makes a new one, so that a snapshot is a
-- reference) and small: { core, txStatus, columns, rformats }, the fields that change with every
-- transaction and result apart from the core, which changes seldom (the names of src/decoder/state.ts
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
