// The TS decoder on hand-written bytes: expected values come from the protocol documentation,
// not from the decoder.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONTEXT_FIELDS,
  ConnectionDecoder,
  type DecodedMessage,
  FINDING_EXPERTS,
  setsPasswordLiteral,
} from "../../src/decoder/index.ts";
import { be16, be32, concat, typed, untyped } from "./helpers.ts";

function fieldsOf(m: DecodedMessage): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const f of m.fields) {
    out[f.name] ??= [];
    out[f.name].push(f.value);
  }
  return out;
}

const startup = untyped([0, 3, 0, 0], "user", "app", "database", "company", [0]);
const md5req = typed("R", be32(5), [0x6c, 0x3f, 0xfa, 0xd1]);
const password = typed("p", "md567ad5eab48abba71b42be25ae39789c8");
const authOk = typed("R", be32(0));
const query = typed("Q", "SELECT * FROM employees");
const rowDesc = typed(
  "T",
  be16(2),
  "id",
  be32(16390),
  be16(1),
  be32(23),
  be16(4),
  be32(0xffffffff),
  be16(0),
  "name",
  be32(16390),
  be16(2),
  be32(25),
  be16(0xffff),
  be32(0xffffffff),
  be16(0),
);
const dataRow = typed("D", be16(2), be32(1), [0x31], be32(0xffffffff));
const complete = typed("C", "SELECT 1");
const ready = typed("Z", [0x49]);
const error = typed(
  "E",
  [0x53],
  "FATAL",
  [0x43],
  "28P01",
  [0x4d],
  "password authentication failed",
  [0x46],
  "auth.c",
  [0x4c],
  "334",
  [0x52],
  "auth_failed",
  [0x5a],
  "zzz",
  [0],
);

/** Feeds a conversation (direction, bytes) in order, each chunk one frame. */
function run(chunks: Array<[boolean, Uint8Array]>): DecodedMessage[] {
  const d = new ConnectionDecoder();
  const out: DecodedMessage[] = [];
  chunks.forEach(([fe, b], i) => {
    out.push(...d.feed(fe, b, i + 1));
  });
  return out;
}

const session: Array<[boolean, Uint8Array]> = [
  [true, startup],
  [false, md5req],
  [true, password],
  [false, concat(authOk, ready)],
  [true, query],
  [false, concat(rowDesc, dataRow, complete, ready)],
  [false, error],
  [true, typed("X")],
];

describe("TS decoder", () => {
  it("decodes the seed session's messages with their documented fields", () => {
    const ms = run(session);
    expect(ms.map((m) => m.name)).toEqual([
      "StartupMessage",
      "AuthenticationMD5Password",
      "PasswordMessage",
      "AuthenticationOk",
      "ReadyForQuery",
      "Query",
      "RowDescription",
      "DataRow",
      "CommandComplete",
      "ReadyForQuery",
      "ErrorResponse",
      "Terminate",
    ]);
    const [st, md5, pw, , , q, rd, dr, cc, rq, er] = ms.map(fieldsOf);
    expect(st["pgwire.version_major"]).toEqual([3]);
    expect(st["pgwire.parameter_name"]).toEqual(["user", "database"]);
    expect(st["pgwire.parameter_value"]).toEqual(["app", "company"]);
    expect(st["pgwire.type"]).toBeUndefined();
    expect(md5["pgwire.authtype"]).toEqual([5]);
    expect(md5["pgwire.salt"]).toEqual([Uint8Array.from([0x6c, 0x3f, 0xfa, 0xd1])]);
    expect(pw["pgwire.password"]).toEqual(["md567ad5eab48abba71b42be25ae39789c8"]);
    expect(q["pgwire.query"]).toEqual(["SELECT * FROM employees"]);
    expect(q["pgwire.length"]).toEqual([28]);
    expect(rd["pgwire.col.name"]).toEqual(["id", "name"]);
    expect(rd["pgwire.oid.type"]).toEqual([23, 25]);
    expect(rd["pgwire.col.index"]).toEqual([1, 2]);
    expect(rd["pgwire.val.length"]).toEqual([4, -1]);
    expect(rd["pgwire.col.typemod"]).toEqual([-1, -1]);
    expect(dr["pgwire.val.length"]).toEqual([1, -1]);
    expect(dr["pgwire.val.data"]).toEqual([Uint8Array.from([0x31])]);
    expect(cc["pgwire.tag"]).toEqual(["SELECT 1"]);
    expect(rq["pgwire.status"]).toEqual([73]);
    expect(er["pgwire.severity"]).toEqual(["FATAL"]);
    expect(er["pgwire.code"]).toEqual(["28P01"]);
    expect(er["pgwire.file"]).toEqual(["auth.c"]);
    expect(er["pgwire.line"]).toEqual(["334"]);
    expect(er["pgwire.routine"]).toEqual(["auth_failed"]);
    expect(er["pgwire.unknown_field"]).toEqual(["zzz"]);
    expect(ms[10].info).toBe("ErrorResponse FATAL 28P01: password authentication failed");
    expect(ms[5].info).toBe("Query: SELECT * FROM employees");
  });

  it("gives field offsets from the message start", () => {
    const q = run([
      [true, startup],
      [false, typed("R", be32(0))],
      [true, query],
    ])[2];
    expect(q.fields.map((f) => [f.name, f.offset, f.length])).toEqual([
      ["pgwire.msg", 0, 0],
      ["pgwire.type", 0, 1],
      ["pgwire.length", 1, 4],
      ["pgwire.frontend", 0, 0],
      ["pgwire.query", 5, 24],
    ]);
  });

  it("tells the four 'p' messages apart by the authentication request before them", () => {
    const sasl = typed("R", be32(10), "SCRAM-SHA-256", [0]);
    const init = typed("p", "SCRAM-SHA-256", be32(5), [0x6e, 0x2c, 0x2c, 0x6e, 0x3d]);
    const cont = typed("R", be32(11), [0x72, 0x3d]);
    const resp = typed("p", [0x63, 0x3d]);
    const gss = typed("R", be32(7));
    const tok = typed("p", [1, 2, 3]);
    const ms = run([
      [true, startup],
      [false, sasl],
      [true, init],
      [false, cont],
      [true, resp],
      [false, gss],
      [true, tok],
    ]);
    expect(ms.map((m) => m.name)).toEqual([
      "StartupMessage",
      "AuthenticationSASL",
      "SASLInitialResponse",
      "AuthenticationSASLContinue",
      "SASLResponse",
      "AuthenticationGSS",
      "GSSResponse",
    ]);
    expect(fieldsOf(ms[2])["pgwire.auth.sasl.data.length"]).toEqual([5]);
  });

  it("decodes SSLRequest, the refusal and the startup that follows", () => {
    const ms = run([
      [true, untyped(be32(80877103))],
      [false, Uint8Array.from([0x4e])],
      [true, startup],
      [false, authOk],
    ]);
    expect(ms.map((m) => m.name)).toEqual(["SSLRequest", "SSLResponse", "StartupMessage", "AuthenticationOk"]);
  });

  it("stops decoding after the server accepts TLS", () => {
    const d = new ConnectionDecoder();
    d.feed(true, untyped(be32(80877103)), 1);
    expect(d.feed(false, Uint8Array.from([0x53]), 2).map((m) => m.name)).toEqual(["SSLResponse"]);
    expect(d.feed(true, Uint8Array.from([0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5]), 3)).toEqual([]);
    expect(d.encrypted).toBe(true);
  });

  it("reads the 3.2 cancel key and backend key as bytes, the 3.0 ones as numbers", () => {
    const key32 = Array.from({ length: 32 }, (_, i) => i);
    const ms = run([
      [true, untyped([0, 3, 0, 2], "user", "u", [0])],
      [false, typed("K", be32(77), key32)],
    ]);
    expect(fieldsOf(ms[0])["pgwire.version_minor"]).toEqual([2]);
    expect(fieldsOf(ms[1])["pgwire.key_data"]).toEqual([Uint8Array.from(key32)]);
    const c = run([[true, untyped(be32(80877102), be32(77), be32(1234))]])[0];
    expect(fieldsOf(c)["pgwire.key"]).toEqual([1234]);
  });

  it("gives the same messages whatever the split of the bytes", () => {
    const shape = (m: DecodedMessage) => [
      m.name,
      m.fields
        .filter((f) => !CONTEXT_FIELDS.has(f.name) && !FINDING_EXPERTS.has(f.name))
        .map((f) => [f.name, String(f.value), f.offset]),
    ];
    const whole = run(session).map(shape);
    const client = concat(...session.filter(([fe]) => fe).map(([, b]) => b));
    const server = concat(...session.filter(([fe]) => !fe).map(([, b]) => b));
    for (const [fe, bytes] of [
      [true, client],
      [false, server],
    ] as const) {
      const expected = whole.filter((_, i) => run(session)[i].frontend === fe);
      for (let cut = 1; cut < bytes.length; cut++) {
        const d = new ConnectionDecoder();
        if (!fe) d.feed(true, startup, 0); // the server side needs nothing from the client but the startup
        const got = [...d.feed(fe, bytes.subarray(0, cut), 1), ...d.feed(fe, bytes.subarray(cut), 2)];
        const shaped = got.map(shape);
        expect(shaped, `cut at ${cut}`).toEqual(fe ? expected : expected);
      }
    }
  });

  it("raises experts and resynchronises after a bad length", () => {
    const bad = Uint8Array.from([0x51, 0, 0, 0, 2]);
    const ms = run([
      [true, startup],
      [true, concat(bad, query, typed("S"))],
    ]);
    expect(ms.map((m) => m.name)).toEqual(["StartupMessage", null, "Query", "Sync"]);
    expect(ms[1].fields.map((f) => f.name)).toEqual([
      "expert:pgwire.bad_length",
      "pgwire.undecoded",
      "expert:pgwire.resync",
    ]);
    expect(ms[1].fields[0].value).toBe("Invalid message length 2");
  });

  it("flags a string without its NUL and a count past the message end", () => {
    const noNul = Uint8Array.from([0x51, 0, 0, 0, 7, 0x61, 0x62, 0x63]);
    const rd = typed("T", be16(5), "id", be32(1), be16(1), be32(23), be16(4), be32(0), be16(0));
    const ms = run([
      [true, startup],
      [true, noNul],
      [false, rd],
    ]);
    expect(ms[1].fields.map((f) => f.name)).toContain("expert:pgwire.unterminated");
    expect(ms[2].fields.map((f) => f.name)).toContain("expert:pgwire.unterminated");
    expect(fieldsOf(ms[2])["pgwire.col.name"]).toEqual(["id"]);
  });

  it("flags a response with no request waiting, on a connection seen from its start", () => {
    const ms = run([
      [true, startup],
      [false, concat(authOk, ready)],
      [false, complete],
    ]);
    const unexpected = (m: DecodedMessage) => m.fields.some((f) => f.name === "expert:pgwire.unexpected_response");
    expect(ms.map(unexpected)).toEqual([false, false, false, true]);
    // A capture that starts mid-connection does not know what was asked: no such finding.
    const mid = run([[false, complete]]);
    expect(mid[0].fields.some((f) => f.name === "expert:pgwire.unexpected_response")).toBe(false);
  });

  it("never throws on arbitrary bytes, in either direction, however they are split", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 200 })), { maxLength: 20 }),
        (chunks) => {
          const d = new ConnectionDecoder();
          chunks.forEach(([fe, b], i) => {
            d.feed(fe, b, i + 1);
          });
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("setsPasswordLiteral", () => {
  // The plugin's rule, word by word (string.upper, then "^%s*(%a+)%s+(%a+)" and "PASSWORD%s*'").
  const reference = (sql: string) => {
    const u = sql.replace(/[a-z]/g, (c) => c.toUpperCase());
    const m = /^[ \t\n\v\f\r]*([A-Za-z]+)[ \t\n\v\f\r]+([A-Za-z]+)/.exec(u);
    if (!m || (m[1] !== "ALTER" && m[1] !== "CREATE") || (m[2] !== "ROLE" && m[2] !== "USER")) return false;
    return /PASSWORD[ \t\n\v\f\r]*'/.test(u);
  };

  it("finds a password literal in ALTER/CREATE ROLE/USER, and nowhere else", () => {
    expect(setsPasswordLiteral("ALTER ROLE app PASSWORD 'x'")).toBe(true);
    expect(setsPasswordLiteral("\n create user bob with password  'x'")).toBe(true);
    expect(setsPasswordLiteral("\t\r\v\fAlter Role app PASSWORD 'x'")).toBe(true);
    expect(setsPasswordLiteral("ALTER ROLES app PASSWORD 'x'")).toBe(false);
    expect(setsPasswordLiteral("UPDATE users SET password = 'x'")).toBe(false);
    expect(setsPasswordLiteral("   ")).toBe(false);
    expect(setsPasswordLiteral("")).toBe(false);
    expect(setsPasswordLiteral("SELECT 'ALTER ROLE a PASSWORD ''x'''")).toBe(false);
    expect(setsPasswordLiteral("ALTER ROLE app PASSWORD NULL")).toBe(false);
    expect(setsPasswordLiteral("ALTER\u017f ROLE a PASSWORD 'x'")).toBe(false);
  });

  it("agrees with the plugin's rule on arbitrary text", () => {
    const word = fc.constantFrom("alter", "ALTER", "Create", "role", "USER", "users", "password", "PassWord", "ſ", "K");
    const sep = fc.constantFrom(" ", "\t", "\n", "", "'", "  ", "x", "\u00a0");
    const sql = fc.array(fc.oneof(word, sep, fc.string({ maxLength: 3 })), { maxLength: 8 }).map((p) => p.join(""));
    fc.assert(
      fc.property(sql, (s) => setsPasswordLiteral(s) === reference(s)),
      { numRuns: 5000 },
    );
  });
});
