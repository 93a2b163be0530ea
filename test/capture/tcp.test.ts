import { describe, expect, it } from "vitest";
import { PcapngWriter, parseCaptureBuffer } from "../../src/capture/pcap.ts";
import { TcpReassembler } from "../../src/capture/tcp.ts";
import { CaptureError, type CapturePacket, type TcpData, type TcpOutput } from "../../src/capture/types.ts";
import { type SessionPacket, sessionsToPcapng, TcpSessionBuilder } from "../tools/tcp-sessions.ts";
import { concat, str, text } from "./helpers.ts";

const client = { ip: "10.1.1.1", port: 40000 };
const server = { ip: "10.1.1.2", port: 5432 };
const session = (opts: Partial<ConstructorParameters<typeof TcpSessionBuilder>[0]> = {}) =>
  new TcpSessionBuilder({ client, server, ...opts });

function toPackets(pkts: SessionPacket[], linkType = 1): CapturePacket[] {
  const w = new PcapngWriter(linkType);
  for (const p of pkts) w.addPacket(p.time, p.data);
  return parseCaptureBuffer(w.toBuffer());
}

/** Runs packets through a reassembler; returns all outputs and the stream of each frame. */
function reassemble(packets: CapturePacket[]) {
  const r = new TcpReassembler();
  const outputs: TcpOutput[] = [];
  const streams: (number | undefined)[] = [];
  for (const p of packets) {
    outputs.push(...r.push(p));
    streams.push(r.lastStream);
  }
  outputs.push(...r.end());
  return { outputs, streams, data: outputs.filter((o): o is TcpData => o.kind === "data") };
}

const run = (...builders: TcpSessionBuilder[]) => reassemble(parseCaptureBuffer(sessionsToPcapng(builders)));

/** All bytes sent by `from` ("client" / "server") in a stream, concatenated. */
function bytes(data: TcpData[], from: { ip: string; port: number }, stream = 0): string {
  return str(
    concat(
      ...data.filter((d) => d.stream === stream && d.src === from.ip && d.srcPort === from.port).map((d) => d.data),
    ),
  );
}

const summary = (outputs: TcpOutput[]) =>
  outputs.map((o) =>
    o.kind === "data"
      ? `${o.frame}:${o.srcPort === client.port ? "C" : "S"}:${str(o.data)}`
      : `${o.frame}:${o.kind}:${o.srcPort === client.port ? "C" : "S"}`,
  );

describe("TCP reassembly", () => {
  it("in-order conversation with events", () => {
    const { outputs, streams } = run(
      session().handshake().send(true, text("hello")).send(false, text("world")).close(),
    );
    // 1 SYN, 2 SYN/ACK, 3 ACK, 4 data C, 5 ACK, 6 data S, 7 ACK, 8 FIN C, 9 FIN S, 10 ACK
    expect(summary(outputs)).toEqual(["1:syn:C", "2:syn:S", "3:ack:C", "4:C:hello", "6:S:world", "8:fin:C", "9:fin:S"]);
    expect(streams).toEqual(Array(10).fill(0));
    const d = outputs[3] as TcpData;
    expect(d).toMatchObject({ stream: 0, src: "10.1.1.1", srcPort: 40000, dst: "10.1.1.2", dstPort: 5432 });
    expect(d.time).toBeCloseTo(1700000000.003, 6);
    expect(d.gap).toBeUndefined();
    expect(d.truncated).toBeUndefined();
  });

  it("split segments are emitted as they arrive, each with its own frame", () => {
    const { data } = run(
      session()
        .handshake()
        .send(true, text("abcdefghij"), { segmentSizes: [1, 2, 3] }),
    );
    expect(data.map((d) => [d.frame, str(d.data)])).toEqual([
      [4, "a"],
      [5, "bc"],
      [6, "def"],
      [7, "g"],
      [8, "hi"],
      [9, "j"],
    ]);
  });

  it("out-of-order segments wait for the gap and go out with the frame that filled it", () => {
    const b = session().handshake().raw(true, 10, text("KLM")).raw(true, 5, text("fghij")).raw(true, 0, text("abcde"));
    const { data } = run(b.ack(false));
    expect(data.map((d) => [d.frame, str(d.data)])).toEqual([
      [6, "abcde"],
      [6, "fghij"],
      [6, "KLM"],
    ]);
  });

  it("retransmissions and overlaps are emitted once (new bytes only)", () => {
    const b = session()
      .handshake()
      .raw(true, 0, text("hello"))
      .raw(true, 0, text("hello")) // full retransmission
      .raw(true, 3, text("lo wor")) // overlap: only " wor" is new
      .raw(true, 12, text("!!")) // out of order
      .raw(true, 9, text("ld!")) // fills the gap, overlaps the buffered "!!" partly
      .raw(true, 2, text("llo world!!!?")); // overlaps everything, adds "?"
    const { data } = run(b);
    expect(data.map((d) => [d.frame, str(d.data)])).toEqual([
      [4, "hello"],
      [6, " wor"],
      [8, "ld!"],
      [8, "!!"],
      [9, "?"],
    ]);
    expect(bytes(data, client)).toBe("hello world!!!?");
  });

  it("duplicated out-of-order segments are buffered and emitted once", () => {
    const b = session()
      .handshake()
      .raw(true, 3, text("def"))
      .raw(true, 3, text("def"))
      .raw(true, 3, text("defg"))
      .raw(true, 0, text("abc"));
    const { data } = run(b);
    expect(data.map((d) => str(d.data))).toEqual(["abc", "def", "g"]);
  });

  it("handles 32-bit sequence wrap-around", () => {
    const msg = text("0123456789abcdefghijklmnopqrstuvwxyz");
    const b = session({ clientIsn: 0xfffffff0, serverIsn: 0xfffffffe })
      .handshake()
      .send(true, msg.subarray(0, 10), { segmentSizes: [4] }) // crosses 2^32 at offset 15
      .raw(true, 20, msg.subarray(20)) // beyond the wrap, out of order
      .raw(true, 10, msg.subarray(10, 20))
      .send(false, text("server data crossing the wrap"), { segmentSizes: [3] })
      .close();
    const { outputs, data } = run(b);
    expect(bytes(data, client)).toBe(str(msg));
    expect(bytes(data, server)).toBe("server data crossing the wrap");
    expect(outputs.filter((o) => o.kind === "fin")).toHaveLength(2);
    expect(data.some((d) => d.gap)).toBe(false);
  });

  it("a gap that never closes is skipped at end(), marked gap, with the segment's own frame", () => {
    const b = session()
      .handshake()
      .raw(true, 0, text("abc"))
      .raw(true, 10, text("tail"))
      .raw(true, 14, text("more"))
      .fin(true);
    const { outputs, data } = run(b);
    expect(summary(outputs)).toEqual(["1:syn:C", "2:syn:S", "3:ack:C", "4:C:abc", "5:C:tail", "6:C:more", "7:fin:C"]);
    expect(data.map((d) => d.gap)).toEqual([undefined, true, undefined]);
  });

  it("gives up on a gap when too many segments are buffered", () => {
    const b = session().handshake();
    for (let i = 0; i < 70; i++) b.raw(true, 1 + i, text(String.fromCharCode(65 + (i % 26))));
    const { data } = run(b);
    expect(data[0]).toMatchObject({ frame: 4 + 64, gap: true });
    expect(data[0].data).toEqual(text("A"));
    expect(data.length).toBe(70);
    expect(data.filter((d) => d.gap)).toHaveLength(1);
  });

  it("gives up on a gap when the peer acknowledges bytes the capture missed", () => {
    const pkts = session()
      .handshake()
      .sendSegments(true, [text("lost!"), text("seen")])
      .send(false, text("ok"))
      .packets();
    // Drop frame 4 ("lost!"): the server's ACK (frame 6 after removal: 5) covers it.
    const kept = pkts.filter((_, i) => i !== 3);
    const { data } = reassemble(toPackets(kept));
    expect(data.map((d) => [d.frame, str(d.data), d.gap])).toEqual([
      [5, "seen", true],
      [6, "ok", undefined],
    ]);
  });

  it("starts from the first data segment when the SYN was not captured", () => {
    const pkts = session()
      .handshake()
      .send(true, text("abc"))
      .send(false, text("xyz"))
      .send(true, text("def"))
      .packets();
    const { outputs } = reassemble(toPackets(pkts.slice(3)));
    expect(summary(outputs)).toEqual(["1:C:abc", "3:S:xyz", "5:C:def"]);
  });

  it("a FIN waits for the data before it", () => {
    const b = session().handshake().raw(true, 3, text("def")).fin(true).raw(true, 0, text("abc"));
    expect(summary(run(b).outputs)).toEqual(["1:syn:C", "2:syn:S", "3:ack:C", "6:C:abc", "6:C:def", "5:fin:C"]);
  });

  it("RST flushes buffered data and is reported once", () => {
    const b = session().handshake().raw(true, 0, text("ab")).raw(true, 5, text("xyz")).rst(false).rst(false);
    const { outputs } = run(b);
    expect(summary(outputs)).toEqual(["1:syn:C", "2:syn:S", "3:ack:C", "4:C:ab", "6:C:xyz", "6:rst:S"]);
    expect((outputs[4] as TcpData).gap).toBe(true);
  });

  it("emits captured bytes of a snap-length-truncated segment and continues after its full length", () => {
    const pkts = session()
      .handshake()
      .sendSegments(true, [text("0123456789"), text("abc")])
      .packets();
    const w = new PcapngWriter();
    pkts.forEach((p, i) => {
      // Cut frame 4 after 4 payload bytes (14 Ethernet + 20 IP + 20 TCP + 4).
      if (i === 3) w.addPacket(p.time, p.data.subarray(0, 58), p.data.length);
      else w.addPacket(p.time, p.data);
    });
    const { data } = reassemble(parseCaptureBuffer(w.toBuffer()));
    expect(data.map((d) => [d.frame, str(d.data), d.truncated])).toEqual([
      [4, "0123", true],
      [5, "abc", undefined],
    ]);
  });

  it("works the same over IPv6 and other link types", () => {
    for (const [linkType, c, s] of [
      [276, "2001:db8::10", "2001:db8::20"],
      [113, "10.0.0.1", "10.0.0.2"],
      [0, "::1", "::1"],
      [101, "fe80::1", "fe80::2"],
      [229, "::1", "::1"],
    ] as const) {
      const b = new TcpSessionBuilder({ client: { ip: c, port: 50000 }, server: { ip: s, port: 5432 }, linkType });
      b.handshake()
        .send(true, text("ping"), { segmentSizes: [1, 3] })
        .send(false, text("pong"))
        .close();
      const { outputs, data } = run(b);
      expect(bytes(data, { ip: c, port: 50000 })).toBe("ping");
      expect(bytes(data, { ip: s, port: 5432 })).toBe("pong");
      expect(outputs.map((o) => o.kind)).toEqual(["syn", "syn", "ack", "data", "data", "data", "fin", "fin"]);
    }
  });

  it("throws a CaptureError naming an unsupported link type", () => {
    const r = new TcpReassembler();
    const p: CapturePacket = { frame: 7, time: 0, linkType: 105, data: new Uint8Array(40), origLen: 40 };
    expect(() => r.push(p)).toThrow(CaptureError);
    expect(() => r.push(p)).toThrow(/unsupported link type 105 \(IEEE 802\.11\)/);
  });

  it("non-TCP packets produce nothing and have no stream", () => {
    const r = new TcpReassembler();
    const arp = new Uint8Array(60);
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(r.push({ frame: 1, time: 0, linkType: 1, data: arp, origLen: 60 })).toEqual([]);
    expect(r.lastStream).toBeUndefined();
  });
});

describe("stream numbering", () => {
  it("numbers conversations in order of first sight, both directions in one stream", () => {
    const a = session({ startTime: 100 }).handshake().send(true, text("a1")).send(false, text("a2"));
    const b = new TcpSessionBuilder({ client: { ip: "10.1.1.3", port: 40001 }, server, startTime: 100.0005 })
      .handshake()
      .send(true, text("b1"));
    const { streams, data } = run(a, b);
    // Interleaved by time: a, b, a, b, ...
    expect(streams.slice(0, 4)).toEqual([0, 1, 0, 1]);
    expect(bytes(data, client, 0)).toBe("a1");
    expect(bytes(data, server, 0)).toBe("a2");
    expect(bytes(data, { ip: "10.1.1.3", port: 40001 }, 1)).toBe("b1");
    expect(bytes(data, client, 1)).toBe("");
  });

  it("port reuse after close starts a new stream; a retransmitted SYN does not", () => {
    const first = session({ startTime: 100, clientIsn: 1000 }).handshake().send(true, text("one")).close();
    const retrans = session({ startTime: 200, clientIsn: 5000 });
    retrans.raw(true, -1, new Uint8Array(0), { syn: true }).raw(true, -1, new Uint8Array(0), { syn: true });
    retrans.at(200.002).handshake().send(true, text("two")).close();
    const { streams, data, outputs } = run(first, retrans);
    expect(streams).toEqual([...Array(8).fill(0), ...Array(10).fill(1)]);
    expect(bytes(data, client, 0)).toBe("one");
    expect(bytes(data, client, 1)).toBe("two");
    expect(outputs.filter((o) => o.kind === "syn").map((o) => o.stream)).toEqual([0, 0, 1, 1]);
  });

  it("a SYN with a new sequence number starts a new stream even without a close", () => {
    const first = session({ startTime: 100, clientIsn: 1000 })
      .handshake()
      .raw(true, 0, text("abc"))
      .raw(true, 5, text("zz"));
    const second = session({ startTime: 200, clientIsn: 9999 }).handshake().send(true, text("new"));
    const { streams, data } = run(first, second);
    expect(streams).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    // The old stream's buffered data is flushed (gap) when the new stream replaces it.
    expect(data.map((d) => [d.stream, d.frame, str(d.data), d.gap])).toEqual([
      [0, 4, "abc", undefined],
      [0, 5, "zz", true],
      [1, 9, "new", undefined],
    ]);
  });
});
