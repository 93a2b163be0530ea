// The spec-driven encoder (test/tools/encoder.ts) against the TypeScript decoder: every message of the
// spec encodes and decodes back to the same fields; random valid values round-trip (fast-check);
// arbitrary bytes never make the decoder throw.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EXAMPLES } from "../../captures/build.ts";
import type { Element, MessageDef } from "../../spec/dsl.ts";
import { intSize } from "../../spec/dsl.ts";
import { messages } from "../../spec/index.ts";
import {
  CONTEXT_FIELDS,
  ConnectionDecoder,
  DERIVED_FIELDS,
  type DecodedMessage,
  EXPERTS,
  FINDING_EXPERTS,
} from "../../src/decoder/index.ts";
import {
  concatBytes,
  type EncodedField,
  EncodeError,
  encodeByName,
  encodeMessage,
  encodeMessageTraced,
  expandColumns,
  findMessage,
  UNTIL_ZERO_KEY,
  type Values,
  valueKey,
} from "./encoder.ts";

const key = (m: { name: string; dir: string }) => `${m.name}:${m.dir}`;
const authCode = (name: string): number => {
  const m = findMessage(name, "B");
  if (!m.when || !("peekInt32" in m.when)) throw new Error(`${name} has no code`);
  return m.when.peekInt32[0];
};

/** The Authentication request that makes the decoder pick this 'p' variant. */
function authBefore(m: MessageDef): number | undefined {
  if (m.dir !== "F" || m.type !== "p") return undefined;
  if (m.when && "lastAuth" in m.when) return m.when.lastAuth[0];
  return authCode("AuthenticationMD5Password"); // PasswordMessage: the fallback after 3 or 5
}

/**
 * A decoder in the state this message needs, fed with what comes before it on a real
 * connection: a StartupMessage before typed frontend messages, the Authentication request
 * before a 'p' message, the SSLRequest/GSSENCRequest before the one-byte answer.
 */
function decoderFor(m: MessageDef): ConnectionDecoder {
  const d = new ConnectionDecoder();
  if (m.dir === "F" && m.shape === "typed") {
    expect(
      names(d.feed(true, encodeByName("StartupMessage", "F", { major: 3, minor: 0, "*": { user: "u" } }), 1)),
    ).toEqual(["StartupMessage"]);
    const code = authBefore(m);
    if (code !== undefined) {
      const req = messages.find(
        (r) => r.dir === "B" && r.type === "R" && r.when && "peekInt32" in r.when && r.when.peekInt32.includes(code),
      );
      if (!req) throw new Error(`no Authentication request with code ${code}`);
      const values: Values = { authtype: code };
      if (req.name === "AuthenticationMD5Password") values.salt = Uint8Array.of(1, 2, 3, 4);
      expect(names(d.feed(false, encodeMessage(req, values), 2))).toEqual([req.name]);
    }
  }
  if (m.when && "copyBoth" in m.when) {
    // Replication messages exist only in copy-both: the server's CopyBothResponse first.
    const cb = encodeByName("CopyBothResponse", "B", { format: 0, $n: [] });
    expect(names(d.feed(false, cb, 3))).toEqual(["CopyBothResponse"]);
  }
  if (m.shape === "single" && m.when && "answerTo" in m.when) {
    const request = m.when.answerTo;
    const code = authCodeOfRequest(request);
    expect(names(d.feed(true, encodeByName(request, "F", { request_code: code }), 1))).toEqual([request]);
  }
  return d;
}

function authCodeOfRequest(name: string): number {
  const m = findMessage(name, "F");
  if (!m.when || !("peekInt32" in m.when)) throw new Error(`${name} has no code`);
  return m.when.peekInt32[0];
}

function names(items: DecodedMessage[]): (string | null)[] {
  return items.map((i) => i.name);
}

/** Fields not written by the encoder: the framing, and what the decoder adds from context. */
const FRAMING = new Set([
  "pgwire.msg",
  "pgwire.type",
  "pgwire.length",
  "pgwire.frontend",
  ...CONTEXT_FIELDS,
  ...DERIVED_FIELDS,
  ...FINDING_EXPERTS,
]);

/** Decodes one encoded message in the state it needs and checks it against the encoder's trace. */
function roundTrip(m: MessageDef, values: Values): DecodedMessage {
  const { bytes, fields } = encodeMessageTraced(m, values);
  const items = decoderFor(m).feed(m.dir === "F", bytes, 10);
  expect(names(items)).toEqual([m.name]);
  const it0 = items[0];
  expect(it0.size).toBe(bytes.length);
  // Experts from the message's bytes only: none (findings and context come from elsewhere).
  const experts = it0.fields.filter(
    (f) => f.name.startsWith("expert:") && !FINDING_EXPERTS.has(f.name) && !CONTEXT_FIELDS.has(f.name),
  );
  expect(experts).toEqual([]);
  // Framing: the message name, type byte, length, direction.
  const framing = it0.fields
    .filter((f) => ["pgwire.msg", "pgwire.type", "pgwire.length", "pgwire.frontend"].includes(f.name))
    .map((f) => [f.name, f.value]);
  const expected: [string, unknown][] = [["pgwire.msg", m.name]];
  if (m.shape === "typed") expected.push(["pgwire.type", m.type], ["pgwire.length", bytes.length - 1]);
  if (m.shape === "untyped") expected.push(["pgwire.length", bytes.length]);
  expected.push(["pgwire.frontend", m.dir === "F"]);
  expect(framing).toEqual(expected);
  // Body: exactly the fields the encoder wrote, same values, offsets and lengths.
  const body = it0.fields.filter((f) => !FRAMING.has(f.name));
  expect(body).toEqual(fields satisfies EncodedField[]);
  return it0;
}

/** An XLogData ('w') carrying these bytes. Its header ('d', length, 'w', three Int64) is 30 bytes. */
const XLOG_HEADER = 30;
const xlog = (data: Uint8Array): Uint8Array =>
  encodeByName("XLogData", "B", {
    "repl.type": "w",
    "repl.wal_start": 1,
    "repl.wal_end": 2,
    "repl.time": 3,
    "repl.wal_data": data,
  });

/** Whether these values of a payload message give the xid it carries inside a streamed transaction. */
const streamedValues = (m: MessageDef, values: Values): boolean =>
  m.body[0]?.kind === "switch" && m.body[0].on === "$instream" && "xid" in values;

/**
 * A decoder in a pgoutput stream: START_REPLICATION with pgoutput's options, CopyBothResponse, and
 * when `streamed`, a Stream Start (the messages of a streamed transaction carry its xid).
 */
function pgoutputDecoder(streamed: boolean): ConnectionDecoder {
  const d = new ConnectionDecoder();
  const start = "START_REPLICATION SLOT s LOGICAL 0/0 (proto_version '4', publication_names 'p')";
  expect(names(d.feed(true, encodeByName("Query", "F", { query: start }), 1))).toEqual(["Query"]);
  const cb = encodeByName("CopyBothResponse", "B", { format: 0, $n: [] });
  expect(names(d.feed(false, cb, 2))).toEqual(["CopyBothResponse"]);
  if (streamed) {
    const ss = encodeByName("Stream Start", "B", { xid: 1, "pgoutput.first_segment": 1 });
    expect(names(d.feed(false, xlog(ss), 3))).toEqual(["XLogData"]);
  }
  return d;
}

/** A payload message (pgoutput) inside XLogData: its fields follow the payload's type byte. */
function roundTripPayload(m: MessageDef, values: Values): DecodedMessage {
  const { bytes, fields } = encodeMessageTraced(m, values);
  const items = pgoutputDecoder(streamedValues(m, values)).feed(false, xlog(bytes), 10);
  expect(names(items)).toEqual(["XLogData"]);
  const it0 = items[0];
  expect(it0.fields.filter((f) => f.name.startsWith("expert:"))).toEqual([]);
  const at = it0.fields.findIndex((f) => f.name === "pgwire.pgoutput.type");
  expect(it0.fields[at]).toEqual({
    name: "pgwire.pgoutput.type",
    value: (m.type as string).charCodeAt(0),
    offset: XLOG_HEADER,
    length: 1,
  });
  const body = it0.fields.slice(at + 1).filter((f) => !FRAMING.has(f.name));
  expect(body).toEqual(fields.map((f) => ({ ...f, offset: f.offset + XLOG_HEADER })));
  return it0;
}

describe("encoder round trip through the TS decoder", () => {
  it("has an example for every message of the spec, and only for messages of the spec", () => {
    const have = new Set(EXAMPLES.map(key));
    expect(messages.map(key).filter((k) => !have.has(k))).toEqual([]);
    const spec = new Set(messages.map(key));
    expect([...have].filter((k) => !spec.has(k))).toEqual([]);
  });

  for (const ex of EXAMPLES) {
    const m = findMessage(ex.name, ex.dir);
    it(`${ex.name} (${ex.dir}) ${JSON.stringify(ex.values, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 90)}`, () => {
      const item = m.shape === "payload" ? roundTripPayload(m, ex.values) : roundTrip(m, ex.values);
      // The top-level string values given are bound under their names (what the Info column shows).
      for (const [k, v] of Object.entries(ex.values)) {
        const el = m.body.find((e) => (e.kind === "string" || e.kind === "int") && e.bind === k);
        if (el?.kind === "string") expect((item.vars as Record<string, unknown>)[k]).toBe(v);
      }
    });
  }

  it("decodes what the spec says for hand-checked bytes", () => {
    // Query 'SELECT 1': 'Q', length 13, the text, NUL.
    expect(Array.from(encodeByName("Query", "F", { query: "SELECT 1" }))).toEqual([
      0x51,
      0,
      0,
      0,
      13,
      ...Array.from(new TextEncoder().encode("SELECT 1")),
      0,
    ]);
    // SSLRequest: length 8, code 80877103.
    expect(Array.from(encodeByName("SSLRequest", "F", { request_code: 80877103 }))).toEqual([
      0, 0, 0, 8, 4, 210, 22, 47,
    ]);
    // The one-byte answer.
    expect(Array.from(encodeByName("SSLResponse", "B", { answer: "N" }))).toEqual([0x4e]);
    // DataRow with a NULL and an empty value: count 2, -1, 0.
    expect(Array.from(encodeByName("DataRow", "B", { $n: [{ "val.data": null }, { "val.data": "" }] }))).toEqual([
      0x44, 0, 0, 0, 14, 0, 2, 255, 255, 255, 255, 0, 0, 0, 0,
    ]);
    // StartupMessage: the parameters end with a 0 byte.
    expect(Array.from(encodeByName("StartupMessage", "F", { major: 3, minor: 2, "*": { user: "u" } }))).toEqual([
      0, 0, 0, 16, 0, 3, 0, 2, 0x75, 0x73, 0x65, 0x72, 0, 0x75, 0, 0,
    ]);
    // BackendKeyData 3.0 (key as an Int32) and 3.2 (key bytes): the $bodylen switch.
    expect(encodeByName("BackendKeyData", "B", { pid: 1, key: 2 }).length).toBe(13);
    expect(encodeByName("BackendKeyData", "B", { pid: 1, key: new Uint8Array(32) }).length).toBe(41);
  });

  it("rejects values that do not fit the spec, with the message and key in the error", () => {
    expect(() => encodeByName("Query", "F", {})).toThrow(/Query \(F\): missing value for query/);
    expect(() => encodeByName("Query", "F", { query: "x", qurey: "y" })).toThrow(/unknown value key\(s\) "qurey"/);
    expect(() => encodeByName("ReadyForQuery", "B", { status: 300 })).toThrow(/does not fit in 1 bytes/);
    expect(() => encodeByName("AuthenticationMD5Password", "B", { authtype: 5, salt: "abc" })).toThrow(
      /must be 4 bytes/,
    );
    expect(() => encodeByName("StartupMessage", "F", { major: 3, minor: 0, "*": { "": "x" } })).toThrow(/0 byte/);
    // A 4-byte key given as key bytes would decode as the Int32 key: the encoder says so.
    expect(() => encodeByName("BackendKeyData", "B", { pid: 1, key: new Uint8Array(4) })).toThrow(EncodeError);
    expect(() => findMessage("CopyData")).toThrow(/both directions/);
    expect(() => findMessage("NoSuchMessage", "F")).toThrow(/no message/);
  });

  it("writes explicit counts and lengths as given (for malformed test data)", () => {
    const m = findMessage("DataRow", "B");
    const b = encodeMessage(m, { n: 3, $n: [{ vlen: 10, "val.data": "ab" }] });
    expect(Array.from(b)).toEqual([0x44, 0, 0, 0, 12, 0, 3, 0, 0, 0, 10, 0x61, 0x62]);
    expect(Array.from(encodeByName("Sync", "F", {}, { length: 3 }))).toEqual([0x53, 0, 0, 0, 3]);
    expect(Array.from(encodeByName("Sync", "F", {}, { type: "Y" }))).toEqual([0x59, 0, 0, 0, 4]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: random valid values from the spec itself.

const str = fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\0"));
const nonEmptyStr = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => !s.includes("\0"));

/** A random integer that fits an int element; `nonZero`: its first byte on the wire is not 0. */
function intArb(e: Extract<Element, { kind: "int" }>, nonZero: boolean): fc.Arbitrary<number | bigint> {
  const size = e.size ?? intSize[e.field.type as keyof typeof intSize] ?? 1;
  const signed = e.field.type.startsWith("int");
  const bits = BigInt(size * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  const firstByte = (v: bigint) => (((v % (1n << bits)) + (1n << bits)) % (1n << bits)) >> (bits - 8n);
  const arb = fc.bigInt({ min, max }).filter((v) => !nonZero || firstByte(v) !== 0n);
  return size === 8 ? arb : arb.map(Number);
}

/**
 * Random valid values for an element list, built step by step (switches depend on values drawn
 * before them). Counts and lengths are left to the encoder. `first` marks the first element of
 * an until-zero item, which must not start with a 0 byte.
 */
function genList(
  g: fc.GeneratorValue,
  els: readonly Element[],
  out: Values,
  vars: Record<string, unknown>,
  first = false,
  single = false,
): void {
  expandColumns(els).forEach((e, i, all) => {
    const nz = first && i === 0;
    switch (e.kind) {
      case "int": {
        const k = valueKey(e);
        const ref = e.bind ? `$${e.bind}` : undefined;
        const derived = all
          .slice(i + 1)
          .some((x) => (x.kind === "repeat" && x.count === ref) || (x.kind === "bytes" && x.length === ref));
        if (derived) return;
        const sw = all.slice(i + 1).find((x) => x.kind === "switch" && x.on === ref);
        let v: number | bigint;
        if (sw && sw.kind === "switch") {
          // A case key, or a value no case has (the fallback).
          const keys = sw.cases.map(([k2]) => k2);
          const other = [0x5a, 0x41, 7].find((x) => !keys.includes(x)) as number;
          v = g(fc.constantFrom, ...keys, other);
        } else if (single && e.field.values) {
          // The one-byte answers: the decoder takes only the bytes the field's table names.
          v = g(fc.constantFrom, ...Object.keys(e.field.values).map(Number));
        } else v = g(() => intArb(e, nz));
        out[k] = v;
        if (e.bind) vars[e.bind] = typeof v === "bigint" ? v : v;
        return;
      }
      case "string": {
        const s = g(() => (nz ? nonEmptyStr : str));
        out[valueKey(e)] = s;
        if (e.bind && !e.bind.startsWith("$")) vars[e.bind] = s;
        return;
      }
      case "bytes": {
        const k = valueKey(e);
        if (typeof e.length === "number") out[k] = g(fc.uint8Array, { minLength: e.length, maxLength: e.length });
        else if (e.length === "rest") out[k] = g(fc.uint8Array, { maxLength: 24 });
        else out[k] = g(() => fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }));
        return;
      }
      case "tree":
        genList(g, e.body, out, vars);
        return;
      case "optional":
        if (g(fc.boolean)) genList(g, e.body, out, vars);
        return;
      case "payload":
      case "copyRows":
        out[e.field.abbrev] = g(fc.uint8Array, { maxLength: 24 });
        return;
      case "tupleColumn": {
        const kinds = [...Object.keys(e.formats).map(Number), ...e.empty];
        const k = g(fc.constantFrom, ...kinds);
        out[e.marker.abbrev] = k;
        if (Object.hasOwn(e.formats, k)) {
          out[e.data.abbrev] = g(() => fc.option(fc.uint8Array({ maxLength: 24 }), { nil: null }));
        }
        return;
      }
      case "repeat":
      case "untilZero": {
        const n = g(fc.integer, { min: 0, max: 4 });
        const items: Values[] = [];
        for (let k = 0; k < n; k++) {
          const it: Values = {};
          genList(g, e.body, it, { ...vars }, e.kind === "untilZero");
          items.push(it);
        }
        out[e.kind === "repeat" ? e.count : UNTIL_ZERO_KEY] = items;
        return;
      }
      case "switch": {
        const name = e.on.slice(1);
        if (!(name in vars)) {
          // A runtime variable ($bodylen): any branch (the encoder checks the length agrees).
          const k2 = g(fc.integer, { min: 0, max: e.cases.length });
          genList(g, k2 < e.cases.length ? e.cases[k2][1] : e.otherwise, out, vars);
          return;
        }
        const b = e.cases.find(([k2]) => k2 === vars[name]);
        genList(g, b ? b[1] : e.otherwise, out, vars);
        return;
      }
    }
  });
}

/** Values that select the message among its siblings (the selector's code as the first Int32). */
function selectorValues(m: MessageDef, v: Values): Values {
  const first = m.body[0];
  if (m.when && "peekInt32" in m.when && first.kind === "int") v[valueKey(first)] = m.when.peekInt32[0];
  if (m.when && "peekMajor" in m.when && first.kind === "int") v[valueKey(first)] = m.when.peekMajor;
  if (m.when && "copyBoth" in m.when && first.kind === "int") v[valueKey(first)] = m.when.copyBoth;
  return v;
}

function valuesArb(m: MessageDef): fc.Arbitrary<Values> {
  return fc.gen().map((g) => {
    const v: Values = {};
    genList(g, m.body, v, {}, false, m.shape === "single");
    return selectorValues(m, v);
  });
}

/** The messages carried inside others (pgoutput): their property test wraps them (roundTripPayload). */
const PAYLOAD_MESSAGES = messages.filter((m) => m.shape === "payload");

/** Messages whose variant a random body cannot pick by accident: all but the fallbacks of shared groups. */
const PROPERTY_MESSAGES = messages.filter((m) => {
  if (m.shape === "payload") return false;
  const siblings = messages.filter((o) => o !== m && o.dir === m.dir && o.shape === m.shape && o.type === m.type);
  // PasswordMessage and CopyData: their siblings are picked by connection state that decoderFor
  // does not set up for them (the last Authentication request; copy-both).
  return m.when !== undefined || siblings.length === 0 || m.name === "PasswordMessage" || m.name === "CopyData";
});

describe("encoder property tests (fast-check)", () => {
  it("covers most of the spec", () => {
    expect(PROPERTY_MESSAGES.length + PAYLOAD_MESSAGES.length).toBeGreaterThanOrEqual(messages.length - 2);
  });

  it("random valid values of any pgoutput message round-trip inside XLogData", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PAYLOAD_MESSAGES).chain((m) => valuesArb(m).map((v) => [m, v] as const)),
        ([m, v]) => {
          roundTripPayload(m, v);
        },
      ),
      { numRuns: 600, seed: 20261127 },
    );
  });

  it("random valid values of any message encode and decode back to the same fields", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PROPERTY_MESSAGES).chain((m) => valuesArb(m).map((v) => [m, v] as const)),
        ([m, v]) => {
          let enc: ReturnType<typeof encodeMessageTraced>;
          try {
            enc = encodeMessageTraced(m, v);
          } catch (e) {
            // A key of exactly 4 bytes is the Int32 key of protocol 3.0: not these values' branch.
            fc.pre(!(e instanceof EncodeError && /decodes as the/.test(e.message)));
            throw e;
          }
          const items = decoderFor(m).feed(m.dir === "F", enc.bytes, 10);
          expect(names(items)).toEqual([m.name]);
          expect(items[0].fields.filter((f) => !FRAMING.has(f.name))).toEqual(enc.fields);
        },
      ),
      { numRuns: 1500, seed: 20261126 },
    );
  });

  for (const name of ["Bind", "DataRow", "RowDescription", "ErrorResponse", "StartupMessage", "FunctionCall"]) {
    it(`${name}: random values round-trip`, () => {
      const m = messages.find((x) => x.name === name) as MessageDef;
      fc.assert(
        fc.property(valuesArb(m), (v) => {
          const enc = encodeMessageTraced(m, v);
          const items = decoderFor(m).feed(m.dir === "F", enc.bytes, 10);
          expect(names(items)).toEqual([m.name]);
          expect(items[0].fields.filter((f) => !FRAMING.has(f.name))).toEqual(enc.fields);
        }),
        { numRuns: 300, seed: 7 },
      );
    });
  }

  it("a stream of valid messages decodes the same however it is cut into chunks", () => {
    // Without the replication messages: they need copy-both, which most messages end.
    const backend = PROPERTY_MESSAGES.filter(
      (m) => m.dir === "B" && m.shape === "typed" && !(m.when && "copyBoth" in m.when),
    );
    const msgArb = fc.constantFrom(...backend).chain((m) => valuesArb(m).map((v) => [m, v] as const));
    fc.assert(
      fc.property(
        fc.array(msgArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }),
        (msgs, cuts) => {
          const encoded: Uint8Array[] = [];
          for (const [m, v] of msgs) {
            try {
              encoded.push(encodeMessage(m, v));
            } catch (e) {
              fc.pre(!(e instanceof EncodeError && /decodes as the/.test(e.message)));
              throw e;
            }
          }
          const stream = concatBytes(...encoded);
          const whole = new ConnectionDecoder().feed(false, stream, 1);
          const d = new ConnectionDecoder();
          const pieces: DecodedMessage[] = [];
          for (let off = 0, k = 0; off < stream.length; k++) {
            const n = cuts[k % cuts.length];
            pieces.push(...d.feed(false, stream.subarray(off, off + n), k + 1));
            off += n;
          }
          const strip = (items: DecodedMessage[]) => items.map((i) => ({ ...i, frame: 0 }));
          expect(strip(pieces)).toEqual(strip(whole));
          expect(names(whole)).toEqual(msgs.map(([m]) => m.name));
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe("the decoder never throws on arbitrary bytes", () => {
  const chunks = fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 0, maxLength: 64 })), { maxLength: 30 });
  const startup = encodeByName("StartupMessage", "F", { major: 3, minor: 0, "*": { user: "u" } });

  it("random bytes, both directions, random chunking", () => {
    fc.assert(
      fc.property(chunks, fc.boolean(), (list, truncated) => {
        const d = new ConnectionDecoder();
        list.forEach(([frontend, data], i) => {
          d.feed(frontend, data, i + 1, { truncated });
        });
      }),
      { numRuns: 2000, seed: 1 },
    );
  });

  it("random bytes after a valid startup, and valid messages with random corruption", () => {
    const valid = concatBytes(
      encodeByName("Query", "F", { query: "SELECT 1" }),
      encodeByName("Parse", "F", { stmt: "", query: "x", $n: [{ pt: 23 }] }),
      encodeByName("Bind", "F", { portal: "", stmt: "", $np: [{ pv: "1" }] }),
      encodeByName("Sync", "F"),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
        chunks,
        (flips, cuts, noise) => {
          const data = valid.slice();
          for (const [at, v] of flips) data[at] = v;
          const d = new ConnectionDecoder();
          d.feed(true, startup, 1);
          for (let off = 0, k = 0; off < data.length; k++) {
            const n = cuts[k % cuts.length];
            d.feed(true, data.subarray(off, off + n), k + 2);
            off += n;
          }
          noise.forEach(([frontend, bytes], i) => {
            d.feed(frontend, bytes, 100 + i);
          });
        },
      ),
      { numRuns: 1000, seed: 2 },
    );
  });

  it("every expert the decoder raises is one the spec declares", () => {
    const known = new Set(Object.values(EXPERTS).map((x) => `expert:pgwire.${x.abbrev}`));
    fc.assert(
      fc.property(chunks, (list) => {
        const d = new ConnectionDecoder();
        for (const [frontend, data] of list) {
          for (const item of d.feed(frontend, data, 1)) {
            for (const f of item.fields) if (f.name.startsWith("expert:")) expect(known.has(f.name)).toBe(true);
          }
        }
      }),
      { numRuns: 500, seed: 3 },
    );
  });
});
