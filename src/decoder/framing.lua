-- Framing: the message loop of one call of the dissector. Where each message starts and ends (the
-- startup phase, one-byte answers, a length and type byte), resynchronisation after bad bytes,
-- reassembly across TCP segments, the hand-over to TLS, each message's item, reader, findings,
-- links and effects, and its Info piece. Mirrored by src/decoder/framing.ts.
--
-- Cost matters here: the dissector runs once per TCP segment and this loop once per message, on
-- captures of millions. Without a tree (tshark's summary mode, the first pass of tshark -2) it
-- makes no tree item and, for most messages, no table: the variables table is reused, the readers
-- decode only what is needed, and what later passes need is kept in flat arrays (links.lua).

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
-- The message loop of one call.

-- One context per nesting level (decrypted data comes back through a nested call from TLS).
local CTX = {}
local depth = 0

-- dissect_messages and its steps, in a block of their own: the plugin is one chunk, whose main
-- function may have at most 200 local variables at a time (Lua's limit), and these are needed
-- nowhere else.
local dissect_messages
do
  local DESEGMENT_ONE_MORE = DESEGMENT_ONE_MORE_SEGMENT or 0x0fffffff
  local tls_handle = Dissector.get("tls")

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

  -- The call starts with the rest of a message an earlier segment cut short (rest bytes, or all
  -- of this segment when it has fewer): its item and Info piece. Returns where the next message
  -- starts, the state with what is left of the rest, and the count of Info pieces.
  local function rest_of_cut(c, S, rest)
    local total = total_of(c)
    local n = rest < total and rest or total
    local t = c.root
    if not c.nt then
      t = ADD(t, pgwire, c.tvb(0, n < c.caplen and n or c.caplen), "PostgreSQL: rest of a message cut short")
    end
    t:add_proto_expert_info(E.truncated, sformat("The rest of a message cut short in the capture (%d bytes)", n))
    c.infos[1] = "Rest of a cut message"
    return n, with_core(S, c.fe and "restF" or "restB", rest > n and rest - n or nil), 1
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

  -- Steps of dissect_messages below, for what is not every message's: the loop runs once per
  -- message of the capture, and what every message does stays in it. Moving that work (its link,
  -- its Info piece, its effects) into steps of their own cost 7.8 % more instructions in all of
  -- tshark's summary of 60,000 frames of pgbench (callgrind), and the later passes' link alone
  -- 0.9 % of tshark -2; these steps cost nothing there.

  -- A client reusing the address and port pair of an earlier connection starts over: the initial
  -- state; in the first pass, nothing waiting and nothing named.
  local function start_over(c)
    if c.first then
      local conn = c.conn
      conn.q, conn.qm, conn.qo, conn.qh, conn.qt = {}, {}, {}, 1, 0
      conn.objs = { S = {}, P = {} }
      conn.cp = nil
      conn.started = nil
    end
    return INITIAL
  end

  -- The variant of a group of several whose selector holds; the last one (the group's fallback)
  -- when none does. body: where the message's body starts.
  local function variant_of(vs, core, s, body)
    for i = 1, #vs do
      local w = vs[i].when
      if not w or selects(w, core, s, body) then return vs[i] end
    end
    return vs[#vs]
  end

  -- The message's item, with a tree: with its header fields when the tree is seen or something of
  -- the message is asked for; else only the item (a filter on pgwire finds it, experts go there),
  -- lite: read it without a tree.
  local function open_item(c, off, size, shape, m, S)
    local t
    if c.vis or any_ref(m) then
      t, c.r0 = add_message_item(c, off, size, shape, m, S)
      c.cols, c.rf = S[3], S[4]
      c.t = t
      return t, false
    end
    t = ADD(c.root, pgwire, c.tvb(off, math.min(size, c.caplen - off)), "PostgreSQL: " .. m.name)
    c.t = t
    return t, true
  end

  -- The same RowDescription again (a statement run again): the same column list, so that the state
  -- it makes is the same one.
  local function same_columns(c, s, body, e)
    local l = c.lists and c.lists.columns
    if not l then return end
    local key = ssub(s, body + 1, e)
    local kept = COLS_OF[key]
    if kept then
      c.lists.columns = kept
    else
      if NCOLS >= 1024 then COLS_OF, NCOLS = {}, 0 end
      COLS_OF[key], NCOLS = l, NCOLS + 1
    end
  end

  -- First pass: the state at off where a message changed it, for a later pass that starts a call
  -- there.
  local function keep_state_at(c, off, S)
    local alt = FR_ALT[c.number]
    if not alt then
      alt = {}
      FR_ALT[c.number] = alt
    end
    alt[msg_key(c.s, off, c.caplen) .. c.tag] = S
  end

  -- Decodes the messages of one call; returns the new state and whether TLS took the rest.
  -- The Info texts go into c.infos[1 .. c.ninfo], as pieces (", " between messages).
  function dissect_messages(c, S)
    local s, caplen, fe, pinfo = c.s, c.caplen, c.fe, c.pinfo
    local groups = fe and G.F or G.B
    local first, conn, nt = c.first, c.conn, c.nt
    local infos, ninfo, ord, g0 = c.infos, 0, c.ord, c.g0
    local prev = S
    -- Links (links.lua FR_K): the number the call's next link is predicted to have (nil: not
    -- known), the frame's completion bits, and whether the call's first link sets the frame's base.
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
      S = start_over(c)
    end
    local off = 0
    if not in_tls then
      -- (After a start over the state is the initial one, with no rest.)
      local rest
      if fe then rest = S[1].restF else rest = S[1].restB end
      if rest then off, S, ninfo = rest_of_cut(c, S, rest) end
    end
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
        local m = g.m or variant_of(g.v, core, s, off + hdr + 4)
        local t, lite
        if not nt then t, lite = open_item(c, off, size, shape, m, S) end
        if ninfo > 0 then
          ninfo = ninfo + 1
          infos[ninfo] = ", "
        end
        if e > caplen then
          x_expert(c, "truncated", sformat("Message cut short in the capture (%d of %d bytes)", caplen - off, size))
          -- It runs past its segment too: the next segments start with its rest.
          if not in_tls and e > total_of(c) then S = with_core(S, fe and "restF" or "restB", e - c.total) end
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
        -- Later passes know the message's link before the reader (Bind's parameters need it).
        local lk = m.lk
        local k = 0
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
        if m.cols then same_columns(c, s, body, e) end
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
        -- The statistics (stats.lua), while tshark -z or the GUI collects them.
        if STATS then stats_message(c, m, v, k) end
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
            if S[2] ~= x then S = state(S[1], x, S[3], S[4]) end
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
        if first and S ~= before and off < caplen then keep_state_at(c, off, S) end
      end
    end
    c.ord, c.ninfo = ord, ninfo
    return S, false
  end
end
