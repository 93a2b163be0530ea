// What the plugin and the TS decoder say about the recorded sessions beyond the bytes: typed
// column values, request/response links, SQLSTATE names and the findings. Expected values come
// from the recording (captures/record.sh inserts the employees; PostgreSQL printed the values).

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CmpFrame, type CmpItem, luaSide, tsSide } from "../../src/compare.ts";
import { present } from "../helpers/tools.ts";
import { portsOf, ROOT } from "./helpers.ts";

// Without tshark every test checks the TS decoder alone.
const tshark = present("tshark", "the plugin's side of every test");
const cap = (name: string) => join(ROOT, "captures", name);

function items(frames: Map<number, CmpFrame>, msg?: string): Array<CmpItem & { frame: number }> {
  return [...frames.values()].flatMap((f) =>
    f.items
      .filter((i) => msg === undefined || i.fields.some((x) => x.name === "pgwire.msg" && x.show === msg))
      .map((i) => ({ ...i, frame: f.frame })),
  );
}

const values = (it: CmpItem, name: string) => it.fields.filter((f) => f.name === name).map((f) => f.show);
const experts = (frames: Map<number, CmpFrame>) =>
  [...frames.values()].flatMap((f) => f.items.flatMap((i) => i.fields.filter((x) => x.name.startsWith("expert:"))));

/** Both sides, so every assertion below holds for the plugin and for the TS decoder alike. */
async function sides(file: string, opts = {}): Promise<Array<[string, Map<number, CmpFrame>]>> {
  const out: Array<[string, Map<number, CmpFrame>]> = [["ts", await tsSide(file, opts)]];
  if (tshark) out.push(["lua", (await luaSide(file, opts)).frames]);
  return out;
}

/**
 * A spec-built session (test/tools/encoder.ts, test/tools/tcp-sessions.ts) from client port `port` to 5432: the
 * handshake and (unless startup is false) a StartupMessage sent; fe/be encode a client/server
 * message by name, cat joins messages into one segment, write saves the capture and gives its path.
 */
async function specSession(port: number, startup = true) {
  const { encodeByName } = await import("../tools/encoder.ts");
  const { TcpSessionBuilder, sessionsToPcapng } = await import("../tools/tcp-sessions.ts");
  const { writeFileSync, mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const fe = (n: string, v = {}) => encodeByName(n, "F", v);
  const be = (n: string, v = {}) => encodeByName(n, "B", v);
  const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
  const b = new TcpSessionBuilder({ client: { ip: "127.0.0.1", port }, server: { ip: "127.0.0.1", port: 5432 } });
  b.handshake();
  if (startup) b.send(true, fe("StartupMessage", { major: 3, minor: 0, "*": { user: "u" } }));
  const write = async (name: string) => {
    const file = join(mkdtempSync(join(tmpdir(), `pgwire-${name}-`)), `${name}.pcapng`);
    writeFileSync(file, sessionsToPcapng([b]));
    return file;
  };
  return { b, fe, be, cat, write };
}

describe("the seed session", () => {
  it("shows the employees' rows by column name with their values, and the query's response", async () => {
    for (const [side, frames] of await sides(cap("seed-md5.pcapng"))) {
      const rows = items(frames, "DataRow");
      expect(rows.length, side).toBe(5);
      expect(values(rows[0], "pgwire.column"), side).toEqual(["id", "name", "title", "salary", "hired"]);
      expect(values(rows[0], "pgwire.col.type"), side).toEqual(["int4", "text", "text", "numeric", "date"]);
      expect(values(rows[0], "pgwire.col.value"), side).toEqual([
        "1",
        "Alice Johnson",
        "Engineer",
        "85000.00",
        "2019-03-15",
      ]);
      expect(values(rows[4], "pgwire.col.value"), side).toEqual([
        "5",
        "Eve Davis",
        "Director",
        "120000.00",
        "2015-11-30",
      ]);
      const query = items(frames, "Query")[0];
      const ready = items(frames, "ReadyForQuery").find(
        (r) => values(r, "pgwire.response_to")[0] === String(query.frame),
      );
      expect(ready, side).toBeDefined();
      expect(values(ready as CmpItem, "pgwire.row_count"), side).toEqual(["5"]);
      expect(Number(values(ready as CmpItem, "pgwire.time")[0]), side).toBeGreaterThan(0);
      expect(values(query, "pgwire.response_in"), side).toEqual([String((ready as { frame: number }).frame)]);
      const md5 = experts(frames).filter((e) => e.name === "expert:pgwire.md5_hash");
      expect(md5.length, side).toBe(1);
    }
  });

  it("names the wrong password's SQLSTATE and flags the leaked source location", async () => {
    for (const [side, frames] of await sides(cap("seed-wrong-password.pcapng"))) {
      const err = items(frames, "ErrorResponse")[0];
      expect(values(err, "pgwire.code"), side).toEqual(["28P01"]);
      expect(values(err, "pgwire.code_name"), side).toEqual(["invalid_password"]);
      expect(values(err, "pgwire.code_class"), side).toEqual(["Invalid Authorization Specification"]);
      const names = experts(frames).map((e) => e.name);
      expect(names, side).toContain("expert:pgwire.error");
      expect(names, side).toContain("expert:pgwire.source_leak");
      const leak = experts(frames).find((e) => e.name === "expert:pgwire.source_leak");
      expect(leak?.show, side).toMatch(/^Exposes the server's source: auth\.c:\d+ in auth_failed$/);
      // The login request (StartupMessage) is answered by the error.
      expect(values(err, "pgwire.response_to"), side).toEqual([String(items(frames, "StartupMessage")[0].frame)]);
    }
  });

  it("flags a refused SSLRequest and a login without a password", async () => {
    for (const [side, frames] of await sides(cap("ssl-refused.pcapng"))) {
      expect(
        experts(frames).map((e) => e.name),
        side,
      ).toContain("expert:pgwire.tls_refused");
    }
    for (const [side, frames] of await sides(cap("pgbench-extended.pcapng"))) {
      expect(experts(frames).filter((e) => e.name === "expert:pgwire.trust_login").length, side).toBe(3);
      expect(experts(frames).filter((e) => e.name === "expert:pgwire.md5_hash").length, side).toBe(0);
    }
  });
});

describe("an SSLRequest", () => {
  it("stops waiting for the one-byte answer to an SSLRequest once the server sends a typed message", async () => {
    // A server that answers an SSLRequest with a ReadyForQuery has not answered it with one byte:
    // its next 'N' starts a NoticeResponse, not the answer "no TLS".
    const { b, fe, be, write } = await specSession(47010, false);
    b.send(true, fe("SSLRequest", { request_code: 80877103 }));
    b.send(false, be("ReadyForQuery", { status: 73 }));
    b.send(false, be("NoticeResponse", { "*": { S: "NOTICE", M: "hello" } }));
    for (const [side, frames] of await sides(await write("ssl-typed"))) {
      const names = items(frames).map((i) => values(i, "pgwire.msg")[0]);
      expect(names, side).toEqual(["SSLRequest", "ReadyForQuery", "NoticeResponse"]);
    }
  });
});

describe("notices", () => {
  it("flags a WARNING notice as a warning and the others as notes", async () => {
    // NoticeResponse shares ErrorResponse's layout and reader; its findings read the
    // non-localized severity (V), which ErrorResponse's do not (the plugin once left it unbound).
    const { b, be, write } = await specSession(47011);
    b.send(false, be("AuthenticationOk", { authtype: 0 }));
    b.send(false, be("NoticeResponse", { "*": { S: "WARNUNG", V: "WARNING", C: "01000", M: "w1" } }));
    b.send(false, be("NoticeResponse", { "*": { S: "HINWEIS", V: "NOTICE", C: "00000", M: "n1" } }));
    b.send(false, be("ReadyForQuery", { status: 73 }));
    for (const [side, frames] of await sides(await write("notices"))) {
      const found = experts(frames)
        .filter((e) => e.name === "expert:pgwire.warning" || e.name === "expert:pgwire.notice")
        .map((e) => [e.name, e.show]);
      expect(found, side).toEqual([
        ["expert:pgwire.warning", "WARNUNG 01000: w1"],
        ["expert:pgwire.notice", "HINWEIS 00000: n1"],
      ]);
    }
  });
});

describe("a frame of two calls that start with the same bytes", () => {
  it("keeps each call's Info and links in the second pass", async () => {
    // The first segment ends inside a DataRow; the second completes it (the frame's first call,
    // reassembled) and carries an identical DataRow (the second call: the same first 16 bytes),
    // then the command's end. The plugin keys a frame's calls by their first bytes for later
    // passes (tshark -2, the GUI): two equal keys once made the second call set the Info column
    // again and lose the links of its messages.
    const { b, fe, be, cat, write } = await specSession(47012);
    b.send(false, cat(be("AuthenticationOk", { authtype: 0 }), be("ReadyForQuery", { status: 73 })));
    b.send(true, fe("Query", { query: "SELECT s FROM t" }));
    const row = be("DataRow", { $n: [{ "val.data": "the same twenty bytes" }] });
    const rd = be("RowDescription", {
      $n: [{ cn: "s", "oid.table": 0, "col.index": 0, ct: 25, "val.length": -1, "col.typemod": -1, cf: 0 }],
    });
    const head = cat(rd, row.subarray(0, 9));
    const tail = cat(
      row.subarray(9),
      row,
      be("CommandComplete", { tag: "SELECT 2" }),
      be("ReadyForQuery", { status: 73 }),
    );
    b.sendSegments(false, [head, tail]);
    for (const [side, frames] of await sides(await write("twin-calls"))) {
      const last = [...frames.values()].at(-1);
      expect(last?.info, side).toBe("< DataRow, DataRow, CommandComplete: SELECT 2, ReadyForQuery I");
      const query = items(frames, "Query")[0];
      const ready = items(frames, "ReadyForQuery").at(-1);
      expect(ready && values(ready, "pgwire.response_to"), side).toEqual([String(query.frame)]);
    }
  });
});

describe("a capture cut by a snap length", () => {
  it("follows a message that runs past a cut segment into the next ones, then goes on", async () => {
    // A 3,011-byte DataRow in three segments; packets longer than 400 bytes are cut to 400 (the
    // first two). The first segment's DataRow is cut short; the second segment is all its rest,
    // the third starts with its last 61 bytes, then the command's end. Both decoders know from
    // the row's length and the segments' lengths on the wire where it ends: no resync. tshark
    // with Wireshark's default (no reordering of out-of-order segments), as users run it.
    const { b, fe, be, cat } = await specSession(47013);
    const { PcapngWriter } = await import("../../src/capture/pcap.ts");
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    b.send(false, cat(be("AuthenticationOk", { authtype: 0 }), be("ReadyForQuery", { status: 73 })));
    b.send(true, fe("Query", { query: "SELECT repeat('x', 3000)" }));
    const row = be("DataRow", { $n: [{ "val.data": "x".repeat(3000) }] });
    expect(row.length).toBe(3011);
    const rd = be("RowDescription", {
      $n: [{ cn: "repeat", "oid.table": 0, "col.index": 0, ct: 25, "val.length": -1, "col.typemod": -1, cf: 0 }],
    });
    const end = cat(be("CommandComplete", { tag: "SELECT 1" }), be("ReadyForQuery", { status: 73 }));
    b.sendSegments(false, [cat(rd, row.subarray(0, 1500)), row.subarray(1500, 2950), cat(row.subarray(2950), end)]);
    const w = new PcapngWriter(1);
    for (const p of b.packets()) w.addPacket(p.time, p.data.subarray(0, 400), p.data.length);
    const file = join(mkdtempSync(join(tmpdir(), "pgwire-snap-")), "snap.pcapng");
    writeFileSync(file, w.toBuffer());
    const opts = { prefs: ["tcp.reassemble_out_of_order:FALSE"] };
    for (const [side, frames] of await sides(file, opts)) {
      const all = items(frames);
      const labels = all.map((i) => i.label);
      expect(labels.slice(-6), side).toEqual([
        "PostgreSQL: RowDescription",
        "PostgreSQL: DataRow",
        "PostgreSQL: rest of a message cut short",
        "PostgreSQL: rest of a message cut short",
        "PostgreSQL: CommandComplete",
        "PostgreSQL: ReadyForQuery",
      ]);
      const notes = (i: CmpItem) => i.fields.filter((f) => f.name === "expert:pgwire.truncated").map((f) => f.show);
      const [dr, r1, r2] = all.slice(-5, -2);
      expect(notes(dr)[0], side).toMatch(/^Message cut short in the capture \(\d+ of 3011 bytes\)$/);
      expect(notes(r1), side).toEqual(["The rest of a message cut short in the capture (1450 bytes)"]);
      expect(notes(r2), side).toEqual(["The rest of a message cut short in the capture (61 bytes)"]);
      expect([...frames.values()].at(-1)?.info, side).toBe(
        "< Rest of a cut message, CommandComplete: SELECT 1, ReadyForQuery I",
      );
      expect(
        experts(frames).filter((e) => e.name === "expert:pgwire.resync"),
        side,
      ).toEqual([]);
    }
    if (tshark) expect((await luaSide(file, opts)).problems).toEqual([]);
  });
});

describe("binary column values", () => {
  it("read as PostgreSQL printed the same values in text format", async () => {
    // captures/values/binary.pcapng runs one query of 227 literals twice: text, then binary results.
    for (const [side, frames] of await sides(cap("values/binary.pcapng"), { ports: portsOf("binary.pcapng") })) {
      const rows = items(frames, "DataRow").filter((r) => values(r, "pgwire.field.count")[0] === "227");
      expect(rows.length, side).toBe(2);
      // Per column: its value, or undefined for NULL. A column's line is its pgwire.col.value (for
      // NULL its length), its pgwire.column under it.
      const byName = (r: CmpItem) => {
        const out = new Map<string, string | undefined>();
        let value: string | undefined;
        for (const f of r.fields) {
          if (f.name === "pgwire.col.value") value = f.show;
          else if (f.name === "pgwire.column") {
            out.set(f.show, value);
            value = undefined;
          }
        }
        return out;
      };
      const [text, binary] = rows.map(byName);
      // The second row really is binary: the same values, other bytes (int4 1 is 00:00:00:01).
      expect(values(rows[1], "pgwire.val.data"), side).not.toEqual(values(rows[0], "pgwire.val.data"));
      // reg* types carry names in text but only OIDs in binary (a catalog lookup PostgreSQL does).
      const comparable = [...text.keys()].filter((n) => !/^reg/.test(n));
      expect(comparable.length).toBeGreaterThan(200);
      for (const n of comparable) expect(binary.get(n), `${side} ${n}`).toBe(text.get(n));
    }
  });
});

describe("prepared statements and portals", () => {
  it("show the SQL that Bind, Describe and Execute refer to, named statements included", async () => {
    for (const [side, frames] of await sides(cap("pgbench-prepared.pcapng"))) {
      const binds = items(frames, "Bind");
      const p1 = binds.filter((b) => values(b, "pgwire.statement")[0] === "P_1");
      expect(p1.length, side).toBe(40);
      for (const b of p1) {
        expect(values(b, "pgwire.sql"), side).toEqual([
          "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;",
        ]);
      }
      // Execute of the unnamed portal shows the SQL its Bind gave it.
      const exec = items(frames, "Execute");
      expect(
        exec.every((e) => values(e, "pgwire.sql").length === 1),
        side,
      ).toBe(true);
    }
    for (const [side, frames] of await sides(cap("node-extended.pcapng"))) {
      const byName = items(frames, "Bind").filter((b) => values(b, "pgwire.statement")[0] === "emp_by_id");
      expect(byName.length, side).toBe(2);
      const parse = items(frames, "Parse").find((p) => values(p, "pgwire.statement")[0] === "emp_by_id");
      expect(
        byName.map((b) => values(b, "pgwire.sql")[0]),
        side,
      ).toEqual(Array(2).fill(values(parse as CmpItem, "pgwire.query")[0]));
    }
  });
});

describe("a cancel", () => {
  it("links the CancelRequest to the backend's key and to the query it interrupts", async () => {
    for (const [side, frames] of await sides(cap("psql-cancel.pcapng"))) {
      const cancel = items(frames, "CancelRequest")[0];
      const key = items(frames, "BackendKeyData").find(
        (k) => values(k, "pgwire.pid")[0] === values(cancel, "pgwire.pid")[0],
      );
      expect(key, side).toBeDefined();
      expect(values(cancel, "pgwire.cancel.backend"), side).toEqual([String((key as { frame: number }).frame)]);
      const query = items(frames, "Query").find((q) => /pg_sleep/.test(values(q, "pgwire.query")[0]));
      expect(values(cancel, "pgwire.cancel.request"), side).toEqual([String((query as { frame: number }).frame)]);
      // The query ends with 57014 query_canceled.
      const err = items(frames, "ErrorResponse")[0];
      expect(values(err, "pgwire.code_name"), side).toEqual(["query_canceled"]);
    }
  });
});

describe("binary results from a real client and a pipeline", () => {
  it("reads node pg's binary results as PostgreSQL prints the literals", async () => {
    for (const [side, frames] of await sides(cap("node-binary.pcapng"))) {
      const row = items(frames, "DataRow").find((r) => values(r, "pgwire.field.count")[0] === "11") as CmpItem;
      expect(values(row, "pgwire.column"), side).toEqual([
        "i2",
        "i8",
        "f8",
        "num",
        "b",
        "d",
        "tstz",
        "u",
        "bytes",
        "arr",
        "nothing",
      ]);
      // The literals of captures/clients/binary.mjs, in PostgreSQL's text form (UTC session).
      expect(values(row, "pgwire.col.value"), side).toEqual([
        "42",
        "9007199254740993",
        "-1.5",
        "12345.678",
        "t",
        "2024-02-29",
        "2024-02-29 12:34:56.789+00",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "\\xdeadbeef",
        '{a,"b c",NULL}',
      ]);
      const employees = items(frames, "DataRow").filter((r) => values(r, "pgwire.field.count")[0] === "5");
      expect(values(employees[0], "pgwire.col.value").slice(0, 2), side).toEqual(["1", "Alice Johnson"]);
    }
  });

  it("matches pipelined requests to their responses in order", async () => {
    for (const [side, frames] of await sides(cap("pgbench-pipeline.pcapng"))) {
      const executes = items(frames, "Execute");
      const completes = items(frames, "CommandComplete");
      expect(executes.length, side).toBe(20);
      // Four Executes in one frame before any answer; each CommandComplete answers the next one.
      expect(new Set(executes.slice(0, 4).map((e) => e.frame)).size, side).toBe(1);
      const answered = completes.map((c) => values(c, "pgwire.response_to")[0]);
      expect(answered, side).toEqual(executes.map((e) => String(e.frame)));
      const rows = completes.map((c) => values(c, "pgwire.row_count")[0] ?? "0");
      expect(rows.slice(0, 4), side).toEqual(["1", "0", "1", "1"]);
    }
  });
});

describe("Bind parameters", () => {
  it("show each parameter's value (node pg sends text, untyped), NULL without one", async () => {
    for (const [side, frames] of await sides(cap("node-extended.pcapng"))) {
      const binds = items(frames, "Bind");
      const byStmt = (re: RegExp) => binds.find((b) => re.test(values(b, "pgwire.sql")[0] ?? "")) as CmpItem;
      expect(values(byStmt(/salary > \$1 AND hired < \$2/), "pgwire.param.value"), side).toEqual([
        "60000",
        "2022-01-01",
      ]);
      const emp = binds.filter((b) => values(b, "pgwire.statement")[0] === "emp_by_id");
      expect(
        emp.map((b) => values(b, "pgwire.param.value")),
        side,
      ).toEqual([["1"], ["3"]]);
      const nul = byStmt(/IS NULL AS is_null/);
      expect(values(nul, "pgwire.val.length"), side).toEqual(["-1"]);
      expect(values(nul, "pgwire.param.value"), side).toEqual([]);
    }
  });
});

describe("result formats", () => {
  it("decode DataRows in the formats Bind asked for when the statement was described before", async () => {
    // Parse and Describe of a statement (its RowDescription says text), then Bind asking for
    // binary results and Execute: the DataRow carries int4 7 as 00 00 00 07.
    const { b, fe, be, cat, write } = await specSession(47000);
    b.send(false, cat(be("AuthenticationOk", { authtype: 0 }), be("ReadyForQuery", { status: "I" })));
    b.send(
      true,
      cat(
        fe("Parse", { stmt: "s", query: "SELECT 7::int4 AS n" }),
        fe("Describe", { target: "S", name: "s" }),
        fe("Sync"),
      ),
    );
    const rd = be("RowDescription", {
      $n: [{ cn: "n", "oid.table": 0, "col.index": 0, ct: 23, "val.length": 4, "col.typemod": -1, cf: 0 }],
    });
    b.send(
      false,
      cat(be("ParseComplete"), be("ParameterDescription", { $n: [] }), rd, be("ReadyForQuery", { status: "I" })),
    );
    b.send(
      true,
      cat(fe("Bind", { portal: "", stmt: "s", $nr: [{ rf: 1 }] }), fe("Execute", { portal: "", rows: 0 }), fe("Sync")),
    );
    const row = be("DataRow", { $n: [{ "val.data": Uint8Array.from([0, 0, 0, 7]) }] });
    b.send(
      false,
      cat(be("BindComplete"), row, be("CommandComplete", { tag: "SELECT 1" }), be("ReadyForQuery", { status: "I" })),
    );
    const file = await write("formats");
    for (const [side, frames] of await sides(file)) {
      const dr = items(frames, "DataRow")[0];
      expect(values(dr, "pgwire.col.value"), side).toEqual(["7"]);
    }
    if (tshark) {
      const one = await luaSide(file, { twoPass: false });
      expect(values(items(one.frames, "DataRow")[0], "pgwire.col.value")).toEqual(["7"]);
    }
  });
});

describe("protocol details from raw node pg messages (node-protocol.pcapng)", () => {
  // captures/clients/protocol.mjs: the values below are what its console printed when recorded
  // and what PostgreSQL computed (40 + 2, upper('binary text'), 7 / 2.0 as numeric(10, 2)).
  const file = cap("node-protocol.pcapng");
  const byFirst = (frames: Map<number, CmpFrame>, msg: string, field: string, show: string) =>
    items(frames, msg).find((i) => values(i, field)[0] === show);

  it("lists a Query's command tags and sums their rows on its ReadyForQuery", async () => {
    for (const [side, frames] of await sides(file)) {
      const q = items(frames, "Query")[0];
      const ready = items(frames, "ReadyForQuery").find((r) => values(r, "pgwire.response_to")[0] === String(q.frame));
      expect(ready, side).toBeDefined();
      const r = ready as CmpItem;
      expect(values(r, "pgwire.tags"), side).toEqual(["CREATE TABLE; INSERT 0 3; UPDATE 2; SELECT 3"]);
      expect(values(r, "pgwire.tag_rows"), side).toEqual(["8"]);
      expect(values(r, "pgwire.row_count"), side).toEqual(["3"]);
    }
  });

  it("types a Bind's parameters by the statement's ParameterDescription when Parse named none", async () => {
    for (const [side, frames] of await sides(file)) {
      const pd = items(frames, "ParameterDescription")[0];
      expect(values(pd, "pgwire.param.type"), side).toEqual(["int4", "int8", "text"]);
      const bind = byFirst(frames, "Bind", "pgwire.statement", "typed") as CmpItem;
      expect(values(bind, "pgwire.param.type"), side).toEqual(["int4", "int8", "text"]);
      expect(values(bind, "pgwire.param.value"), side).toEqual(["40", "2", "binary text"]);
      const row = items(frames, "DataRow").find((d) => values(d, "pgwire.column")[0] === "sum") as CmpItem;
      expect(values(row, "pgwire.col.value"), side).toEqual(["42", "BINARY TEXT"]);
    }
  });

  it("decodes each portal's rows in its own result formats when both were bound before either ran", async () => {
    const check = (side: string, frames: Map<number, CmpFrame>) => {
      const rows = items(frames, "DataRow").filter((d) => values(d, "pgwire.column")[0] === "n");
      expect(
        rows.map((r) => values(r, "pgwire.col.value")),
        side,
      ).toEqual([
        ["7", "3.50"],
        ["8", "4.00"],
      ]);
      // Portal "a" asked for binary results: int4 7 is 00 00 00 07 on the wire.
      expect(values(rows[0], "pgwire.val.data")[0], side).toBe("00:00:00:07");
    };
    for (const [side, frames] of await sides(file)) check(side, frames);
    if (tshark) check("lua one pass", (await luaSide(file, { twoPass: false })).frames);
  });

  it("flags the Query sent in the middle of COPY FROM STDIN, and nothing in the COPY the server dropped", async () => {
    for (const [side, frames] of await sides(file)) {
      const out = [...frames.values()].flatMap((f) =>
        f.items
          .filter((i) => i.fields.some((x) => x.name === "expert:pgwire.unexpected_message"))
          .map((i) => [f.frame, values(i, "pgwire.query")[0]]),
      );
      expect(out.length, side).toBe(1);
      expect(out[0][1], side).toBe("SELECT 1");
      const e = experts(frames).find((x) => x.name === "expert:pgwire.unexpected_message");
      expect(e?.show, side).toBe("Query is not allowed while the client sends COPY data");
      // The server's answer: protocol_violation, then FATAL.
      const codes = items(frames, "ErrorResponse").map((i) => values(i, "pgwire.code")[0]);
      expect(codes, side).toEqual(["22P02", "08P01", "08P01"]);
      // After the bad row the client still sends CopyData and CopyDone: dropped, allowed. (Two more
      // CopyDone: the w/k rows' COPY FROM STDIN and the second COPY TO STDOUT.)
      expect(items(frames, "CopyDone").length, side).toBe(4);
    }
  });

  it("raises no out-of-phase finding on any other real capture", async () => {
    const { readdirSync } = await import("node:fs");
    const others = readdirSync(join(ROOT, "captures")).filter(
      (f) => f.endsWith(".pcapng") && f !== "node-protocol.pcapng",
    );
    expect(others.length).toBeGreaterThan(10);
    for (const f of others) {
      const frames = await tsSide(cap(f), { ports: portsOf(f) });
      expect(
        experts(frames).filter((e) => e.name === "expert:pgwire.unexpected_message"),
        f,
      ).toEqual([]);
    }
  });
});

describe("streaming replication (pg-receivewal.pcapng) and COPY that looks like it", () => {
  const LSN = /^[0-9A-F]+\/[0-9A-F]+$/;

  it("recognises a replication connection from its StartupMessage, and only that one", async () => {
    for (const [side, frames] of await sides(cap("pg-receivewal.pcapng"))) {
      // pg_receivewal connects with database=replication replication=true.
      expect(values(items(frames, "StartupMessage")[0], "pgwire.repl.connection"), side).toEqual(["physical"]);
      // Its commands: SHOW (named on a replication connection only), IDENTIFY_SYSTEM three times,
      // START_REPLICATION.
      const commands = items(frames, "Query").map((q) => [
        values(q, "pgwire.query")[0].split(" ")[0],
        values(q, "pgwire.repl.command")[0],
      ]);
      expect(commands, side).toEqual([
        ["SHOW", "SHOW"],
        ["IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM"],
        ["SHOW", "SHOW"],
        ["IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM"],
        ["IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM"],
        ["START_REPLICATION", "START_REPLICATION"],
      ]);
    }
    for (const [side, frames] of await sides(cap("seed-md5.pcapng"))) {
      expect(values(items(frames, "StartupMessage")[0], "pgwire.repl.connection"), side).toEqual([]);
      expect(values(items(frames, "Query")[0], "pgwire.repl.command"), side).toEqual([]);
    }
    // SHOW on an ordinary connection is SQL.
    for (const [side, frames] of await sides(cap("synthetic/truncated.pcapng"))) {
      const show = items(frames, "Query").find((q) => values(q, "pgwire.query")[0] === "SHOW ALL") as CmpItem;
      expect(show, side).toBeDefined();
      expect(values(show, "pgwire.repl.command"), side).toEqual([]);
    }
  });

  it("decodes the copy-both stream: XLogData, keepalives and status updates with LSNs and times", async () => {
    for (const [side, frames] of await sides(cap("pg-receivewal.pcapng"))) {
      const start = items(frames, "Query")
        .map((q) => values(q, "pgwire.query")[0])
        .find((q) => q.startsWith("START_REPLICATION")) as string;
      // START_REPLICATION 0/3000000 TIMELINE 1: the first XLogData starts where the client asked.
      const asked = /^START_REPLICATION ([0-9A-F]+\/[0-9A-F]+) TIMELINE 1$/.exec(start)?.[1];
      expect(asked, side).toMatch(LSN);
      const wal = items(frames, "XLogData");
      expect(wal.length, side).toBeGreaterThan(0);
      expect(values(wal[0], "pgwire.repl.wal_start_lsn"), side).toEqual([asked]);
      // The LSN text is the Int64 written as PostgreSQL does: high and low 32 bits in hex.
      for (const w of wal) {
        const n = BigInt(values(w, "pgwire.repl.wal_start")[0]);
        const text = `${(n >> 32n).toString(16).toUpperCase()}/${(n & 0xffffffffn).toString(16).toUpperCase()}`;
        expect(values(w, "pgwire.repl.wal_start_lsn"), side).toEqual([text]);
        expect(values(w, "pgwire.repl.time_text")[0], side).toMatch(/^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00$/);
      }
      const keepalives = items(frames, "PrimaryKeepalive");
      expect(keepalives.length, side).toBeGreaterThan(0);
      // wal_sender_timeout = 2s: the server asks for a reply after 1 s idle.
      expect(
        keepalives.every((k) => values(k, "pgwire.repl.reply")[0] === "1"),
        side,
      ).toBe(true);
      const updates = items(frames, "StandbyStatusUpdate");
      expect(updates.length, side).toBeGreaterThan(2);
      for (const u of updates) expect(values(u, "pgwire.repl.written_lsn")[0], side).toMatch(LSN);
      // No plain CopyData left inside copy-both, and nothing out of its phase.
      expect(items(frames, "CopyData").length, side).toBe(0);
      expect(
        experts(frames).filter((e) => e.name === "expert:pgwire.unexpected_message"),
        side,
      ).toEqual([]);
    }
  });

  it("decodes a real standby's hot standby feedback (pg-standby.pcapng)", async () => {
    for (const [side, frames] of await sides(cap("pg-standby.pcapng"))) {
      expect(values(items(frames, "StartupMessage")[0], "pgwire.repl.connection"), side).toEqual(["physical"]);
      const feedback = items(frames, "HotStandbyFeedback");
      expect(feedback.length, side).toBeGreaterThan(1);
      for (const f of feedback) {
        // The standby's xmin (a transaction ID of this young cluster), epoch 0, no catalog xmin.
        expect(Number(values(f, "pgwire.repl.xmin")[0]), side).toBeGreaterThan(3);
        expect(values(f, "pgwire.repl.xmin_epoch"), side).toEqual(["0"]);
        expect(values(f, "pgwire.repl.catalog_xmin"), side).toEqual(["0"]);
        expect(values(f, "pgwire.repl.time_text")[0], side).toMatch(/^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00$/);
      }
      expect(items(frames, "XLogData").length, side).toBeGreaterThan(0);
      expect(items(frames, "StandbyStatusUpdate").length, side).toBeGreaterThan(2);
      expect(items(frames, "CopyData").length, side).toBe(0);
    }
  });

  it("leaves ordinary COPY data that starts with w, k, r or h as CopyData", async () => {
    for (const [side, frames] of await sides(cap("node-protocol.pcapng"))) {
      const data = items(frames, "CopyData").map((i) =>
        Buffer.from(values(i, "pgwire.copydata")[0].replace(/:/g, ""), "hex").toString(),
      );
      for (const start of ["walrus", "kiwi", "rhubarb", "hops"]) {
        expect(
          data.some((d) => d.startsWith(start)),
          `${side} ${start}`,
        ).toBe(true);
      }
      for (const name of ["XLogData", "PrimaryKeepalive", "StandbyStatusUpdate", "HotStandbyFeedback"]) {
        expect(items(frames, name).length, `${side} ${name}`).toBe(0);
      }
    }
  });
});

describe("logical replication with pgoutput (node-pgoutput.pcapng)", () => {
  /** The XLogData of a side with the pgoutput message each carries, in order, per connection. */
  const carried = (frames: Map<number, CmpFrame>) =>
    items(frames, "XLogData").map((x) => ({
      ...x,
      kind: values(x, "pgwire.pgoutput.type")[0],
      rel: values(x, "pgwire.pgoutput.relation")[0],
    }));
  const code = (c: string) => String(c.charCodeAt(0));

  it("names the options START_REPLICATION asks pgoutput for", async () => {
    for (const [side, frames] of await sides(cap("node-pgoutput.pcapng"))) {
      const starts = items(frames, "Query").filter((q) => values(q, "pgwire.repl.command")[0] === "START_REPLICATION");
      expect(
        starts.map((q) => values(q, "pgwire.repl.option")),
        side,
      ).toEqual([
        ["proto_version=1", 'publication_names="pub_demo"', "messages=true", "binary=true"],
        ["proto_version=2", 'publication_names="pub_demo"', "streaming=on"],
        ["proto_version=3", 'publication_names="pub_demo"', "two_phase=on", "streaming=on"],
      ]);
      const slots = items(frames, "Query").filter(
        (q) => values(q, "pgwire.repl.command")[0] === "CREATE_REPLICATION_SLOT",
      );
      expect(
        slots.map((q) => values(q, "pgwire.repl.option")),
        side,
      ).toEqual([[], [], ["two_phase"]]);
    }
  });

  it("decodes version 1: the relation's column names on every tuple, NULLs, TOAST, old keys and rows", async () => {
    for (const [side, frames] of await sides(cap("node-pgoutput.pcapng"))) {
      const wal = carried(frames);
      expect(
        wal.every((w) => w.kind !== undefined),
        side,
      ).toBe(true);
      const rel = wal.find((w) => w.kind === code("R")) as CmpItem;
      expect(values(rel, "pgwire.col.name"), side).toEqual(["id", "name", "note", "feel", "big", "n"]);
      expect(values(rel, "pgwire.pgoutput.relname"), side).toEqual(["lr_items"]);
      // The first INSERT's three rows (binary values, typed by the Relation's column types).
      const inserts = wal.filter((w) => w.kind === code("I") && w.rel === "public.lr_items").slice(0, 3);
      for (const ins of inserts) {
        expect(values(ins, "pgwire.column"), side).toEqual(["id", "name", "note", "feel", "big", "n"]);
      }
      // Built-in types by their OID, the enum by the stream's Type message.
      expect(values(inserts[0], "pgwire.col.type"), side).toEqual(["int4", "text", "text", "mood", "text", "numeric"]);
      expect(values(inserts[0], "pgwire.col.value")[0], side).toBe("1");
      expect(values(inserts[0], "pgwire.col.value")[1], side).toBe("one");
      expect(values(inserts[0], "pgwire.col.value").at(-1), side).toBe("1.5");
      // (2, 'two', 'second', NULL, NULL, NULL): three NULL columns, no value for them.
      expect(values(inserts[1], "pgwire.pgoutput.column_kind"), side).toEqual(["b", "b", "b", "n", "n", "n"].map(code));
      expect(values(inserts[1], "pgwire.col.value"), side).toEqual(["2", "two", "second"]);
      // (3, 'three', NULL, 'sad', NULL, -7); the enum mood is not a built-in type: no text for it.
      const third = values(inserts[2], "pgwire.col.value");
      expect([third[0], third[1], third.at(-1)], side).toEqual(["3", "three", "-7"]);
      const updates = wal.filter((w) => w.kind === code("U"));
      // UPDATE name: new tuple only, the TOASTed big column unchanged ('u').
      expect(values(updates[0], "pgwire.pgoutput.tuple"), side).toEqual([code("N")]);
      expect(values(updates[0], "pgwire.pgoutput.column_kind")[4], side).toBe(code("u"));
      expect(values(updates[0], "pgwire.col.value").slice(0, 2), side).toEqual(["1", "ONE"]);
      // UPDATE of the key 2 -> 20: the old key, then the new row.
      expect(values(updates[1], "pgwire.pgoutput.tuple"), side).toEqual([code("K"), code("N")]);
      expect(values(updates[1], "pgwire.col.value")[0], side).toBe("2");
      expect(values(updates[1], "pgwire.col.value")[1], side).toBe("20");
      // REPLICA IDENTITY FULL: the whole old row.
      expect(updates[2].rel, side).toBe("public.lr_full");
      expect(values(updates[2], "pgwire.pgoutput.tuple"), side).toEqual([code("O"), code("N")]);
      expect(values(updates[2], "pgwire.col.value"), side).toEqual(["1", "a", "1", "b"]);
      const deletes = wal.filter((w) => w.kind === code("D"));
      expect(values(deletes[0], "pgwire.pgoutput.tuple"), side).toEqual([code("K")]);
      expect(values(deletes[0], "pgwire.col.value"), side).toEqual(["3"]);
      expect(values(deletes[1], "pgwire.pgoutput.tuple"), side).toEqual([code("O")]);
      const messages = wal.filter((w) => w.kind === code("M"));
      expect(
        messages.map((m) => [values(m, "pgwire.pgoutput.prefix")[0], values(m, "pgwire.pgoutput.message_flags")[0]]),
        side,
      ).toEqual([
        ["pgwire", "1"],
        ["pgwire", "0"],
      ]);
      const truncate = wal.find((w) => w.kind === code("T")) as CmpItem;
      expect(values(truncate, "pgwire.pgoutput.truncate_options"), side).toEqual(["2"]);
      expect(values(truncate, "pgwire.pgoutput.relation"), side).toEqual(["public.lr_full"]);
    }
  });

  it("gives the messages of a streamed transaction its xid, and decodes its end and two-phase commits", async () => {
    for (const [side, frames] of await sides(cap("node-pgoutput.pcapng"))) {
      const wal = carried(frames);
      let open: string | undefined;
      let streamed = 0;
      for (const w of wal) {
        const xid = values(w, "pgwire.pgoutput.xid")[0];
        if (w.kind === code("S")) open = xid;
        else if (w.kind === code("E")) open = undefined;
        else if ([code("I"), code("R"), code("U"), code("D"), code("T")].includes(w.kind)) {
          // Inside Stream Start ... Stop a change carries the xid of the (sub)transaction that made
          // it: the streamed transaction's or a later one of its subtransactions; outside, none.
          expect(xid === undefined, `${side} frame ${w.frame}`).toBe(open === undefined);
          if (open !== undefined) expect(Number(xid), `${side} frame ${w.frame}`).toBeGreaterThanOrEqual(Number(open));
          if (open !== undefined) streamed++;
        }
      }
      expect(streamed, side).toBeGreaterThan(100);
      const aborts = wal.filter((w) => w.kind === code("A"));
      // The rolled-back transaction aborts as a whole, the savepoint as a subtransaction.
      expect(
        aborts.map((a) => values(a, "pgwire.pgoutput.xid")[0] === values(a, "pgwire.pgoutput.subxid")[0]),
        side,
      ).toEqual([true, false]);
      expect(wal.filter((w) => w.kind === code("c")).length, side).toBe(2);
      const gids = (c: string) => wal.filter((w) => w.kind === code(c)).map((w) => values(w, "pgwire.pgoutput.gid")[0]);
      expect(gids("b"), side).toEqual(["pgwire_commit", "pgwire_rollback"]);
      expect(gids("P"), side).toEqual(["pgwire_commit", "pgwire_rollback"]);
      expect(gids("K"), side).toEqual(["pgwire_commit", "pgwire_big"]);
      expect(gids("r"), side).toEqual(["pgwire_rollback"]);
      expect(gids("p"), side).toEqual(["pgwire_big"]);
      // Nothing in the three streams is left undecoded or out of place: the only experts are the
      // findings of the logins (MD5, trust) and of the notices of DROP ... IF EXISTS.
      const findings = ["md5_hash", "trust_login", "notice", "source_leak"].map((e) => `expert:pgwire.${e}`);
      expect(
        experts(frames).filter((e) => !findings.includes(e.name)),
        side,
      ).toEqual([]);
    }
  });

  it("decodes pgoutput only in a stream that asked for it", async () => {
    for (const f of ["pg-receivewal.pcapng", "node-protocol.pcapng", "psql-scram.pcapng"]) {
      for (const [side, frames] of await sides(cap(f))) {
        const found = [...frames.values()].flatMap((fr) =>
          fr.items.flatMap((i) => i.fields.filter((x) => x.name.startsWith("pgwire.pgoutput."))),
        );
        expect(found, `${side} ${f}`).toEqual([]);
      }
    }
  });
});

describe("COPY data split into rows (node-copy.pcapng, synthetic/copy-edges.pcapng)", () => {
  /** Every row of the COPY data of a side, in order: [row number, [column, value or null][]]. */
  function rows(frames: Map<number, CmpFrame>): Array<[number, Array<[string | undefined, string | null]>]> {
    const out: Array<[number, Array<[string | undefined, string | null]>]> = [];
    for (const it of items(frames, "CopyData")) {
      for (const f of it.fields) {
        if (f.name === "pgwire.copy.row") out.push([Number(f.show), []]);
        else if (f.name === "pgwire.copy.value" || f.name === "pgwire.copy.null") {
          // A field's line; a field without a row of its own continues the last row (binary rows
          // across CopyData).
          out.at(-1)?.[1].push([undefined, f.name === "pgwire.copy.null" ? null : f.show]);
        } else if (f.name === "pgwire.copy.column") {
          // Its column's name, under the field's line.
          const last = out.at(-1)?.[1].at(-1);
          if (last) last[0] = f.show;
        }
      }
    }
    return out;
  }

  it("decodes CSV, text and binary COPY in both directions, rows cut anywhere", async () => {
    for (const [side, frames] of await sides(cap("node-copy.pcapng"))) {
      const all = rows(frames);
      const csvRow = (id: string, name: string, note: string | null, amount: string | null) => [
        ["id", id],
        ["name", name],
        ["note", note],
        ["amount", amount],
      ];
      // 1. CSV in (7-byte chunks), names from the statement; 2. CSV out, names from the header line.
      for (const start of [0, 3]) {
        expect(
          all.slice(start, start + 3).map(([, f]) => f),
          `${side} CSV from ${start}`,
        ).toEqual([
          csvRow("1", "semi;colon", "two\nlines", "1.50"),
          csvRow("2", 'say "hi"', "", null),
          csvRow("3", "plain", null, start === 0 ? "-2" : "-2.00"),
        ]);
        expect(
          all.slice(start, start + 3).map(([n]) => n),
          side,
        ).toEqual([1, 2, 3]);
      }
      // 3. Text in with escapes, a row across three CopyData.
      expect(
        all.slice(6, 9).map(([, f]) => f),
        side,
      ).toEqual([
        [
          ["id", "4"],
          ["name", "tab\there"],
          ["note", "back\\slash"],
        ],
        [
          ["id", "5"],
          ["name", "new\nline"],
          ["note", null],
        ],
        [
          ["id", "6"],
          ["name", "octal A hex B"],
          ["note", null],
        ],
      ]);
      // 4. Text out of two columns: six rows.
      expect(
        all.slice(9, 15).map(([n, f]) => [n, f.length]),
        side,
      ).toEqual([1, 2, 3, 4, 5, 6].map((n) => [n, 2]));
      // 5. Binary out and 6. the same bytes in 5-byte chunks: the same three rows, values as bytea.
      const binary = [
        [
          [undefined, "\\x00000001"],
          [undefined, "\\x73656d693b636f6c6f6e"],
          [undefined, "\\x000200000000000200011388"],
        ],
        [
          [undefined, "\\x00000002"],
          [undefined, "\\x7361792022686922"],
          [undefined, null],
        ],
        [
          [undefined, "\\x00000003"],
          [undefined, "\\x706c61696e"],
          [undefined, "\\x00010000400000020002"],
        ],
      ];
      expect(
        all.slice(15, 18).map(([, f]) => f),
        side,
      ).toEqual(binary);
      expect(
        all.slice(18, 21).map(([, f]) => f),
        side,
      ).toEqual(binary);
      // 7. The old keyword syntax.
      expect(
        all.slice(21, 23).map(([, f]) => f),
        side,
      ).toEqual([
        [
          ["id", "7"],
          ["note", "a|b"],
        ],
        [
          ["id", "8"],
          ["note", null],
        ],
      ]);
      const options = items(frames, "Query").map((q) => values(q, "pgwire.copy.option"));
      expect(
        options.filter((o) => o.length > 0),
        side,
      ).toEqual([
        ["format=csv", "header=true", "delimiter=;", "null=NULL"],
        ["format=csv", "header", "force_quote=*"],
        ["format=binary"],
        ["format=binary"],
        ["format=csv", "delimiter=|", "null=-"],
      ]);
      // The binary header (no flags, no extension) and trailer, out and in.
      const copyFields = (name: string) => items(frames, "CopyData").flatMap((i) => values(i, name));
      expect(copyFields("pgwire.copy.flags"), side).toEqual(["0", "0"]);
      expect(copyFields("pgwire.copy.extension_length"), side).toEqual(["0", "0"]);
      expect(copyFields("pgwire.copy.trailer").length, side).toBe(2);
      // 8. Rows that start with pgoutput's and replication's type bytes: COPY rows, in and out.
      const names = ["Begin", "Insert", "Update", "wal", "keep"];
      expect(
        all.slice(23, 28).map(([, f]) => f),
        side,
      ).toEqual(
        names.map((n, i) => [
          ["name", n],
          ["id", String(10 + i)],
        ]),
      );
      expect(
        all.slice(28).map(([, f]) => f),
        side,
      ).toEqual(names.map((n) => [[undefined, n]]));
      expect(
        experts(frames).filter((e) => e.name.startsWith("expert:pgwire.copy")),
        side,
      ).toEqual([]);
    }
  });

  it("skips an over-long row, follows several COPYs of one query and the extended protocol, flags broken binary data, leaves BASE_BACKUP's data alone", async () => {
    for (const [side, frames] of await sides(cap("synthetic/copy-edges.pcapng"))) {
      const all = rows(frames);
      expect(all, side).toEqual([
        // The 140000-byte row is counted, not split; the row after it is.
        [
          2,
          [
            ["id", "2"],
            ["body", "short"],
          ],
        ],
        [
          1,
          [
            ["a", "1"],
            ["b", "one"],
          ],
        ],
        [
          1,
          [
            [undefined, "1"],
            [undefined, "one, two"],
          ],
        ],
        [
          1,
          [
            ["a", "2"],
            ["b", null],
          ],
        ],
        [
          2,
          [
            ["a", "3"],
            ["b", ""],
          ],
        ],
        [1, [[undefined, "\\x07"]]],
        [1, [[undefined, null]]],
      ]);
      expect(
        experts(frames)
          .filter((e) => e.name.startsWith("expert:pgwire.copy"))
          .map((e) => e.show),
        side,
      ).toEqual([
        "A COPY row longer than 65536 bytes: not split into fields",
        "Binary COPY data without the PGCOPY signature",
        "Binary COPY field with length -5",
        "2 bytes after the binary COPY trailer",
      ]);
    }
  });

  it("leaves COPY data that starts with B, I, U, w or k as COPY data (node-copy.pcapng)", async () => {
    for (const [side, frames] of await sides(cap("node-copy.pcapng"))) {
      const data = items(frames, "CopyData").map((i) =>
        Buffer.from(values(i, "pgwire.copydata")[0].replace(/:/g, ""), "hex").toString(),
      );
      for (const start of ["Begin", "Insert", "Update", "wal", "keep"]) {
        // The client's CopyData holds all five rows; the server sends one per row.
        expect(data.filter((d) => d.startsWith(start)).length, `${side} ${start}`).toBe(start === "Begin" ? 2 : 1);
      }
      for (const name of ["XLogData", "PrimaryKeepalive", "StandbyStatusUpdate", "HotStandbyFeedback"]) {
        expect(items(frames, name).length, `${side} ${name}`).toBe(0);
      }
      const carried = [...frames.values()].flatMap((fr) =>
        fr.items.flatMap((i) => i.fields.filter((x) => x.name.startsWith("pgwire.pgoutput."))),
      );
      expect(carried, side).toEqual([]);
    }
  });

  it("does not split replication streams into COPY rows", async () => {
    for (const f of ["pg-receivewal.pcapng", "node-pgoutput.pcapng"]) {
      for (const [side, frames] of await sides(cap(f))) {
        expect(rows(frames), `${side} ${f}`).toEqual([]);
      }
    }
  });
});

describe("text as sent", () => {
  it("keeps a byte order mark at the start of a string, long or short, as the plugin shows it", async () => {
    // U+FEFF (EF BB BF) is text like any other to PostgreSQL: a query or a parameter name that
    // starts with one is shown with it (TextDecoder drops a leading one unless told not to).
    const { b, fe, be, cat, write } = await specSession(47001);
    b.send(
      false,
      cat(
        be("AuthenticationOk", { authtype: 0 }),
        be("ParameterStatus", { name: "\uFEFFab", value: "x" }),
        be("ReadyForQuery", { status: "I" }),
      ),
    );
    b.send(true, fe("Query", { query: "\uFEFFSELECT 1" }));
    b.send(false, cat(be("CommandComplete", { tag: "SELECT 0" }), be("ReadyForQuery", { status: "I" })));
    const file = await write("bom");
    const all = await sides(file);
    expect(all.length).toBe(tshark ? 2 : 1);
    for (const [side, frames] of all) {
      expect(values(items(frames, "Query")[0], "pgwire.query"), side).toEqual(["\uFEFFSELECT 1"]);
      expect(values(items(frames, "ParameterStatus")[0], "pgwire.parameter_name"), side).toEqual(["\uFEFFab"]);
    }
  });
});
