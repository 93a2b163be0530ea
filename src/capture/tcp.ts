// TCP conversation tracking and per-direction stream reassembly.
//
// Usage: feed every packet of a capture, in file order, to `push`; it returns the
// events and contiguous data that packet produced. Call `end()` after the last packet to
// flush data still waiting behind gaps that never closed.

import { type DecodedTcp, decodePacket, linkTypeName, linkTypeSupported } from "./packet.ts";
import { CaptureError, type CapturePacket, type TcpData, type TcpEvent, type TcpOutput } from "./types.ts";

/** Out-of-order data buffered in one direction beyond which the oldest gap is given up on. */
const MAX_PENDING_SEGMENTS = 64;
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/** Signed distance a - b between two 32-bit sequence numbers (handles wrap-around). */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

interface Segment {
  seq: number;
  /** Length on the wire (data may be shorter when truncated by the snap length). */
  len: number;
  data: Uint8Array;
  /** Bytes are missing at the end (snap length, or a first IP fragment). */
  truncated: boolean;
  frame: number;
  time: number;
}

interface Direction {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** Wireshark's base_seq, used only to decide when a SYN starts a new stream. */
  baseSeq: number | undefined;
  /** Next expected sequence number; undefined until a SYN or data is seen. */
  next: number | undefined;
  /** Out-of-order segments, sorted by sequence number. */
  pending: Segment[];
  pendingBytes: number;
  synSeen: boolean;
  rstSeen: boolean;
  /** Sequence number of the FIN, once seen; its event waits until the data before it is out. */
  fin: { seq: number; frame: number; time: number } | undefined;
  finEmitted: boolean;
}

interface Conversation {
  stream: number;
  /** The directions, by their sender's endpoint (Endpoints.of): the first one seen is a. */
  aFrom: number;
  a: Direction;
  b: Direction;
  sawFin: boolean;
  sawRst: boolean;
  /** The handshake's last ACK was seen (its event emitted). */
  established?: boolean;
}

/**
 * Endpoints (address and port) as numbers: an address's number (in the order first seen) times
 * 65536 plus the port. Numbers make the conversation table's keys without building strings.
 */
class Endpoints {
  private readonly ids = new Map<string, number>();

  of(addr: string, port: number): number {
    let id = this.ids.get(addr);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(addr, id);
    }
    return id * 65536 + port;
  }
}

/** Reassembles TCP streams from capture packets. See the file comment for the protocol. */
export class TcpReassembler {
  /** Conversations by their lower endpoint, then their higher one. */
  private readonly conversations = new Map<number, Map<number, Conversation>>();
  private readonly endpoints = new Endpoints();
  /** All conversations in stream order (including ones replaced by port reuse). */
  private readonly streams: Conversation[] = [];
  private current: { frame: number; time: number } = { frame: 0, time: 0 };
  private stream: number | undefined;
  /** While flushing at end of capture, each chunk carries its own segment's frame. */
  private ownFrames = false;

  /** The tcp.stream number of the last pushed packet, or undefined if it was not TCP. */
  get lastStream(): number | undefined {
    return this.stream;
  }

  /** Number of streams seen so far. */
  get streamCount(): number {
    return this.streams.length;
  }

  /**
   * Processes one packet. Throws CaptureError for a link type decodePacket cannot handle;
   * non-TCP packets produce nothing.
   */
  push(p: CapturePacket): TcpOutput[] {
    if (!linkTypeSupported(p.linkType)) {
      throw new CaptureError(
        `frame ${p.frame} has unsupported link type ${p.linkType} (${linkTypeName(p.linkType)}); ` +
          "only Ethernet, Linux cooked, BSD loopback and raw IP captures can be decoded",
      );
    }
    this.stream = undefined;
    const tcp = decodePacket(p);
    if (!tcp) return [];
    return this.pushDecoded(p, tcp);
  }

  /** Processes an already decoded TCP segment of packet `p`. */
  pushDecoded(p: CapturePacket, tcp: DecodedTcp): TcpOutput[] {
    const out: TcpOutput[] = [];
    this.current = { frame: p.frame, time: p.time };
    const from = this.endpoints.of(tcp.src, tcp.srcPort);
    const to = this.endpoints.of(tcp.dst, tcp.dstPort);
    const conv = this.conversationFor(tcp, from, to, out);
    this.stream = conv.stream;
    const fromA = from === conv.aFrom;
    const d = fromA ? conv.a : conv.b;
    const r = fromA ? conv.b : conv.a;
    const { flags } = tcp;

    // Wireshark's base sequence numbers (only for stream numbering).
    if (d.baseSeq === undefined) d.baseSeq = flags.syn ? tcp.seq : seqAdd(tcp.seq, -1);
    if (r.baseSeq === undefined && flags.ack) r.baseSeq = seqAdd(tcp.ack, -1);

    if (flags.syn) {
      if (!d.synSeen) {
        d.synSeen = true;
        const e = this.event("syn", conv, d);
        if (flags.ack) e.ack = true;
        out.push(e);
      }
      if (d.next === undefined) d.next = seqAdd(tcp.seq, 1);
    } else if (flags.ack && !conv.established && d.synSeen && r.synSeen) {
      conv.established = true;
      out.push(this.event("ack", conv, d));
    }
    const dataSeq = flags.syn ? seqAdd(tcp.seq, 1) : tcp.seq;
    if (tcp.length > 0) {
      if (d.next === undefined) d.next = dataSeq;
      const at = this.current;
      const seg = {
        seq: dataSeq,
        len: tcp.length,
        data: tcp.payload,
        truncated: tcp.truncated,
        frame: at.frame,
        time: at.time,
      };
      this.accept(conv, d, seg, out);
    }
    if (flags.fin) {
      conv.sawFin = true;
      if (d.fin === undefined) {
        d.fin = { seq: seqAdd(dataSeq, tcp.length), ...this.current };
        if (d.next === undefined) d.next = d.fin.seq;
        this.maybeFin(conv, d, out);
      }
    }
    // Bytes the peer acknowledges but we never saw were lost from the capture: stop waiting.
    if (flags.ack && r.pending.length > 0 && r.next !== undefined && seqDiff(tcp.ack, r.next) > 0) {
      while (r.pending.length > 0 && seqDiff(r.pending[0].seq, tcp.ack) < 0) this.skipGap(conv, r, out);
    }
    while (d.pending.length > MAX_PENDING_SEGMENTS || d.pendingBytes > MAX_PENDING_BYTES) {
      this.skipGap(conv, d, out);
    }
    if (flags.rst) {
      conv.sawRst = true;
      if (!d.rstSeen) {
        // The connection is gone: nothing will fill the gaps any more.
        this.flushConversation(conv, out, true);
        d.rstSeen = true;
        out.push(this.event("rst", conv, d));
      }
    }
    return out;
  }

  /** Flushes every direction of every stream (gaps skipped, pending FINs emitted). */
  end(): TcpOutput[] {
    const out: TcpOutput[] = [];
    for (const conv of this.streams) this.flushConversation(conv, out, false);
    return out;
  }

  /**
   * Finds the conversation for this 4-tuple, or starts a new stream: on first sight, or
   * (like Wireshark) for a SYN without ACK whose sequence number differs from the
   * conversation's base, or on a conversation that already saw a FIN or RST.
   */
  private conversationFor(tcp: DecodedTcp, from: number, to: number, out: TcpOutput[]): Conversation {
    const lo = Math.min(from, to);
    let byHi = this.conversations.get(lo);
    if (byHi === undefined) {
      byHi = new Map();
      this.conversations.set(lo, byHi);
    }
    const hi = Math.max(from, to);
    let conv = byHi.get(hi);
    if (conv && tcp.flags.syn && !tcp.flags.ack) {
      const base = (from === conv.aFrom ? conv.a : conv.b).baseSeq;
      if (base !== undefined && (base !== tcp.seq || conv.sawFin || conv.sawRst)) {
        this.flushConversation(conv, out, false);
        conv = undefined;
      }
    }
    if (!conv) {
      const a = direction(tcp.src, tcp.srcPort, tcp.dst, tcp.dstPort);
      // A segment from an endpoint to itself: one direction, as one address and port pair.
      const b = from === to ? a : direction(tcp.dst, tcp.dstPort, tcp.src, tcp.srcPort);
      conv = { stream: this.streams.length, aFrom: from, a, b, sawFin: false, sawRst: false };
      byHi.set(hi, conv);
      this.streams.push(conv);
    }
    return conv;
  }

  /** Takes in one segment: emits its new bytes if in order, else buffers it. */
  private accept(conv: Conversation, d: Direction, seg: Segment, out: TcpOutput[], gap = false): void {
    const next = d.next as number;
    const diff = seqDiff(seg.seq, next);
    if (diff > 0) {
      // Kept for later: its own copy, not a view that would keep the capture's read buffer alive.
      insertPending(d, { ...seg, data: seg.data.slice() });
      return;
    }
    // Retransmitted or overlapping: only the bytes from `next` on are new.
    if (diff + seg.len <= 0) return;
    const skip = -diff;
    const data = skip === 0 ? seg.data : seg.data.subarray(Math.min(skip, seg.data.length));
    const truncated = seg.truncated || seg.data.length < seg.len;
    d.next = seqAdd(seg.seq, seg.len);
    if (data.length > 0 || truncated || gap) {
      const chunk: TcpData = {
        kind: "data",
        stream: conv.stream,
        frame: this.current.frame,
        time: this.current.time,
        src: d.src,
        srcPort: d.srcPort,
        dst: d.dst,
        dstPort: d.dstPort,
        data,
      };
      if (truncated) {
        chunk.truncated = true;
        chunk.length = seg.len - skip;
      }
      if (gap) chunk.gap = true;
      out.push(chunk);
    }
    // Buffered segments that are now contiguous (or old) go out with the current frame.
    while (d.pending.length > 0 && seqDiff(d.pending[0].seq, d.next) <= 0) {
      const s = d.pending.shift() as Segment;
      d.pendingBytes -= s.data.length;
      if (this.ownFrames) this.current = { frame: s.frame, time: s.time };
      this.accept(conv, d, s, out);
    }
    this.maybeFin(conv, d, out);
  }

  /** Gives up on the gap before the first pending segment and delivers it (marked gap). */
  private skipGap(conv: Conversation, d: Direction, out: TcpOutput[]): void {
    const s = d.pending.shift() as Segment;
    d.pendingBytes -= s.data.length;
    if (d.next === undefined || seqDiff(s.seq, d.next) > 0) d.next = s.seq;
    this.accept(conv, d, s, out, true);
  }

  /** Emits the direction's FIN once all data before it has been delivered. */
  private maybeFin(conv: Conversation, d: Direction, out: TcpOutput[]): void {
    if (d.fin && !d.finEmitted && d.next !== undefined && seqDiff(d.next, d.fin.seq) >= 0) {
      d.finEmitted = true;
      if (d.next === d.fin.seq) d.next = seqAdd(d.next, 1); // the FIN takes one sequence number
      out.push(this.event("fin", conv, d, d.fin));
    }
  }

  /**
   * Delivers all pending data of a conversation and any FIN still waiting behind it. At
   * end of capture (`atPacket` false) each leftover chunk carries its own frame.
   */
  private flushConversation(conv: Conversation, out: TcpOutput[], atPacket: boolean): void {
    const saved = this.current;
    this.ownFrames = !atPacket;
    for (const d of conv.a === conv.b ? [conv.a] : [conv.a, conv.b]) {
      while (d.pending.length > 0) {
        if (!atPacket) this.current = { frame: d.pending[0].frame, time: d.pending[0].time };
        this.skipGap(conv, d, out);
      }
      if (d.fin && !d.finEmitted) {
        d.finEmitted = true;
        out.push(this.event("fin", conv, d, d.fin));
      }
    }
    this.current = saved;
    this.ownFrames = false;
  }

  private event(
    kind: TcpEvent["kind"],
    conv: Conversation,
    d: Direction,
    at: { frame: number; time: number } = this.current,
  ): TcpEvent {
    return {
      kind,
      stream: conv.stream,
      frame: at.frame,
      time: at.time,
      src: d.src,
      srcPort: d.srcPort,
      dst: d.dst,
      dstPort: d.dstPort,
    };
  }
}

function direction(src: string, srcPort: number, dst: string, dstPort: number): Direction {
  return {
    src,
    srcPort,
    dst,
    dstPort,
    baseSeq: undefined,
    next: undefined,
    pending: [],
    pendingBytes: 0,
    synSeen: false,
    rstSeen: false,
    fin: undefined,
    finEmitted: false,
  };
}

/** Inserts keeping `pending` sorted by distance from d.next (stable for equal seqs). */
function insertPending(d: Direction, seg: Segment): void {
  const next = d.next as number;
  const rel = seqDiff(seg.seq, next);
  let i = d.pending.length;
  while (i > 0 && seqDiff(d.pending[i - 1].seq, next) > rel) i--;
  d.pending.splice(i, 0, seg);
  d.pendingBytes += seg.data.length;
}
