// Where pgwire's fields differ from Wireshark's built-in pgsql dissector (4.0) on purpose, and
// why. The differential test (test/tools/builtin.ts) skips exactly these; the README and docs/fields.md
// list them.

/**
 * Fields whose built-in values differ on purpose, with the reason; `in` limits an entry to some
 * messages. The README lists the same table.
 */
export const KNOWN_DIFFERENCES: ReadonlyArray<{ field: string; in?: readonly string[]; reason: string }> = [
  {
    field: "pgsql.type",
    reason:
      'the built-in puts its own prose name there ("Simple query", "Authentication request"), not the one-byte type its description promises; pgwire.type is the type byte, pgwire.msg the message name from the PostgreSQL documentation',
  },
  {
    field: "pgsql.text",
    in: ["ErrorResponse", "NoticeResponse"],
    reason:
      "the built-in shows the non-localized severity ('V') under pgsql.text, the field of notification payloads; pgwire gives it its own field, pgwire.severity_nonlocalized",
  },
  {
    field: "pgsql.format",
    in: ["CopyInResponse", "CopyOutResponse"],
    reason:
      "the built-in shows the per-column format codes of two columns fewer than the column count it shows (3 of 5); pgwire shows the overall format and one code per column",
  },
  {
    field: "pgsql.copydata",
    in: ["XLogData", "PrimaryKeepalive", "StandbyStatusUpdate", "HotStandbyFeedback"],
    reason:
      "in streaming replication (copy-both) the built-in shows the CopyData payload as bytes; pgwire decodes the replication message in it (pgwire.repl.*: LSNs, times, WAL data)",
  },
];

/** Messages the built-in does not show at all (4.0): the one-byte answers to the encryption requests. */
export const BUILTIN_MISSING: readonly string[] = ["SSLResponse", "GSSENCResponse"];
