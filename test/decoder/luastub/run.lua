-- A stand-in for the part of Wireshark's Lua API that dissector/pgwire.lua uses, so that the
-- plugin runs under a plain lua5.1, lua5.2, lua5.3 or lua5.4 (Wireshark 3.6 to 4.6 embed one of
-- them; tshark here embeds 5.2). It checks values the way Wireshark's C side does where the Lua
-- versions differ (an integer field given a float, a string field given a number), and prints
-- what the plugin put in the tree, for test/decoder/luastub/luastub.test.ts to compare with tshark's PDML.
--
--   lua5.x test/decoder/luastub/run.lua dissector/pgwire.lua segments.txt [pref=value ...] > tree.txt
--
-- segments.txt: one TCP data chunk per line, in capture order, as TCP hands it to a dissector:
--   frame <TAB> time <TAB> src <TAB> dst <TAB> sport <TAB> dport <TAB> truncated(0/1) <TAB> hex
-- tree.txt, for the second pass (as tshark -2 prints it):
--   I <TAB> frame <TAB> hex(label)                       a top-level pgwire item
--   F <TAB> name <TAB> kind <TAB> show <TAB> offset <TAB> length
--       kind "s": show is the hex of the string's bytes; "v": show as PDML shows it
--   C <TAB> frame <TAB> hex(info)                        the frame's Info column, when pgwire set it
--   E <TAB> frame <TAB> message                          a Lua error the plugin raised
-- With the argument notree=1 the dissector gets a NULL tree in both passes (tshark's summary
-- mode): then only the Info column (C) and the experts the plugin raised on it are printed:
--   X <TAB> frame <TAB> expert name <TAB> hex(text)

local plugin_path, segments_path = arg[1], arg[2]
local sformat, sbyte, ssub = string.format, string.byte, string.sub
local floor = math.floor

local function hex(s)
  return (string.gsub(s, ".", function(c) return sformat("%02x", sbyte(c)) end))
end
local function unhex(h)
  return (string.gsub(h, "..", function(x) return string.char(tonumber(x, 16)) end))
end

-- Wireshark's C side reads an integer with luaL_checkinteger: from Lua 5.3 on, a float without an
-- integer value is an error; before, it is truncated.
local function check_integer(v, what)
  if type(v) ~= "number" then
    local n = tonumber(v)
    if n == nil then error(sformat("bad argument to %s (number expected, got %s)", what, type(v)), 3) end
    v = n
  end
  if math.type and math.type(v) == "float" then
    if v ~= floor(v) or v ~= v then error(sformat("bad argument to %s (number has no integer representation)", what), 3) end
  end
  return floor(v)
end

-- A string argument: luaL_checkstring converts a number with lua_tolstring (in 5.3+ a float shows
-- as "3.0"); anything else is an error.
local function check_string(v, what)
  if type(v) == "number" then return tostring(v) end
  if type(v) ~= "string" then error(sformat("bad argument to %s (string expected, got %s)", what, type(v)), 3) end
  return v
end

---------------------------------------------------------------------------------------------------
-- The API

base = { NONE = 0, DEC = 1, HEX = 2, OCT = 3, DEC_HEX = 4, HEX_DEC = 5, UNIT_STRING = 0x1000 }
expert = {
  group = {},
  severity = {},
}
for _, g in ipairs({ "CHECKSUM", "SEQUENCE", "RESPONSE_CODE", "REQUEST_CODE", "UNDECODED", "REASSEMBLE",
  "MALFORMED", "DEBUG", "PROTOCOL", "SECURITY", "COMMENTS_GROUP", "DECRYPTION", "ASSUMPTION", "DEPRECATED" }) do
  expert.group[g] = g
end
for _, s in ipairs({ "COMMENT", "CHAT", "NOTE", "WARN", "ERROR" }) do expert.severity[s] = s end

local INT_TYPES = { uint8 = 1, uint16 = 2, uint24 = 3, uint32 = 4, int8 = 1, int16 = 2, int24 = 3, int32 = 4,
  framenum = 4 }
local SIGNED = { int8 = true, int16 = true, int24 = true, int32 = true }

ProtoField = setmetatable({}, {
  __index = function(_, ftype)
    return function(abbrev, name)
      if type(abbrev) ~= "string" or type(name) ~= "string" then error("ProtoField." .. ftype .. ": bad arguments", 2) end
      return { abbrev = abbrev, ftype = ftype }
    end
  end,
})

ProtoExpert = {
  new = function(abbrev, text, group, severity)
    if not group or not severity then error("ProtoExpert.new: unknown group or severity", 2) end
    return { abbrev = abbrev, text = text }
  end,
}

local protos = {}
local PROTO = {}
PROTO.__index = PROTO
-- Preferences: assigning a Pref to p.prefs.name makes p.prefs.name read as its value (the default,
-- or one given on the command line as name=value).
local pref_values = {}
local NOTREE = false
for i = 3, #arg do
  local k, v = string.match(arg[i], "^([%w_]+)=(.*)$")
  if k == "notree" then NOTREE = v == "1"
  elseif k then pref_values[k] = v end
end
local PREFS = {
  __newindex = function(t, k, v)
    local given = pref_values[k]
    if given ~= nil and v.kind == "bool" then given = (given == "TRUE" or given == "true") end
    if given == nil then given = v.default end
    rawset(t, k, given)
  end,
}
function Proto(name, desc)
  local p = setmetatable({ name = name, desc = desc, fields = {}, experts = {}, prefs = setmetatable({}, PREFS) }, PROTO)
  protos[#protos + 1] = p
  return p
end
local heuristics = {}
function PROTO:register_heuristic(list, fn) heuristics[#heuristics + 1] = fn end

Pref = {
  bool = function(label, default) return { kind = "bool", default = default } end,
  range = function(label, default) return { kind = "range", default = default } end,
  uint = function(label, default) return { kind = "uint", default = default } end,
  string = function(label, default) return { kind = "string", default = default } end,
}

local port_table = {}
DissectorTable = {
  get = function(name)
    if name ~= "tcp.port" and name ~= "tls.port" then return nil end
    return {
      add = function(_, ports, proto)
        if name ~= "tcp.port" then return end
        for p in string.gmatch(tostring(ports), "%d+") do port_table[tonumber(p)] = proto end
      end,
      remove = function(_, ports)
        if name ~= "tcp.port" then return end
        for p in string.gmatch(tostring(ports), "%d+") do port_table[tonumber(p)] = nil end
      end,
      add_for_decode_as = function() end,
    }
  end,
}
Dissector = { get = function() return { call = function() end } end }

local NSTIME = {}
NSTIME.__index = NSTIME
NSTime = { new = function(secs, nsecs) return setmetatable({ secs = secs or 0, nsecs = nsecs or 0 }, NSTIME) end }

DESEGMENT_ONE_MORE_SEGMENT = 0x0fffffff
ENC_BIG_ENDIAN, ENC_LITTLE_ENDIAN, ENC_ASCII, ENC_UTF_8, ENC_NA = 0, 0x80000000, 0, 2, 0

-- Tvb and TvbRange over a Lua string.
local TVB, RANGE = {}, {}
local function new_tvb(data, reported)
  return setmetatable({ data = data, reported = reported or #data }, TVB)
end
TVB.__index = TVB
function TVB:len() return #self.data end
function TVB:reported_len() return self.reported end
-- Where the Tvb's bytes start in their source: each call here gets a string of its own.
function TVB.offset() return 0 end
function TVB:raw(off, len)
  off = off or 0
  len = len or (#self.data - off)
  if off < 0 or len < 0 or off + len > #self.data then error("Tvb:raw: out of bounds", 2) end
  return ssub(self.data, off + 1, off + len)
end
TVB.__call = function(self, off, len)
  off = check_integer(off or 0, "Tvb()")
  if len == nil or len == -1 then len = #self.data - off end
  len = check_integer(len, "Tvb()")
  if off < 0 or len < 0 or off + len > #self.data then error(sformat("Range is out of bounds (%d, %d of %d)", off, len, #self.data), 2) end
  return setmetatable({ tvb = self, off = off, len = len }, RANGE)
end
RANGE.__index = RANGE
function RANGE:tvb() return new_tvb(ssub(self.tvb.data, self.off + 1, self.off + self.len)) end
function RANGE:bytes_raw() return ssub(self.tvb.data, self.off + 1, self.off + self.len) end

-- 64-bit integers as Wireshark's Int64/UInt64: only tostring is used.
local function decimal(bytes)
  local digits = { sbyte(bytes, 1, -1) }
  local out = {}
  repeat
    local rem, nonzero = 0, false
    for i = 1, #digits do
      local cur = rem * 256 + digits[i]
      digits[i] = floor(cur / 10)
      rem = cur % 10
      if digits[i] ~= 0 then nonzero = true end
    end
    table.insert(out, 1, string.char(48 + rem))
  until not nonzero
  return table.concat(out)
end
local INT64 = { __tostring = function(self) return self.text end }
function RANGE:uint64()
  if self.len ~= 8 then error("TvbRange:uint64: length must be 8", 2) end
  return setmetatable({ text = decimal(self:bytes_raw()) }, INT64)
end
function RANGE:int64()
  if self.len ~= 8 then error("TvbRange:int64: length must be 8", 2) end
  local raw = self:bytes_raw()
  if sbyte(raw, 1) < 128 then return setmetatable({ text = decimal(raw) }, INT64) end
  -- Two's complement: the magnitude is (bitwise not) + 1.
  local b = { sbyte(raw, 1, -1) }
  for i = 1, 8 do b[i] = 255 - b[i] end
  local i = 8
  while i >= 1 do
    b[i] = b[i] + 1
    if b[i] < 256 then break end
    b[i] = 0
    i = i - 1
  end
  return setmetatable({ text = "-" .. decimal(string.char(unpack and unpack(b) or table.unpack(b))) }, INT64)
end

-- The tree: items keep their children, so that fields come out in the tree's order.
local ITEM = {}
ITEM.__index = ITEM
local function new_item(kind, fields) return setmetatable({ kind = kind, children = {}, fields = fields }, ITEM) end

local function show_from_range(f, r)
  local raw = r:bytes_raw()
  if f.ftype == "uint64" or f.ftype == "int64" then
    if #raw ~= 8 then error("field " .. f.abbrev .. ": 64-bit range of " .. #raw .. " bytes", 3) end
    local r = setmetatable({ tvb = new_tvb(raw), off = 0, len = 8 }, RANGE)
    return "v", tostring(f.ftype == "uint64" and r:uint64() or r:int64())
  end
  local n = INT_TYPES[f.ftype]
  if n then
    -- Wireshark reads an integer field from as many bytes as the range has (1 to 4).
    n = #raw
    if n < 1 or n > 4 then error("field " .. f.abbrev .. ": integer range of " .. n .. " bytes", 3) end
    local v = 0
    for i = 1, n do v = v * 256 + sbyte(raw, i) end
    if SIGNED[f.ftype] and v >= 2 ^ (8 * n - 1) then v = v - 2 ^ (8 * n) end
    return "v", sformat("%d", v)
  elseif f.ftype == "string" then
    return "s", raw
  elseif f.ftype == "stringz" then
    local z = string.find(raw, "\0", 1, true)
    return "s", z and ssub(raw, 1, z - 1) or raw
  elseif f.ftype == "bytes" then
    return "b", raw
  elseif f.ftype == "bool" then
    local v = 0
    for i = 1, #raw do v = v * 256 + sbyte(raw, i) end
    return "v", (v ~= 0) and "1" or "0"
  end
  error("field " .. f.abbrev .. ": no value for type " .. f.ftype, 3)
end

local function show_from_value(f, v)
  local what = "TreeItem:add(" .. f.abbrev .. ")"
  if INT_TYPES[f.ftype] then return "v", sformat("%d", check_integer(v, what)) end
  if f.ftype == "string" or f.ftype == "stringz" then return "s", check_string(v, what) end
  if f.ftype == "bytes" then return "b", check_string(v, what) end
  if f.ftype == "bool" then return "v", v and "1" or "0" end
  if f.ftype == "relative_time" then
    if getmetatable(v) ~= NSTIME then error("bad argument to " .. what .. " (NSTime expected)", 3) end
    return "v", sformat("%d.%09d", check_integer(v.secs, what), check_integer(v.nsecs, what))
  end
  error("field " .. f.abbrev .. ": unsupported type " .. f.ftype, 3)
end

function ITEM:add(a, b, c, d)
  local child
  if getmetatable(a) == PROTO then
    -- A protocol item: tree:add(proto, range, label)
    child = new_item("proto", {})
    child.label, child.off = c or a.desc, b and b.off or 0
  elseif getmetatable(a) == RANGE then
    -- A text item: tree:add(range, label)
    child = new_item("text", self.fields)
  else
    local f, r, v = a, b, c
    if type(f) ~= "table" or not f.abbrev then error("TreeItem:add: not a field", 2) end
    if getmetatable(r) ~= RANGE then error("TreeItem:add(" .. f.abbrev .. "): no range", 2) end
    local kind, show
    if v == nil then kind, show = show_from_range(f, r) else kind, show = show_from_value(f, v) end
    child = new_item("field", self.fields)
    child.rec = { name = f.abbrev, kind = kind, show = show, off = r.off, len = r.len }
    if d ~= nil then check_string(d, "TreeItem:add label") end
  end
  self.children[#self.children + 1] = child
  return child
end
function ITEM:add_packet_field(f, r, enc)
  if type(enc) ~= "number" then error("TreeItem:add_packet_field(" .. tostring(f and f.abbrev) .. "): no encoding", 2) end
  return self:add(f, r)
end
-- The stand-in's tree is always visible, so every field counts as referenced.
ITEM.visible = true
function ITEM:referenced(f)
  if type(f) ~= "table" or not f.abbrev then error("TreeItem:referenced: not a field", 2) end
  return true
end
function ITEM:set_generated() return self end
function ITEM:set_len(n) check_integer(n, "TreeItem:set_len") return self end
function ITEM:set_hidden() return self end
function ITEM:append_text(t) check_string(t, "TreeItem:append_text") return self end
function ITEM:set_text(t) check_string(t, "TreeItem:set_text") return self end
-- A NULL tree (tshark without -V, filters or field output): adding to it adds nothing, but
-- experts still count (Wireshark files them on the packet).
local NULL_ITEM = {}
NULL_ITEM.__index = NULL_ITEM
NULL_ITEM.__tostring = function() return "TreeItem: expired=false, has item=false, has subtree=false, they are the same" end
NULL_ITEM.visible = false
local function new_null() return setmetatable({ experts = {} }, NULL_ITEM) end
function NULL_ITEM:add(a, b, c, d)
  if getmetatable(a) ~= PROTO and getmetatable(a) ~= RANGE and (type(a) ~= "table" or not a.abbrev) then
    error("TreeItem:add: not a field", 2)
  end
  if c ~= nil and type(a) == "table" and a.abbrev then show_from_value(a, c) end
  if d ~= nil then check_string(d, "TreeItem:add label") end
  return self
end
function NULL_ITEM:add_packet_field() return self end
function NULL_ITEM:referenced() return false end
function NULL_ITEM:set_generated() return self end
function NULL_ITEM:set_len() return self end
function NULL_ITEM:set_text() return self end
function NULL_ITEM:append_text() return self end
function NULL_ITEM:add_proto_expert_info(e, text)
  if type(e) ~= "table" or not e.abbrev then error("TreeItem:add_proto_expert_info: not a ProtoExpert", 2) end
  self.experts[#self.experts + 1] = { name = "expert:" .. e.abbrev, text = text ~= nil and check_string(text, "expert text") or e.text }
  return self
end

function ITEM:add_proto_expert_info(e, text)
  if type(e) ~= "table" or not e.abbrev then error("TreeItem:add_proto_expert_info: not a ProtoExpert", 2) end
  local child = new_item("expert", self.fields)
  child.rec = { name = "expert:" .. e.abbrev, kind = "s", show = text ~= nil and check_string(text, "expert text") or e.text,
    off = 0, len = 0, expert = true }
  self.children[#self.children + 1] = child
  return self
end

---------------------------------------------------------------------------------------------------
-- Load the plugin

local ok, err = pcall(dofile, plugin_path)
if not ok then
  io.write("E\t0\tloading: ", tostring(err), "\n")
  os.exit(1)
end
local pgwire = protos[1]

---------------------------------------------------------------------------------------------------
-- The driver: TCP as Wireshark hands data to a dissector that asks for more bytes (the same as
-- the Desegmenter in src/decoder/framing.ts): a message that completes is given alone, then the rest.

local segments = {}
for line in io.lines(segments_path) do
  local f, t, src, dst, sp, dp, trunc, data = string.match(line,
    "^(%d+)\t([%d.]+)\t([^\t]*)\t([^\t]*)\t(%d+)\t(%d+)\t([01])\t(%x*)$")
  if f then
    segments[#segments + 1] = { frame = tonumber(f), time = tonumber(t), src = src, dst = dst,
      sport = tonumber(sp), dport = tonumber(dp), truncated = trunc == "1", data = unhex(data) }
  end
end

local out, errors = {}, {}
local function emit(s) out[#out + 1] = s end

local function flatten(item, top)
  for _, c in ipairs(item.children) do
    if c.rec then
      local r = c.rec
      local show = (r.kind == "s" or r.kind == "b") and hex(r.show) or r.show
      local off = r.expert and 0 or (r.off - top.off)
      emit(sformat("F\t%s\t%s\t%s\t%d\t%d", r.name, r.kind, show, off,
        r.expert and 0 or r.len))
    end
    flatten(c, top)
  end
end

local function run_pass(visited)
  local pending = {}   -- per connection and direction: { buf, need, base }
  local info = {}      -- per frame: the Info column
  local frames_items = {}
  local order = {}
  local columns = {}  -- per frame: the columns, shared by the frame's calls
  local function call(seg, data, reported, can_desegment)
    local c = columns[seg.frame]
    if not c then
      c = { proto = {}, info = {} }
      local info_col = c.info
      -- pinfo.cols.info is the Info column (set, append); assigning pinfo.cols.info = text sets it,
      -- as Wireshark's Columns do.
      local info_obj = { set = function(_, t) info_col.text = check_string(t, "Column:set") end,
                         append = function(_, t) info_col.text = (info_col.text or "") .. check_string(t, "Column:append") end }
      c.cols = setmetatable({}, {
        __index = function(_, k) if k == "info" then return info_obj end return nil end,
        __newindex = function(_, k, v)
          if k == "info" then info_col.text = check_string(v, "Columns.info") else c.proto[k] = v end
        end,
      })
      columns[seg.frame] = c
    end
    local proto_col, info_col, cols = c.proto, c.info, c.cols
    local pinfo = { number = seg.frame, visited = visited, abs_ts = seg.time, src = seg.src, dst = seg.dst,
      src_port = seg.sport, dst_port = seg.dport, can_desegment = can_desegment and 2 or 0,
      desegment_len = 0, desegment_offset = 0, cols = cols }
    local tvb = new_tvb(data, reported)
    local root = NOTREE and new_null() or new_item("root", {})
    local port = port_table[math.min(seg.sport, seg.dport)] and math.min(seg.sport, seg.dport)
      or (port_table[math.max(seg.sport, seg.dport)] and math.max(seg.sport, seg.dport))
    local okc, e = pcall(function()
      if port then
        pinfo.match_uint = port
        pgwire.dissector(tvb, pinfo, root)
      else
        for _, h in ipairs(heuristics) do
          if h(tvb, pinfo, root) then break end
        end
      end
    end)
    if not okc then errors[#errors + 1] = sformat("E\t%d\t%s", seg.frame, (string.gsub(tostring(e), "[\r\n\t]", " "))) end
    if not frames_items[seg.frame] then
      frames_items[seg.frame] = {}
      order[#order + 1] = seg.frame
    end
    if NOTREE then
      for _, x in ipairs(root.experts) do table.insert(frames_items[seg.frame], x) end
    else
      for _, c in ipairs(root.children) do table.insert(frames_items[seg.frame], c) end
    end
    if proto_col.protocol == "PGWIRE" and info_col.text then info[seg.frame] = info_col.text end
    if pinfo.desegment_len > 0 then return { offset = pinfo.desegment_offset, need = pinfo.desegment_len } end
    return nil
  end

  for _, seg in ipairs(segments) do
    local key = seg.src .. ":" .. seg.sport .. ">" .. seg.dst .. ":" .. seg.dport
    local function run(buf)
      local want = call(seg, buf, seg.truncated and 0x7fffffff or #buf, not seg.truncated)
      if want then pending[key] = { buf = ssub(buf, want.offset + 1), need = want.need } end
    end
    local p = pending[key]
    pending[key] = nil
    if not p then
      run(seg.data)
    elseif p.need == DESEGMENT_ONE_MORE_SEGMENT then
      run(p.buf .. seg.data)
    elseif #seg.data < p.need then
      pending[key] = { buf = p.buf .. seg.data, need = p.need - #seg.data }
    else
      run(p.buf .. ssub(seg.data, 1, p.need))
      if #seg.data > p.need then run(ssub(seg.data, p.need + 1)) end
    end
  end
  return frames_items, order, info
end

-- Wireshark runs the init routine when it opens the file, not between passes.
if pgwire.init then pgwire.init() end
local clock0 = os.clock()
run_pass(false)
local clock1 = os.clock()
local items, order, info = run_pass(true)
if os.getenv("PGWIRE_STUB_TIME") then
  io.stderr:write(sformat("first pass %.3f s, second pass %.3f s\n", clock1 - clock0, os.clock() - clock1))
end
for _, e in ipairs(errors) do emit(e) end
for _, n in ipairs(order) do
  for _, it in ipairs(items[n]) do
    if NOTREE then
      emit(sformat("X\t%d\t%s\t%s", n, it.name, hex(it.text)))
    elseif it.kind == "proto" then
      emit(sformat("I\t%d\t%s", n, hex(it.label or "")))
      flatten(it, it)
    end
  end
  if info[n] then emit(sformat("C\t%d\t%s", n, hex(info[n]))) end
end
io.write(table.concat(out, "\n"), "\n")
