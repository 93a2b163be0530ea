// PostgreSQL's built-in data types, as data: every row of PostgreSQL 18's
// src/include/catalog/pg_type.dat (PostgreSQL Global Development Group, PostgreSQL License), the array
// types that its `array_type_oid` fields declare (named like PostgreSQL names them: "_" + element
// name), and for each type the decoder that turns its binary (format 1) send output into the text
// PostgreSQL prints (src/runtime/values.ts and src/runtime/values.lua).
//
// The set of OIDs was checked against pg_type.dat of a PostgreSQL 18 tree (193 types, 86 of them
// arrays; the same set as PostgreSQL 15's catalogue minus the shared catalogs' row types, which are not
// in pg_type.dat) and the names, element types and send functions against a live PostgreSQL 15.20
// `pg_type`. Types created later (extensions, enums, domains, composite types) get OIDs >= 16384 that
// differ per database and are deliberately not here.
//
// `binary` is the decoder kind, chosen by the type's send function (typsend); it is absent where the
// type has no binary form (typsend '-': aclitem, gtsvector, most pseudo-types) or where the text
// output is not reproducible from the bytes alone (tsquery, the statistics types, pg_ddl_command).
// `elem` is the element type for arrays (kind "array"), the subtype for ranges (kind "range", from
// pg_range.rngsubtype) and the range type for multiranges (kind "multirange").

/** Decoders of binary (format 1) values; see src/runtime/values.ts for what each one prints. */
export type Kind =
  | "bool"
  | "char" // "char": one byte, high-bit bytes as \ooo
  | "name"
  | "text" // text, varchar, bpchar, json, xml, unknown, cstring, refcursor, pg_node_tree
  | "bytea"
  | "int2"
  | "int4"
  | "int8"
  | "oid" // unsigned 32-bit: oid, xid, cid and the reg* types (shown as numbers, not names)
  | "xid8" // unsigned 64-bit
  | "float4"
  | "float8"
  | "numeric"
  | "money"
  | "date"
  | "time"
  | "timetz"
  | "timestamp"
  | "timestamptz"
  | "interval"
  | "uuid"
  | "jsonb"
  | "jsonpath"
  | "inet"
  | "cidr"
  | "macaddr"
  | "macaddr8"
  | "tid"
  | "point"
  | "lseg"
  | "box"
  | "line"
  | "circle"
  | "path"
  | "polygon"
  | "pg_lsn"
  | "bit" // bit and varbit
  | "int2vector"
  | "oidvector"
  | "snapshot" // txid_snapshot, pg_snapshot
  | "tsvector"
  | "void"
  | "record"
  | "array"
  | "range"
  | "multirange";

export interface PgType {
  /** pg_type.typname */
  readonly name: string;
  /** array element type; range subtype; a multirange's range type */
  readonly elem?: number;
  /** decoder of the binary (format 1) form; absent: shown as hex */
  readonly binary?: Kind;
}

export const PG_TYPES: Readonly<Record<number, PgType>> = {
  16: { name: "bool", binary: "bool" },
  17: { name: "bytea", binary: "bytea" },
  18: { name: "char", binary: "char" },
  19: { name: "name", binary: "name" },
  20: { name: "int8", binary: "int8" },
  21: { name: "int2", binary: "int2" },
  22: { name: "int2vector", binary: "int2vector" },
  23: { name: "int4", binary: "int4" },
  24: { name: "regproc", binary: "oid" },
  25: { name: "text", binary: "text" },
  26: { name: "oid", binary: "oid" },
  27: { name: "tid", binary: "tid" },
  28: { name: "xid", binary: "oid" },
  29: { name: "cid", binary: "oid" },
  30: { name: "oidvector", binary: "oidvector" },
  32: { name: "pg_ddl_command" },
  71: { name: "pg_type", binary: "record" },
  75: { name: "pg_attribute", binary: "record" },
  81: { name: "pg_proc", binary: "record" },
  83: { name: "pg_class", binary: "record" },
  114: { name: "json", binary: "text" },
  142: { name: "xml", binary: "text" },
  143: { name: "_xml", elem: 142, binary: "array" },
  194: { name: "pg_node_tree", binary: "text" },
  199: { name: "_json", elem: 114, binary: "array" },
  210: { name: "_pg_type", elem: 71, binary: "array" },
  269: { name: "table_am_handler" },
  270: { name: "_pg_attribute", elem: 75, binary: "array" },
  271: { name: "_xid8", elem: 5069, binary: "array" },
  272: { name: "_pg_proc", elem: 81, binary: "array" },
  273: { name: "_pg_class", elem: 83, binary: "array" },
  325: { name: "index_am_handler" },
  600: { name: "point", binary: "point" },
  601: { name: "lseg", binary: "lseg" },
  602: { name: "path", binary: "path" },
  603: { name: "box", binary: "box" },
  604: { name: "polygon", binary: "polygon" },
  628: { name: "line", binary: "line" },
  629: { name: "_line", elem: 628, binary: "array" },
  650: { name: "cidr", binary: "cidr" },
  651: { name: "_cidr", elem: 650, binary: "array" },
  700: { name: "float4", binary: "float4" },
  701: { name: "float8", binary: "float8" },
  705: { name: "unknown", binary: "text" },
  718: { name: "circle", binary: "circle" },
  719: { name: "_circle", elem: 718, binary: "array" },
  774: { name: "macaddr8", binary: "macaddr8" },
  775: { name: "_macaddr8", elem: 774, binary: "array" },
  790: { name: "money", binary: "money" },
  791: { name: "_money", elem: 790, binary: "array" },
  829: { name: "macaddr", binary: "macaddr" },
  869: { name: "inet", binary: "inet" },
  1000: { name: "_bool", elem: 16, binary: "array" },
  1001: { name: "_bytea", elem: 17, binary: "array" },
  1002: { name: "_char", elem: 18, binary: "array" },
  1003: { name: "_name", elem: 19, binary: "array" },
  1005: { name: "_int2", elem: 21, binary: "array" },
  1006: { name: "_int2vector", elem: 22, binary: "array" },
  1007: { name: "_int4", elem: 23, binary: "array" },
  1008: { name: "_regproc", elem: 24, binary: "array" },
  1009: { name: "_text", elem: 25, binary: "array" },
  1010: { name: "_tid", elem: 27, binary: "array" },
  1011: { name: "_xid", elem: 28, binary: "array" },
  1012: { name: "_cid", elem: 29, binary: "array" },
  1013: { name: "_oidvector", elem: 30, binary: "array" },
  1014: { name: "_bpchar", elem: 1042, binary: "array" },
  1015: { name: "_varchar", elem: 1043, binary: "array" },
  1016: { name: "_int8", elem: 20, binary: "array" },
  1017: { name: "_point", elem: 600, binary: "array" },
  1018: { name: "_lseg", elem: 601, binary: "array" },
  1019: { name: "_path", elem: 602, binary: "array" },
  1020: { name: "_box", elem: 603, binary: "array" },
  1021: { name: "_float4", elem: 700, binary: "array" },
  1022: { name: "_float8", elem: 701, binary: "array" },
  1027: { name: "_polygon", elem: 604, binary: "array" },
  1028: { name: "_oid", elem: 26, binary: "array" },
  1033: { name: "aclitem" },
  1034: { name: "_aclitem", elem: 1033, binary: "array" },
  1040: { name: "_macaddr", elem: 829, binary: "array" },
  1041: { name: "_inet", elem: 869, binary: "array" },
  1042: { name: "bpchar", binary: "text" },
  1043: { name: "varchar", binary: "text" },
  1082: { name: "date", binary: "date" },
  1083: { name: "time", binary: "time" },
  1114: { name: "timestamp", binary: "timestamp" },
  1115: { name: "_timestamp", elem: 1114, binary: "array" },
  1182: { name: "_date", elem: 1082, binary: "array" },
  1183: { name: "_time", elem: 1083, binary: "array" },
  1184: { name: "timestamptz", binary: "timestamptz" },
  1185: { name: "_timestamptz", elem: 1184, binary: "array" },
  1186: { name: "interval", binary: "interval" },
  1187: { name: "_interval", elem: 1186, binary: "array" },
  1231: { name: "_numeric", elem: 1700, binary: "array" },
  1263: { name: "_cstring", elem: 2275, binary: "array" },
  1266: { name: "timetz", binary: "timetz" },
  1270: { name: "_timetz", elem: 1266, binary: "array" },
  1560: { name: "bit", binary: "bit" },
  1561: { name: "_bit", elem: 1560, binary: "array" },
  1562: { name: "varbit", binary: "bit" },
  1563: { name: "_varbit", elem: 1562, binary: "array" },
  1700: { name: "numeric", binary: "numeric" },
  1790: { name: "refcursor", binary: "text" },
  2201: { name: "_refcursor", elem: 1790, binary: "array" },
  2202: { name: "regprocedure", binary: "oid" },
  2203: { name: "regoper", binary: "oid" },
  2204: { name: "regoperator", binary: "oid" },
  2205: { name: "regclass", binary: "oid" },
  2206: { name: "regtype", binary: "oid" },
  2207: { name: "_regprocedure", elem: 2202, binary: "array" },
  2208: { name: "_regoper", elem: 2203, binary: "array" },
  2209: { name: "_regoperator", elem: 2204, binary: "array" },
  2210: { name: "_regclass", elem: 2205, binary: "array" },
  2211: { name: "_regtype", elem: 2206, binary: "array" },
  2249: { name: "record", binary: "record" },
  2275: { name: "cstring", binary: "text" },
  2276: { name: "any" },
  2277: { name: "anyarray", binary: "array" },
  2278: { name: "void", binary: "void" },
  2279: { name: "trigger" },
  2280: { name: "language_handler" },
  2281: { name: "internal" },
  2283: { name: "anyelement" },
  2287: { name: "_record", elem: 2249, binary: "array" },
  2776: { name: "anynonarray" },
  2949: { name: "_txid_snapshot", elem: 2970, binary: "array" },
  2950: { name: "uuid", binary: "uuid" },
  2951: { name: "_uuid", elem: 2950, binary: "array" },
  2970: { name: "txid_snapshot", binary: "snapshot" },
  3115: { name: "fdw_handler" },
  3220: { name: "pg_lsn", binary: "pg_lsn" },
  3221: { name: "_pg_lsn", elem: 3220, binary: "array" },
  3310: { name: "tsm_handler" },
  3361: { name: "pg_ndistinct" },
  3402: { name: "pg_dependencies" },
  3500: { name: "anyenum" },
  3614: { name: "tsvector", binary: "tsvector" },
  3615: { name: "tsquery" },
  3642: { name: "gtsvector" },
  3643: { name: "_tsvector", elem: 3614, binary: "array" },
  3644: { name: "_gtsvector", elem: 3642, binary: "array" },
  3645: { name: "_tsquery", elem: 3615, binary: "array" },
  3734: { name: "regconfig", binary: "oid" },
  3735: { name: "_regconfig", elem: 3734, binary: "array" },
  3769: { name: "regdictionary", binary: "oid" },
  3770: { name: "_regdictionary", elem: 3769, binary: "array" },
  3802: { name: "jsonb", binary: "jsonb" },
  3807: { name: "_jsonb", elem: 3802, binary: "array" },
  3831: { name: "anyrange" },
  3838: { name: "event_trigger" },
  3904: { name: "int4range", elem: 23, binary: "range" },
  3905: { name: "_int4range", elem: 3904, binary: "array" },
  3906: { name: "numrange", elem: 1700, binary: "range" },
  3907: { name: "_numrange", elem: 3906, binary: "array" },
  3908: { name: "tsrange", elem: 1114, binary: "range" },
  3909: { name: "_tsrange", elem: 3908, binary: "array" },
  3910: { name: "tstzrange", elem: 1184, binary: "range" },
  3911: { name: "_tstzrange", elem: 3910, binary: "array" },
  3912: { name: "daterange", elem: 1082, binary: "range" },
  3913: { name: "_daterange", elem: 3912, binary: "array" },
  3926: { name: "int8range", elem: 20, binary: "range" },
  3927: { name: "_int8range", elem: 3926, binary: "array" },
  4072: { name: "jsonpath", binary: "jsonpath" },
  4073: { name: "_jsonpath", elem: 4072, binary: "array" },
  4089: { name: "regnamespace", binary: "oid" },
  4090: { name: "_regnamespace", elem: 4089, binary: "array" },
  4096: { name: "regrole", binary: "oid" },
  4097: { name: "_regrole", elem: 4096, binary: "array" },
  4191: { name: "regcollation", binary: "oid" },
  4192: { name: "_regcollation", elem: 4191, binary: "array" },
  4451: { name: "int4multirange", elem: 3904, binary: "multirange" },
  4532: { name: "nummultirange", elem: 3906, binary: "multirange" },
  4533: { name: "tsmultirange", elem: 3908, binary: "multirange" },
  4534: { name: "tstzmultirange", elem: 3910, binary: "multirange" },
  4535: { name: "datemultirange", elem: 3912, binary: "multirange" },
  4536: { name: "int8multirange", elem: 3926, binary: "multirange" },
  4537: { name: "anymultirange" },
  4538: { name: "anycompatiblemultirange" },
  4600: { name: "pg_brin_bloom_summary" },
  4601: { name: "pg_brin_minmax_multi_summary" },
  5017: { name: "pg_mcv_list" },
  5038: { name: "pg_snapshot", binary: "snapshot" },
  5039: { name: "_pg_snapshot", elem: 5038, binary: "array" },
  5069: { name: "xid8", binary: "xid8" },
  5077: { name: "anycompatible" },
  5078: { name: "anycompatiblearray", binary: "array" },
  5079: { name: "anycompatiblenonarray" },
  5080: { name: "anycompatiblerange" },
  6150: { name: "_int4multirange", elem: 4451, binary: "array" },
  6151: { name: "_nummultirange", elem: 4532, binary: "array" },
  6152: { name: "_tsmultirange", elem: 4533, binary: "array" },
  6153: { name: "_tstzmultirange", elem: 4534, binary: "array" },
  6155: { name: "_datemultirange", elem: 4535, binary: "array" },
  6157: { name: "_int8multirange", elem: 4536, binary: "array" },
};

/**
 * A type's name as PostgreSQL writes it (format_type): an array as its element's name and "[]"
 * (`text[]`, not pg_type's `_text`); "oid N" for a type not built in.
 */
export function typeName(oid: number): string {
  const t = PG_TYPES[oid];
  if (!t) return `oid ${oid}`;
  if (t.binary === "array" && t.elem !== undefined && t.name.startsWith("_")) return `${typeName(t.elem)}[]`;
  return t.name;
}
