// One connection's decoder: its state, the calls of the dissector over each direction's bytes as
// TCP delivers them (reassembled where a message spans segments), the hand-over to TLS and the
// decryption with a key log, and the Info column of a frame. Mirrors src/decoder/connection.lua.

import { F, FIELD_COUNT } from "../../dissector/pgwire.ts";
import { TlsDecryptor, type TlsSession } from "../capture/tls.ts";
import { type Selection, selection } from "../runtime/reader.ts";
import { type Call, type CallContext, type DecodedMessage, Desegmenter, dissectCall, headerKeeps } from "./framing.ts";
import { type CancelKeys, Links } from "./links.ts";
import { type ConnState, INITIAL_STATE } from "./state.ts";

export interface ConnectionOptions {
  /** TLS secrets (parseKeylog): with them the decoder reads what TLS carries, as Wireshark does. */
  keylog?: ReadonlyMap<string, string>;
  /** Cancel keys shared by the connections of a capture (links.ts CancelKeys). */
  cancelKeys?: CancelKeys;
  /** Decode only these fields and the experts (pipeline.ts DecodeOptions.select). */
  select?: ReadonlySet<string>;
}

/** Selections compiled for the readers, by the set they came from: once per capture, not per connection. */
const SELECTIONS = new WeakMap<ReadonlySet<string>, Selection>();

function compiled(select: ReadonlySet<string>): Selection {
  let w = SELECTIONS.get(select);
  if (w === undefined) {
    w = selection(select, Object.values(F), FIELD_COUNT);
    SELECTIONS.set(select, w);
  }
  return w;
}

/**
 * One TCP connection: feed it each direction's bytes as they become contiguous, with the frame
 * that delivered them; it returns the items they complete. Each item carries its own frame: the
 * one whose bytes completed it (inside TLS, the one that completed the TLS record).
 */
export class ConnectionDecoder {
  state: ConnState = INITIAL_STATE;
  private readonly tcp = new Desegmenter();
  private readonly inner = new Desegmenter();
  private tls?: TlsDecryptor;
  /** Its requests and responses, statements and portals. */
  private readonly links: Links;
  /** The dissector's calls over TCP's bytes and over what TLS carries (out: set by each feed). */
  private readonly tcpCall: CallContext;
  private readonly tlsCall: CallContext;

  constructor(private readonly opts: ConnectionOptions = {}) {
    this.links = new Links(opts.select, opts.cancelKeys);
    const { hook, restart, answering, paramTypes } = this.links;
    const { select } = opts;
    const header = headerKeeps(select);
    const want = select === undefined ? undefined : compiled(select);
    this.tcpCall = { out: [], links: hook, onRestart: restart, answering, paramTypes, select, want, header };
    this.tlsCall = { ...this.tcpCall, onRestart: undefined };
  }

  /**
   * Reads the bodies of the messages still to come with a narrower selection: one whose fields
   * the connection's own selection has too (the header and link fields stay as they are). The
   * analyses drop Bind's parameter values once no later request of the connection is told.
   */
  narrow(select: ReadonlySet<string>): void {
    const want = compiled(select);
    this.tcpCall.want = want;
    this.tlsCall.want = want;
  }

  /** The TLS session once a ServerHello was decrypted with the key log (protocol, cipher, bits). */
  get tlsSession(): TlsSession | undefined {
    return this.tls?.session;
  }

  /** True once the connection is TLS. */
  get encrypted(): boolean {
    return this.state.tls;
  }

  /** The items go into out (after what it holds), which is returned. */
  feed(
    frontend: boolean,
    data: Uint8Array,
    frame: number,
    opts: { truncated?: boolean; time?: number; length?: number } = {},
    out: DecodedMessage[] = [],
  ): DecodedMessage[] {
    const from = out.length;
    this.links.now = opts.time ?? 0;
    if (this.state.tls) this.feedTls(frontend, data, frame, out);
    else {
      const c = this.call;
      c.frontend = frontend;
      c.frame = frame;
      c.truncated = opts.truncated === true;
      c.missing = c.truncated && opts.length !== undefined ? opts.length - data.length : undefined;
      this.tcpCall.out = out;
      this.tcp.push(frontend, data, this.onTcp);
    }
    if (opts.time !== undefined) for (let i = from; i < out.length; i++) out[i].time = opts.time;
    return out;
  }

  /** The feed in progress, for onTcp (one closure for all calls, not one per feed); its output is tcpCall.out. */
  private readonly call: { frontend: boolean; frame: number; truncated: boolean; missing: number | undefined } = {
    frontend: false,
    frame: 0,
    truncated: false,
    missing: undefined,
  };

  private readonly onTcp: Call = (buf, base) => {
    const { frontend, frame, truncated, missing } = this.call;
    const out = this.tcpCall.out;
    if (this.state.tls) {
      this.feedTls(frontend, buf, frame, out);
      return undefined;
    }
    // Captured short: the segment's length on the wire, where TCP says it (as Wireshark's reported length).
    const total = truncated ? (missing === undefined ? Number.MAX_SAFE_INTEGER : buf.length + missing) : buf.length;
    const r = dissectCall(buf, frame, base, this.state, frontend, !truncated, total, false, this.tcpCall);
    this.state = r.S;
    if (r.tlsFrom !== undefined) this.feedTls(frontend, buf.subarray(r.tlsFrom), frame, out);
    return r.desegment;
  };

  /** TLS bytes: decrypted with the key log when there is one, then decoded like the Lua plugin does. */
  private feedTls(frontend: boolean, data: Uint8Array, frame: number, out: DecodedMessage[]): void {
    if (!this.opts.keylog || data.length === 0) return;
    this.tls ??= new TlsDecryptor(this.opts.keylog);
    const cx = this.tlsCall;
    cx.out = out;
    for (const chunk of this.tls.feed(frontend, data, frame)) {
      this.inner.push(chunk.fromClient, chunk.data, (buf, base) => {
        const r = dissectCall(buf, chunk.frame, base, this.state, chunk.fromClient, true, buf.length, true, cx);
        this.state = r.S;
        return r.desegment;
      });
    }
  }
}

/** Builds the Info column of a frame from its items, as the Lua plugin sets and appends it. */
export function frameInfo(items: readonly DecodedMessage[]): string | undefined {
  let out: string | undefined;
  for (const it of items) {
    if (it.info === undefined) continue;
    out = out === undefined ? `${items[0].frontend ? ">" : "<"} ${it.info}` : `${out}, ${it.info}`;
  }
  return out;
}
