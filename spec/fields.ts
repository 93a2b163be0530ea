// Every field of the protocol, declared once. `builtin` names the field of Wireshark's built-in
// pgsql dissector with the same meaning and value, so that users' filters carry over.

import { charTable, field } from "./dsl.ts";

export const authTypes = {
  0: "Ok",
  2: "KerberosV5",
  3: "CleartextPassword",
  5: "MD5Password",
  7: "GSS",
  8: "GSSContinue",
  9: "SSPI",
  10: "SASL",
  11: "SASLContinue",
  12: "SASLFinal",
} as const;

export const formatCodes = { 0: "Text", 1: "Binary" } as const;

export const requestCodes = {
  80877102: "CancelRequest",
  80877103: "SSLRequest",
  80877104: "GSSENCRequest",
} as const;

/** ErrorResponse / NoticeResponse field codes. */
export const errorFieldCodes = charTable({
  S: "Severity",
  V: "Severity (non-localized)",
  C: "Code",
  M: "Message",
  D: "Detail",
  H: "Hint",
  P: "Position",
  p: "Internal position",
  q: "Internal query",
  W: "Where",
  s: "Schema name",
  t: "Table name",
  c: "Column name",
  d: "Data type name",
  n: "Constraint name",
  F: "File",
  L: "Line",
  R: "Routine",
});

export const F = {
  // --- framing, present on every message (the runtime adds them) ---
  msg: field("msg", "Message", "string", "The message's name as PostgreSQL's documentation writes it."),
  type: field("type", "Type", "string", "The one-byte message type (absent on untyped startup packets).", {
    builtin: "pgsql.type",
  }),
  length: field("length", "Length", "uint32", "The message length, counting itself but not the type byte.", {
    builtin: "pgsql.length",
  }),
  frontend: field("frontend", "Frontend", "bool", "True for messages from the frontend (client).", {
    builtin: "pgsql.frontend",
  }),
  undecoded: field("undecoded", "Undecoded data", "bytes", "Bytes skipped while looking for the next message."),

  // --- startup phase ---
  versionMajor: field("version_major", "Protocol major version", "uint16", "Protocol major version.", {
    builtin: "pgsql.version_major",
  }),
  versionMinor: field("version_minor", "Protocol minor version", "uint16", "Protocol minor version.", {
    builtin: "pgsql.version_minor",
  }),
  requestCode: field("request_code", "Request code", "uint32", "The code of an untyped request packet.", {
    values: requestCodes,
  }),
  startupCode: field("startup_code", "Startup code", "uint32", "The code of an unrecognised untyped packet."),
  parameterName: field("parameter_name", "Parameter name", "stringz", "The name of a run-time parameter.", {
    builtin: "pgsql.parameter_name",
  }),
  parameterValue: field("parameter_value", "Parameter value", "stringz", "The value of a run-time parameter.", {
    builtin: "pgsql.parameter_value",
  }),
  encryptionResponse: field(
    "encryption_response",
    "Encryption response",
    "uint8",
    "The server's one-byte answer to SSLRequest or GSSENCRequest.",
    { values: charTable({ S: "Accepted", G: "Accepted", N: "Refused" }) },
  ),
  pid: field("pid", "PID", "uint32", "The process ID of a backend.", { builtin: "pgsql.pid" }),
  key: field("key", "Key", "uint32", "The secret key of a backend (4 bytes, protocol 3.0).", {
    builtin: "pgsql.key",
  }),
  keyData: field("key_data", "Key data", "bytes", "The secret key of a backend (protocol 3.2: up to 256 bytes)."),
  versionSupported: field(
    "version_supported_minor",
    "Newest supported version",
    "uint32",
    "The newest protocol version the server supports (the wire carries the whole version code).",
    { builtin: "pgsql.version_supported_minor" },
  ),
  nonsupportedCount: field(
    "number_nonsupported_options",
    "Number of nonsupported options",
    "int32",
    "How many protocol options the server did not recognise.",
    { builtin: "pgsql.number_nonsupported_options" },
  ),
  nonsupportedOption: field("nonsupported_option", "Nonsupported option", "stringz", "An unrecognised option.", {
    builtin: "pgsql.nonsupported_option",
  }),

  // --- authentication ---
  authtype: field("authtype", "Authentication type", "uint32", "The type of authentication requested.", {
    values: authTypes,
    builtin: "pgsql.authtype",
  }),
  salt: field("salt", "Salt value", "bytes", "The salt to use while hashing the password with MD5.", {
    builtin: "pgsql.salt",
  }),
  password: field("password", "Password", "stringz", "A password: cleartext, or md5 followed by the hash.", {
    builtin: "pgsql.password",
  }),
  gssData: field("auth.gssapi_sspi.data", "GSSAPI or SSPI data", "bytes", "A GSSAPI or SSPI token.", {
    builtin: "pgsql.auth.gssapi_sspi.data",
  }),
  saslMech: field("auth.sasl.mech", "SASL authentication mechanism", "stringz", "A SASL mechanism name.", {
    builtin: "pgsql.auth.sasl.mech",
  }),
  saslDataLength: field(
    "auth.sasl.data.length",
    "SASL authentication data length",
    "int32",
    "Length of the initial client response (-1: none).",
    { builtin: "pgsql.auth.sasl.data.length" },
  ),
  saslData: field("auth.sasl.data", "SASL authentication data", "bytes", "SASL mechanism data.", {
    builtin: "pgsql.auth.sasl.data",
  }),
  scramCbind: field(
    "scram.gs2_cbind_flag",
    "GS2 channel-binding flag",
    "string",
    "n: none, y: client could but server did not offer, p=<type>: used.",
  ),
  scramAuthzid: field("scram.authzid", "Authorization identity", "string", "The GS2 authzid (a=...), usually empty."),
  scramUser: field(
    "scram.user",
    "User name",
    "string",
    "SCRAM n=: the user (PostgreSQL ignores it; the StartupMessage's counts).",
  ),
  scramNonce: field("scram.nonce", "Nonce", "string", "SCRAM r=: client nonce, then client+server nonce."),
  scramSalt: field("scram.salt", "Salt", "string", "SCRAM s=: the password's salt (base64)."),
  scramIterations: field("scram.iterations", "Iterations", "string", "SCRAM i=: PBKDF2 iteration count."),
  scramChannelBinding: field(
    "scram.channel_binding",
    "Channel binding",
    "string",
    "SCRAM c=: GS2 header and binding data (base64).",
  ),
  scramProof: field("scram.proof", "Client proof", "string", "SCRAM p=: the client's proof (base64)."),
  scramVerifier: field("scram.verifier", "Server signature", "string", "SCRAM v=: the server's signature (base64)."),
  scramError: field("scram.error", "Error", "string", "SCRAM e=: the server's error."),
  scramOther: field("scram.attribute", "Attribute", "string", "A SCRAM attribute of another name (k=v)."),
  authData: field("auth.data", "Authentication data", "bytes", "Data of an unknown authentication request."),

  // --- queries ---
  query: field("query", "Query", "stringz", "A query string.", { builtin: "pgsql.query" }),
  statement: field("statement", "Statement", "stringz", "The name of a prepared statement (empty: unnamed).", {
    builtin: "pgsql.statement",
  }),
  portal: field("portal", "Portal", "stringz", "The name of a portal (empty: unnamed).", {
    builtin: "pgsql.portal",
  }),
  target: field("target", "Target", "uint8", "What Describe or Close refers to.", {
    values: charTable({ S: "Prepared statement", P: "Portal" }),
  }),
  targetName: field("target_name", "Name", "stringz", "The name given to Describe or Close with an unknown target."),
  returns: field("returns", "Returns", "uint32", "The row limit of Execute (0: no limit).", {
    builtin: "pgsql.returns",
  }),
  paramTypeCount: field("param.type_count", "Parameter type count", "uint16", "How many parameter types Parse names."),
  paramFormatCount: field("param.format_count", "Parameter format count", "uint16", "How many format codes follow."),
  paramCount: field("param.count", "Parameter count", "uint16", "How many parameter values follow."),
  resultFormatCount: field("result.format_count", "Result format count", "uint16", "How many format codes follow."),
  format: field("format", "Format", "uint16", "A format code (COPY's overall format: 0 textual, 1 binary).", {
    values: formatCodes,
    builtin: "pgsql.format",
  }),
  tableOid: field("oid.table", "Table OID", "uint32", "The object identifier of a table.", {
    builtin: "pgsql.oid.table",
  }),
  typeOid: field("oid.type", "Type OID", "uint32", "The object identifier of a type.", {
    builtin: "pgsql.oid.type",
  }),
  oid: field("oid", "OID", "uint32", "An object identifier (the function of FunctionCall).", {
    builtin: "pgsql.oid",
  }),
  fieldCount: field("field.count", "Field count", "uint16", "The number of fields within a row.", {
    builtin: "pgsql.field.count",
  }),
  colName: field("col.name", "Column name", "stringz", "The name of a column.", { builtin: "pgsql.col.name" }),
  column: field(
    "column",
    "Column",
    "string",
    "In DataRow and pgoutput tuples: the name of the value's column (from the RowDescription or Relation), under its line.",
  ),
  colType: field(
    "col.type",
    "Column type",
    "string",
    "The name of a column's type as PostgreSQL writes it (from its OID; arrays as text[]).",
  ),
  colValue: field(
    "col.value",
    "Value",
    "string",
    "A column's value as PostgreSQL prints it: the column's line, labelled with its name and type (name (text): Ada), over its length and bytes (absent for NULL: the line is then the length, -1).",
  ),
  colIndex: field("col.index", "Column index", "uint32", "The attribute number of a column in its table.", {
    builtin: "pgsql.col.index",
  }),
  typemod: field("col.typemod", "Type modifier", "int32", "The type modifier for a column.", {
    builtin: "pgsql.col.typemod",
  }),
  valLength: field(
    "val.length",
    "Column length",
    "int32",
    "The length of a value in bytes (-1: NULL); in RowDescription the type's length (pg_type.typlen: -1 varlena, -2 C string).",
    {
      builtin: "pgsql.val.length",
    },
  ),
  valData: field("val.data", "Data", "bytes", "A value's bytes.", { builtin: "pgsql.val.data" }),
  tag: field("tag", "Tag", "stringz", "A command completion tag.", { builtin: "pgsql.tag" }),
  status: field("status", "Status", "uint8", "The transaction status of the backend.", {
    values: charTable({ I: "Idle", T: "In a transaction", E: "In a failed transaction" }),
    builtin: "pgsql.status",
  }),

  // --- COPY ---
  copydata: field("copydata", "Copy data", "bytes", "Data of the COPY stream.", { builtin: "pgsql.copydata" }),
  copyColumns: field("copy.columns", "Columns", "uint16", "The number of columns of the COPY data."),
  copyOption: field(
    "copy.option",
    "COPY option",
    "string",
    "An option of a COPY statement that streams over the connection (FROM STDIN, TO STDOUT), as name=value.",
  ),
  copyRow: field(
    "copy.row",
    "Row",
    "uint32",
    "The number of a row of COPY data within its COPY (from 1): the line its fields are under.",
  ),
  copyColumn: field(
    "copy.column",
    "Column",
    "string",
    "The column of a COPY field (under its line): from the COPY statement's column list or the data's header line.",
  ),
  copyValue: field(
    "copy.value",
    "Value",
    "string",
    "A COPY field's value, its line labelled with its column: text and CSV with their escapes resolved, binary as hex (the types are not in the data).",
  ),
  copyNull: field("copy.null", "NULL", "bool", "The COPY field is NULL (its line, labelled with its column)."),
  copyFlags: field(
    "copy.flags",
    "Flags",
    "uint32",
    "The flags of a binary COPY header (bit 16: each tuple has an OID; the other high bits are critical).",
  ),
  copyExtension: field(
    "copy.extension_length",
    "Header extension length",
    "uint32",
    "The length of a binary COPY header's extension area (0: none).",
  ),
  copyTrailer: field("copy.trailer", "Trailer", "bool", "The end of binary COPY data (a field count of -1)."),
  // --- streaming replication ---
  replConnection: field(
    "repl.connection",
    "Replication connection",
    "string",
    "A StartupMessage that opens a replication connection: physical (replication=true) or logical (replication=database).",
  ),
  replCommand: field(
    "repl.command",
    "Replication command",
    "string",
    "A Query that is a replication command (IDENTIFY_SYSTEM, START_REPLICATION, BASE_BACKUP, ...).",
  ),
  replType: field("repl.type", "Replication message", "uint8", "The replication message's own type byte.", {
    values: charTable({
      w: "XLogData",
      k: "Primary keepalive",
      r: "Standby status update",
      h: "Hot standby feedback",
    }),
  }),
  walStart: field("repl.wal_start", "WAL start", "uint64", "The WAL position of the data in this message."),
  walStartLsn: field("repl.wal_start_lsn", "WAL start LSN", "string", "The WAL start as PostgreSQL writes an LSN."),
  walEnd: field("repl.wal_end", "WAL end", "uint64", "The current end of WAL on the server."),
  walEndLsn: field("repl.wal_end_lsn", "WAL end LSN", "string", "The end of WAL as PostgreSQL writes an LSN."),
  replTime: field(
    "repl.time",
    "Send time",
    "int64",
    "The sender's clock when it sent the message: microseconds since 2000-01-01 00:00 UTC.",
  ),
  replTimeText: field(
    "repl.time_text",
    "Send time (text)",
    "string",
    "The send time as PostgreSQL prints a timestamptz.",
  ),
  walData: field("repl.wal_data", "WAL data", "bytes", "A section of the WAL stream."),
  replyRequested: field("repl.reply", "Reply requested", "uint8", "1: the sender asks for an immediate reply."),
  written: field("repl.written", "Written", "uint64", "The last WAL byte + 1 the standby has written to disk."),
  writtenLsn: field("repl.written_lsn", "Written LSN", "string", "Written, as PostgreSQL writes an LSN."),
  flushed: field("repl.flushed", "Flushed", "uint64", "The last WAL byte + 1 the standby has flushed to disk."),
  flushedLsn: field("repl.flushed_lsn", "Flushed LSN", "string", "Flushed, as PostgreSQL writes an LSN."),
  applied: field("repl.applied", "Applied", "uint64", "The last WAL byte + 1 the standby has applied."),
  appliedLsn: field("repl.applied_lsn", "Applied LSN", "string", "Applied, as PostgreSQL writes an LSN."),
  xmin: field("repl.xmin", "Xmin", "uint32", "The standby's current global xmin (0: none)."),
  xminEpoch: field("repl.xmin_epoch", "Xmin epoch", "uint32", "The epoch of that xmin."),
  catalogXmin: field("repl.catalog_xmin", "Catalog xmin", "uint32", "The lowest catalog_xmin of the standby's slots."),
  catalogXminEpoch: field("repl.catalog_xmin_epoch", "Catalog xmin epoch", "uint32", "The epoch of that catalog_xmin."),
  replOption: field(
    "repl.option",
    "Option",
    "string",
    "An option of a replication command, as name=value (START_REPLICATION's plugin options, BASE_BACKUP's, ...).",
  ),

  // --- logical replication: pgoutput inside XLogData ---
  pgoType: field("pgoutput.type", "pgoutput message", "uint8", "The type byte of a pgoutput message.", {
    values: charTable({
      B: "Begin",
      M: "Message",
      C: "Commit",
      O: "Origin",
      R: "Relation",
      Y: "Type",
      I: "Insert",
      U: "Update",
      D: "Delete",
      T: "Truncate",
      S: "Stream Start",
      E: "Stream Stop",
      c: "Stream Commit",
      A: "Stream Abort",
      b: "Begin Prepare",
      P: "Prepare",
      K: "Commit Prepared",
      r: "Rollback Prepared",
      p: "Stream Prepare",
    }),
  }),
  pgoXid: field("pgoutput.xid", "Transaction ID", "uint32", "The xid of the transaction."),
  pgoSubxid: field(
    "pgoutput.subxid",
    "Subtransaction ID",
    "uint32",
    "The xid of the subtransaction (the xid itself at top level).",
  ),
  pgoFlags: field("pgoutput.flags", "Flags", "uint8", "Flags (currently unused, 0)."),
  pgoFinalLsn: field("pgoutput.final_lsn", "Final LSN", "uint64", "The LSN of the transaction's commit record."),
  pgoFinalLsnText: field(
    "pgoutput.final_lsn_text",
    "Final LSN (text)",
    "string",
    "The final LSN as PostgreSQL writes it.",
  ),
  pgoCommitLsn: field("pgoutput.commit_lsn", "Commit LSN", "uint64", "The LSN of the commit."),
  pgoCommitLsnText: field(
    "pgoutput.commit_lsn_text",
    "Commit LSN (text)",
    "string",
    "The commit LSN as PostgreSQL writes it.",
  ),
  pgoEndLsn: field("pgoutput.end_lsn", "End LSN", "uint64", "The end LSN of the transaction (or its prepare)."),
  pgoEndLsnText: field("pgoutput.end_lsn_text", "End LSN (text)", "string", "The end LSN as PostgreSQL writes it."),
  pgoPrepareLsn: field("pgoutput.prepare_lsn", "Prepare LSN", "uint64", "The LSN of the prepare."),
  pgoPrepareLsnText: field(
    "pgoutput.prepare_lsn_text",
    "Prepare LSN (text)",
    "string",
    "The prepare LSN as PostgreSQL writes it.",
  ),
  pgoPrepareEndLsn: field(
    "pgoutput.prepare_end_lsn",
    "Prepare end LSN",
    "uint64",
    "The end LSN of the prepared transaction.",
  ),
  pgoPrepareEndLsnText: field(
    "pgoutput.prepare_end_lsn_text",
    "Prepare end LSN (text)",
    "string",
    "The prepare end LSN as PostgreSQL writes it.",
  ),
  pgoRollbackEndLsn: field(
    "pgoutput.rollback_end_lsn",
    "Rollback end LSN",
    "uint64",
    "The end LSN of the rollback of the prepared transaction.",
  ),
  pgoRollbackEndLsnText: field(
    "pgoutput.rollback_end_lsn_text",
    "Rollback end LSN (text)",
    "string",
    "The rollback end LSN as PostgreSQL writes it.",
  ),
  pgoAbortLsn: field(
    "pgoutput.abort_lsn",
    "Abort LSN",
    "uint64",
    "The LSN of the abort (protocol 4, parallel streaming).",
  ),
  pgoAbortLsnText: field(
    "pgoutput.abort_lsn_text",
    "Abort LSN (text)",
    "string",
    "The abort LSN as PostgreSQL writes it.",
  ),
  pgoMessageLsn: field("pgoutput.message_lsn", "Message LSN", "uint64", "The LSN of the logical decoding message."),
  pgoMessageLsnText: field(
    "pgoutput.message_lsn_text",
    "Message LSN (text)",
    "string",
    "The message LSN as PostgreSQL writes it.",
  ),
  pgoOriginLsn: field(
    "pgoutput.origin_lsn",
    "Origin commit LSN",
    "uint64",
    "The LSN of the commit on the origin server.",
  ),
  pgoOriginLsnText: field(
    "pgoutput.origin_lsn_text",
    "Origin commit LSN (text)",
    "string",
    "The origin's commit LSN as PostgreSQL writes it.",
  ),
  pgoCommitTime: field(
    "pgoutput.commit_time",
    "Commit time",
    "int64",
    "The commit time: microseconds since 2000-01-01 00:00 UTC.",
  ),
  pgoCommitTimeText: field(
    "pgoutput.commit_time_text",
    "Commit time (text)",
    "string",
    "The commit time as PostgreSQL prints a timestamptz.",
  ),
  pgoPrepareTime: field(
    "pgoutput.prepare_time",
    "Prepare time",
    "int64",
    "The prepare time: microseconds since 2000-01-01 00:00 UTC.",
  ),
  pgoPrepareTimeText: field(
    "pgoutput.prepare_time_text",
    "Prepare time (text)",
    "string",
    "The prepare time as PostgreSQL prints a timestamptz.",
  ),
  pgoRollbackTime: field(
    "pgoutput.rollback_time",
    "Rollback time",
    "int64",
    "The rollback time: microseconds since 2000-01-01 00:00 UTC.",
  ),
  pgoRollbackTimeText: field(
    "pgoutput.rollback_time_text",
    "Rollback time (text)",
    "string",
    "The rollback time as PostgreSQL prints a timestamptz.",
  ),
  pgoAbortTime: field(
    "pgoutput.abort_time",
    "Abort time",
    "int64",
    "The abort time: microseconds since 2000-01-01 00:00 UTC.",
  ),
  pgoAbortTimeText: field(
    "pgoutput.abort_time_text",
    "Abort time (text)",
    "string",
    "The abort time as PostgreSQL prints a timestamptz.",
  ),
  pgoGid: field("pgoutput.gid", "GID", "stringz", "The global identifier of the prepared transaction."),
  pgoMessageFlags: field("pgoutput.message_flags", "Message flags", "uint8", "1: the message is transactional.", {
    values: { 0: "Not transactional", 1: "Transactional" },
  }),
  pgoPrefix: field("pgoutput.prefix", "Prefix", "stringz", "The prefix of the logical decoding message."),
  pgoContentLength: field("pgoutput.content_length", "Content length", "int32", "The length of the message's content."),
  pgoContent: field("pgoutput.content", "Content", "bytes", "The content of the logical decoding message."),
  pgoOrigin: field("pgoutput.origin", "Origin", "stringz", "The name of the origin."),
  pgoRelid: field("pgoutput.relid", "Relation OID", "uint32", "The OID of a relation."),
  pgoNamespace: field("pgoutput.namespace", "Namespace", "stringz", "A schema name (empty: pg_catalog)."),
  pgoRelname: field("pgoutput.relname", "Relation name", "stringz", "The name of the relation."),
  pgoRelation: field(
    "pgoutput.relation",
    "Relation",
    "string",
    "The relation as schema.name, from the stream's Relation message.",
  ),
  pgoReplicaIdentity: field(
    "pgoutput.replica_identity",
    "Replica identity",
    "uint8",
    "What identifies the old row in updates and deletes.",
    {
      values: charTable({ d: "Default (primary key)", n: "Nothing", f: "Full (all columns)", i: "Index" }),
    },
  ),
  pgoColumnCount: field("pgoutput.column_count", "Column count", "uint16", "The number of columns."),
  pgoColumnFlags: field("pgoutput.column_flags", "Column flags", "uint8", "1: the column is part of the key.", {
    values: { 0: "Not part of the key", 1: "Part of the key" },
  }),
  pgoTypeName: field("pgoutput.type_name", "Type name", "stringz", "The name of a data type."),
  pgoTuple: field("pgoutput.tuple", "Tuple", "uint8", "Which tuple follows.", {
    values: charTable({ N: "New tuple", K: "Old key", O: "Old tuple" }),
  }),
  pgoTupleColumns: field("pgoutput.tuple_columns", "Tuple columns", "uint16", "The number of columns in the tuple."),
  pgoColumnKind: field(
    "pgoutput.column_kind",
    "Column data",
    "uint8",
    "What a tuple holds for a column; the column's line when it has no value (NULL, an unchanged TOASTed value).",
    {
      values: charTable({ n: "NULL", u: "Unchanged TOASTed value", t: "Text", b: "Binary" }),
    },
  ),
  pgoRelationCount: field("pgoutput.relation_count", "Relation count", "uint32", "The number of relations truncated."),
  pgoTruncateOptions: field(
    "pgoutput.truncate_options",
    "Truncate options",
    "uint8",
    "1: CASCADE, 2: RESTART IDENTITY (or both).",
    {
      values: { 0: "None", 1: "CASCADE", 2: "RESTART IDENTITY", 3: "CASCADE, RESTART IDENTITY" },
    },
  ),
  pgoFirstSegment: field(
    "pgoutput.first_segment",
    "First segment",
    "uint8",
    "1: the first block of the streamed transaction.",
    {
      values: { 0: "No", 1: "Yes" },
    },
  ),
  error: field("error", "Error", "stringz", "The reason given by CopyFail.", { builtin: "pgsql.error" }),

  // --- asynchronous ---
  condition: field("condition", "Condition", "stringz", "The channel of a notification.", {
    builtin: "pgsql.condition",
  }),
  text: field("text", "Text", "stringz", "The payload of a notification.", { builtin: "pgsql.text" }),

  // --- ErrorResponse / NoticeResponse ---
  errorField: field("error_field", "Field type", "uint8", "The code of an error or notice field.", {
    values: errorFieldCodes,
  }),
  severity: field("severity", "Severity", "stringz", "Message severity (possibly localized).", {
    builtin: "pgsql.severity",
  }),
  severityNonlocalized: field(
    "severity_nonlocalized",
    "Severity (non-localized)",
    "stringz",
    "Message severity, never localized.",
  ),
  code: field("code", "Code", "stringz", "SQLSTATE code.", { builtin: "pgsql.code" }),
  codeName: field("code_name", "Condition", "string", "The SQLSTATE's condition name (errcodes.txt)."),
  codeClass: field("code_class", "Class", "string", "The SQLSTATE's class."),
  message: field("message", "Message", "stringz", "Primary message.", { builtin: "pgsql.message" }),
  detail: field("detail", "Detail", "stringz", "Detailed message.", { builtin: "pgsql.detail" }),
  hint: field("hint", "Hint", "stringz", "A suggestion to resolve the problem.", { builtin: "pgsql.hint" }),
  position: field("position", "Position", "stringz", "Cursor position into the query string (1-based).", {
    builtin: "pgsql.position",
  }),
  internalPosition: field(
    "internal_position",
    "Position (internal)",
    "stringz",
    "Cursor position into the internal query.",
    { builtin: "pgsql.internal_position" },
  ),
  internalQuery: field("internal_query", "Query (internal)", "stringz", "An internally generated query.", {
    builtin: "pgsql.internal_query",
  }),
  where: field("where", "Context", "stringz", "The context in which the error occurred.", {
    builtin: "pgsql.where",
  }),
  schemaName: field("schema_name", "Schema", "stringz", "The schema the error concerns.", {
    builtin: "pgsql.schema_name",
  }),
  tableName: field("table_name", "Table", "stringz", "The table the error concerns.", {
    builtin: "pgsql.table_name",
  }),
  columnName: field("column_name", "Column", "stringz", "The column the error concerns.", {
    builtin: "pgsql.column_name",
  }),
  typeName: field("type_name", "Type", "stringz", "The data type the error concerns.", {
    builtin: "pgsql.type_name",
  }),
  constraintName: field("constraint_name", "Constraint", "stringz", "The constraint the error concerns.", {
    builtin: "pgsql.constraint_name",
  }),
  file: field("file", "File", "stringz", "The server source file that reported the error.", {
    builtin: "pgsql.file",
  }),
  line: field("line", "Line", "stringz", "The source line that reported the error.", { builtin: "pgsql.line" }),
  routine: field("routine", "Routine", "stringz", "The source routine that reported the error.", {
    builtin: "pgsql.routine",
  }),
  // --- generated: links between requests and responses, and connection context ---
  responseIn: field("response_in", "Response in", "framenum", "The frame of the response that completes this request."),
  responseTo: field("response_to", "Request in", "framenum", "The frame of the request this response completes."),
  time: field("time", "Response time", "reltime", "Time from the request to the response that completes it."),
  sql: field("sql", "SQL", "string", "The SQL of the prepared statement or portal the message refers to."),
  cancelBackend: field(
    "cancel.backend",
    "Backend key in",
    "framenum",
    "The BackendKeyData that gave this process ID and key.",
  ),
  cancelRequest: field(
    "cancel.request",
    "Cancels request in",
    "framenum",
    "The request the backend was running when the CancelRequest came.",
  ),
  paramType: field(
    "param.type",
    "Parameter type",
    "string",
    "A parameter's type as PostgreSQL writes it, under its line: in Bind from its statement's Parse or ParameterDescription.",
  ),
  paramValue: field(
    "param.value",
    "Parameter value",
    "string",
    "A Bind parameter's value as PostgreSQL prints it: the parameter's line, labelled $1 (int4): 42, over its length and bytes (absent for NULL: the line is then the length, -1).",
  ),
  rowCount: field("row_count", "Rows", "uint32", "DataRow messages the request returned."),
  tags: field(
    "tags",
    "Command tags",
    "string",
    "The CommandComplete tags of the request's statements before the response that completes it, joined by '; '.",
  ),
  tagRows: field(
    "tag_rows",
    "Rows in command tags",
    "uint32",
    "The sum of the row counts in those tags (INSERT, UPDATE, DELETE, MERGE, SELECT, COPY, FETCH, MOVE; at most 4294967295).",
  ),
  txStatus: field("tx_status", "Transaction status", "uint8", "The transaction status from the last ReadyForQuery.", {
    values: charTable({ I: "Idle", T: "In a transaction", E: "In a failed transaction" }),
  }),

  unknownField: field("unknown_field", "Unknown field", "stringz", "The value of an error field of unknown code."),
} as const;
