import { describe, expect, it } from "vitest";
import { decodePacket, formatIPv6, linkTypeName, linkTypeSupported } from "../../src/capture/packet.ts";
import type { CapturePacket } from "../../src/capture/types.ts";
import { parseIPv6 } from "../tools/tcp-sessions.ts";
import { Bytes, concat, text } from "./helpers.ts";

// Frames are built byte by byte here, independently of test/tools/tcp-sessions.ts.

function tcp(payload: Uint8Array, opts: { sport?: number; dport?: number; flags?: number; options?: number[] } = {}) {
  const options = opts.options ?? [];
  const b = new Bytes(false)
    .u16(opts.sport ?? 40000)
    .u16(opts.dport ?? 5432)
    .u32(0xfffffff0)
    .u32(0x01020304)
    .u8(((20 + options.length) / 4) << 4, opts.flags ?? 0x18)
    .u16(65535)
    .u16(0)
    .u16(0)
    .bytes(options)
    .bytes(payload);
  return b.build();
}

function ipv4(
  body: Uint8Array,
  opts: { proto?: number; options?: number[]; frag?: number; totalLen?: number; src?: number[]; dst?: number[] } = {},
) {
  const options = opts.options ?? [];
  const hlen = 20 + options.length;
  return new Bytes(false)
    .u8(0x40 | (hlen / 4), 0)
    .u16(opts.totalLen ?? hlen + body.length)
    .u16(1)
    .u16(opts.frag ?? 0x4000)
    .u8(64, opts.proto ?? 6)
    .u16(0)
    .bytes(opts.src ?? [192, 168, 1, 10])
    .bytes(opts.dst ?? [10, 0, 0, 1])
    .bytes(options)
    .bytes(body)
    .build();
}

/** IPv6 header followed by `chain` (already encoded extension headers + upper layer). */
function ipv6(firstNext: number, chain: Uint8Array, src = "2001:db8::1", dst = "fe80::1") {
  return new Bytes(false)
    .u32(0x60000000)
    .u16(chain.length)
    .u8(firstNext, 64)
    .bytes(parseIPv6(src))
    .bytes(parseIPv6(dst))
    .bytes(chain)
    .build();
}

function ether(type: number, body: Uint8Array, tags: number[] = []) {
  const b = new Bytes(false).bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]);
  for (const tpid of tags) b.u16(tpid).u16(100);
  b.u16(type).bytes(body);
  while (b.length < 60) b.u8(0); // Ethernet minimum frame padding
  return b.build();
}

function must<T>(x: T | null): T {
  if (x === null) throw new Error("expected a decoded TCP segment");
  return x;
}

const packet = (linkType: number, data: Uint8Array, origLen = data.length): CapturePacket => ({
  frame: 1,
  time: 0,
  linkType,
  data,
  origLen,
});

const payload = text("Q\0\0\0\x0dSELECT 1\0");
const v4 = ipv4(tcp(payload));
const v6 = ipv6(6, tcp(payload));

describe("link layers", () => {
  const sll = (type: number, ip: Uint8Array) =>
    concat(new Bytes(false).u16(0).u16(772).u16(6).bytes([0, 0, 0, 0, 0, 0, 0, 0]).u16(type).build(), ip);
  const sll2 = (type: number, ip: Uint8Array) =>
    concat(new Bytes(false).u16(type).u16(0).u32(1).u16(772).u8(0, 6).bytes([0, 0, 0, 0, 0, 0, 0, 0]).build(), ip);
  const nullHdr = (family: number, le: boolean, ip: Uint8Array) => concat(new Bytes(le).u32(family).build(), ip);

  const cases: [string, number, Uint8Array, string][] = [
    ["Ethernet IPv4", 1, ether(0x0800, v4), "192.168.1.10"],
    ["Ethernet IPv6", 1, ether(0x86dd, v6), "2001:db8::1"],
    ["802.1Q VLAN", 1, ether(0x0800, v4, [0x8100]), "192.168.1.10"],
    ["QinQ", 1, ether(0x86dd, v6, [0x88a8, 0x8100]), "2001:db8::1"],
    ["Linux SLL", 113, sll(0x0800, v4), "192.168.1.10"],
    ["Linux SLL IPv6", 113, sll(0x86dd, v6), "2001:db8::1"],
    ["Linux SLL2", 276, sll2(0x0800, v4), "192.168.1.10"],
    ["Linux SLL2 IPv6", 276, sll2(0x86dd, v6), "2001:db8::1"],
    ["NULL little-endian AF_INET", 0, nullHdr(2, true, v4), "192.168.1.10"],
    ["NULL big-endian AF_INET", 0, nullHdr(2, false, v4), "192.168.1.10"],
    ["NULL AF_INET6 24", 0, nullHdr(24, true, v6), "2001:db8::1"],
    ["NULL AF_INET6 28", 0, nullHdr(28, false, v6), "2001:db8::1"],
    ["NULL AF_INET6 30", 0, nullHdr(30, true, v6), "2001:db8::1"],
    ["OpenBSD LOOP", 108, nullHdr(2, false, v4), "192.168.1.10"],
    ["raw 101 IPv4", 101, v4, "192.168.1.10"],
    ["raw 101 IPv6", 101, v6, "2001:db8::1"],
    ["raw 12 IPv4", 12, v4, "192.168.1.10"],
    ["raw 12 IPv6", 12, v6, "2001:db8::1"],
    ["raw IPv4 228", 228, v4, "192.168.1.10"],
    ["raw IPv6 229", 229, v6, "2001:db8::1"],
  ];

  it.each(cases)("%s", (_name, linkType, frame, src) => {
    expect(linkTypeSupported(linkType)).toBe(true);
    const t = must(decodePacket(packet(linkType, frame)));
    expect(t.src).toBe(src);
    expect(t.dst).toBe(src.includes(":") ? "fe80::1" : "10.0.0.1");
    expect(t.srcPort).toBe(40000);
    expect(t.dstPort).toBe(5432);
    expect(t.seq).toBe(0xfffffff0);
    expect(t.ack).toBe(0x01020304);
    expect(t.flags).toEqual({ syn: false, fin: false, rst: false, ack: true, psh: true });
    expect(t.payload).toEqual(payload);
    expect(t.length).toBe(payload.length);
    expect(t.truncated).toBe(false);
  });

  it("unknown NULL family, other ethertypes and unsupported link types give null", () => {
    expect(decodePacket(packet(0, nullHdr(7, true, v4)))).toBeNull();
    expect(decodePacket(packet(1, ether(0x0806, new Uint8Array(28))))).toBeNull(); // ARP
    expect(decodePacket(packet(105, v4))).toBeNull();
    expect(linkTypeSupported(105)).toBe(false);
    expect(linkTypeName(105)).toBe("IEEE 802.11");
    expect(linkTypeName(4242)).toBe("unknown");
  });
});

describe("IPv4", () => {
  it("drops Ethernet padding using the total length", () => {
    const ack = ipv4(tcp(new Uint8Array(0), { flags: 0x10 }));
    const t = must(decodePacket(packet(1, ether(0x0800, ack))));
    expect(t.payload.length).toBe(0);
    expect(t.length).toBe(0);
    expect(t.truncated).toBe(false);
  });

  it("skips IP options and TCP options", () => {
    const seg = tcp(payload, { options: [2, 4, 5, 0xb4, 1, 1, 1, 0], flags: 0x02 });
    const t = must(decodePacket(packet(101, ipv4(seg, { options: [0x94, 4, 0, 0, 1, 1, 1, 0] }))));
    expect(t.payload).toEqual(payload);
    expect(t.flags.syn).toBe(true);
  });

  it("marks snap-length truncation and keeps the wire length", () => {
    const frame = ether(0x0800, v4);
    const t = must(decodePacket(packet(1, frame.subarray(0, 14 + 20 + 20 + 5), frame.length)));
    expect(t.payload).toEqual(payload.subarray(0, 5));
    expect(t.length).toBe(payload.length);
    expect(t.truncated).toBe(true);
  });

  it("returns null when the TCP header itself is cut", () => {
    expect(decodePacket(packet(101, v4.subarray(0, 30)))).toBeNull();
  });

  it("treats TSO total length 0 as 'use the captured length'", () => {
    const t = must(decodePacket(packet(101, ipv4(tcp(payload), { totalLen: 0 }))));
    expect(t.payload).toEqual(payload);
  });

  it("first fragment: payload as is, truncated; later fragments: skipped", () => {
    const first = must(decodePacket(packet(101, ipv4(tcp(payload), { frag: 0x2000 }))));
    expect(first.payload).toEqual(payload);
    expect(first.truncated).toBe(true);
    expect(decodePacket(packet(101, ipv4(payload, { frag: 0x0003 })))).toBeNull();
  });

  it("non-TCP protocols give null", () => {
    expect(decodePacket(packet(101, ipv4(new Uint8Array(8), { proto: 17 })))).toBeNull();
  });
});

describe("IPv6", () => {
  it("walks hop-by-hop, routing, destination options and authentication headers", () => {
    const seg = tcp(payload);
    const chain = concat(
      Uint8Array.of(43, 0, 1, 4, 0, 0, 0, 0), // hop-by-hop (8 bytes) -> routing
      Uint8Array.of(60, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), // routing (16 bytes) -> dest opts
      Uint8Array.of(51, 0, 1, 4, 0, 0, 0, 0), // destination options -> AH
      Uint8Array.of(6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), // AH: (1 + 2) * 4 = 12 bytes -> TCP
      seg,
    );
    const t = must(decodePacket(packet(229, ipv6(0, chain))));
    expect(t.payload).toEqual(payload);
    expect(t.truncated).toBe(false);
  });

  it("fragment header: first fragment truncated, others skipped", () => {
    const frag = (offsetAndM: number) => concat(new Bytes(false).u8(6, 0).u16(offsetAndM).u32(1).build(), tcp(payload));
    const t = must(decodePacket(packet(229, ipv6(44, frag(0x0001)))));
    expect(t.payload).toEqual(payload);
    expect(t.truncated).toBe(true);
    expect(decodePacket(packet(229, ipv6(44, frag(0x0008))))).toBeNull();
  });

  it("no-next-header and UDP give null", () => {
    expect(decodePacket(packet(229, ipv6(59, new Uint8Array(8))))).toBeNull();
    expect(decodePacket(packet(229, ipv6(17, new Uint8Array(8))))).toBeNull();
  });

  // Expected strings checked against tshark 4.0 (ipv6.src) on the same addresses.
  it.each([
    ["0:0:0:0:0:0:0:1", "::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["fe80:0:0:0:0:0:0:1", "fe80::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0:0:1:0:0:0:0", "2001:0:0:1::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:0:0:2", "::2"],
    ["0:0:2:0:0:0:0:0", "0:0:2::"],
    ["2001:db8:0:1:2:3:4:5", "2001:db8:0:1:2:3:4:5"],
    ["2001:DB8:AAAA:0:0:0:0:FFFF", "2001:db8:aaaa::ffff"],
    ["0:0:0:0:0:ffff:102:304", "::ffff:1.2.3.4"],
    ["0:0:0:0:0:ffff:0:0", "::ffff:0.0.0.0"],
    ["0:0:0:0:0:0:102:304", "::1.2.3.4"],
    ["0:0:0:0:0:0:1:2", "::0.1.0.2"],
    ["0:0:0:0:1:ffff:102:304", "::1:ffff:102:304"],
    ["64:ff9b:0:0:0:0:102:304", "64:ff9b::102:304"],
  ])("formats %s as %s", (full, expected) => {
    expect(formatIPv6(parseIPv6(full))).toBe(expected);
    expect(formatIPv6(parseIPv6(expected))).toBe(expected);
  });
});
