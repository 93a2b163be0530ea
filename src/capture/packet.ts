// Link layer -> IPv4/IPv6 -> TCP header parsing for one captured packet.

import type { CapturePacket } from "./types.ts";

export interface TcpFlags {
  syn: boolean;
  fin: boolean;
  rst: boolean;
  ack: boolean;
  psh: boolean;
}

/** The TCP segment carried by one packet. */
export interface DecodedTcp {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Raw 32-bit sequence and acknowledgement numbers. */
  seq: number;
  ack: number;
  flags: TcpFlags;
  /** Captured payload bytes (without Ethernet padding). */
  payload: Uint8Array;
  /** Payload length on the wire according to the IP header (>= payload.length). */
  length: number;
  /** True when payload.length < length (snap length) or the packet is a first IP fragment. */
  truncated: boolean;
}

const LINK_TYPE_NAMES: Record<number, string> = {
  0: "BSD loopback",
  1: "Ethernet",
  6: "IEEE 802.5 Token Ring",
  9: "PPP",
  10: "FDDI",
  12: "raw IP",
  50: "PPP in HDLC-like framing",
  101: "raw IP",
  104: "Cisco HDLC",
  105: "IEEE 802.11",
  108: "OpenBSD loopback",
  113: "Linux cooked capture v1",
  119: "Prism 802.11",
  127: "IEEE 802.11 radiotap",
  187: "Bluetooth HCI H4",
  192: "PPI",
  195: "IEEE 802.15.4",
  220: "Linux USB",
  228: "raw IPv4",
  229: "raw IPv6",
  249: "Linux netlink",
  276: "Linux cooked capture v2",
};

const SUPPORTED = new Set([0, 1, 12, 101, 108, 113, 228, 229, 276]);

/** True for the link types decodePacket understands. */
export function linkTypeSupported(linkType: number): boolean {
  return SUPPORTED.has(linkType);
}

/** A short human name for a LINKTYPE_* number ("unknown" when not in our table). */
export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES[linkType] ?? "unknown";
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/**
 * Decodes a packet down to its TCP segment. Returns null for anything that is not a
 * decodable TCP segment: other protocols, unsupported link types, non-first IP
 * fragments, or headers cut short by the snap length.
 */
export function decodePacket(p: CapturePacket): DecodedTcp | null {
  const b = p.data;
  const ip = linkPayload(p.linkType, b);
  if (!ip) return null;
  const [ethertype, off] = ip;
  if (ethertype === ETH_IPV4) return decodeIPv4(b, off);
  if (ethertype === ETH_IPV6) return decodeIPv6(b, off);
  return null;
}

/** Returns [ethertype, offset of the network header], or null when not IP. */
function linkPayload(linkType: number, b: Uint8Array): [number, number] | null {
  switch (linkType) {
    case 1: {
      // Ethernet II, skipping any number of 802.1Q / 802.1ad (QinQ) tags.
      let off = 12;
      let type = u16(b, off);
      while ((type === 0x8100 || type === 0x88a8 || type === 0x9100) && off + 6 <= b.length) {
        off += 4;
        type = u16(b, off);
      }
      return off + 2 <= b.length ? [type, off + 2] : null;
    }
    case 113: // Linux SLL: protocol at offset 14, header 16 bytes.
      return b.length >= 16 ? [u16(b, 14), 16] : null;
    case 276: // Linux SLL2: protocol at offset 0, header 20 bytes.
      return b.length >= 20 ? [u16(b, 0), 20] : null;
    case 0:
    case 108: {
      // BSD loopback: 4-byte address family, host byte order (NULL) or network order (LOOP).
      if (b.length < 4) return null;
      let family = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      if (family > 0xffff) family = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      if (family === 2) return [ETH_IPV4, 4];
      if (family === 24 || family === 28 || family === 30) return [ETH_IPV6, 4];
      return null;
    }
    case 12:
    case 101: {
      const v = (b[0] ?? 0) >> 4;
      return v === 4 ? [ETH_IPV4, 0] : v === 6 ? [ETH_IPV6, 0] : null;
    }
    case 228:
      return [ETH_IPV4, 0];
    case 229:
      return [ETH_IPV6, 0];
    default:
      return null;
  }
}

function decodeIPv4(b: Uint8Array, o: number): DecodedTcp | null {
  if (b.length < o + 20 || b[o] >> 4 !== 4) return null;
  const ihl = (b[o] & 0x0f) * 4;
  if (ihl < 20 || b.length < o + ihl || b[o + 9] !== 6) return null;
  const frag = u16(b, o + 6);
  if ((frag & 0x1fff) !== 0) return null; // not the first fragment
  const moreFragments = (frag & 0x2000) !== 0;
  const totalLen = u16(b, o + 2);
  if (totalLen !== 0 && totalLen < ihl) return null;
  // Total length 0 happens with TCP segmentation offload: trust the captured length.
  const ipEnd = totalLen === 0 ? b.length : o + totalLen;
  return decodeTcp(b, o + ihl, ipEnd, ipv4(b, o + 12), ipv4(b, o + 16), moreFragments);
}

function decodeIPv6(b: Uint8Array, o: number): DecodedTcp | null {
  if (b.length < o + 40 || b[o] >> 4 !== 6) return null;
  const payloadLen = u16(b, o + 4);
  const ipEnd = payloadLen === 0 ? b.length : o + 40 + payloadLen; // 0: jumbogram / offload
  let next = b[o + 6];
  let p = o + 40;
  let fragmented = false;
  for (;;) {
    if (next === 6) break;
    if (p + 8 > b.length) return null;
    if (next === 0 || next === 43 || next === 60) {
      // Hop-by-hop, routing, destination options: length in 8-octet units, excluding the first.
      const len = (b[p + 1] + 1) * 8;
      next = b[p];
      p += len;
    } else if (next === 44) {
      const fo = u16(b, p + 2);
      if (fo >> 3 !== 0) return null; // not the first fragment
      fragmented = (fo & 1) !== 0;
      next = b[p];
      p += 8;
    } else if (next === 51) {
      // Authentication header: length in 4-octet units, minus 2.
      const len = (b[p + 1] + 2) * 4;
      next = b[p];
      p += len;
    } else {
      return null;
    }
  }
  return decodeTcp(b, p, ipEnd, formatIPv6(b, o + 8), formatIPv6(b, o + 24), fragmented);
}

function decodeTcp(
  b: Uint8Array,
  t: number,
  ipEnd: number,
  src: string,
  dst: string,
  fragmented: boolean,
): DecodedTcp | null {
  const capEnd = Math.min(ipEnd, b.length);
  if (capEnd < t + 20) return null;
  const hlen = (b[t + 12] >> 4) * 4;
  if (hlen < 20 || capEnd < t + hlen) return null;
  const fl = b[t + 13];
  const payload = b.subarray(t + hlen, capEnd);
  const length = ipEnd - t - hlen;
  return {
    src,
    dst,
    srcPort: u16(b, t),
    dstPort: u16(b, t + 2),
    seq: u32(b, t + 4),
    ack: u32(b, t + 8),
    flags: {
      fin: (fl & 0x01) !== 0,
      syn: (fl & 0x02) !== 0,
      rst: (fl & 0x04) !== 0,
      psh: (fl & 0x08) !== 0,
      ack: (fl & 0x10) !== 0,
    },
    payload,
    length,
    truncated: fragmented || payload.length < length,
  };
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Recent IPv4 addresses' text, by their 32-bit value: one string per address, not one per packet. */
const IPV4_TEXT = new Map<number, string>();
const IPV4_TEXT_MAX = 65536;

function ipv4(b: Uint8Array, o: number): string {
  const n = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  let t = IPV4_TEXT.get(n);
  if (t === undefined) {
    if (IPV4_TEXT.size >= IPV4_TEXT_MAX) IPV4_TEXT.clear();
    t = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    IPV4_TEXT.set(n, t);
  }
  return t;
}

/** Dotted-quad form of 4 bytes at `o`. */
export function formatIPv4(b: Uint8Array, o = 0): string {
  return ipv4(b, o);
}

/**
 * RFC 5952 text form of the 16 bytes at `o`, as Wireshark prints it: lower-case hex,
 * the longest run (first on a tie) of two or more zero groups replaced by "::", and
 * IPv4-mapped / IPv4-compatible addresses ending in dotted-quad.
 */
export function formatIPv6(b: Uint8Array, o = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(u16(b, o + 2 * i));
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, but not :: or ::1).
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0) {
    if (g[5] === 0xffff) return `::ffff:${ipv4(b, o + 12)}`;
    if (g[5] === 0 && g[6] !== 0) return `::${ipv4(b, o + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(":");
  if (bestLen < 2) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
