-- luacheck configuration: Lua 5.1 syntax, Wireshark's Lua globals; for the generated plugin
-- (dissector/pgwire.lua) and, below, for each of the runtime's Lua files.
std = "lua51"
max_line_length = false
read_globals = {
  "Proto", "ProtoField", "NSTime", "ProtoExpert", "expert", "base", "Pref", "Field", "Dissector", "DissectorTable",
  "ENC_UTF_8", "ENC_BIG_ENDIAN", "DESEGMENT_ONE_MORE_SEGMENT",
  -- The statistics (src/analysis/stats.lua): taps, tshark's -z and the GUI's menu.
  "Listener", "register_stat_cmd_arg", "gui_enabled", "register_menu", "get_filter", "TextWindow",
  "retap_packets", "MENU_STAT_UNSORTED",
}

-- The runtime's Lua files (src/runtime/*.lua, src/decoder/*.lua, src/analysis/stats.lua), linted
-- one by one. The generator puts them into the one plugin file in this order, after the
-- skeleton's locals (string and math functions, pgwire, the generated tables) and around the
-- generated readers; each file sees the locals of the files before it. Here each file lists what
-- it takes from them: reads (read only) and writes (assigned or changed), by the file that defines
-- them; and later, what it defines only for the files after it and the generated readers (not
-- flagged as unused here: the whole plugin, linted above with every warning, has them used).
local SKELETON = {
  "sbyte", "ssub", "sfind", "tconcat", "sformat", "smatch", "sgsub", "floor", "pgwire",
  "F", "E", "PHASE_TEXT", "T", "PG_TYPES", "MCP", "RQ_PT", "R", "OPENING", "M", "G", "set_of",
}

local function module(m)
  local read, ignore, written = {}, {}, {}
  for _, n in ipairs(m.writes or {}) do written[n] = true end
  for _, n in ipairs(SKELETON) do
    if not written[n] then read[#read + 1] = n end
  end
  for _, n in ipairs(m.reads or {}) do read[#read + 1] = n end
  for _, n in ipairs(m.later or {}) do ignore[#ignore + 1] = "2../^" .. n .. "$" end
  return { read_globals = read, globals = m.writes or {}, ignore = ignore }
end

files["src/runtime/text.lua"] = module {
  later = { "MAX_VALUE_BYTES", "NUMS", "ascii_lower", "ascii_upper", "ic", "iv" },
}

files["src/runtime/values.lua"] = module {
  later = { "pg_value_text" },
}

files["src/runtime/reader.lua"] = module {
  reads = {
    "MAX_VALUE_BYTES", "ascii_lower", "ascii_upper", "cut_utf8", -- text.lua
    "pg_value_text", -- values.lua
  },
  later = { "ADD", "ADDPF", "GEN", "P", "REF", "attributes", "b_expert", "column", "keep_sql", "lookup", "num", "options", "param", "payload_nt", "payload_tree", "refs_reset", "relation", "remember", "same_formats", "tuple_column", "unterm" },
}

files["src/runtime/copy.lua"] = module {
  reads = {
    "MAX_VALUE_BYTES", "ascii_lower", "cut_utf8", -- text.lua
    "pg_value_text", -- values.lua
    "ADD", "GEN", "REFS", "b_expert", "u32", -- reader.lua
  },
  writes = {
    "MCP", -- the skeleton
  },
  later = { "copy_rows", "copy_start", "copy_statement" },
}

files["src/decoder/state.lua"] = module {
  reads = {
    "ascii_upper", -- text.lua
    "EMPTY", "P", "u32", -- reader.lua
    "copy_start", -- copy.lua
  },
  later = { "INITIAL", "apply_effects", "holds", "phase_of", "selects" },
}

files["src/decoder/links.lua"] = module {
  reads = {
    "MAX_VALUE_BYTES", "cut_utf8", -- text.lua
    "ADD", "GEN", "REFS", -- reader.lua
  },
  writes = {
    "SQL_TEXT", -- reader.lua
    "MCP", "RQ_PT", -- the skeleton
  },
  later = { "COLS_OF", "CUR_FRAME", "CUR_LEN", "CUR_N", "CUR_S", "CUR_SET", "CUR_TAG", "FR_ALT", "FR_CALLS", "FR_SC", "KBIT", "MLX", "MS", "MSG_PER_FRAME", "NCOLS", "add_links", "cancel_first_pass", "link_response", "rq_first", "rq_resp" },
}

files["src/analysis/stats.lua"] = module {
  reads = {
    "FR_K", "rq_frame", "rq_sql", -- links.lua
  },
  later = { "STATS", "stats_message" },
}

files["src/decoder/framing.lua"] = module {
  reads = {
    "MAX_VALUE_BYTES", "char_of", "cut_utf8", "info_text", -- text.lua
    "ADD", "GEN", "REFS", "REF_GEN", "u32", "x_expert", -- reader.lua
    "INITIAL", "apply_effects", "holds", "phase_of", "selects", "state", "with_core", -- state.lua
    "KBIT", "KBITS", "TWO32", "add_links", "cancel_first_pass", "link_response", "rows_of", "rq_first", "rq_resp", "rq_set_resp", -- links.lua
    "STATS", "stats_message", -- stats.lua
  },
  writes = {
    "in_tls", -- state.lua
    "COLS_OF", "CUR_N", "FR_ALT", "FR_K", "MLX", "MS", "NCOLS", "RQ_FR", "RQ_NEXT", "RQ_SQL", "RQ_TAGS", -- links.lua
    "RQ_PT", -- the skeleton
  },
  later = { "CTX", "depth", "dissect_messages" },
}

files["src/decoder/connection.lua"] = module {
  reads = {
    "refs_reset", -- reader.lua
    "INITIAL", -- state.lua
    "MSG_PER_FRAME", "reset_records", -- links.lua
    "dissect_messages", "msg_key", -- framing.lua
  },
  writes = {
    "ADD", "ADDPF", "GEN", "REF", "REF_TREE", -- reader.lua
    "in_tls", -- state.lua
    "CUR_FRAME", "CUR_LEN", "CUR_N", "CUR_S", "CUR_SET", "CUR_TAG", "FR_ALT", "FR_CALLS", "FR_K", "FR_SC", "cancel_keys", -- links.lua
    "CTX", "depth", -- framing.lua
    "pgwire", -- the skeleton: its init and dissector
  },
}

files["src/decoder/register.lua"] = module {
  reads = {
    "u32", -- reader.lua
    "header_ok", "opening", -- framing.lua
    "conn_of", "new_conn", -- connection.lua
  },
  writes = {
    "pgwire", -- the skeleton: its preferences
  },
}
