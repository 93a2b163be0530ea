-- luacheck configuration for the generated plugin: Lua 5.1 syntax, Wireshark's Lua globals.
std = "lua51"
max_line_length = false
read_globals = {
  "Proto", "ProtoField", "NSTime", "ProtoExpert", "expert", "base", "Pref", "Field", "Dissector", "DissectorTable",
  "ENC_UTF_8", "ENC_BIG_ENDIAN", "DESEGMENT_ONE_MORE_SEGMENT",
}
