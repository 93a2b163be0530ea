-- The reader: the helpers that the generated message readers call (generator/lua.ts): integers,
-- tree items only where they are seen or asked for, experts, values typed by the connection,
-- lists kept for the connection, replication options, statements and portals, payload sets.
-- Mirrored by src/runtime/reader.ts.
--
-- c is the context of one call of the dissector (one per nesting level, reused from call to call):
--   c.tvb, c.s       the call's data as a Tvb and as a Lua string (read once per call)
--   c.root           the tree the call was given (a NULL tree in tshark's summary mode)
--   c.t              the message's subtree, nil without a tree: experts go there (or on root)
--   c.vis            the tree is visible (tshark -V, -T pdml, -T fields, the GUI's details)
--   c.r0             a zero-length range at the message start, for generated items
--   c.core           the connection's slowly changing state (see the runtime below)
--   c.cols, c.rf     the columns and result formats the message's values are typed by
--   c.lists          the records the message keeps (remember), made on the first one
--   c.picked         the payload message picked inside this one, if any
--   c.copy, c.cs     what a copyStatement element found; the COPY's progress after a CopyData
--   c.dirty          the variables table holds names the data gave: the next message takes a new one

-- Integer decoders (1-based index i): the generated readers use those the spec needs.
-- luacheck: push ignore 211
local function u16(s, i)
  local a, b = sbyte(s, i, i + 1)
  return a * 256 + b
end

local function i16(s, i)
  local x = u16(s, i)
  if x >= 32768 then return x - 65536 end
  return x
end

local function u32(s, i)
  local a, b, c, d = sbyte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function i32(s, i)
  local x = u32(s, i)
  if x >= 2147483648 then return x - 4294967296 end
  return x
end

local function i8(x)
  if x >= 128 then return x - 256 end
  return x
end

-- 64-bit integers as text, exact on every Lua version (Wireshark's Int64 and UInt64).
local function i64(c, off) return tostring(c.tvb(off, 8):int64()) end
local function u64(c, off) return tostring(c.tvb(off, 8):uint64()) end
-- luacheck: pop

-- A bound variable as a count, a length or a switch key: anything that is not a number is 0.
local function num(x)
  if type(x) == "number" then return x end
  return 0
end

-- TreeItem's methods referenced, add, add_packet_field and set_generated, taken from the first
-- tree the dissector is given: looked up on the userdata at every call, a method costs a good part
-- of the call. Tree items are added only when the tree is visible or a filter, column or tap uses
-- the field (REFS[field]): the same rule Wireshark's own dissectors follow.
local REF, ADD, ADDPF, GEN

-- REFS[field]: a filter, a column or a tap uses the field, asked of Wireshark (TreeItem.referenced
-- on REF_TREE, the call's tree) once per field and pass; REF_GEN numbers the passes. What is
-- referenced changes only between passes (a new filter, new coloring rules: Wireshark dissects
-- every frame again, from the first).
local REF_TREE, REF_GEN = nil, 0
local REFS_MT = { __index = function(t, f)
  local x = REF(REF_TREE, f) == true
  rawset(t, f, x)
  return x
end }
local REFS = setmetatable({}, REFS_MT)
local function refs_reset()
  REFS = setmetatable({}, REFS_MT)
  REF_GEN = REF_GEN + 1
end

-- An expert info on the message, or, without a tree, on the call's NULL tree (tshark -z expert
-- and the expert column still see it).
local function x_expert(c, key, text)
  (c.t or c.root):add_proto_expert_info(E[key], text)
end
local b_expert = x_expert

local function ovr(c)
  x_expert(c, "overrun", "Field runs past the end of the message")
  return nil
end

local function unterm(c)
  x_expert(c, "unterminated", "String has no terminating NUL")
  return nil
end

local function unknown_kind(c, k)
  x_expert(c, "unknownPayload", sformat("Unknown kind of column data %d", k))
  return nil
end

-- The list a message did not have (no format codes, no parameter types): one, shared.
local EMPTY = {}

-- A variable's value looked up in a spec table (LookupElement): by its decimal text, its first
-- characters (prefix), or its first word upper-cased (a command's name).
local function lookup(tbl, key, prefix, first_word)
  if type(key) == "number" then key = sformat("%d", key) end
  if type(key) ~= "string" then return nil end
  if first_word then
    key = smatch(key, "^[ \t\n\r\f\v]*([A-Za-z_]+)")
    if not key then return nil end
    key = ascii_upper(key)
  end
  if prefix then key = ssub(key, 1, prefix) end
  return tbl[key]
end

-- One record of a list the message keeps for its connection (RememberElement).
local function remember(c, name, ...)
  local l = c.lists
  if not l then
    l = {}
    c.lists = l
  end
  local r = l[name]
  if not r then
    r = {}
    l[name] = r
  end
  r[#r + 1] = { ... }
end

-- Generated fields from a text of one-letter attributes (AttributesElement in spec/dsl.ts).
local function attributes(c, t, text, gs2, keys, fcbind, fauthzid, fother)
  if type(text) ~= "string" then return end
  local items, p = {}, 1
  while true do
    local k = sfind(text, ",", p, true)
    if not k then
      items[#items + 1] = ssub(text, p)
      break
    end
    items[#items + 1] = ssub(text, p, k - 1)
    p = k + 1
  end
  local first = gs2 and 3 or 1
  if #items < first then return end
  for i = first, #items do
    if not sfind(items[i], "^[A-Za-z]=") then return end
  end
  local r, vis = c.r0, c.vis
  if gs2 then
    if vis or REFS[fcbind] then GEN(ADD(t, fcbind, r, items[1])) end
    if items[2] ~= "" and (vis or REFS[fauthzid]) then GEN(ADD(t, fauthzid, r, items[2])) end
  end
  for i = first, #items do
    local f = keys[ssub(items[i], 1, 1)]
    if f then
      if vis or REFS[f] then GEN(ADD(t, f, r, ssub(items[i], 3))) end
    elseif vis or REFS[fother] then
      GEN(ADD(t, fother, r, items[i]))
    end
  end
end

-- An Int32 length (-1: NULL) and that many bytes at p, as column and parameter values are sent:
-- the offset after them and the length; nil (after an expert, with the length shown when the
-- bytes run past the message) when they do not fit.
local function value_at(c, t, s, p, e, flen)
  if p + 4 > e then return ovr(c) end
  local n = i32(s, p + 1)
  if n > 0 and p + 4 + n > e then
    if c.vis or REFS[flen] then ADD(t, flen, c.tvb(p, 4)) end
    return ovr(c)
  end
  if n > 0 then return p + 4 + n, n end
  return p + 4, n
end

-- A value's line label: "name (type): text".
local function line_label(name, ty, text)
  if ty then return name .. " (" .. ty .. "): " .. text end
  return name .. ": " .. text
end

-- One value's line (ColumnElement, ParamElement) from start to p: the value when it could be
-- decoded (text), else the length, labelled "name (type): value"; under it the name, the type, the
-- length (when the line is the value) and the bytes. f: { len, data, value, name, type } fields.
local function value_line(c, t, start, p, n, text, f, name, ty, label)
  local tvb, vis = c.tvb, c.vis
  local line
  if text then
    if vis or REFS[f.value] then line = ADD(t, f.value, tvb(start, p - start), text, line_label(label, ty, text)) end
  elseif vis or REFS[f.len] then
    line = ADD(t, f.len, tvb(start, 4), n, line_label(label, ty, (n < 0) and "NULL" or sformat("%d bytes", n)))
  end
  local under = line or t
  local r = tvb(start, 0)
  if name and (vis or REFS[f.name]) then GEN(ADD(under, f.name, r, name)) end
  if ty and (vis or REFS[f.type]) then GEN(ADD(under, f.type, r, ty)) end
  if text and (vis or REFS[f.len]) then ADD(under, f.len, tvb(start, 4)) end
  if n > 0 and (vis or REFS[f.data]) then ADD(under, f.data, tvb(start + 4, n)) end
end

-- A column value, typed by the connection's column list (ColumnElement in spec/dsl.ts).
local function column(c, t, s, p, e, i, f)
  local start = p
  local n
  p, n = value_at(c, t, s, p, e, f.len)
  if not p then return nil end
  local col = c.cols and c.cols[i + 1]
  local cn, ct, cf
  if col then cn, ct, cf = col[1], col[2], col[3] end
  local rf = c.rf
  if rf then
    if #rf == 0 then cf = 0 elseif #rf == 1 then cf = rf[1][1] else cf = rf[i + 1] and rf[i + 1][1] end
  end
  local ty = type(ct) == "number" and PG_TYPES[ct] and PG_TYPES[ct].name or nil
  local text
  if col and n >= 0 and type(ct) == "number" and type(cf) == "number" then
    text = cut_utf8(pg_value_text(ct, cf, ssub(s, start + 5, p)), MAX_VALUE_BYTES)
  end
  if type(cn) ~= "string" then cn = nil end
  value_line(c, t, start, p, n, text, f, cn, ty, cn or sformat("Column %d", i + 1))
  return p
end

-- The parameter types of the statement the message refers to (ParamElement): in the first pass
-- that statement's now, later the ones the first pass kept for the request (RQ_PT; c.k: the
-- message's request). c.m, c.v: the message and its variables; c.pt caches the answer for the
-- message's other parameters.
local function param_types(c)
  local types = c.pt
  if types ~= nil then return types end
  if c.first then
    local r, v = c.m.objects.refer, c.v
    local map = r.map or ((v[r.mapVar] == 83 and "S") or (v[r.mapVar] == 80 and "P"))
    local key = v[r.name]
    local obj = map and type(key) == "string" and c.conn.objs[map][key]
    types = obj and obj.types or false
  else
    local k = c.k
    types = k > 0 and RQ_PT[k] or false
  end
  c.pt = types
  return types
end

-- A parameter value, typed by the statement the message refers to (param_types) and the
-- message's format codes (ParamElement in spec/dsl.ts).
local function param(c, t, s, p, e, i, f, formats)
  local start = p
  local n
  p, n = value_at(c, t, s, p, e, f.len)
  if not p then return nil end
  local fmts = c.lists and c.lists[formats] or EMPTY
  local fc = 0
  if #fmts == 1 then fc = fmts[1][1] elseif #fmts > 1 then fc = fmts[i + 1] and fmts[i + 1][1] end
  local types = param_types(c)
  local oid = types and types[i + 1] and types[i + 1][1]
  if type(oid) ~= "number" then oid = 0 end
  local ty = oid ~= 0 and PG_TYPES[oid] and PG_TYPES[oid].name or nil
  local text
  if n >= 0 and type(fc) == "number" then text = cut_utf8(pg_value_text(oid, fc, ssub(s, start + 5, p)), MAX_VALUE_BYTES) end
  value_line(c, t, start, p, n, text, f, nil, ty, sformat("$%d", i + 1))
  return p
end

-- The relation whose OID id is, as the stream's Relation message described it: its name, and its
-- columns for the tuple columns that follow (RelationElement).
local function relation(c, id)
  local rels = c.core.relations
  local r = rels and rels[id]
  c.cols = r and r.cols
  return r and r.name
end

-- A column of a logical replication tuple (TupleColumnElement in spec/dsl.ts): valued holds the
-- kind bytes followed by a length and a value, digits their formats; empty the kinds with nothing.
-- One line: the value when it could be decoded, else the kind (NULL, an unchanged TOASTed value),
-- labelled "name (type): value"; under it the name, the type, the kind, the length and the bytes.
-- f: { kind, len, data, name, type, value } fields.
local function tuple_column(c, t, s, p, e, i, f, valued, digits, empty)
  if p + 1 > e then return ovr(c) end
  local tvb, vis = c.tvb, c.vis
  local start = p
  local k = ssub(s, p + 1, p + 1)
  local kb = sbyte(k)
  p = p + 1
  local col = c.cols and c.cols[i + 1]
  local cn, ct = col and col[1], col and col[2]
  if type(cn) ~= "string" then cn = nil end
  -- A built-in type, or one the stream's Type message named.
  local ty = type(ct) == "number" and (PG_TYPES[ct] and PG_TYPES[ct].name or (c.core.types and c.core.types[ct])) or nil
  local label = cn or sformat("Column %d", i + 1)
  local vi = sfind(valued, k, 1, true)
  local n, text
  if vi then
    if p + 4 > e then
      if vis or REFS[f.kind] then ADD(t, f.kind, tvb(start, 1)) end
      return ovr(c)
    end
    n = i32(s, p + 1)
    if n > 0 and p + 4 + n > e then
      if vis or REFS[f.kind] then ADD(t, f.kind, tvb(start, 1)) end
      if vis or REFS[f.len] then ADD(t, f.len, tvb(p, 4)) end
      return ovr(c)
    end
    p = p + 4 + ((n > 0) and n or 0)
    if n >= 0 and type(ct) == "number" then
      text = cut_utf8(pg_value_text(ct, sbyte(digits, vi) - 48, ssub(s, start + 6, p)), MAX_VALUE_BYTES)
    end
  elseif not sfind(empty, k, 1, true) then
    if vis or REFS[f.kind] then ADD(t, f.kind, tvb(start, 1)) end
    return unknown_kind(c, kb)
  end
  local line
  if text then
    if vis or REFS[f.value] then line = ADD(t, f.value, tvb(start, p - start), text, line_label(label, ty, text)) end
  elseif vis or REFS[f.kind] then
    local what = (kb == 110 and "NULL") or (kb == 117 and "unchanged TOAST value") or sformat("%d bytes", n or 0)
    line = ADD(t, f.kind, tvb(start, 1), kb, line_label(label, ty, what))
  end
  local under = line or t
  local r = tvb(start, 0)
  if cn and (vis or REFS[f.name]) then GEN(ADD(under, f.name, r, cn)) end
  if ty and (vis or REFS[f.type]) then GEN(ADD(under, f.type, r, ty)) end
  if text and (vis or REFS[f.kind]) then ADD(under, f.kind, tvb(start, 1)) end
  if vi then
    if vis or REFS[f.len] then ADD(under, f.len, tvb(start + 1, 4)) end
    if n > 0 and (vis or REFS[f.data]) then ADD(under, f.data, tvb(start + 5, n)) end
  end
  return p
end

-- The options of a replication command: the list in parentheses of its text, outside quotes,
-- as { name, value } pairs (value nil for an option without one). Bare names fold to lower case.
local function repl_options(text)
  local out = {}
  local p, n, q = 1, #text, nil
  while p <= n do
    local ch = ssub(text, p, p)
    if q then
      if ch == q then q = nil end
    elseif ch == "'" or ch == '"' then q = ch
    elseif ch == "(" then break
    end
    p = p + 1
  end
  if p > n then return out end
  p = p + 1
  -- A quoted token starting at p (quote character qc, doubled inside): its text and the next position.
  local function quoted(qc)
    local parts, i = {}, p + 1
    while i <= n do
      local z = sfind(text, qc, i, true)
      if not z then return nil end
      parts[#parts + 1] = ssub(text, i, z - 1)
      if ssub(text, z + 1, z + 1) == qc then
        parts[#parts + 1] = qc
        i = z + 2
      else
        return tconcat(parts), z + 1
      end
    end
    return nil
  end
  while true do
    p = sfind(text, "[^ \t\n\r\f\v]", p) or n + 1
    local name, value
    local ch = ssub(text, p, p)
    if ch == '"' then
      name, p = quoted('"')
      if not name then return out end
    else
      name = smatch(text, "^[A-Za-z0-9_]+", p)
      if not name then return out end
      p = p + #name
      name = ascii_lower(name)
    end
    p = sfind(text, "[^ \t\n\r\f\v]", p) or n + 1
    ch = ssub(text, p, p)
    if ch == "'" or ch == '"' then
      value, p = quoted(ch)
      if not value then return out end
    elseif ch ~= "," and ch ~= ")" and ch ~= "" then
      value = smatch(text, "^[^ \t\n\r\f\v,)]+", p)
      p = p + #value
    end
    out[#out + 1] = { name, value }
    p = sfind(text, "[^ \t\n\r\f\v]", p) or n + 1
    ch = ssub(text, p, p)
    if ch ~= "," then return out end
    p = p + 1
  end
end

-- A replication command's options (OptionsElement), only when variable `when` is bound: a
-- generated field each (with a tree), and each value bound as "opt:name".
local function options(c, t, v, text, when, f)
  if when == nil or type(text) ~= "string" then return end
  local list = repl_options(text)
  for i = 1, #list do
    local name, value = list[i][1], list[i][2]
    if t and (c.vis or REFS[f]) then GEN(ADD(t, f, c.r0, value and (name .. "=" .. value) or name)) end
    v["opt:" .. name] = value or ""
    c.dirty = true
  end
end

-- Prepared statements and portals by name (spec/dsl.ts Objects): each with its SQL, parameter
-- types, columns once described, and for a portal its result formats and its statement; kept by
-- the first pass (each message's generated obj function). A list a message did not have: EMPTY
-- (defined above).

-- A list of format codes ([code] records) as one shared list per content: EMPTY for none.
local FORMATS, NFORMATS = {}, 0
local function same_formats(l)
  if not l or #l == 0 then return EMPTY end
  local key
  if #l == 1 then
    key = l[1][1]
  else
    local codes = {}
    for i = 1, #l do codes[i] = tostring(l[i][1]) end
    key = tconcat(codes, ",")
  end
  local kept = FORMATS[key]
  if kept then return kept end
  if NFORMATS >= 1024 then FORMATS, NFORMATS = {}, 0 end
  FORMATS[key], NFORMATS = l, NFORMATS + 1
  return l
end

-- The SQL texts kept, once each (a statement parsed again and again is one string).
local SQL_TEXT = {}
local function keep_sql(sql)
  local kept = SQL_TEXT[sql]
  if kept then return kept end
  SQL_TEXT[sql] = sql
  return sql
end

-- Message sets carried inside other messages (spec/dsl.ts PayloadSet), filled in below.
local P = {}

-- The rest of the message; inside the payload set the connection carries, one of its messages
-- (PayloadElement in spec/dsl.ts), read by its own reader: c.picked names it.
local function payload_pick(c, s, p, set)
  if c.core.payloadSet ~= set.name then return nil end
  local ty = sbyte(s, p + 1)
  local m = set.types[ty]
  if not m then x_expert(c, "unknownPayload", sformat("Unknown %s message type %d", set.name, ty)) end
  return m
end

local function payload_nt(c, v, s, p, e, set)
  if p >= e then return p end
  local m = payload_pick(c, s, p, set)
  if not m then return e end
  v.instream = c.core.stream and 1 or 0
  c.picked = m
  return m.nt(c, v, s, p + 1, e)
end

-- With a tree, the payload message is a subtree of its carrier's.
local function payload_tree(c, v, s, p, e, t, set, f, ftype)
  if p >= e then return p end
  if c.vis or REFS[f] then ADD(t, f, c.tvb(p, e - p)) end
  local m = payload_pick(c, s, p, set)
  if not m then return e end
  local st = t
  if c.vis then st = ADD(t, c.tvb(p, e - p), set.name .. ": " .. m.name) end
  -- Its generated items point at its start (Wireshark places them in the subtree).
  local r0 = c.r0
  c.r0 = c.tvb(p, 0)
  if c.vis or REFS[ftype] then ADD(st, ftype, c.tvb(p, 1)) end
  v.instream = c.core.stream and 1 or 0
  c.picked = m
  local q = m.tree(c, v, s, p + 1, e, st)
  c.r0 = r0
  return q
end
