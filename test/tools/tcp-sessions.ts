// Builders for synthetic TCP captures (tests, fixtures): complete link + IP + TCP frames
// with valid IPv4 header and TCP checksums.

import { writeFile } from "node:fs/promises";
import { PcapngWriter } from "../../src/capture/pcap.ts";

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Endpoint {
  /** IPv4 dotted quad, or IPv6 (any text form containing ':'). */
  ip: string;
  port: number;
}

export interface SessionOptions {
  client: Endpoint;
  server: Endpoint;
  /** Time of the first packet, in seconds since the epoch (default 1700000000). */
  startTime?: number;
  /** LINKTYPE of the frames: 1 Ethernet (default), 0 NULL, 12/101 raw, 113 SLL, 228/229 raw v4/v6, 276 SLL2. */
  linkType?: number;
  /** Initial sequence numbers (defaults derived from the ports). */
  clientIsn?: number;
  serverIsn?: number;
  /** Seconds between consecutive packets (default 0.001). */
  timeStep?: number;
}

export interface SessionPacket {
  time: number;
  data: Uint8Array;
}

export interface SegmentFlags {
  syn?: boolean;
  ack?: boolean;
  psh?: boolean;
  fin?: boolean;
  rst?: boolean;
}

const F_FIN = 0x01;
const F_SYN = 0x02;
const F_RST = 0x04;
const F_PSH = 0x08;
const F_ACK = 0x10;

interface Side {
  ep: Endpoint;
  addr: Uint8Array;
  mac: Uint8Array;
  isn: number;
  /** Relative offset (0 = first data byte after the SYN) of the next byte to send. */
  sent: number;
  synSent: boolean;
  /** Relative offset of this side's FIN, once sent. */
  finAt: number | undefined;
  /** Data ranges [from, to) this side has sent, relative, for the peer's cumulative ACK. */
  ranges: [number, number][];
  ipId: number;
}

/**
 * Scripts one TCP connection packet by packet. Sequence numbers are tracked per side;
 * ACK numbers are cumulative over the data the peer has sent so far (gaps left by
 * out-of-order `raw` segments hold the ACK back, like a real receiver).
 */
export class TcpSessionBuilder {
  readonly linkType: number;
  private readonly client: Side;
  private readonly server: Side;
  private readonly v6: boolean;
  private readonly step: number;
  /** Time of the next packet is `base + count * step` (no float drift over long sessions). */
  private base: number;
  private count = 0;
  private readonly out: SessionPacket[] = [];

  constructor(opts: SessionOptions) {
    this.linkType = opts.linkType ?? 1;
    this.v6 = opts.client.ip.includes(":");
    if (this.v6 !== opts.server.ip.includes(":")) throw new Error("client and server must use the same IP version");
    if (this.linkType === 228 && this.v6) throw new Error("link type 228 carries IPv4 only");
    if (this.linkType === 229 && !this.v6) throw new Error("link type 229 carries IPv6 only");
    if (![0, 1, 12, 101, 113, 228, 229, 276].includes(this.linkType)) {
      throw new Error(`TcpSessionBuilder cannot build link type ${this.linkType}`);
    }
    this.base = opts.startTime ?? 1700000000;
    this.step = opts.timeStep ?? 0.001;
    const side = (ep: Endpoint, isn: number, macByte: number): Side => ({
      ep,
      addr: this.v6 ? parseIPv6(ep.ip) : parseIPv4(ep.ip),
      mac: Uint8Array.of(0x02, 0, 0, 0, 0, macByte),
      isn: isn >>> 0,
      sent: 0,
      synSent: false,
      finAt: undefined,
      ranges: [],
      ipId: macByte * 0x1000,
    });
    this.client = side(opts.client, opts.clientIsn ?? 0x10000000 + opts.client.port * 7919, 1);
    this.server = side(opts.server, opts.serverIsn ?? 0x60000000 + opts.server.port * 104729, 2);
  }

  /** Sets the time of the next packet (later packets keep advancing by the time step). */
  at(time: number): this {
    this.base = time;
    this.count = 0;
    return this;
  }

  /** SYN, SYN/ACK, ACK. */
  handshake(): this {
    this.client.synSent = true;
    this.emit(this.client, this.client.isn, F_SYN, new Uint8Array(0));
    this.server.synSent = true;
    this.emit(this.server, this.server.isn, F_SYN | F_ACK, new Uint8Array(0));
    return this.ack(true);
  }

  /**
   * Sends `bytes` from one side, split into segments of `segmentSizes` (cycling; the last
   * segment holds the remainder; default 1460), then a pure ACK from the peer unless
   * `ack` is false.
   */
  send(fromClient: boolean, bytes: Uint8Array, opts: { segmentSizes?: number[]; ack?: boolean } = {}): this {
    const sizes = opts.segmentSizes?.length ? opts.segmentSizes : [1460];
    const segments: Uint8Array[] = [];
    for (let off = 0, i = 0; off < bytes.length; i++) {
      const size = Math.max(1, sizes[i % sizes.length]);
      segments.push(bytes.subarray(off, off + size));
      off += size;
    }
    return this.sendSegments(fromClient, segments, opts);
  }

  /** Sends exactly these segments, one packet each, then a peer ACK unless `ack` is false. */
  sendSegments(fromClient: boolean, segments: Uint8Array[], opts: { ack?: boolean } = {}): this {
    const s = this.side(fromClient);
    for (const seg of segments) this.raw(fromClient, s.sent, seg);
    if (segments.length > 0 && opts.ack !== false) this.ack(!fromClient);
    return this;
  }

  /**
   * Injects one segment at relative sequence offset `seqOffset` (0 = first data byte),
   * e.g. to send segments out of order or retransmit with overlap. Flags default to PSH|ACK.
   */
  raw(fromClient: boolean, seqOffset: number, bytes: Uint8Array, flags: SegmentFlags = { psh: true, ack: true }): this {
    const s = this.side(fromClient);
    const f =
      (flags.fin ? F_FIN : 0) |
      (flags.syn ? F_SYN : 0) |
      (flags.rst ? F_RST : 0) |
      (flags.psh ? F_PSH : 0) |
      (flags.ack ? F_ACK : 0);
    if (flags.syn) s.synSent = true;
    if (bytes.length > 0) {
      s.ranges.push([seqOffset, seqOffset + bytes.length]);
      s.sent = Math.max(s.sent, seqOffset + bytes.length);
    }
    this.emit(s, relSeq(s, seqOffset), f, bytes);
    return this;
  }

  /** A pure ACK from one side. */
  ack(fromClient: boolean): this {
    const s = this.side(fromClient);
    this.emit(s, nextSeq(s), F_ACK, new Uint8Array(0));
    return this;
  }

  /** FIN|ACK from one side. */
  fin(fromClient: boolean): this {
    const s = this.side(fromClient);
    s.finAt = s.sent;
    this.emit(s, relSeq(s, s.sent), F_FIN | F_ACK, new Uint8Array(0));
    return this;
  }

  /** Orderly close started by one side: FIN, FIN from the peer, final ACK. */
  close(fromClient = true): this {
    return this.fin(fromClient).fin(!fromClient).ack(fromClient);
  }

  /** RST|ACK from one side. */
  rst(fromClient: boolean): this {
    const s = this.side(fromClient);
    this.emit(s, nextSeq(s), F_RST | F_ACK, new Uint8Array(0));
    return this;
  }

  /** The frames built so far, in order. */
  packets(): SessionPacket[] {
    return this.out.slice();
  }

  private side(fromClient: boolean): Side {
    return fromClient ? this.client : this.server;
  }

  private emit(s: Side, seq: number, flags: number, payload: Uint8Array): void {
    const peer = s === this.client ? this.server : this.client;
    const ack = flags & F_ACK ? ackFor(peer) : 0;
    const segment = tcpSegment(s.ep.port, peer.ep.port, seq, ack, flags, payload);
    const ip = this.v6
      ? ipv6Packet(s.addr, peer.addr, segment)
      : ipv4Packet(s.addr, peer.addr, segment, s.ipId++ & 0xffff);
    this.out.push({ time: this.base + this.count++ * this.step, data: this.frame(s, peer, ip) });
  }

  private frame(s: Side, peer: Side, ip: Uint8Array): Uint8Array {
    const v6 = this.v6;
    const ethertype = v6 ? 0x86dd : 0x0800;
    switch (this.linkType) {
      case 1: {
        // Ethernet II, padded to the 60-byte minimum like a real NIC.
        const f = new Uint8Array(Math.max(60, 14 + ip.length));
        f.set(peer.mac, 0);
        f.set(s.mac, 6);
        f[12] = ethertype >> 8;
        f[13] = ethertype & 0xff;
        f.set(ip, 14);
        return f;
      }
      case 0: {
        // BSD loopback, family in little-endian host order (AF_INET6 as on macOS).
        const f = new Uint8Array(4 + ip.length);
        f[0] = v6 ? 30 : 2;
        f.set(ip, 4);
        return f;
      }
      case 113: {
        const f = new Uint8Array(16 + ip.length);
        f[1] = s === this.client ? 4 : 0; // packet type: outgoing / to us
        f[3] = 1; // ARPHRD_ETHER
        f[5] = 6;
        f.set(s.mac, 6);
        f[14] = ethertype >> 8;
        f[15] = ethertype & 0xff;
        f.set(ip, 16);
        return f;
      }
      case 276: {
        const f = new Uint8Array(20 + ip.length);
        f[0] = ethertype >> 8;
        f[1] = ethertype & 0xff;
        f[7] = 1; // interface index
        f[9] = 1; // ARPHRD_ETHER
        f[10] = s === this.client ? 4 : 0;
        f[11] = 6;
        f.set(s.mac, 12);
        f.set(ip, 20);
        return f;
      }
      default:
        return ip; // 12, 101, 228, 229: raw IP
    }
  }
}

function relSeq(s: Side, offset: number): number {
  return (s.isn + 1 + offset) >>> 0;
}

/** Sequence number of a side's next packet (after its data, and after its FIN if sent). */
function nextSeq(s: Side): number {
  return relSeq(s, s.sent + (s.finAt !== undefined ? 1 : 0));
}

/** The cumulative ACK for data sent by `peer`: end of its contiguous data (+1 for SYN/FIN). */
function ackFor(peer: Side): number {
  if (!peer.synSent && peer.ranges.length === 0) return 0;
  let contig = 0;
  const ranges = peer.ranges.slice().sort((a, b) => a[0] - b[0]);
  for (const [from, to] of ranges) {
    if (from > contig) break;
    contig = Math.max(contig, to);
  }
  if (peer.finAt !== undefined && contig >= peer.finAt) contig += 1;
  return relSeq(peer, contig);
}

function tcpSegment(
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload: Uint8Array,
): Uint8Array {
  const t = new Uint8Array(20 + payload.length);
  const dv = new DataView(t.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, seq >>> 0);
  dv.setUint32(8, ack >>> 0);
  t[12] = 5 << 4;
  t[13] = flags;
  dv.setUint16(14, 65535); // window
  t.set(payload, 20);
  return t;
}

function ipv4Packet(src: Uint8Array, dst: Uint8Array, segment: Uint8Array, id: number): Uint8Array {
  const p = new Uint8Array(20 + segment.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, id);
  dv.setUint16(6, 0x4000); // don't fragment
  p[8] = 64;
  p[9] = 6;
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, checksum([p.subarray(0, 20)]));
  // TCP checksum over the IPv4 pseudo-header.
  const pseudo = new Uint8Array(12);
  pseudo.set(src, 0);
  pseudo.set(dst, 4);
  pseudo[9] = 6;
  new DataView(pseudo.buffer).setUint16(10, segment.length);
  new DataView(segment.buffer, segment.byteOffset).setUint16(16, checksum([pseudo, segment]));
  p.set(segment, 20);
  return p;
}

function ipv6Packet(src: Uint8Array, dst: Uint8Array, segment: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + segment.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x60;
  dv.setUint16(4, segment.length);
  p[6] = 6;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, segment.length);
  pseudo[39] = 6;
  new DataView(segment.buffer, segment.byteOffset).setUint16(16, checksum([pseudo, segment]));
  p.set(segment, 40);
  return p;
}

/** Internet checksum (RFC 1071) over the concatenation of `parts` (each even-aligned but the last). */
export function checksum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i] << 8) | b[i + 1];
    if (b.length % 2) sum += b[b.length - 1] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function parseIPv4(s: string): Uint8Array {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255)) {
    throw new Error(`invalid IPv4 address ${s}`);
  }
  return Uint8Array.from(parts.map(Number));
}

/** Parses any RFC 4291 text form ("::1", "fe80::1", "::ffff:1.2.3.4") into 16 bytes. */
export function parseIPv6(s: string): Uint8Array {
  const bad = () => new Error(`invalid IPv6 address ${s}`);
  let text = s;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    // Rewrite an embedded dotted-quad suffix as two hex groups.
    const v4 = parseIPv4(text.slice(lastColon + 1));
    const hi = ((v4[0] << 8) | v4[1]).toString(16);
    const lo = ((v4[2] << 8) | v4[3]).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const groups = (h: string): number[] =>
    h === ""
      ? []
      : h.split(":").map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
          return Number.parseInt(g, 16);
        });
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const fixed = head.length + rest.length;
  if (halves.length === 1 ? fixed !== 8 : fixed > 7) throw bad();
  const all = [...head, ...Array<number>(8 - fixed).fill(0), ...rest];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Merges the packets of several sessions by time (stable) into one pcapng file image. */
export function sessionsToPcapng(builders: TcpSessionBuilder[]): Uint8Array {
  const linkType = builders[0]?.linkType ?? 1;
  if (builders.some((b) => b.linkType !== linkType)) throw new Error("all sessions must use the same link type");
  const all = builders.flatMap((b) => b.packets()).sort((a, b) => a.time - b.time);
  const w = new PcapngWriter(linkType);
  for (const p of all) w.addPacket(p.time, p.data);
  return w.toBuffer();
}

/** Writes the merged sessions to a pcapng file at `path`. */
export async function writeSessions(path: string, builders: TcpSessionBuilder[]): Promise<void> {
  await writeFile(path, sessionsToPcapng(builders));
}
