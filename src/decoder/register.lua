-- Registration: the preferences (ports, detection on other ports), the TCP and TLS port tables,
-- Decode As, and the heuristic that finds PostgreSQL on other ports. Mirrored by
-- src/decoder/register.ts.

pgwire.prefs.ports = Pref.range("TCP ports", "5432", "TCP ports on which to decode PostgreSQL", 65535)
pgwire.prefs.heuristic = Pref.bool("Detect on any port", true,
  "Recognise PostgreSQL on other TCP ports: a startup packet, or a segment of whole valid messages")

---------------------------------------------------------------------------------------------------
-- Detection on other ports (mirrored by heuristicSide in register.ts): a segment that is one
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
