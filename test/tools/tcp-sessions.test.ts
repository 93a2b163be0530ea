import { describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/packet.ts";
import { readCapture } from "../../src/capture/pcap.ts";
import { tempDir, text } from "../capture/helpers.ts";
import { checksum, parseIPv4, parseIPv6, TcpSessionBuilder, writeSessions } from "./tcp-sessions.ts";

const client = { ip: "10.0.0.1", port: 40000 };
const server = { ip: "10.0.0.2", port: 5432 };

describe("TcpSessionBuilder", () => {
  it("builds padded Ethernet frames with valid IPv4 and TCP checksums", () => {
    const pkts = new TcpSessionBuilder({ client, server }).handshake().send(true, text("hello, server")).packets();
    for (const { data } of pkts) {
      expect(data.length).toBeGreaterThanOrEqual(60);
      const ip = data.subarray(14);
      const totalLen = (ip[2] << 8) | ip[3];
      expect(checksum([ip.subarray(0, 20)])).toBe(0);
      const pseudo = Uint8Array.of(...ip.subarray(12, 20), 0, 6, (totalLen - 20) >> 8, (totalLen - 20) & 0xff);
      expect(checksum([pseudo, ip.subarray(20, totalLen)])).toBe(0);
    }
  });

  it("computes IPv6 TCP checksums", () => {
    const b = new TcpSessionBuilder({
      client: { ip: "fe80::1", port: 1 },
      server: { ip: "fe80::2", port: 2 },
      linkType: 229,
    });
    for (const { data } of b.handshake().send(false, text("odd")).packets()) {
      const len = (data[4] << 8) | data[5];
      const pseudo = Uint8Array.of(...data.subarray(8, 40), 0, 0, len >> 8, len & 0xff, 0, 0, 0, 6);
      expect(checksum([pseudo, data.subarray(40)])).toBe(0);
    }
  });

  it("tracks sequence and acknowledgement numbers, segment sizes and time", () => {
    const b = new TcpSessionBuilder({ client, server, clientIsn: 100, serverIsn: 500, startTime: 10 });
    b.handshake()
      .send(true, text("abcdefgh"), { segmentSizes: [3] })
      .raw(false, 4, text("late"))
      .ack(true);
    const pkts = b.packets();
    const tcp = pkts.map((p, i) => {
      const t = decodePacket({ frame: i + 1, time: p.time, linkType: 1, data: p.data, origLen: p.data.length });
      if (!t) throw new Error("not TCP");
      return t;
    });
    expect(tcp.map((t) => [t.seq, t.ack, t.payload.length])).toEqual([
      [100, 0, 0], // SYN
      [500, 101, 0], // SYN/ACK
      [101, 501, 0], // ACK
      [101, 501, 3],
      [104, 501, 3],
      [107, 501, 2],
      [501, 109, 0], // server ACK
      [505, 109, 4], // out of order server data
      [109, 501, 0], // client ACK stays at the gap
    ]);
    expect(tcp[0].flags).toEqual({ syn: true, fin: false, rst: false, ack: false, psh: false });
    expect(tcp[3].flags).toEqual({ syn: false, fin: false, rst: false, ack: true, psh: true });
    expect(pkts.map((p) => Math.round(p.time * 1000))).toEqual([
      10000, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10008,
    ]);
  });

  it("writeSessions merges several sessions by time into one pcapng", async () => {
    const tmp = tempDir();
    try {
      const a = new TcpSessionBuilder({ client, server, startTime: 5 }).handshake();
      const b = new TcpSessionBuilder({ client: { ip: "10.0.0.3", port: 1 }, server, startTime: 5.0015 }).handshake();
      await writeSessions(tmp.path("m.pcapng"), [a, b]);
      const got = [];
      for await (const p of readCapture(tmp.path("m.pcapng"))) got.push([p.frame, decodePacket(p)?.src, p.time]);
      expect(got.map((g) => g[1])).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    } finally {
      tmp.cleanup();
    }
  });

  it("rejects bad addresses and unsupported link types", () => {
    expect(() => parseIPv4("1.2.3")).toThrow(/invalid IPv4/);
    expect(() => parseIPv4("1.2.3.256")).toThrow(/invalid IPv4/);
    expect(() => parseIPv6("1::2::3")).toThrow(/invalid IPv6/);
    expect(() => parseIPv6("1:2:3:4:5:6:7")).toThrow(/invalid IPv6/);
    expect(() => parseIPv6("12345::")).toThrow(/invalid IPv6/);
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4));
    expect(() => new TcpSessionBuilder({ client, server, linkType: 105 })).toThrow(/link type 105/);
    expect(() => new TcpSessionBuilder({ client, server: { ip: "::1", port: 1 } })).toThrow(/same IP version/);
  });
});
