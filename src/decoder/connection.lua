-- The dissector's entry: the connection of a call (by its port and address pairs), the state at
-- the frame's first call and at its other calls (so that later passes decode as the first did),
-- the call's messages (framing.lua), and the Info column. Mirrored by src/decoder/connection.ts.

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
  -- start in the frame's numbering, and which call set the Info column (info), by call key. Two
  -- calls of a frame that start with the same bytes (rows of one shape: a reassembled DataRow,
  -- then the rest of the segment with the next) are told apart by where the later one's bytes
  -- lie in the frame: its key has "@" and that offset (Tvb:offset, the same in every pass).
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
      if calls and calls.twins then
        local k2 = key16 .. "@" .. tvb:offset()
        if calls[k2] ~= nil then key16 = k2 end
      end
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
      if calls[key16] ~= nil then
        -- An earlier call of this frame starts with the same bytes.
        key16 = key16 .. "@" .. tvb:offset()
        calls.twins = true
      end
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
