// What happened on each PostgreSQL connection of a capture, built from the decoder's messages and
// the TCP events as they stream by: the handshake, TLS, the startup, authentication and what it
// exposed, the server's parameters, each request with its rows, command tags, response time and
// error, the notices, the security findings, and how the connection ended. `pgwire explain`,
// `stats`, `report` and `watch` all read it. Memory stays bounded: a connection keeps at most
// MAX_KEPT requests and messages for its story (the rest are counted), and is handed on and
// forgotten when it closes.

import type { TcpEvent } from "../capture/types.ts";
import {
  type DecodedMessage,
  type EveryKey,
  FIELDS,
  type FieldValue,
  MESSAGES,
  type MessageOf,
  messageInfo,
} from "../decoder/index.ts";
import type { Step } from "../pipeline.ts";

export interface Endpoint {
  addr: string;
  port: number;
}

/** A request as the client sent it: a simple Query, an Execute (extended protocol), a FunctionCall. */
export interface RequestRecord {
  stream: number;
  kind: "Query" | "Execute" | "FunctionCall";
  /** The SQL (an Execute's: its portal's statement), or a description for a function call. */
  sql: string;
  frame: number;
  time: number;
  /** Bind's parameters (typed text), for an Execute. */
  params?: string[];
  /** Filled in as the answer comes: */
  rows: number;
  tags: string[];
  /**
   * Seconds from the request to the message that ended it: its completion, or the error that
   * failed it (an error raised for its Parse or Bind, or the FATAL that ended the session).
   */
  duration?: number;
  responseFrame?: number;
  error?: ServerMessage;
  notices: ServerMessage[];
  /** Ended (answered, failed or skipped), as opposed to still waiting. */
  done: boolean;
  /**
   * What became of it: answered without error; failed with `error`; skipped (the server ignored it
   * after an earlier error of its pipeline, until Sync, or it was queued when the session ended);
   * unanswered (no answer before the capture ends).
   */
  outcome?: "ok" | "failed" | "skipped" | "unanswered";
  /** For a request whose step failed before it ran: the message the error answered (Parse, Bind, ...). */
  failedAt?: string;
  /** For a skipped request: the error after which the server skipped it. */
  skippedAfter?: { frame: number; code: string };
  /** The CancelRequest (on another connection) that asked the server to interrupt it. */
  canceledBy?: { stream: number; frame: number; time: number };
}

/** An ErrorResponse or NoticeResponse, with every field it carries (protocol.h's PG_DIAG_*). */
export interface ServerMessage {
  frame: number;
  time: number;
  severity: string;
  code: string;
  /** The SQLSTATE's condition name. */
  name?: string;
  message: string;
  detail?: string;
  hint?: string;
  /** Where in the query (characters from 1), and in an internal query the server ran. */
  position?: string;
  internalPosition?: string;
  internalQuery?: string;
  /** The context: the call stack of functions, or what the server was doing. */
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  /** Where in the server's source it was raised: file, line, routine. */
  file?: string;
  line?: string;
  routine?: string;
}

/** A security or protocol finding: one of the decoder's expert infos (group Security and the like). */
export interface Finding {
  stream: number;
  frame: number;
  time: number;
  /** The expert's abbrev without "pgwire." (md5_hash, source_leak, ...). */
  kind: string;
  text: string;
}

/** A notification the server delivered: the channel, the payload and the backend that sent it. */
export interface Notification {
  frame: number;
  time: number;
  channel: string;
  payload: string;
  /** The process ID of the notifying backend. */
  pid?: number;
}

/** One message for the sequence diagram. */
export interface MessageRecord {
  frame: number;
  time: number;
  frontend: boolean;
  name: string;
  info: string;
  /** An error, a notice or a finding: shown in colour. */
  mark?: "error" | "notice" | "finding";
}

export interface ConnectionRecord {
  stream: number;
  client: Endpoint;
  server: Endpoint;
  /** The client's SYN (the handshake), when the capture has it. */
  syn?: { frame: number; time: number };
  /**
   * The rest of the handshake: the server's SYN/ACK and the client's ACK, and the round trip
   * from SYN to ACK as seen where the capture was taken.
   */
  handshake?: {
    synAck?: { frame: number; time: number };
    ack?: { frame: number; time: number };
    /** Seconds from the SYN to the SYN/ACK, and from the SYN/ACK to the ACK. */
    serverRtt?: number;
    clientRtt?: number;
  };
  first: { frame: number; time: number };
  last: { frame: number; time: number };
  /** SSLRequest / GSSENCRequest and the answer; TLS that followed. */
  encryption: { requested?: "SSL" | "GSSAPI"; answer?: string; tls: boolean };
  startup?: {
    frame: number;
    time: number;
    version: string;
    params: Record<string, string>;
  };
  /**
   * A connection that only carries a CancelRequest: the backend it names, the connection and the
   * request it interrupts (the oldest one waiting there), how long after that request was sent,
   * and what the server then answered that request (57014 query_canceled, or its normal end).
   */
  cancel?: {
    frame: number;
    time: number;
    pid: number;
    target?: { stream: number; requestFrame?: number; kind?: string; sql?: string; after?: number };
    answer?: { frame?: number; code?: string; name?: string; message: string };
  };
  /** The replication mode from the startup's replication parameter (physical, logical). */
  replication?: string;
  /** What the replication connection streamed after START_REPLICATION. */
  streaming?: ReplicationRecord;
  auth: {
    /** The methods the server asked for, in order (MD5, SASL (SCRAM-SHA-256), cleartext password, trust, ...). */
    methods: string[];
    outcome?: "ok" | "failed";
    frame?: number;
    time?: number;
    /** What travelled on the wire: the MD5 hash and salt, a cleartext password, SCRAM's exchange. */
    exposed: string[];
    /** The exchange step by step: each method asked for and each thing exposed, with its time. */
    steps: Array<{ frame: number; time: number; text: string; exposed?: boolean }>;
  };
  serverParams: Record<string, string>;
  /** The first ParameterStatus. */
  paramsAt?: { frame: number; time: number };
  backend?: { pid: number; frame: number; time: number };
  requests: RequestRecord[];
  /** Requests beyond MAX_KEPT, counted only. */
  moreRequests: number;
  errors: ServerMessage[];
  notices: ServerMessage[];
  /** What NOTIFY delivered to the session (NotificationResponse), MAX_KEPT at most. */
  notifications: Notification[];
  /** Notifications beyond MAX_KEPT, counted only. */
  moreNotifications: number;
  findings: Finding[];
  messages: MessageRecord[];
  moreMessages: number;
  /** Messages per type and direction. */
  counts: Record<string, { client: number; server: number }>;
  bytes: { client: number; server: number };
  terminate?: { frame: number; time: number };
  fin: { client?: { frame: number; time: number }; server?: { frame: number; time: number } };
  rst?: { frame: number; time: number; by: "client" | "server" };
  /** The connection closed within the capture (FIN both ways or RST). */
  closed: boolean;
  /** At least one PostgreSQL message was decoded (not only bytes on the port that are something else). */
  postgres: boolean;
}

type At = { frame: number; time: number };
/** A TCP handshake as far as seen: the client's SYN, the server's SYN/ACK, the client's ACK. */
interface Handshake {
  syn?: At;
  synAck?: At;
  ack?: At;
}

/** The handshake with event e (a SYN, a SYN/ACK or the last ACK) noted in it, the first of each kind. */
function handshakeStep(h: Handshake, e: TcpEvent): Handshake {
  const at = { frame: e.frame, time: e.time };
  if (e.kind === "ack") h.ack ??= at;
  else if (e.ack) h.synAck ??= at;
  else h.syn ??= at;
  return h;
}

/** The record's handshake (beyond the SYN) with its round trips, if the capture has more than the SYN. */
function handshakeOf(h: Handshake | undefined): ConnectionRecord["handshake"] {
  if (!h || (!h.synAck && !h.ack)) return undefined;
  const us = (t: number) => Math.round(t * 1e6) / 1e6;
  return {
    synAck: h.synAck,
    ack: h.ack,
    serverRtt: h.syn && h.synAck ? us(h.synAck.time - h.syn.time) : undefined,
    clientRtt: h.synAck && h.ack ? us(h.ack.time - h.synAck.time) : undefined,
  };
}

/** A replication stream: START_REPLICATION and what flowed after it. */
export interface ReplicationRecord {
  kind: "physical" | "logical";
  frame: number;
  time: number;
  command: string;
  slot?: string;
  /** Logical: the output plugin, when the capture has the slot's CREATE_REPLICATION_SLOT. */
  plugin?: string;
  startLsn?: string;
  timeline?: string;
  /** Logical: the options of START_REPLICATION (proto_version, publication_names, streaming, ...). */
  options: Record<string, string>;
  /** XLogData messages, their WAL bytes, the first and last WAL start LSNs. */
  xlogData: number;
  walBytes: number;
  firstLsn?: string;
  lastLsn?: string;
  keepalives: number;
  /** The client's StandbyStatusUpdates (the last one's written, flushed and applied LSNs) and HotStandbyFeedbacks. */
  statusUpdates: number;
  lastStatus?: { written?: string; flushed?: string; applied?: string };
  feedback: number;
  /** Logical: transactions (Begin/Commit), streamed ones (Stream Start ... Stream Commit/Abort), prepared ones. */
  transactions: number;
  streamed: { started: number; committed: number; aborted: number };
  prepared: { prepared: number; committed: number; rolledBack: number };
  /** Logical: changes per table. */
  tables: Record<string, { insert: number; update: number; delete: number; truncate: number }>;
}

/** START_REPLICATION's parts (the replication protocol's grammar). */
function startReplication(sql: string, frame: number, time: number): ReplicationRecord | undefined {
  const m =
    /^\s*START_REPLICATION\s+(?:SLOT\s+("[^"]*"|\S+)\s+)?(LOGICAL\s+|PHYSICAL\s+)?([0-9A-Fa-f]+\/[0-9A-Fa-f]+)(?:\s+TIMELINE\s+(\d+))?\s*(?:\(([\s\S]*)\))?\s*;?\s*$/i.exec(
      sql,
    );
  if (!m) return undefined;
  const options: Record<string, string> = {};
  for (const o of (m[5] ?? "").matchAll(/("[^"]*"|[A-Za-z_][A-Za-z_0-9]*)\s*(?:'((?:[^']|'')*)'|([^,\s]+))?/g)) {
    options[o[1].replace(/^"|"$/g, "")] = (o[2] ?? o[3] ?? "").replace(/''/g, "'");
  }
  return {
    kind: /^LOGICAL/i.test(m[2] ?? "") ? "logical" : "physical",
    frame,
    time,
    command: sql.trim(),
    slot: m[1]?.replace(/^"|"$/g, ""),
    startLsn: m[3].toUpperCase(),
    timeline: m[4],
    options,
    xlogData: 0,
    walBytes: 0,
    keepalives: 0,
    statusUpdates: 0,
    feedback: 0,
    transactions: 0,
    streamed: { started: 0, committed: 0, aborted: 0 },
    prepared: { prepared: 0, committed: 0, rolledBack: 0 },
    tables: {},
  };
}

/** Requests and messages a connection keeps for its story; the rest are only counted. */
export const MAX_KEPT = 500;

export interface AnalyzerOptions {
  /**
   * Keep each connection's first MAX_KEPT messages (ConnectionRecord.messages, for a sequence
   * diagram) with their Info; default true. Without them every message is only counted
   * (moreMessages).
   */
  messages?: boolean;
}

export interface AnalyzerListener {
  /** A request got its answer (or the connection ended without one). */
  request?(r: RequestRecord, c: ConnectionRecord): void;
  /**
   * A connection closed, or the capture ended: its record is complete. `oldestOpen`: the lowest
   * stream number of the connections still open (or opening), to tell them in the order they
   * started.
   */
  connection?(c: ConnectionRecord, oldestOpen: number | undefined): void;
  /**
   * The connection keeps no more requests (ConnectionRecord.requests has MAX_KEPT): the later
   * ones are only counted, and what they were sent with (Bind's parameters) is not kept.
   */
  requestsKept?(c: ConnectionRecord): void;
}

/** The findings worth telling: security and protocol problems, by expert abbrev. */
const FINDING_KINDS = [
  "cleartext_password",
  "md5_hash",
  "trust_login",
  "tls_refused",
  "source_leak",
  "password_literal",
  "unexpected_message",
  "unexpected_response",
  "bad_length",
  "unknown_type",
  "resync",
  "truncated",
  "copy_format",
];

/** Their kinds by the name of their expert field ("expert:pgwire.<abbrev>"): one look-up a field. */
const FINDING_FIELDS: ReadonlyMap<string, string> = new Map(FINDING_KINDS.map((k) => [`expert:pgwire.${k}`, k]));

const PARAM_VALUE = FIELDS.paramValue.name;

function field(m: DecodedMessage, name: string): FieldValue | undefined {
  return m.fields.find((f) => f.name === name)?.value;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

function hex(v: FieldValue | undefined): string | undefined {
  return v instanceof Uint8Array ? Buffer.from(v).toString("hex") : undefined;
}

/** The optional fields of an error or notice, by their pgwire field names. */
const SERVER_MESSAGE_FIELDS = [
  ["detail", FIELDS.detail.name],
  ["hint", FIELDS.hint.name],
  ["position", FIELDS.position.name],
  ["internalPosition", FIELDS.internalPosition.name],
  ["internalQuery", FIELDS.internalQuery.name],
  ["where", FIELDS.where.name],
  ["schema", FIELDS.schemaName.name],
  ["table", FIELDS.tableName.name],
  ["column", FIELDS.columnName.name],
  ["dataType", FIELDS.typeName.name],
  ["constraint", FIELDS.constraintName.name],
  ["file", FIELDS.file.name],
  ["line", FIELDS.line.name],
  ["routine", FIELDS.routine.name],
] as const;

/**
 * Every field the analyses read by name (pipeline.ts DecodeOptions.select): the decoder decodes
 * these, the variables and the experts, and skips the rest.
 */
export const ANALYSIS_FIELDS: ReadonlySet<string> = new Set([
  ...SERVER_MESSAGE_FIELDS.map(([, name]) => name),
  FIELDS.parameterName.name,
  FIELDS.parameterValue.name,
  FIELDS.replConnection.name,
  FIELDS.saslMech.name,
  FIELDS.salt.name,
  FIELDS.paramValue.name,
  FIELDS.walData.name,
  FIELDS.walStartLsn.name,
  FIELDS.writtenLsn.name,
  FIELDS.flushedLsn.name,
  FIELDS.appliedLsn.name,
  FIELDS.pgoRelation.name,
  FIELDS.pgoFirstSegment.name,
]);

/**
 * ANALYSIS_FIELDS without Bind's parameter values, for the analyses that tell no request's
 * parameters (stats, watch): decoding each value's text is most of what a Bind costs.
 */
export const COUNTING_FIELDS: ReadonlySet<string> = new Set(
  [...ANALYSIS_FIELDS].filter((name) => name !== FIELDS.paramValue.name),
);

/** An ErrorResponse's or NoticeResponse's fields by name (explain, stats, and pgwire log too). */
export function serverMessage(m: MessageOf<"ErrorResponse" | "NoticeResponse">, time: number): ServerMessage {
  const v = m.vars;
  const sm: ServerMessage = {
    frame: m.frame,
    time,
    severity: str(v.severity_v) ?? str(v.severity) ?? "",
    code: str(v.code) ?? "",
    name: str(v.codename),
    message: str(v.message) ?? "",
  };
  for (const f of m.fields) {
    const key = SERVER_MESSAGE_FIELDS.find(([, name]) => name === f.name)?.[0];
    if (key) sm[key] ??= str(f.value);
  }
  return sm;
}

/**
 * A connection's requests in the order sent, each with its message and its place in the order of
 * requests and Syncs (seq). A request is pending until its record is done; the answers name it by
 * its message (DecodedMessage.request) until the decoder completes it or one sent after it. An
 * entry goes when both are over: usually at once, so the list stays short.
 */
class OpenRequests {
  // The entries are [head, n) of three parallel arrays whose slots are reused: emptied by
  // `length = 0`, each would get a new backing store at the next request's push.
  private readonly msgs: Array<DecodedMessage | undefined> = [];
  private readonly records: Array<RequestRecord | undefined> = [];
  private readonly seqs: number[] = [];
  private n = 0;
  /** The decoder named no message at or before this stream offset any more. */
  private released = -1;
  private head = 0;

  add(msg: DecodedMessage, r: RequestRecord, seq: number): void {
    const i = this.n++;
    if (i < this.msgs.length) {
      this.msgs[i] = msg;
      this.records[i] = r;
      this.seqs[i] = seq;
    } else {
      this.msgs.push(msg);
      this.records.push(r);
      this.seqs.push(seq);
    }
  }

  /** The record of a request's message, while the decoder may name it. */
  find(msg: DecodedMessage): RequestRecord | undefined {
    for (let i = this.head; i < this.n; i++) if (this.msgs[i] === msg) return this.records[i];
    return undefined;
  }

  /** The decoder completed msg: it names neither msg nor what was sent before it again. */
  release(msg: DecodedMessage): void {
    if (msg.streamOffset > this.released) this.released = msg.streamOffset;
    this.trim();
  }

  /** The pending requests (records not done), oldest first, with their seq; a copy. */
  pending(): Array<[RequestRecord, number]> {
    const out: Array<[RequestRecord, number]> = [];
    for (let i = this.head; i < this.n; i++) {
      const r = this.records[i] as RequestRecord;
      if (!r.done) out.push([r, this.seqs[i]]);
    }
    return out;
  }

  /** Whether a request is pending that was sent before seq (without pending()'s copy). */
  pendingBefore(seq: number): boolean {
    for (let i = this.head; i < this.n && this.seqs[i] <= seq; i++)
      if (!(this.records[i] as RequestRecord).done) return true;
    return false;
  }

  /** The oldest pending request. */
  first(): RequestRecord | undefined {
    for (let i = this.head; i < this.n; i++) {
      const r = this.records[i] as RequestRecord;
      if (!r.done) return r;
    }
    return undefined;
  }

  /** Drops the entries at the front that are over; compacts now and then. */
  trim(): void {
    let h = this.head;
    const n = this.n;
    while (
      h < n &&
      (this.records[h] as RequestRecord).done &&
      (this.msgs[h] as DecodedMessage).streamOffset <= this.released
    )
      h++;
    // The slots passed forget their messages and records (the arrays stay).
    for (let i = this.head; i < h; i++) {
      this.msgs[i] = undefined;
      this.records[i] = undefined;
    }
    if (h === n) {
      this.n = 0;
      h = 0;
    } else if (h > 32 && h * 2 > n) {
      for (let i = h; i < n; i++) {
        this.msgs[i - h] = this.msgs[i];
        this.records[i - h] = this.records[i];
        this.seqs[i - h] = this.seqs[i];
        this.msgs[i] = undefined;
        this.records[i] = undefined;
      }
      this.n = n - h;
      h = 0;
    }
    this.head = h;
  }
}

/** What the analysis of an open connection's messages keeps, besides its record. */
interface Work {
  /** The requests not yet answered or still named by answers. */
  readonly open: OpenRequests;
  /** The last Bind's parameters, for the Execute after it. */
  binds: string[] | undefined;
  /**
   * The Syncs sent and not yet answered, by their place in the order of requests and Syncs. The
   * server answers in order: a ReadyForQuery that completes a Sync completes the oldest one.
   */
  readonly syncs: number[];
  /**
   * An error that answered a Parse or Bind before the Execute of its step was sent; that Execute,
   * when it comes before the next Sync, fails with it.
   */
  stepError: { error: ServerMessage; duration: number; msg: string } | undefined;
  /**
   * The record's counts of messages by the id of their description (MessageMeta.id; undecoded
   * data after the last), the same objects as ConnectionRecord.counts has by name.
   */
  readonly counts: Array<{ client: number; server: number } | undefined>;
  /** The connection's record. */
  readonly record: ConnectionRecord;
}

/** Where Work.counts keeps the count of undecoded data: after every message's description. */
const UNDECODED_ID = MESSAGES.length;

/** Builds connection records from the steps of a capture (pipeline.ts decodeSteps). */
export class Analyzer {
  private readonly conns = new Map<number, ConnectionRecord>();
  /** Streams seen (SYN) but not yet known to carry PostgreSQL: their handshake, for a moment. */
  private readonly syns = new Map<number, Handshake>();
  /** Per open connection, what the analysis of its messages keeps (Work), by stream. */
  private readonly work = new Map<number, Work>();
  /** The place of each request and Sync in the order they were sent (OpenRequests, Work.syncs). */
  private seq = 0;
  /** Logical replication slots created in the capture: their output plugin. */
  private readonly slotPlugins = new Map<string, string>();
  /** Backends by pid (BackendKeyData) while their connection is open, for CancelRequest. */
  private readonly backends = new Map<number, ConnectionRecord>();
  /** The cancel connection of each request a CancelRequest interrupted. */
  private readonly cancelOf = new WeakMap<RequestRecord, ConnectionRecord>();

  /** Messages a connection keeps for its story (AnalyzerOptions.messages). */
  private readonly keptMessages: number;

  constructor(
    private readonly listener: AnalyzerListener = {},
    opts: AnalyzerOptions = {},
  ) {
    this.keptMessages = opts.messages === false ? 0 : MAX_KEPT;
  }

  step(s: Step): void {
    for (const fr of s.frames) {
      if (fr.items.length === 0) continue;
      let w = this.work.get(fr.stream);
      if (w === undefined) w = this.workOf(this.connection(fr.stream, fr.frame, fr.time));
      const c = w.record;
      if (c.client.port === 0 && fr.client && fr.server) {
        c.client = fr.client;
        c.server = fr.server;
      }
      for (const it of fr.items) this.item(c, w, it, it.time ?? fr.time);
      // In place: c.last is the record's own object (event() copies into it too).
      c.last.frame = fr.frame;
      c.last.time = fr.time;
    }
    const events = s.events;
    for (let i = 0; i < events.length; i++) this.event(events[i]);
  }

  /** The connection's Work, made when it is first asked for. */
  private workOf(c: ConnectionRecord): Work {
    let w = this.work.get(c.stream);
    if (w === undefined) {
      w = {
        open: new OpenRequests(),
        binds: undefined,
        syncs: [],
        stepError: undefined,
        counts: [],
        record: c,
      };
      this.work.set(c.stream, w);
    }
    return w;
  }

  /** The end of the capture: every connection still open is handed on as it is. */
  end(): void {
    for (const c of [...this.conns.values()]) this.finish(c);
    this.syns.clear();
  }

  private connection(stream: number, frame: number, time: number): ConnectionRecord {
    let c = this.conns.get(stream);
    if (c) return c;
    c = {
      stream,
      client: { addr: "", port: 0 },
      server: { addr: "", port: 0 },
      syn: this.syns.get(stream)?.syn,
      handshake: handshakeOf(this.syns.get(stream)),
      first: { frame, time },
      last: { frame, time },
      encryption: { tls: false },
      auth: { methods: [], exposed: [], steps: [] },
      serverParams: {},
      requests: [],
      moreRequests: 0,
      errors: [],
      notices: [],
      notifications: [],
      moreNotifications: 0,
      findings: [],
      messages: [],
      moreMessages: 0,
      counts: {},
      bytes: { client: 0, server: 0 },
      fin: {},
      closed: false,
      postgres: false,
    };
    this.syns.delete(stream);
    this.conns.set(stream, c);
    return c;
  }

  private event(e: TcpEvent): void {
    const c = this.conns.get(e.stream);
    const at = { frame: e.frame, time: e.time };
    if (!c) {
      if (e.kind === "syn" || e.kind === "ack")
        this.syns.set(e.stream, handshakeStep(this.syns.get(e.stream) ?? {}, e));
      else this.syns.delete(e.stream);
      return;
    }
    if (e.kind === "syn" || e.kind === "ack") {
      // The handshake ends after the first data (TCP Fast Open): complete it.
      const h = handshakeStep({ syn: c.syn, synAck: c.handshake?.synAck, ack: c.handshake?.ack }, e);
      c.syn = h.syn;
      c.handshake = handshakeOf(h);
      return;
    }
    const fromClient = c.client.port !== 0 ? e.srcPort === c.client.port && e.src === c.client.addr : undefined;
    if (e.kind === "fin") {
      if (fromClient === false) c.fin.server ??= at;
      else c.fin.client ??= at;
    } else if (e.kind === "rst") {
      c.rst ??= { ...at, by: fromClient === false ? "server" : "client" };
    }
    c.last.frame = at.frame;
    c.last.time = at.time;
    if (e.kind === "rst" || (c.fin.client && c.fin.server)) {
      c.closed = true;
      this.finish(c);
    }
  }

  private finish(c: ConnectionRecord): void {
    if (!this.conns.has(c.stream)) return;
    this.conns.delete(c.stream);
    if (c.backend && this.backends.get(c.backend.pid) === c) this.backends.delete(c.backend.pid);
    const open = this.work.get(c.stream)?.open;
    this.work.delete(c.stream);
    // Bytes on a PostgreSQL port that never held a PostgreSQL message: not a connection to tell.
    if (!c.postgres) return;
    // Requests still waiting never got an answer within the capture.
    for (const [r] of open?.pending() ?? []) {
      r.outcome = "unanswered";
      this.listener.request?.(r, c);
    }
    // The oldest still open: the first of each map (both keep the order streams began in, nearly:
    // a record is made at a stream's first data), without a walk over every open connection.
    const a = this.conns.keys().next().value;
    const b = this.syns.keys().next().value;
    const oldest = a === undefined ? b : b === undefined ? a : Math.min(a, b);
    this.listener.connection?.(c, oldest);
  }

  private method(c: ConnectionRecord, it: DecodedMessage, time: number, method: string): void {
    c.auth.methods.push(method);
    c.auth.steps.push({ frame: it.frame, time, text: `the server asks for ${method} authentication` });
  }

  private exposed(c: ConnectionRecord, it: DecodedMessage, time: number, what: string): void {
    c.auth.exposed.push(what);
    c.auth.steps.push({ frame: it.frame, time, text: what, exposed: true });
  }

  /** What a replication message adds to the stream's record. */
  private replicationMessage(
    r: ReplicationRecord,
    it: MessageOf<"XLogData" | "PrimaryKeepalive" | "StandbyStatusUpdate" | "HotStandbyFeedback">,
  ): void {
    const lsnOf = (name: string) => str(field(it, name));
    switch (it.name) {
      case "XLogData": {
        r.xlogData++;
        // The WAL it carries: its data field, as the spec lays XLogData out.
        r.walBytes += it.fields.find((f) => f.name === FIELDS.walData.name)?.length ?? 0;
        const start = lsnOf(FIELDS.walStartLsn.name);
        if (start && start !== "0/0") {
          r.firstLsn ??= start;
          r.lastLsn = start;
        }
        this.pgoutput(r, it);
        break;
      }
      case "PrimaryKeepalive":
        r.keepalives++;
        break;
      case "StandbyStatusUpdate":
        r.statusUpdates++;
        r.lastStatus = {
          written: lsnOf(FIELDS.writtenLsn.name),
          flushed: lsnOf(FIELDS.flushedLsn.name),
          applied: lsnOf(FIELDS.appliedLsn.name),
        };
        break;
      case "HotStandbyFeedback":
        r.feedback++;
        break;
    }
  }

  /** A pgoutput message in an XLogData: transactions and changes per table. */
  private pgoutput(r: ReplicationRecord, it: MessageOf<"XLogData">): void {
    const rel = str(it.vars.rel);
    const table = (name: string) => {
      let t = r.tables[name];
      if (!t) {
        t = { insert: 0, update: 0, delete: 0, truncate: 0 };
        r.tables[name] = t;
      }
      return t;
    };
    switch (it.sub) {
      case "Begin":
      case "Begin Prepare":
        r.transactions++;
        break;
      case "Insert":
        if (rel) table(rel).insert++;
        break;
      case "Update":
        if (rel) table(rel).update++;
        break;
      case "Delete":
        if (rel) table(rel).delete++;
        break;
      case "Truncate":
        for (const f of it.fields) if (f.name === FIELDS.pgoRelation.name) table(String(f.value)).truncate++;
        break;
      case "Stream Start":
        if (it.fields.some((f) => f.name === FIELDS.pgoFirstSegment.name && f.value === 1)) r.streamed.started++;
        break;
      case "Stream Commit":
        r.streamed.committed++;
        break;
      case "Stream Abort":
        r.streamed.aborted++;
        break;
      case "Prepare":
      case "Stream Prepare":
        r.prepared.prepared++;
        break;
      case "Commit Prepared":
        r.prepared.committed++;
        break;
      case "Rollback Prepared":
        r.prepared.rolledBack++;
        break;
    }
  }

  /** Ends a request that got an error instead of its answer (after `duration` seconds, if known). */
  private fail(c: ConnectionRecord, r: RequestRecord, sm: ServerMessage, duration?: number): void {
    r.error ??= sm;
    r.duration = duration ?? Math.max(0, sm.time - r.time);
    r.responseFrame = sm.frame;
    r.done = true;
    r.outcome = "failed";
    this.workOf(c).open.trim();
    this.cancelAnswer(r);
    this.listener.request?.(r, c);
  }

  /** A CancelRequest for backend `pid`: the request it interrupts is the oldest one waiting there. */
  private cancelRequest(c: ConnectionRecord, it: DecodedMessage, time: number, pid: number): void {
    c.cancel = { frame: it.frame, time, pid };
    const target = this.backends.get(pid);
    if (!target) return;
    c.cancel.target = { stream: target.stream };
    const r = this.work.get(target.stream)?.open.first();
    if (!r) return;
    c.cancel.target = { stream: target.stream, requestFrame: r.frame, kind: r.kind, sql: r.sql, after: time - r.time };
    r.canceledBy = { stream: c.stream, frame: it.frame, time };
    this.cancelOf.set(r, c);
  }

  /** A request a CancelRequest interrupted has ended: the cancel connection learns the server's answer. */
  private cancelAnswer(r: RequestRecord): void {
    const cancel = this.cancelOf.get(r)?.cancel;
    if (!cancel) return;
    const e = r.error;
    cancel.answer = e
      ? { frame: e.frame, code: e.code, name: e.name, message: e.message }
      : { frame: r.responseFrame, message: "the request ended normally (the cancel came too late)" };
  }

  /** Ends a request the server skipped after an error. */
  private skip(c: ConnectionRecord, r: RequestRecord, after: ServerMessage | undefined): void {
    r.done = true;
    r.outcome = "skipped";
    if (after) r.skippedAfter = { frame: after.frame, code: after.code };
    this.workOf(c).open.trim();
    this.listener.request?.(r, c);
  }

  /**
   * An error for message `msg` (Parse, Bind, ...), `duration` seconds after it: the first request
   * of its step (after it, before the next Sync) fails with it, now or when it is sent.
   */
  private failPipelined(c: ConnectionRecord, msg: DecodedMessage, sm: ServerMessage, duration: number): void {
    // The server answers in order: what was sent before msg is answered or skipped by now, and
    // the next Sync after msg is the oldest one still waiting.
    const w = this.workOf(c);
    const nextSync = w.syncs[0] ?? Number.POSITIVE_INFINITY;
    for (const [r, n] of w.open.pending()) {
      if (n > nextSync) break;
      r.failedAt = msg.name ?? undefined;
      this.fail(c, r, sm, duration);
      return;
    }
    if (nextSync === Number.POSITIVE_INFINITY) w.stepError = { error: sm, duration, msg: msg.name ?? "message" };
  }

  /** ReadyForQuery answered the oldest Sync: the requests sent before it still waiting were skipped. */
  private syncAnswered(c: ConnectionRecord): void {
    const w = this.workOf(c);
    const at = w.syncs.shift();
    if (at === undefined || !w.open.pendingBefore(at)) return;
    for (const [r, n] of w.open.pending()) {
      if (n > at) break;
      this.skip(c, r, c.errors.at(-1));
    }
  }

  /** The session ends with a FATAL error: the oldest waiting request fails with it, the others are skipped. */
  private endPending(c: ConnectionRecord, sm: ServerMessage): void {
    let first = true;
    for (const [r] of this.workOf(c).open.pending()) {
      if (first) this.fail(c, r, sm);
      else this.skip(c, r, sm);
      first = false;
    }
  }

  private item(c: ConnectionRecord, w: Work, it: DecodedMessage, time: number): void {
    const name = it.name ?? "undecoded";
    if (it.name) c.postgres = true;
    // From the Work's list by id (c.counts, an object with a key per name, is slow to search).
    const id = it.meta === undefined ? UNDECODED_ID : it.meta.id;
    let count = w.counts[id];
    if (count === undefined) {
      // One count per name, whatever the description (CopyData and CopyDone have one per side).
      count = Object.hasOwn(c.counts, name) ? c.counts[name] : { client: 0, server: 0 };
      w.counts[id] = count;
      c.counts[name] = count;
    }
    // Each side by name, not by a computed key: this runs for every message.
    if (it.frontend) {
      c.bytes.client += it.size;
      count.client++;
    } else {
      c.bytes.server += it.size;
      count.server++;
    }
    let mark: MessageRecord["mark"];
    for (const f of it.fields) {
      // Only an expert field's name starts with "e" ("expert:pgwire.<abbrev>", "pgwire.<abbrev>").
      const kind = f.name.charCodeAt(0) === 101 ? FINDING_FIELDS.get(f.name) : undefined;
      if (kind !== undefined) {
        c.findings.push({ stream: c.stream, frame: it.frame, time, kind, text: String(f.value) });
        mark ??= "finding";
      }
    }
    // An authentication request's method, as the spec names it (authMethod).
    const method = it.meta?.authMethod;
    if (method !== undefined) this.authRequest(c, it, time, method);
    // The frequent messages here, the others in methods of their own: this runs for every
    // message, and its optimised code stays small and quick to compile.
    switch (it.name) {
      case "Sync":
        if (it.frontend) {
          w.stepError = undefined;
          w.syncs.push(++this.seq);
        }
        break;
      case "Bind": {
        const params: string[] = [];
        for (const f of it.fields) if (f.name === PARAM_VALUE) params.push(String(f.value));
        w.binds = params;
        break;
      }
      case "Query":
      case "Execute":
      case "FunctionCall":
        this.request(c, w, it, time);
        break;
      case "ErrorResponse":
      case "NoticeResponse":
        mark = this.serverNotice(c, w, it, time);
        break;
      // The other frequent ones, which other() has nothing for (answer() below has their part).
      case "DataRow":
      case "ParseComplete":
      case "BindComplete":
      case "CommandComplete":
      case "ReadyForQuery":
      case "RowDescription":
      case "NoData":
      case "Parse":
      case "Describe":
        break;
      default:
        this.other(c, it, time);
    }
    // Rows, tags and completion of the request this server message belongs to.
    if (!it.frontend && it.request) this.answer(c, w, it, time);
    // Counted on every message, so that the optimised code has seen this store before the 501st
    // message (a first store then would throw the whole method back to the interpreter).
    const kept = c.messages.length < this.keptMessages;
    if (kept) this.keep(c, it, time, name, mark);
    c.moreMessages += kept ? 0 : 1;
  }

  /** An authentication request's method; SASL's with every mechanism the server offers. */
  private authRequest(c: ConnectionRecord, it: DecodedMessage, time: number, method: string): void {
    let text = method;
    if (it.name === "AuthenticationSASL") {
      const mechs = it.fields.filter((f) => f.name === FIELDS.saslMech.name).map((f) => String(f.value));
      text += ` (${mechs.join(", ")})`;
    }
    this.method(c, it, time, text);
  }

  /** A message for the connection's story (the first MAX_KEPT, AnalyzerOptions.messages). */
  private keep(c: ConnectionRecord, it: DecodedMessage, time: number, name: string, mark: MessageRecord["mark"]): void {
    const info = messageInfo(it) ?? name;
    c.messages.push({ frame: it.frame, time, frontend: it.frontend, name, info, mark });
  }

  /** The messages item() leaves to others: the startup, authentication, replication, ... */
  private other(c: ConnectionRecord, it: DecodedMessage, time: number): void {
    switch (it.name) {
      case "StartupMessage":
        this.startup(c, it, time);
        break;
      case "SSLRequest":
        c.encryption.requested = "SSL";
        break;
      case "GSSENCRequest":
        c.encryption.requested = "GSSAPI";
        break;
      case "SSLResponse":
      case "GSSENCResponse":
        c.encryption.answer = typeof it.vars.answer === "number" ? String.fromCharCode(it.vars.answer) : undefined;
        if (c.encryption.answer === "S") c.encryption.tls = true;
        break;
      case "AuthenticationOk":
        if (c.auth.methods.length === 0) this.method(c, it, time, "trust");
        c.auth.outcome = "ok";
        c.auth.frame = it.frame;
        c.auth.time = time;
        break;
      case "AuthenticationMD5Password": {
        const salt = hex(field(it, FIELDS.salt.name));
        if (salt) this.exposed(c, it, time, `the MD5 salt ${salt}`);
        break;
      }
      case "PasswordMessage": {
        const pw = str(it.vars.password);
        if (pw?.startsWith("md5")) {
          this.exposed(c, it, time, `the MD5 hash ${pw} (md5 of the password and user name, salted)`);
        } else if (pw !== undefined) this.exposed(c, it, time, `the password itself: "${pw}"`);
        break;
      }
      case "SASLInitialResponse":
      case "SASLResponse":
        if (c.auth.exposed.every((e) => !e.startsWith("the SCRAM"))) {
          this.exposed(
            c,
            it,
            time,
            "the SCRAM exchange (nonces, salt, iteration count, proof): not the password, but enough to test guesses offline",
          );
        }
        break;
      case "ParameterStatus": {
        const n = str(it.vars.name);
        if (n !== undefined) c.serverParams[n] = str(it.vars.value) ?? "";
        c.paramsAt ??= { frame: it.frame, time };
        break;
      }
      case "BackendKeyData":
        if (typeof it.vars.pid === "number") {
          c.backend = { pid: it.vars.pid, frame: it.frame, time };
          this.backends.set(it.vars.pid, c);
        }
        break;
      case "CancelRequest":
        if (typeof it.vars.pid === "number") this.cancelRequest(c, it, time, it.vars.pid);
        break;
      case "XLogData":
      case "PrimaryKeepalive":
      case "StandbyStatusUpdate":
      case "HotStandbyFeedback":
        if (c.streaming) this.replicationMessage(c.streaming, it);
        break;
      case "Terminate":
        c.terminate = { frame: it.frame, time };
        break;
      case "NotificationResponse":
        if (c.notifications.length < MAX_KEPT) {
          const pid = it.vars.pid;
          c.notifications.push({
            frame: it.frame,
            time,
            channel: str(it.vars.channel) ?? "",
            payload: str(it.vars.payload) ?? "",
            pid: typeof pid === "number" ? pid : undefined,
          });
        } else c.moreNotifications++;
        break;
    }
  }

  /** The StartupMessage: the protocol version and the parameters. */
  private startup(c: ConnectionRecord, it: MessageOf<"StartupMessage">, time: number): void {
    const params: Record<string, string> = {};
    const names = it.fields.filter((f) => f.name === FIELDS.parameterName.name).map((f) => String(f.value));
    const vals = it.fields.filter((f) => f.name === FIELDS.parameterValue.name).map((f) => String(f.value));
    names.forEach((n, i) => {
      params[n] = vals[i] ?? "";
    });
    c.startup = { frame: it.frame, time, version: `${it.vars.major}.${it.vars.minor}`, params };
    c.replication = str(field(it, FIELDS.replConnection.name));
  }

  /** A request: a Query, an Execute, a FunctionCall. */
  private request(
    c: ConnectionRecord,
    w: Work,
    it: MessageOf<"Query" | "Execute" | "FunctionCall">,
    time: number,
  ): void {
    if (it.name === "Query" && /^\s*START_REPLICATION\b/i.test(str(it.vars.query) ?? "")) {
      // Not a request with a response time: the stream it starts is told apart.
      c.streaming = startReplication(str(it.vars.query) ?? "", it.frame, time);
      if (c.streaming) {
        if (c.streaming.slot) c.streaming.plugin = this.slotPlugins.get(c.streaming.slot);
        return;
      }
    }
    if (it.name === "Query") {
      const slot = /^\s*CREATE_REPLICATION_SLOT\s+("[^"]*"|\S+)\s+(?:TEMPORARY\s+)?LOGICAL\s+("[^"]*"|[^\s(;]+)/i.exec(
        str(it.vars.query) ?? "",
      );
      if (slot) this.slotPlugins.set(slot[1].replace(/^"|"$/g, ""), slot[2].replace(/^"|"$/g, ""));
    }
    const sql =
      it.name === "Query"
        ? (str(it.vars.query) ?? "")
        : it.name === "Execute"
          ? (it.sql ?? "(an unnamed portal the capture did not show)")
          : `function call (OID ${it.vars.oid ?? "?"})`;
    // Every member from the start, those filled in later too: one shape for all records, and
    // no property store that grows the object later.
    const r: EveryKey<RequestRecord> = {
      stream: c.stream,
      kind: it.name,
      sql,
      frame: it.frame,
      time,
      params: it.name === "Execute" ? w.binds : undefined,
      rows: 0,
      tags: [],
      duration: undefined,
      responseFrame: undefined,
      error: undefined,
      notices: [],
      done: false,
      outcome: undefined,
      failedAt: undefined,
      skippedAfter: undefined,
      canceledBy: undefined,
    };
    const stepError = w.stepError;
    w.open.add(it, r, ++this.seq);
    // Counted on every request, so that the optimised code has seen this store before the
    // 501st request (a first store then would throw the whole method back to the interpreter).
    const kept = c.requests.length < MAX_KEPT;
    if (kept) c.requests.push(r);
    c.moreRequests += kept ? 0 : 1;
    if (kept && c.requests.length === MAX_KEPT) this.listener.requestsKept?.(c);
    if (stepError) {
      // Its step already failed: the server will skip it.
      w.stepError = undefined;
      r.failedAt = stepError.msg;
      this.fail(c, r, stepError.error, stepError.duration);
    }
  }

  /** An ErrorResponse or NoticeResponse: its mark in the story. */
  private serverNotice(
    c: ConnectionRecord,
    w: Work,
    it: MessageOf<"ErrorResponse" | "NoticeResponse">,
    time: number,
  ): MessageRecord["mark"] {
    const sm = serverMessage(it, time);
    const error = it.name === "ErrorResponse";
    (error ? c.errors : c.notices).push(sm);
    if (error && c.auth.outcome !== "ok" && c.startup) c.auth.outcome = "failed";
    const r = it.request && w.open.find(it.request);
    if (r) {
      if (error) r.error ??= sm;
      else r.notices.push(sm);
    } else if (error && it.request) {
      // An error for a Parse, Bind, Describe or Close: it fails the Execute of the same
      // pipeline step (sent after it, before the next Sync), which the server never runs.
      this.failPipelined(c, it.request, sm, it.responseTime ?? 0);
    }
    if (error && (sm.severity === "FATAL" || sm.severity === "PANIC") && c.auth.outcome === "ok") {
      // The session ends: the request running gets the error, the ones queued behind it never run.
      this.endPending(c, sm);
    }
    return error ? "error" : "notice";
  }

  /** A server message that belongs to a request: its rows, tags and completion. */
  private answer(c: ConnectionRecord, w: Work, it: DecodedMessage, time: number): void {
    const request = it.request as DecodedMessage;
    // The message completes its request (the decoder tells how long after it was sent).
    const completes = it.responseTime !== undefined;
    const r = w.open.find(request);
    if (r && !r.done) {
      const tag = it.name === "CommandComplete" ? str(it.vars.tag) : undefined;
      if (tag !== undefined) r.tags.push(tag);
      if (it.name === "DataRow") r.rows++;
      if (completes) {
        r.duration = it.responseTime ?? time - r.time;
        r.responseFrame = it.frame;
        r.done = true;
        r.outcome = r.error ? "failed" : "ok";
        this.cancelAnswer(r);
        this.listener.request?.(r, c);
      }
    }
    if (!r && it.name === "ReadyForQuery" && request.name === "Sync") this.syncAnswered(c);
    // The decoder is done with request and what was sent before it.
    if (completes) w.open.release(request);
  }
}

/** SQL keywords a query shape writes in capitals, whatever case the client used. */
const SQL_KEYWORDS = new Set(
  (
    "ABORT ALL ALTER ANALYZE AND ANY ARRAY AS ASC BEGIN BETWEEN BY CALL CASE CAST CHECKPOINT CLOSE " +
    "COMMIT CONFLICT COPY CREATE CROSS CURSOR DEALLOCATE DECLARE DEFAULT DELETE DESC DISCARD DISTINCT " +
    "DO DROP ELSE END ESCAPE EXCEPT EXECUTE EXISTS EXPLAIN FALSE FETCH FILTER FOR FROM FULL GRANT GROUP " +
    "HAVING ILIKE IN INNER INSERT INTERSECT INTO IS ISOLATION JOIN LATERAL LEFT LEVEL LIKE LIMIT LISTEN " +
    "LOCK NOT NOTHING NOTIFY NULL NULLS OFFSET ON ONLY OR ORDER OUTER OVER PARTITION PREPARE READ " +
    "REFRESH RELEASE RESET RETURNING REVOKE RIGHT ROLLBACK SAVEPOINT SELECT SET SHOW SIMILAR START " +
    "STDIN STDOUT TABLE THEN TO TRANSACTION TRUE TRUNCATE UNION UNLISTEN UPDATE USING VACUUM VALUES " +
    "WHEN WHERE WINDOW WITH WORK WRITE"
  ).split(" "),
);

/**
 * A query's text with its literals and parameters replaced by ?, for grouping (pgwire stats):
 * comments and a trailing semicolon dropped, whitespace folded, keywords in capitals.
 */
export function normalizeSql(sql: string): string {
  const text = sql
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/[Ee]?'(?:[^']|'')*'/g, "?")
    .replace(/\$\d+/g, "?")
    .replace(/(?<![A-Za-z_0-9$])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_0-9$])/g, "?")
    .replace(/\s+/g, " ")
    .replace(/\b(IN\s*)\(\s*\?(?:\s*,\s*\?)+\s*\)/gi, "$1(...)")
    .replace(/[\s;]+$/, "")
    .trim();
  // Outside quoted identifiers, keywords in capitals ("select" and "SELECT" are one shape).
  return text
    .split(/("(?:[^"]|"")*")/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/(?<![A-Za-z_0-9$.])[A-Za-z_]+(?![A-Za-z_0-9$])/g, (w) =>
            SQL_KEYWORDS.has(w.toUpperCase()) ? w.toUpperCase() : w,
          ),
    )
    .join("");
}
