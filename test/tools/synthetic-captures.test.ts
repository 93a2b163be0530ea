// The synthetic captures (captures/build.ts → captures/synthetic/*.pcapng): up to date, decoded the
// same by the Lua plugin under tshark and by the TS decoder, covering every message of the spec,
// insensitive to TCP segmentation, and resynchronising after bad lengths.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  badLengthSessions,
  FILES,
  RESYNC_QUERIES,
  randomBytes,
  SNAP_LEN,
  SYNTHETIC_DIR,
  segmentationSessions,
} from "../../captures/build.ts";
import { type MessageName, PAYLOADS } from "../../dissector/pgwire.ts";
import { messages } from "../../spec/index.ts";
import { parseCaptureBuffer } from "../../src/capture/pcap.ts";
import { type CompareResult, compare } from "../../src/compare.ts";
import { CONTEXT_FIELDS, type DecodedMessage, EXPERTS, FINDING_EXPERTS } from "../../src/decoder/index.ts";
import { type DecodeOptions, decodeCapture, type FrameResult } from "../../src/pipeline.ts";
import { tempDir } from "../capture/helpers.ts";
import { missing } from "../helpers/tools.ts";
import { sessionsToPcapng, TcpSessionBuilder } from "./tcp-sessions.ts";

const CAPTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "captures");
const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function decodeAll(path: string, opts: DecodeOptions = {}): Promise<FrameResult[]> {
  const out: FrameResult[] = [];
  for await (const fr of decodeCapture(path, opts)) out.push(fr);
  return out;
}

/** The runtime's framing experts of an item (not the messages' findings: errors, security notes). */
const expertsOf = (m: DecodedMessage): string[] =>
  m.fields
    .filter((f) => f.name.startsWith("expert:") && !FINDING_EXPERTS.has(f.name))
    .map((f) => f.name.slice("expert:".length));

const MALFORMED_EXPERTS = new Set(
  Object.values(EXPERTS)
    .filter((e) => e.group === "MALFORMED")
    .map((e) => `pgwire.${e.abbrev}`),
);

describe("synthetic capture files", () => {
  it("are up to date with captures/build.ts (run `npx tsx captures/build.ts`)", () => {
    const onDisk = readdirSync(SYNTHETIC_DIR).filter((f) => f.endsWith(".pcapng"));
    expect(onDisk.sort()).toEqual(Object.keys(FILES).sort());
    for (const [name, build] of Object.entries(FILES)) {
      expect(Buffer.from(build()).equals(readFileSync(join(SYNTHETIC_DIR, name))), `${name} is stale`).toBe(true);
    }
  });

  it("are deterministic", () => {
    for (const build of Object.values(FILES)) expect(Buffer.from(build()).equals(Buffer.from(build()))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// (b) Lua plugin under tshark against the TS decoder.

/**
 * tshark runs in two ways: as compare() runs it (-o tcp.reassemble_out_of_order:TRUE, so that
 * tshark reorders out-of-order segments as the TS reassembler does), and with Wireshark 4.0's
 * default (FALSE), which is what a user gets.
 */
const MODES: Record<string, string[]> = {
  "compare's tshark options": [],
  "Wireshark's default TCP options": ["tcp.reassemble_out_of_order:FALSE"],
};

/**
 * Known Lua/TS differences, reported and pinned here so that any change shows up: remove an entry
 * once it is fixed.
 *
 * - truncated.pcapng frame 16, with reordering on: frames 10-12 are cut by the snap length; tshark's
 *   out-of-order reassembly then treats frame 16 (in sequence, whole) as "[TCP segment of a
 *   reassembled PDU]" and never hands it to pgwire, while the TS decoder decodes it. With
 *   Wireshark's default both agree.
 * - segmentation.pcapng frames 279/280, with Wireshark's default: the server's second segment
 *   arrives first. tshark hands frame 279 to pgwire at once (read as a message start: undecoded
 *   bytes, then resync) and does not dissect the out-of-order frame 280; the TS reassembler buffers
 *   frame 279 and decodes everything at frame 280. With reordering on both agree.
 */
const KNOWN: Record<string, Record<string, { differences: string[]; malformedFrames: number[] }>> = {
  "compare's tshark options": {
    "truncated.pcapng": {
      differences: [
        // Its response is the ReadyForQuery that only the TS decoder sees (frame 16, below).
        'frame 8 item 1 (PostgreSQL: Query) field 7:\n  lua: (none)\n  ts:  pgwire.response_in = "16" @0+0',
        "frame 16: only the TS decoder shows pgwire items: PostgreSQL: RowDescription, PostgreSQL: CommandComplete, PostgreSQL: ReadyForQuery",
      ],
      malformedFrames: [],
    },
  },
  "Wireshark's default TCP options": {
    "segmentation.pcapng": {
      differences: [
        // The query's ReadyForQuery comes one frame apart on the two sides (the frames below).
        'frame 276 item 1 (PostgreSQL: Query) field 7:\n  lua: pgwire.response_in = "279" @0+0\n  ts:  pgwire.response_in = "280" @0+0',
        "frame 279: only the Lua plugin shows pgwire items: PostgreSQL: undecoded data, PostgreSQL: DataRow, PostgreSQL: CommandComplete, PostgreSQL: ReadyForQuery",
        "frame 280: only the TS decoder shows pgwire items: PostgreSQL: RowDescription, PostgreSQL: DataRow, PostgreSQL: DataRow, PostgreSQL: CommandComplete, PostgreSQL: ReadyForQuery",
      ],
      malformedFrames: [279],
    },
  },
};

/** Captures with nothing wrong in them: no experts at all. */
const CLEAN = new Set(["all-messages.pcapng", "segmentation.pcapng", "ipv6-and-ports.pcapng"]);

const AGREE = "Lua plugin and TS decoder agree on every synthetic capture";
describe.skipIf(missing("tshark", AGREE))(AGREE, () => {
  for (const [mode, prefs] of Object.entries(MODES)) {
    for (const name of Object.keys(FILES)) {
      it(`${name} (${mode})`, async () => {
        const path = join(SYNTHETIC_DIR, name);
        const [r, frames] = await Promise.all([compare(path, { prefs }), decodeAll(path)]);
        const known = KNOWN[mode][name] ?? { differences: [], malformedFrames: [] };
        expect(r.differences).toEqual(known.differences);
        expect(r.frames).toBeGreaterThan(0);
        // Problems: no Lua error at all. Wireshark adds a hidden _ws.malformed item for every expert
        // of group Malformed (expert.c), so each must match one of the decoder's Malformed experts in
        // that frame: no more (an exception, a real malformed packet), no fewer.
        const malformed = new Map<number, number>();
        const other: string[] = [];
        for (const p of r.problems) {
          const m = /^frame (\d+): malformed packet \(Malformed Packet\)$/.exec(p);
          if (m) malformed.set(Number(m[1]), (malformed.get(Number(m[1])) ?? 0) + 1);
          else other.push(p);
        }
        expect(other).toEqual([]);
        const expected = new Map<number, number>();
        for (const fr of frames) {
          const n = fr.items.flatMap(expertsOf).filter((e) => MALFORMED_EXPERTS.has(e)).length;
          if (n > 0) expected.set(fr.frame, n);
        }
        for (const f of known.malformedFrames) malformed.delete(f);
        expect(Object.fromEntries(malformed)).toEqual(Object.fromEntries(expected));
        if (CLEAN.has(name)) expect(frames.flatMap((fr) => fr.items.flatMap(expertsOf))).toEqual([]);
      });
    }
  }

  it("ipv6-and-ports.pcapng: the session on port 5433 is found by the heuristic, or by the port preference", async () => {
    const path = join(SYNTHETIC_DIR, "ipv6-and-ports.pcapng");
    const streams = async (opts: DecodeOptions) => new Set((await decodeAll(path, opts)).map((f) => f.stream));
    expect(await streams({ heuristic: false })).toEqual(new Set([0]));
    expect(await streams({})).toEqual(new Set([0, 1]));
    expect(await streams({ ports: [5432, 5433], heuristic: false })).toEqual(new Set([0, 1]));
    for (const opts of [{}, { heuristic: false }, { ports: [5432, 5433], heuristic: false }]) {
      const r: CompareResult = await compare(path, opts);
      expect(r.differences).toEqual([]);
      expect(r.problems).toEqual([]);
    }
  });

  it("the heuristic takes no other traffic for PostgreSQL (HTTP, TLS, random bytes on other ports)", async () => {
    const path = tmp.path("not-postgres-elsewhere.pcapng");
    const enc = (t: string) => new TextEncoder().encode(t);
    const sessions = [
      {
        port: 8081,
        client: enc("GET / HTTP/1.1\r\nHost: db.example.com\r\n\r\n"),
        server: enc("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
      },
      {
        port: 8443,
        client: Uint8Array.from([0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]),
        server: Uint8Array.from([0x16, 3, 3, 0, 2, 2, 0]),
      },
      { port: 9999, client: randomBytes(2048, 99), server: randomBytes(2048, 100) },
    ].map((x, i) => {
      const b = new TcpSessionBuilder({
        client: { ip: "127.0.0.1", port: 46000 + i },
        server: { ip: "127.0.0.1", port: x.port },
        startTime: 100 + i,
      });
      b.handshake();
      b.send(true, x.client);
      b.send(false, x.server);
      b.close();
      return b;
    });
    writeFileSync(path, sessionsToPcapng(sessions));
    expect(await decodeAll(path)).toEqual([]);
    const r = await compare(path);
    expect(r.frames).toBe(0);
    // No pgwire item at all; the truncated TLS hello is Wireshark's TLS dissector's to flag.
    expect(r.problems.filter((p) => /lua/i.test(p))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// (c) Every message of the spec appears in some capture.

describe("capture coverage", () => {
  it("every message of the spec (name and direction) is decoded from at least one capture", async () => {
    const files = [
      ...readdirSync(CAPTURES)
        .filter((f) => f.endsWith(".pcapng"))
        .map((f) => join(CAPTURES, f)),
      ...readdirSync(SYNTHETIC_DIR)
        .filter((f) => f.endsWith(".pcapng"))
        .map((f) => join(SYNTHETIC_DIR, f)),
    ];
    const seen = new Map<string, string[]>();
    for (const file of files) {
      for (const fr of await decodeAll(file)) {
        for (const it of fr.items) {
          if (!it.name) continue;
          // A message carried inside XLogData (pgoutput) counts under its own name too.
          const carried = it.fields.find((f) => f.name === "pgwire.pgoutput.type")?.value;
          const names: string[] = [it.name];
          if (typeof carried === "number") names.push(PAYLOADS.pgoutput.types[carried].name);
          for (const name of names) {
            const k = `${name}:${it.frontend ? "F" : "B"}`;
            const list = seen.get(k) ?? [];
            const base = file.slice(CAPTURES.length + 1);
            if (!list.includes(base)) list.push(base);
            seen.set(k, list);
          }
        }
      }
    }
    const missing = messages.map((m) => `${m.name}:${m.dir}`).filter((k) => !seen.has(k));
    expect(missing).toEqual([]);
    // all-messages.pcapng alone holds every one of them.
    const inAll = messages
      .map((m) => `${m.name}:${m.dir}`)
      .filter((k) => !seen.get(k)?.includes("synthetic/all-messages.pcapng"));
    expect(inAll).toEqual([]);
  });

  it("all-messages.pcapng holds the variants the brief asks for", async () => {
    const items = (await decodeAll(join(SYNTHETIC_DIR, "all-messages.pcapng"))).flatMap((fr) => fr.items);
    const withName = <N extends MessageName>(n: N) =>
      items.filter((i): i is Extract<DecodedMessage, { name: N }> => i.name === n);
    const field = (i: DecodedMessage, f: string) => i.fields.filter((x) => x.name === f).map((x) => x.value);
    // StartupMessage 3.0 and 3.2 with parameters.
    expect(new Set(withName("StartupMessage").map((i) => `${i.vars.major}.${i.vars.minor}`))).toEqual(
      new Set(["3.0", "3.2"]),
    );
    expect(withName("StartupMessage").every((i) => field(i, "pgwire.parameter_name").length >= 2)).toBe(true);
    // SSL and GSSENC answered 'N'.
    expect(withName("SSLResponse").map((i) => i.vars.answer)).toEqual([78]);
    expect(withName("GSSENCResponse").map((i) => i.vars.answer)).toEqual([78]);
    // CancelRequest with a 4-byte key and with a 32-byte key; BackendKeyData likewise.
    const keyLens = (n: MessageName) =>
      new Set(
        withName(n).map((i) => {
          const kd = field(i, "pgwire.key_data")[0];
          return kd instanceof Uint8Array ? kd.length : field(i, "pgwire.key").length ? 4 : 0;
        }),
      );
    expect(keyLens("CancelRequest")).toEqual(new Set([4, 32]));
    expect(keyLens("BackendKeyData")).toEqual(new Set([4, 32]));
    // AuthenticationRequest fallback with code 6; UnknownStartupPacket with protocol 2.0.
    expect(withName("AuthenticationRequest").map((i) => i.vars.authtype)).toEqual([6]);
    expect(withName("UnknownStartupPacket").map((i) => i.vars.code)).toEqual([131072]);
    // ErrorResponse with every field code, and an unknown one.
    const codes = new Set(
      withName("ErrorResponse").flatMap((i) =>
        field(i, "pgwire.error_field").map((v) => String.fromCharCode(v as number)),
      ),
    );
    for (const c of "SVCMDHPpqWstcdnFLRZ") expect(codes.has(c), `error field ${c}`).toBe(true);
    expect(withName("ErrorResponse").flatMap((i) => field(i, "pgwire.unknown_field")).length).toBe(1);
    // FunctionCall with a NULL argument, FunctionCallResponse with a NULL result.
    expect(withName("FunctionCall").some((i) => field(i, "pgwire.val.length").includes(-1))).toBe(true);
    expect(withName("FunctionCallResponse").some((i) => field(i, "pgwire.val.length").includes(-1))).toBe(true);
    // NegotiateProtocolVersion with an option.
    expect(withName("NegotiateProtocolVersion").flatMap((i) => field(i, "pgwire.nonsupported_option"))).toEqual([
      "_pq_.test_option",
    ]);
    // No experts anywhere.
    expect(items.flatMap(expertsOf)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// (d) Segmentation does not change what is decoded.

/** Per TCP stream, the decoded items without the frames that delivered them (nor links to frames). */
function byStream(frames: FrameResult[]): Map<number, unknown[]> {
  const out = new Map<number, unknown[]>();
  for (const fr of frames) {
    const list = out.get(fr.stream) ?? [];
    for (const it of fr.items) {
      // Not the frame and time that completed it, nor the request it answers (with its own time)
      // and how long after it: those depend on how TCP split the bytes.
      list.push({
        ...it,
        frame: undefined,
        time: undefined,
        request: it.request?.name,
        responseTime: undefined,
        fields: it.fields.filter((f) => !CONTEXT_FIELDS.has(f.name)),
      });
    }
    out.set(fr.stream, list);
  }
  return out;
}

describe("segmentation", () => {
  it("decodes to the same messages as the same sessions sent unsplit", async () => {
    const whole = tmp.path("segmentation-whole.pcapng");
    writeFileSync(whole, sessionsToPcapng(segmentationSessions(false)));
    const split = await decodeAll(join(SYNTHETIC_DIR, "segmentation.pcapng"));
    const unsplit = await decodeAll(whole);
    const a = byStream(split);
    const b = byStream(unsplit);
    expect([...a.keys()]).toEqual([0, 1, 2]);
    expect(a).toEqual(b);
    // The split file really is split: more frames carry PostgreSQL data, and some carry several items.
    expect(split.length).toBeGreaterThan(unsplit.length);
    expect(split.some((fr) => fr.items.length >= 6)).toBe(true);
    // The 20000-byte DataRow is one item spanning many segments.
    const big = split.flatMap((fr) => fr.items).find((i) => i.name === "DataRow" && i.size > 20000);
    expect(big).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------
// (e) Bad lengths: the expected experts, then the valid messages after the garbage.

describe("bad-lengths.pcapng", () => {
  it("raises the expected experts and resynchronises", async () => {
    expect(badLengthSessions()).toHaveLength(1);
    const frames = await decodeAll(join(SYNTHETIC_DIR, "bad-lengths.pcapng"));
    const seq = (fe: boolean) =>
      frames
        .flatMap((fr) => fr.items)
        .filter((i) => i.frontend === fe)
        .map((i) => [i.name ?? "(undecoded)", ...expertsOf(i)].join(" "));
    expect(seq(true)).toEqual([
      "StartupMessage",
      "(undecoded) pgwire.bad_length pgwire.resync",
      "Query",
      "Sync",
      "(undecoded) pgwire.bad_length pgwire.resync",
      "Query",
      "Sync",
      "(undecoded) pgwire.unknown_type pgwire.resync",
      "Query",
      "Sync",
      "Query pgwire.unterminated",
      "Sync",
    ]);
    expect(seq(false)).toEqual([
      "AuthenticationOk",
      "ParameterStatus",
      "ParameterStatus",
      "ParameterStatus",
      "BackendKeyData",
      "ReadyForQuery",
      "RowDescription",
      "CommandComplete",
      "ReadyForQuery",
      "CommandComplete",
      "(undecoded) pgwire.bad_length pgwire.resync",
      "ReadyForQuery",
      "ParameterStatus",
      "RowDescription pgwire.unterminated",
      "DataRow pgwire.overrun",
      "CommandComplete",
      "ReadyForQuery",
      "CommandComplete pgwire.trailing",
      // A second AuthenticationOk, in a session that is ready: out of its phase too.
      "AuthenticationOk pgwire.bad_length pgwire.trailing pgwire.unexpected_message",
      "ReadyForQuery",
      "ErrorResponse",
    ]);
    // The queries after each piece of garbage are decoded in full.
    const queries = frames
      .flatMap((fr) => fr.items)
      .filter((i): i is Extract<DecodedMessage, { name: "Query" }> => i.name === "Query" && expertsOf(i).length === 0);
    expect(queries.map((q) => q.vars.query)).toEqual(RESYNC_QUERIES);
    // The skipped byte counts: 5 (header with length 3), 14 (length 0x7fffffff + its text), 7, 9.
    const skipped = frames
      .flatMap((fr) => fr.items)
      .filter((i) => i.name === null)
      .map((i) => i.size);
    expect(skipped).toEqual([5, 14, 7, 9]);
    const texts = frames
      .flatMap((fr) => fr.items)
      .flatMap((i) => i.fields)
      .filter((f) => f.name === "expert:pgwire.bad_length")
      .map((f) => f.value);
    expect(texts).toEqual([
      "Invalid message length 3",
      "Invalid message length 2147483647",
      "Invalid message length 6",
      "Invalid message length 12",
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("truncated.pcapng and not-postgres.pcapng", () => {
  it("truncated.pcapng: cut messages are flagged, later whole ones decode", async () => {
    const frames = await decodeAll(join(SYNTHETIC_DIR, "truncated.pcapng"));
    const items = frames.flatMap((fr) => fr.items);
    expect(items.some((i) => expertsOf(i).includes("pgwire.truncated"))).toBe(true);
    // The query after the cut response, and its whole answer.
    const after = items.findIndex((i) => i.name === "Query" && i.vars.query === "SELECT 1");
    expect(after).toBeGreaterThan(0);
    expect(
      items
        .slice(after + 1)
        .filter((i) => !i.frontend)
        .slice(0, 3)
        .map((i) => i.name),
    ).toEqual(["RowDescription", "CommandComplete", "ReadyForQuery"]);
    // The capture really is cut: captured lengths are at most the snap length, some shorter than on the wire.
    const packets = parseCaptureBuffer(readFileSync(join(SYNTHETIC_DIR, "truncated.pcapng")));
    expect(packets.every((p) => p.data.length <= SNAP_LEN)).toBe(true);
    expect(packets.filter((p) => p.data.length < p.origLen).length).toBeGreaterThanOrEqual(4);
  });

  it("not-postgres.pcapng: nothing decodes as a PostgreSQL message except by accident of resync", async () => {
    const frames = await decodeAll(join(SYNTHETIC_DIR, "not-postgres.pcapng"));
    const items = frames.flatMap((fr) => fr.items);
    // HTTP: undecoded data (unknown type 'G' from the client, bad length for 'H' from the server).
    const http = frames.filter((fr) => fr.stream === 0).flatMap((fr) => fr.items);
    expect(http.map((i) => i.name)).toEqual([null, null]);
    // The TLS ClientHello: no PostgreSQL items (the connection is TLS from its first byte).
    expect(frames.filter((fr) => fr.stream === 1)).toEqual([]);
    // Random bytes: mostly undecoded.
    const noise = frames.filter((fr) => fr.stream === 2).flatMap((fr) => fr.items);
    expect(noise.length).toBeGreaterThan(0);
    expect(noise.filter((i) => i.name === null).reduce((n, i) => n + i.size, 0)).toBeGreaterThan(2000);
    expect(items.length).toBe(http.length + noise.length);
  });
});
