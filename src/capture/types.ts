// Interfaces between the capture layer (files, link layers, IP, TCP reassembly) and the
// PostgreSQL decoder runtime. Hand-written runtime, not message-specific.

/** One record of a pcap or pcapng file, numbered from 1 as Wireshark numbers frames. */
export interface CapturePacket {
  frame: number;
  /** Seconds since the Unix epoch, with the fraction (microsecond precision is enough). */
  time: number;
  /** Link-layer type (LINKTYPE_* numbers: 1 Ethernet, 113 SLL, 276 SLL2, 0 NULL, 101/228/229 raw, 12 raw). */
  linkType: number;
  /** Captured bytes (may be shorter than origLen when the capture was cut by a snap length). */
  data: Uint8Array;
  origLen: number;
}

/** Where and when something happened on a TCP conversation: what TcpData and TcpEvent share. */
interface TcpPlace {
  /** Conversation index, numbered like Wireshark's tcp.stream (0, 1, ... in order of first sight). */
  stream: number;
  /** The frame it came in (for TcpData: the one whose arrival made the bytes contiguous). */
  frame: number;
  time: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/** Bytes of one TCP direction that just became contiguous, in stream order. */
export interface TcpData extends TcpPlace {
  kind: "data";
  data: Uint8Array;
  /** True when these bytes were captured short (snap length): the rest of the segment is missing. */
  truncated?: boolean;
  /** With truncated: how many bytes the segment carried on the wire from these on. */
  length?: number;
  /** True when bytes before these were never captured and the reassembler skipped the gap. */
  gap?: boolean;
}

/**
 * A connection event: a SYN (the first from each side; `ack` on the SYN/ACK), the ACK that
 * completes the handshake (the first segment acknowledging after both SYNs), FIN or RST from one
 * side.
 */
export interface TcpEvent extends TcpPlace {
  kind: "syn" | "ack" | "fin" | "rst";
  /** For a SYN: it also acknowledges (SYN/ACK). */
  ack?: boolean;
}

export type TcpOutput = TcpData | TcpEvent;

/** A clean, user-facing problem with a capture file: the command line prints its message alone. */
export class CaptureError extends Error {
  override name = "CaptureError";
}
