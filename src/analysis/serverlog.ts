// pgwire log: a capture as the server log PostgreSQL would have written with
// log_min_duration_statement = 0, log_connections, log_disconnections and
// log_error_verbosity = verbose: in its stderr format with a log_line_prefix, or its csvlog or
// jsonlog (PostgreSQL 15's columns and keys). Built from the decoder's steps: each connection's
// received, authorized and disconnection entries, each parse, bind and execute (or simple query)
// with its duration and parameters, each error (and warning) with its fields and the statement it
// failed.
//
// What the wire does not carry, and this log therefore lacks or approximates: the LOCATION of the
// server's own LOG entries (only errors and notices send theirs); durations, which are the wire's
// (request to answer, as the capture saw them) where the server measures its own work; a backend
// pid before BackendKeyData (a login that fails shows its client port instead, so that each
// session still has one number, which pgBadger needs to read its entries); the SSL details of
// "connection authorized" where the key log did not open the session; the server's DETAIL that
// it logs but does not send (pg_hba.conf's line for a failed login); in csvlog and jsonlog the
// process title (command_tag, ps), the virtual transaction id and the query id.

import type { TlsSession } from "../capture/tls.ts";
import type { DecodedMessage } from "../decoder/framing.ts";
import { FIELDS } from "../decoder/index.ts";
import type { Step } from "../pipeline.ts";
import { type ServerMessage, serverMessage } from "./analyzer.ts";

/** The default log_line_prefix: PostgreSQL 15's own ('%m [%p] '), with the user and database. */
export const DEFAULT_PREFIX = "%m [%p] %q%u@%d ";

interface Session {
  stream: number;
  host: string;
  port: number;
  /** When the connection was received (its SYN, else its first message). */
  start: number;
  user?: string;
  database?: string;
  application?: string;
  /** A replication connection's kind (physical, logical): a walsender, which logs otherwise. */
  replication?: string;
  pid?: number;
  /** Entries made before the pid was known, written once it is (or at the end). */
  held: Entry[];
  /** The log entries of this session so far (%l, session_line_num). */
  lines: number;
  /** The statements and portals by name: their SQL, and a portal's parameters. */
  statements: Map<string, string>;
  portals: Map<string, { stmt: string; sql: string; params: string[] }>;
  /** The messages of this session's failed requests not completed yet (no duration line for them). */
  failed: Set<DecodedMessage>;
}

/** The log formats of log_destination that pgwire writes. */
export type LogFormat = "stderr" | "csvlog" | "jsonlog";
export const LOG_FORMATS: readonly LogFormat[] = ["stderr", "csvlog", "jsonlog"];

/** One log entry, as PostgreSQL's ErrorData holds it: what each format writes its own way. */
interface Entry {
  time: number;
  /**
   * Where the session is: "received" (no user, database or application yet, not a client backend
   * yet), "authorized" (user and database, the application not yet set), "session".
   */
  stage: "received" | "authorized" | "session";
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  internalQuery?: string;
  internalPosition?: string;
  context?: string;
  /** The statement it concerns (STATEMENT: in stderr, query in csvlog, statement in jsonlog). */
  statement?: string;
  position?: string;
  routine?: string;
  file?: string;
  line?: string;
}

/** A number of milliseconds as PostgreSQL logs durations: three decimals. */
function ms(seconds: number): string {
  return (Math.max(0, seconds) * 1000).toFixed(3);
}

/** A parameter as PostgreSQL's log shows it: quoted, quotes doubled; NULL bare. */
function quoted(v: string | undefined): string {
  return v === undefined ? "NULL" : `'${v.replace(/'/g, "''")}'`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** A time as %m writes it in UTC: 2026-12-05 17:59:53.889 UTC (%t: without the milliseconds). */
function stamp(time: number, millis: boolean): string {
  const d = new Date(Math.floor(time * 1000));
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${millis ? `${s}.${pad(d.getUTCMilliseconds(), 3)}` : s} UTC`;
}

/** A session's length as log_disconnections writes it: H:MM:SS.mmm. */
function sessionTime(seconds: number): string {
  const total = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor(total / 60_000) % 60;
  const s = Math.floor(total / 1000) % 60;
  return `${h}:${pad(m)}:${pad(s)}.${pad(total % 1000, 3)}`;
}

function first(it: DecodedMessage, name: string): string | undefined {
  for (const f of it.fields) if (f.name === name) return String(f.value);
  return undefined;
}

/** A Bind's parameters in order: each value's text, undefined for NULL. */
function bindParams(it: DecodedMessage): Array<string | undefined> {
  const out: Array<string | undefined> = [];
  let pending: string | undefined;
  for (const f of it.fields) {
    if (f.name === FIELDS.paramValue.name) pending = String(f.value);
    else if (f.name === FIELDS.valLength.name) {
      out.push(f.value === -1 ? undefined : (pending ?? ""));
      pending = undefined;
    }
  }
  return out;
}

/** A session's names in an entry, as the log writes them (undefined: not known yet). */
interface Who {
  user?: string;
  db?: string;
  dbname?: string;
  app?: string;
  pid: number;
  session: string;
  backend: string;
}

/** Writes the log of a capture's steps, line by line, to `write`. */
export class ServerLog {
  private readonly sessions = new Map<number, Session>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly prefix = DEFAULT_PREFIX,
    private readonly format: LogFormat = "stderr",
    /** The TLS session of a stream, for "connection authorized" (StepDecoder.tlsOf). */
    private readonly tlsOf: (stream: number) => TlsSession | undefined = () => undefined,
  ) {}

  step(s: Step): void {
    // A client's SYN opens its session before the packet's messages; a FIN or RST ends it after
    // them (a server's last error may come in the packet that closes the connection).
    for (const e of s.events) {
      if (e.kind === "syn" && !e.ack && !this.sessions.has(e.stream)) {
        this.sessions.set(e.stream, this.session(e.stream, e.src, e.srcPort, e.time));
      }
    }
    for (const fr of s.frames) {
      for (const it of fr.items) {
        let c = this.sessions.get(fr.stream);
        if (c === undefined) {
          const client = fr.client ?? { addr: "", port: 0 };
          c = this.session(fr.stream, client.addr, client.port, it.time ?? fr.time);
          this.sessions.set(fr.stream, c);
        }
        this.item(c, it, it.time ?? fr.time);
      }
    }
    for (const e of s.events) {
      const c = e.kind === "fin" || e.kind === "rst" ? this.sessions.get(e.stream) : undefined;
      if (c !== undefined) this.disconnect(c, e.time);
    }
  }

  /** The end of the capture: what was held back is written. */
  end(): void {
    for (const c of this.sessions.values()) this.flush(c);
  }

  private session(stream: number, host: string, port: number, start: number): Session {
    return {
      stream,
      host,
      port,
      start,
      held: [],
      lines: 0,
      statements: new Map(),
      portals: new Map(),
      failed: new Set(),
    };
  }

  /** A LOG entry (SQLSTATE 00000), with its DETAIL if any. */
  private log(c: Session, time: number, message: string, detail?: string, stage: Entry["stage"] = "session"): void {
    this.entry(c, { time, stage, severity: "LOG", code: "00000", message, detail });
  }

  /** One log entry; held until the session's pid is known. */
  private entry(c: Session, e: Entry): void {
    c.held.push(e);
    if (c.pid !== undefined) this.flush(c);
  }

  private flush(c: Session): void {
    for (const e of c.held) {
      c.lines++;
      if (this.format === "csvlog") this.write(this.csv(c, e));
      else if (this.format === "jsonlog") this.write(this.json(c, e));
      else {
        // Every line of an entry has the same prefix.
        const prefix = this.expand(c, e);
        for (const l of this.stderr(e)) this.write(`${prefix}${l}`);
      }
    }
    c.held.length = 0;
  }

  /** An entry's lines in the stderr format, as log_error_verbosity = verbose writes them. */
  private stderr(e: Entry): string[] {
    const at = e.position ?? e.internalPosition;
    const out = [`${e.severity}:  ${e.code}: ${e.message}${at !== undefined ? ` at character ${at}` : ""}`];
    if (e.detail !== undefined) out.push(`DETAIL:  ${e.detail}`);
    if (e.hint !== undefined) out.push(`HINT:  ${e.hint}`);
    if (e.internalQuery !== undefined) out.push(`QUERY:  ${e.internalQuery}`);
    if (e.context !== undefined) out.push(`CONTEXT:  ${e.context}`);
    const location = locationOf(e);
    if (location !== undefined) out.push(`LOCATION:  ${location}`);
    if (e.statement !== undefined) out.push(`STATEMENT:  ${e.statement}`);
    return out;
  }

  /** The session's user, database and session id as the log writes them. */
  private who(c: Session, e: Entry): Who {
    const named = e.stage !== "received";
    // Before BackendKeyData (a login that fails), the client port stands in for the pid.
    const pid = c.pid ?? c.port;
    return {
      user: named ? c.user : undefined,
      // %d shows a physical walsender's empty database as [unknown]; jsonlog's dbname as "".
      db: named ? (c.database ?? c.user) || undefined : undefined,
      dbname: named ? (c.database ?? c.user) : undefined,
      app: e.stage === "session" ? (c.application ?? "") : undefined,
      pid,
      session: `${Math.floor(c.start).toString(16)}.${pid.toString(16)}`,
      backend: !named ? "not initialized" : c.replication !== undefined ? "walsender" : "client backend",
    };
  }

  /** An entry as one csvlog row (PostgreSQL 15's 26 columns). */
  private csv(c: Session, e: Entry): string {
    const w = this.who(c, e);
    const q = (v: string | undefined) => (v === undefined ? "" : `"${v.replace(/"/g, '""')}"`);
    return [
      stamp(e.time, true),
      q(w.user),
      q(w.db),
      String(w.pid),
      q(`${c.host}:${c.port}`),
      w.session,
      String(c.lines),
      "", // command_tag: the ps display, not on the wire
      stamp(c.start, false),
      "", // virtual_transaction_id
      "0", // transaction_id
      e.severity,
      e.code,
      q(e.message),
      q(e.detail),
      q(e.hint),
      q(e.internalQuery),
      e.internalPosition ?? "",
      q(e.context),
      q(e.statement),
      e.position ?? "",
      q(locationOf(e)),
      q(w.app ?? ""),
      q(w.backend),
      "", // leader_pid
      "0", // query_id
    ].join(",");
  }

  /** An entry as one jsonlog object (PostgreSQL 15's keys; the empty ones left out, as it does). */
  private json(c: Session, e: Entry): string {
    const w = this.who(c, e);
    const o: Record<string, string | number | undefined> = {
      timestamp: stamp(e.time, true),
      user: w.user,
      dbname: w.dbname,
      pid: w.pid,
      remote_host: c.host,
      remote_port: c.port,
      session_id: w.session,
      line_num: c.lines,
      session_start: stamp(c.start, false),
      txid: 0,
      error_severity: e.severity,
      // As PostgreSQL's jsonlog: no state_code for 00000.
      state_code: e.code === "00000" ? undefined : e.code,
      message: e.message,
      detail: e.detail,
      hint: e.hint,
      internal_query: e.internalQuery,
      internal_position: e.internalPosition !== undefined ? Number(e.internalPosition) : undefined,
      context: e.context,
      statement: e.statement,
      cursor_position: e.position !== undefined ? Number(e.position) : undefined,
      func_name: e.routine,
      file_name: e.file,
      file_line_num: e.line !== undefined ? Number(e.line) : undefined,
      application_name: w.app || undefined,
      backend_type: w.backend,
      query_id: 0,
    };
    return JSON.stringify(o);
  }

  /** log_line_prefix for the lines of an entry of session c. */
  private expand(c: Session, e: Entry): string {
    const { time, code } = e;
    const w = this.who(c, e);
    const user = w.user ?? "[unknown]";
    const db = w.db ?? "[unknown]";
    return this.prefix.replace(/%(.)/g, (_, k: string) => {
      switch (k) {
        case "m":
          return stamp(time, true);
        case "t":
          return stamp(time, false);
        case "n":
          return time.toFixed(3);
        case "s":
          return stamp(c.start, false);
        case "p":
          return String(w.pid);
        case "u":
          return user;
        case "d":
          return db;
        case "a":
          return w.app ?? "";
        case "h":
          return c.host;
        case "r":
          return `${c.host}(${c.port})`;
        case "l":
          return String(c.lines);
        case "c":
          return w.session;
        case "e":
          return code;
        case "b":
          return w.backend;
        case "q":
        case "%":
          return k === "%" ? "%" : "";
        default:
          // %i, %v, %x, %Q: what the wire does not say.
          return "";
      }
    });
  }

  private item(c: Session, it: DecodedMessage, time: number): void {
    switch (it.name) {
      case "StartupMessage": {
        const v = it.vars;
        c.user = typeof v.user === "string" ? v.user : undefined;
        c.database = typeof v.database === "string" ? v.database : undefined;
        c.application = typeof v.application_name === "string" ? v.application_name : undefined;
        c.replication = first(it, FIELDS.replConnection.name);
        // A physical walsender has no database: [unknown] in the prefix, empty at disconnection.
        if (c.replication === "physical") c.database = "";
        this.log(c, c.start, `connection received: host=${c.host} port=${c.port}`, undefined, "received");
        break;
      }
      case "AuthenticationOk": {
        const app = c.application ? ` application_name=${c.application}` : "";
        // A walsender's line names no database.
        const who =
          c.replication !== undefined
            ? `replication connection authorized: user=${c.user ?? ""}`
            : `connection authorized: user=${c.user ?? ""} database=${c.database ?? c.user ?? ""}`;
        const tls = this.tlsOf(c.stream);
        const ssl = tls ? ` SSL enabled (protocol=${tls.protocol}, cipher=${tls.cipher}, bits=${tls.bits})` : "";
        this.log(c, time, `${who}${app}${ssl}`, undefined, "authorized");
        break;
      }
      case "BackendKeyData":
        if (typeof it.vars.pid === "number") {
          c.pid = it.vars.pid;
          this.flush(c);
        }
        break;
      case "Parse":
        c.statements.set(it.vars.stmt ?? "", it.vars.query ?? "");
        break;
      case "Bind": {
        const stmt = it.vars.stmt ?? "";
        const sql = c.statements.get(stmt) ?? first(it, FIELDS.sql.name) ?? "";
        c.portals.set(it.vars.portal ?? "", {
          stmt,
          sql,
          params: bindParams(it).map((p, i) => `$${i + 1} = ${quoted(p)}`),
        });
        break;
      }
      case "Terminate":
        this.disconnect(c, time);
        break;
      case "ErrorResponse":
        this.serverMessage(c, it, serverMessage(it, time));
        break;
      case "NoticeResponse": {
        // The server logs notices from WARNING up (log_min_messages' default).
        const sm = serverMessage(it, time);
        if (sm.severity === "WARNING") this.serverMessage(c, it, sm);
        break;
      }
    }
    // The message that completes a request: its duration line, unless it failed.
    const req = it.request;
    if (req === undefined || it.responseTime === undefined) return;
    if (c.failed.delete(req)) return;
    const d = ms(it.responseTime);
    switch (req.name) {
      case "Query":
        // A walsender logs its replication commands only with log_replication_commands.
        if (c.replication !== undefined && first(req, FIELDS.replCommand.name) !== undefined) break;
        this.log(c, time, `duration: ${d} ms  statement: ${req.vars.query ?? ""}`);
        break;
      case "Parse":
        this.log(c, time, `duration: ${d} ms  parse ${name(req.vars.stmt)}: ${req.vars.query ?? ""}`);
        break;
      case "Bind": {
        const p = c.portals.get(req.vars.portal ?? "");
        const portal = req.vars.portal ? `/${req.vars.portal}` : "";
        this.log(c, time, `duration: ${d} ms  bind ${name(req.vars.stmt)}${portal}: ${p?.sql ?? ""}`, parameters(p));
        break;
      }
      case "Execute": {
        const p = c.portals.get(req.vars.portal ?? "");
        const portal = req.vars.portal ? `/${req.vars.portal}` : "";
        const sql = p?.sql ?? first(req, FIELDS.sql.name) ?? "";
        this.log(c, time, `duration: ${d} ms  execute ${name(p?.stmt)}${portal}: ${sql}`, parameters(p));
        break;
      }
    }
  }

  /** An ErrorResponse (or a WARNING), with its fields and the statement it failed. */
  private serverMessage(c: Session, it: DecodedMessage, sm: ServerMessage): void {
    // The statement it failed: the request it answers (a Query's, Parse's, Bind's or Execute's SQL).
    const req = it.request;
    let statement: string | undefined;
    if (it.name === "ErrorResponse" && req !== undefined) {
      c.failed.add(req);
      statement = this.sqlOf(c, req);
    }
    const severity = sm.severity || "ERROR";
    this.entry(c, {
      time: sm.time,
      // A login that fails is still authenticating: no application yet.
      stage: c.pid === undefined ? "authorized" : "session",
      severity,
      code: sm.code || "XX000",
      message: sm.message,
      detail: sm.detail,
      hint: sm.hint,
      internalQuery: sm.internalQuery,
      internalPosition: sm.internalPosition,
      context: sm.where,
      statement,
      position: sm.position,
      routine: sm.routine,
      file: sm.file,
      line: sm.line,
    });
    if (severity === "FATAL" || severity === "PANIC") this.disconnect(c, sm.time);
  }

  private sqlOf(c: Session, req: DecodedMessage): string | undefined {
    switch (req.name) {
      case "Query":
        return req.vars.query;
      case "Parse":
        return req.vars.query;
      case "Bind":
        return c.statements.get(req.vars.stmt ?? "") ?? first(req, FIELDS.sql.name);
      case "Execute":
        return c.portals.get(req.vars.portal ?? "")?.sql ?? first(req, FIELDS.sql.name);
      default:
        return undefined;
    }
  }

  /** The end of a session: its disconnection line (not for a login that failed); the session goes. */
  private disconnect(c: Session, time: number): void {
    if (c.pid !== undefined) {
      this.log(
        c,
        time,
        `disconnection: session time: ${sessionTime(time - c.start)} user=${c.user ?? ""} database=${c.database ?? c.user ?? ""} host=${c.host} port=${c.port}`,
      );
    }
    this.flush(c);
    // Its statements and portals go with it: memory stays flat over a capture of many sessions.
    this.sessions.delete(c.stream);
  }
}

/** verbose's LOCATION: "routine, file:line", or "file:line". */
function locationOf(e: Entry): string | undefined {
  if (e.file === undefined) return undefined;
  return `${e.routine !== undefined ? `${e.routine}, ` : ""}${e.file}:${e.line ?? ""}`;
}

/** A bind's or execute's DETAIL: its portal's parameters. */
function parameters(p: { params: string[] } | undefined): string | undefined {
  return p && p.params.length > 0 ? `parameters: ${p.params.join(", ")}` : undefined;
}

/** A statement's name as the log writes it. */
function name(n: string | undefined): string {
  return n ? n : "<unnamed>";
}
