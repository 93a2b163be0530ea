-- COPY statements and the rows of their data (CopyStatementElement, CopyRowsElement in
-- spec/dsl.ts). Mirrored by src/runtime/copy.ts.

-- The tokens of SQL text, at most max: { k, t } with k "w" a word (ASCII letters folded to lower
-- case; bytes from 128 on count as letters, as PostgreSQL's scanner has them), "q" a quoted
-- identifier, "s" a string literal (E'' with its backslash escapes), "p" any other character.
local function sql_tokens(sql, max)
  local out, p, n = {}, 1, #sql
  while p <= n and #out < max do
    local c = ssub(sql, p, p)
    if sfind(c, "^[ \t\n\r\f\v]") then
      p = p + 1
    elseif c == "-" and ssub(sql, p + 1, p + 1) == "-" then
      p = (sfind(sql, "\n", p, true) or n) + 1
    elseif c == "/" and ssub(sql, p + 1, p + 1) == "*" then
      local z = sfind(sql, "*/", p + 2, true)
      p = z and z + 2 or n + 1
    elseif c == "'" or c == '"' or ((c == "E" or c == "e") and ssub(sql, p + 1, p + 1) == "'") then
      local esc = c == "E" or c == "e"
      if esc then p = p + 1 end
      local qc = ssub(sql, p, p)
      local parts, i = {}, p + 1
      while true do
        local z = sfind(sql, esc and "['\\]" or qc, i, not esc)
        if not z then
          parts[#parts + 1] = ssub(sql, i)
          i = n + 1
          break
        end
        parts[#parts + 1] = ssub(sql, i, z - 1)
        local d = ssub(sql, z, z)
        if d == "\\" then
          local e = ssub(sql, z + 1, z + 1)
          parts[#parts + 1] = (e == "n" and "\n") or (e == "t" and "\t") or (e == "r" and "\r") or e
          i = z + 2
        elseif ssub(sql, z + 1, z + 1) == qc then
          parts[#parts + 1] = qc
          i = z + 2
        else
          i = z + 1
          break
        end
      end
      out[#out + 1] = { k = (qc == '"') and "q" or "s", t = tconcat(parts) }
      p = i
    else
      local w = smatch(sql, "^[A-Za-z0-9_\128-\255][A-Za-z0-9_$\128-\255]*", p)
      if w then
        out[#out + 1] = { k = "w", t = ascii_lower(w) }
        p = p + #w
      else
        out[#out + 1] = { k = "p", t = c }
        p = p + 1
      end
    end
  end
  return out
end

-- The COPY statements in SQL text, in order, as the COPY data they send or receive will need
-- them: { cols = names or nil, opts = { { name, value }, ... }, format, delimiter, null, quote,
-- escape, header }. Statements COPY does not stream over the connection (a file, a program) are
-- left out; so is everything that is not COPY.
local COPY_MAX_TOKENS = 10000

local function copy_statements_of(sql)
  if not sfind(sql, "[Cc][Oo][Pp][Yy]") then return nil end
  local t = sql_tokens(sql, COPY_MAX_TOKENS)
  local out, i = {}, 1
  local function w(k) local x = t[k] return x and x.k == "w" and x.t end
  local function p(k) local x = t[k] return x and x.k == "p" and x.t end
  local function name(k) local x = t[k] return x and (x.k == "w" or x.k == "q") and x.t end
  -- A parenthesised list from t[k] = "(": its names, and the index after its ")".
  local function list(k)
    local names, depth = {}, 0
    while t[k] do
      local x = p(k)
      if x == "(" then depth = depth + 1
      elseif x == ")" then
        depth = depth - 1
        if depth == 0 then return names, k + 1 end
      elseif depth == 1 and name(k) then names[#names + 1] = name(k)
      end
      k = k + 1
    end
    return names, k
  end
  while t[i] do
    -- One statement: from here to the next ";" outside parentheses.
    local start = i
    if w(i) == "copy" then
      local st = { opts = {} }
      i = i + 1
      local ok = true
      if p(i) == "(" then
        local _
        _, i = list(i)
      else
        if w(i) == "binary" then
          st.format = "binary"
          st.opts[#st.opts + 1] = { "format", "binary" }
          i = i + 1
        end
        ok = name(i) ~= nil
        i = i + 1
        while p(i) == "." and name(i + 1) do i = i + 2 end
        if p(i) == "(" then st.cols, i = list(i) end
      end
      local dir = w(i)
      ok = ok and (dir == "from" or dir == "to") and (w(i + 1) == "stdin" or w(i + 1) == "stdout")
      i = i + 2
      if ok then
        local function opt(n, v)
          st.opts[#st.opts + 1] = { n, v }
          if n == "format" and v then st.format = v
          elseif n == "delimiter" or n == "null" or n == "quote" or n == "escape" then st[n] = v
          elseif n == "header" then st.header = v == nil or v == "true" or v == "on" or v == "1" or v == "match"
          end
        end
        if w(i) == "using" then i = i + 1 end
        if w(i) == "delimiters" and t[i + 1] and t[i + 1].k == "s" then
          opt("delimiter", t[i + 1].t)
          i = i + 2
        end
        if w(i) == "with" then i = i + 1 end
        if p(i) == "(" then
          i = i + 1
          while name(i) do
            local n = name(i)
            i = i + 1
            local v
            local x = t[i]
            if x and (x.k == "s" or x.k == "w" or x.k == "q") then
              v = x.t
              i = i + 1
            elseif p(i) == "*" then
              v = "*"
              i = i + 1
            elseif p(i) == "(" then
              local names
              names, i = list(i)
              v = tconcat(names, ",")
            end
            opt(n, v)
            if p(i) ~= "," then break end
            i = i + 1
          end
        else
          while t[i] and p(i) ~= ";" do
            local k = w(i)
            if k == "binary" or k == "csv" then
              opt("format", k)
              i = i + 1
            elseif k == "header" then
              opt("header", "true")
              i = i + 1
            elseif k == "delimiter" or k == "null" or k == "quote" or k == "escape" or k == "encoding" then
              i = i + 1
              if w(i) == "as" then i = i + 1 end
              if t[i] and t[i].k == "s" then
                opt(k, t[i].t)
                i = i + 1
              end
            elseif k == "force" or k == "not" or k == "quote" or k == "null" then
              i = i + 1
            elseif k == "freeze" or k == "oids" then
              i = i + 1
            elseif name(i) or p(i) == "," or p(i) == "*" then
              -- The columns of FORCE QUOTE / FORCE NOT NULL / FORCE NULL.
              i = i + 1
            else
              break
            end
          end
        end
        out[#out + 1] = st
      end
    end
    -- On to the next statement.
    local depth = 0
    while t[i] and not (depth == 0 and p(i) == ";") do
      local x = p(i)
      if x == "(" then depth = depth + 1 elseif x == ")" then depth = depth - 1 end
      i = i + 1
    end
    i = math.max(i + 1, start + 1)
  end
  if #out == 0 then return nil end
  return out
end

-- COPY data: the rows of a COPY whose statement the connection saw, split into fields across its
-- CopyData messages. cs is the COPY's state (immutable: each CopyData makes a new one).
local MAX_COPY_ROW = 65536
local COPY_SIGNATURE = "PGCOPY\n\255\r\n\0"

-- The first byte of an option's value, or the default (PostgreSQL takes one-byte characters).
local function first_byte(v, default)
  if v and #v > 0 then return ssub(v, 1, 1) end
  return default
end

-- A COPY's settings (connection state, set by its CopyInResponse/CopyOutResponse): its statement's
-- options (PostgreSQL's defaults for the rest) and the response's overall format (1: binary,
-- whatever the statement said). How far its data has got is kept apart (copy_fresh).
local function copy_start(st, format, dir)
  local fmt = (format == 1) and "binary" or ((st.format == "csv") and "csv" or "text")
  local cfg = { fmt = fmt, dir = dir, names = st.cols, header = st.header and fmt ~= "binary" }
  if fmt == "csv" then
    cfg.delim, cfg.null, cfg.quote = first_byte(st.delimiter, ","), st.null or "", first_byte(st.quote, '"')
    cfg.escape = first_byte(st.escape, cfg.quote)
  elseif fmt == "text" then
    cfg.delim, cfg.null = first_byte(st.delimiter, "\t"), st.null or "\\N"
  end
  return cfg
end

-- How far a COPY's data has got before its first CopyData (each CopyData makes a new one): rows,
-- the start of a line an earlier message began, or the binary machine's stage.
local function copy_fresh(cfg)
  if cfg.fmt == "binary" then return { cfg = cfg, row = 0, stage = "sig", need = 19, acc = "" } end
  return { cfg = cfg, row = 0, carry = "", header = cfg.header, names = cfg.names }
end

-- The progress as the frame record keeps it for later passes: its row number alone in the usual
-- case (text or CSV, no line carried, no header to come), else the table.
local function copy_pack(p)
  local cfg = p.cfg
  if cfg.fmt ~= "binary" and p.carry == "" and not p.header and not p.skip and p.names == cfg.names then return p.row end
  return p
end

local function copy_unpack(x, cfg)
  if type(x) == "number" then return { cfg = cfg, row = x, carry = "", names = cfg.names } end
  return x or copy_fresh(cfg)
end

-- A text-format field with its backslash escapes resolved (PostgreSQL's CopyReadAttributesText).
local TEXT_ESCAPES = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v" }

local function text_unescape(s)
  if not sfind(s, "\\", 1, true) then return s end
  local out, p = {}, 1
  while true do
    local z = sfind(s, "\\", p, true)
    if not z then
      out[#out + 1] = ssub(s, p)
      break
    end
    out[#out + 1] = ssub(s, p, z - 1)
    local c = ssub(s, z + 1, z + 1)
    local oct = smatch(s, "^[0-7][0-7]?[0-7]?", z + 1)
    local hex = (c == "x") and smatch(s, "^[0-9A-Fa-f][0-9A-Fa-f]?", z + 2)
    if oct then
      out[#out + 1] = string.char(tonumber(oct, 8) % 256)
      p = z + 1 + #oct
    elseif hex then
      out[#out + 1] = string.char(tonumber(hex, 16))
      p = z + 2 + #hex
    elseif c == "" then
      p = z + 1
    else
      out[#out + 1] = TEXT_ESCAPES[c] or c
      p = z + 2
    end
    if p > #s then break end
  end
  return tconcat(out)
end

-- The fields of a text-format line: { start, value or nil for NULL } (start 1-based in line).
local function text_fields(line, cs)
  local out, p = {}, 1
  while true do
    local z = sfind(line, cs.delim, p, true)
    local raw = ssub(line, p, (z or #line + 1) - 1)
    out[#out + 1] = { p, (raw ~= cs.null) and text_unescape(raw) or nil }
    if not z then break end
    p = z + #cs.delim
  end
  return out
end

-- The fields of a CSV line (PostgreSQL's CopyReadAttributesCSV): an unquoted field equal to the
-- NULL string is NULL; inside quotes, the escape character before a quote or itself keeps it.
local function csv_fields(line, cs)
  local out, p, n = {}, 1, #line
  local q, e, d = cs.quote, cs.escape, cs.delim
  while true do
    local start, parts, quoted = p, {}, false
    while p <= n do
      local c = ssub(line, p, p)
      if c == d then break end
      if c == q then
        quoted = true
        p = p + 1
        while p <= n do
          local c2, nx = ssub(line, p, p), ssub(line, p + 1, p + 1)
          if c2 == e and (nx == q or nx == e) then
            parts[#parts + 1] = nx
            p = p + 2
          elseif c2 == q then
            p = p + 1
            break
          else
            parts[#parts + 1] = c2
            p = p + 1
          end
        end
      else
        parts[#parts + 1] = c
        p = p + 1
      end
    end
    local v = tconcat(parts)
    out[#out + 1] = { start, (quoted or v ~= cs.null) and v or nil }
    if p > n then break end
    -- Past the delimiter: a field follows, empty if the line ends here.
    p = p + 1
  end
  return out
end

-- Where the line that starts at p of buf ends in a CSV stream: the index of its newline (outside
-- quotes), or nil with the quote state at the end of buf. inq: the state at p.
local function csv_newline(buf, p, cs, inq)
  local q, e, n = cs.quote, cs.escape, #buf
  while p <= n do
    if inq then
      local zq = sfind(buf, q, p, true)
      local ze = (e ~= q) and sfind(buf, e, p, true) or nil
      if not zq then return nil, true end
      if ze and ze < zq then
        local nx = ssub(buf, ze + 1, ze + 1)
        p = (nx == q or nx == e) and ze + 2 or ze + 1
      else
        -- A doubled quote (escape = quote) reads as leaving and entering again: the same state.
        inq = false
        p = zq + 1
      end
    else
      local zn = sfind(buf, "\n", p, true)
      local zq = sfind(buf, q, p, true)
      if zn and (not zq or zn < zq) then return zn, false end
      if not zq then return nil, false end
      inq = true
      p = zq + 1
    end
  end
  return nil, inq
end

-- Where an item of the COPY data goes: at the position q of the data as the COPY state saw it
-- (the carried bytes of earlier messages, then this message's), or at the start of this message's
-- data when it began in an earlier message.
local function copy_at(b, q, carried, base)
  if q > carried then return b.tvb(base + q - carried - 1, 0) end
  return b.tvb(base, 0)
end

-- One row: its number, then each field's column name (when known) and value (or NULL).
-- One field of a row: a line (its value, or NULL) labelled with its column's name (or its place),
-- the name under it.
local function copy_field(parent, f, r, name, value, k)
  local label = name or sformat("Field %d", k)
  local line
  if value then line = ADD(parent, f.value, r, value, label .. ": " .. value)
  else line = ADD(parent, f.null, r, true, label .. ": NULL") end
  GEN(line)
  if name then GEN(ADD(line, f.column, r, name)) end
end

-- One row: its number, and under it each field's line.
local function copy_emit_row(b, f, row, fields, names, at, carried, base)
  if b.nt then return end
  local rt = ADD(b.tree, f.row, copy_at(b, at, carried, base), row, sformat("Row %d", row))
  GEN(rt)
  for k = 1, #fields do
    local r = copy_at(b, at + fields[k][1] - 1, carried, base)
    local v = fields[k][2]
    copy_field(rt, f, r, names and names[k], v and cut_utf8(v, MAX_VALUE_BYTES), k)
  end
end

-- Text and CSV: whole lines (the carried start of a line, then this message's data) become rows;
-- the rest is carried to the next CopyData. Returns the new state.
local function copy_text(b, f, st, data, base)
  local cs = st.cfg
  local carried = #st.carry
  local buf = (carried > 0) and (st.carry .. data) or data
  local csv = cs.fmt == "csv"
  local p, row, header, names, skip, inq = 1, st.row, st.header, st.names, st.skip, st.inq or false
  while true do
    local nl
    if csv then nl, inq = csv_newline(buf, p, cs, skip and inq or false)
    else nl = sfind(buf, "\n", p, true) end
    if not nl then break end
    -- The line without its newline (and a \r before it); its text only where it is needed.
    local last = (sbyte(buf, nl - 1) == 13 and nl - 1 > p - 1) and nl - 2 or nl - 1
    if skip then
      skip, inq = false, false
      row = row + 1
    elseif b.nt and not header then
      -- No tree: only the count (without the end-of-data marker "\." of text COPY FROM STDIN).
      if csv or last - p ~= 1 or ssub(buf, p, last) ~= "\\." then row = row + 1 end
    elseif header then
      local line = ssub(buf, p, last)
      header = false
      if not names then
        local fields = csv and csv_fields(line, cs) or text_fields(line, cs)
        names = {}
        for k = 1, #fields do names[k] = fields[k][2] or "" end
      end
    else
      local line = ssub(buf, p, last)
      -- (A text line "\." is the end-of-data marker of COPY FROM STDIN, not a row.)
      if csv or line ~= "\\." then
        row = row + 1
        copy_emit_row(b, f, row, csv and csv_fields(line, cs) or text_fields(line, cs), names, p, carried, base)
      end
    end
    p = nl + 1
  end
  local rest = ssub(buf, p)
  if skip then
    rest = ""
  elseif #rest > MAX_COPY_ROW then
    b_expert(b, "copyLongRow", sformat("A COPY row longer than %d bytes: not split into fields", MAX_COPY_ROW))
    if csv then
      local _
      _, inq = csv_newline(rest, 1, cs, false)
    end
    skip, rest = true, ""
  end
  return { cfg = cs, row = row, carry = rest, header = header, names = names, skip = skip or nil,
           inq = (skip and inq) or nil }
end

-- Binary COPY (signature, flags, header extension, tuples of fields, trailer): a small machine
-- that needs a number of bytes for its stage, keeps the bytes of fixed-size parts and at most
-- MAX_VALUE_BYTES of a value. Values show as bytea does: the types are not in the data.
local function copy_binary(b, f, st, data, base)
  local cs = st.cfg
  local stage, need, acc = st.stage, st.need, st.acc
  local row, nf, fi = st.row, st.nf, st.fi
  -- Where the part being read began, when in this message: the next message anchors it at its start.
  local rowAt, fieldAt
  local p, n = 1, #data
  local fields = {}
  -- The row item of the row being read, when it began in this message.
  local rowItem
  local function flush_row()
    -- The fields that completed in this message, under the row they belong to.
    if #fields > 0 and not b.nt then
      for k = 1, #fields do
        local fd = fields[k]
        local r = (fd.at and b.tvb(base + fd.at - 1, 0)) or b.tvb(base, 0)
        copy_field(rowItem or b.tree, f, r, cs.names and cs.names[fd.i], fd.v, fd.i)
      end
    end
    fields = {}
  end
  local function next_field()
    if fi < nf then stage, need = "len", 4 else stage, need = "count", 2 end
    acc = ""
  end
  local sigAt
  while p <= n and stage ~= "end" and stage ~= "dead" do
    local take = math.min(need, n - p + 1)
    if stage == "sig" and need == 19 then sigAt = p end
    if stage == "data" then
      if #acc < MAX_VALUE_BYTES then acc = acc .. ssub(data, p, p + math.min(take, MAX_VALUE_BYTES - #acc) - 1) end
    elseif stage ~= "ext" then
      if stage == "count" and need == 2 then rowAt = p end
      if stage == "len" and need == 4 then fieldAt = p end
      acc = acc .. ssub(data, p, p + take - 1)
    end
    need, p = need - take, p + take
    if need == 0 then
      if stage == "sig" then
        if ssub(acc, 1, 11) ~= COPY_SIGNATURE then
          b_expert(b, "copyFormat", "Binary COPY data without the PGCOPY signature")
          stage = "dead"
        else
          local ext = u32(acc, 16)
          if not b.nt then
            local r = (sigAt and b.tvb(base + sigAt - 1, 0)) or b.tvb(base, 0)
            GEN(ADD(b.tree, f.flags, r, u32(acc, 12)))
            GEN(ADD(b.tree, f.extension, r, ext))
          end
          acc = ""
          if ext > 0 then stage, need = "ext", ext else stage, need = "count", 2 end
        end
      elseif stage == "ext" then
        stage, need = "count", 2
      elseif stage == "count" then
        flush_row()
        local c = sbyte(acc, 1) * 256 + sbyte(acc, 2)
        if c == 65535 then
          stage = "end"
          if not b.nt then
            GEN(ADD(b.tree, f.trailer, (rowAt and b.tvb(base + rowAt - 1, 0)) or b.tvb(base, 0), true))
          end
        else
          row, nf, fi = row + 1, c, 0
          if not b.nt then
            rowItem = ADD(b.tree, f.row, (rowAt and b.tvb(base + rowAt - 1, 0)) or b.tvb(base, 0), row, sformat("Row %d", row))
            GEN(rowItem)
          end
          rowAt = nil
          next_field()
        end
      elseif stage == "len" then
        local len = u32(acc, 1)
        fi = fi + 1
        if len == 4294967295 then
          fields[#fields + 1] = { i = fi, at = fieldAt }
          fieldAt = nil
          next_field()
        elseif len >= 2147483648 then
          -- The row's fields read so far come first.
          flush_row()
          b_expert(b, "copyFormat", sformat("Binary COPY field with length %d", len - 4294967296))
          stage = "dead"
        elseif len == 0 then
          fields[#fields + 1] = { i = fi, at = fieldAt, v = "" }
          fieldAt = nil
          next_field()
        else
          stage, need, acc = "data", len, ""
        end
      elseif stage == "data" then
        fields[#fields + 1] = { i = fi, at = fieldAt, v = cut_utf8(pg_value_text(17, 1, acc), MAX_VALUE_BYTES) }
        fieldAt = nil
        next_field()
      end
    end
  end
  flush_row()
  if stage == "end" and p <= n then
    b_expert(b, "copyFormat", sformat("%d bytes after the binary COPY trailer", n - p + 1))
  end
  return { cfg = cs, row = row, stage = stage, need = need, acc = acc, nf = nf, fi = fi }
end

-- copy_statements_of, once per text: queries come again and again (emptied when it grows).
local COPY_OF, NCOPY = {}, 0
local function copy_statements(sql)
  local x = COPY_OF[sql]
  if x == nil then
    x = copy_statements_of(sql) or false
    if NCOPY >= 4096 then COPY_OF, NCOPY = {}, 0 end
    COPY_OF[sql], NCOPY = x, NCOPY + 1
  end
  return x or nil
end

-- The COPY statements of a query (CopyStatementElement): shown as their options (with a tree t),
-- kept in c.copy for the effect "copyStatement".
local function copy_statement(c, t, sql, f)
  local list = type(sql) == "string" and copy_statements(sql) or nil
  c.copy = list
  if not list or not t or not (c.vis or REFS[f]) then return end
  for i = 1, #list do
    local opts = list[i].opts
    for k = 1, #opts do
      local n, v = opts[k][1], opts[k][2]
      GEN(ADD(t, f, c.r0, v and (n .. "=" .. v) or n))
    end
  end
end

-- A CopyData's data: the bytes, and in a COPY whose statement was seen, its rows (CopyRowsElement).
-- How far the COPY has got is not connection state (that would copy the state and keep a snapshot
-- per CopyData, and COPY sends hundreds of thousands): the first pass keeps it per connection
-- (conn.cp, set by the effect "copyData" from c.cs) and in MCP (by the message's number) for the
-- CopyData whose progress does not follow from the previous CopyData of its call (c.cpprev: the
-- first of a call, one after another COPY began); later passes read MCP there and carry the
-- progress from message to message in between. Without a tree (t nil) rows are counted, not built.
local function copy_rows(c, t, s, p, e, fdata, f)
  local n = e - p
  if n > 0 and t and (c.vis or REFS[fdata]) then ADD(t, fdata, c.tvb(p, n)) end
  local cfg = c.core.copyConfig
  if cfg and n > 0 and (cfg.dir == "in") == c.fe then
    local st
    local prev = c.cpprev
    if c.first then
      st = c.conn.cp
      if not st or st.cfg ~= cfg then st = copy_fresh(cfg) end
      if st ~= prev then MCP[c.g] = copy_pack(st) end
    else
      local x = MCP[c.g]
      if x == nil and prev and prev.cfg == cfg then st = prev else st = copy_unpack(x, cfg) end
    end
    c.nt, c.tree = (t == nil), t
    local data = ssub(s, p + 1, e)
    if cfg.fmt == "binary" then c.cs = copy_binary(c, f, st, data, p)
    else c.cs = copy_text(c, f, st, data, p) end
    c.cpprev = c.cs
  end
  return e
end
