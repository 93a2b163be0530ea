// pgwire log: a capture as the server log PostgreSQL would have written with
// log_min_duration_statement = 0, log_connections, log_disconnections and
// log_error_verbosity = verbose, in its stderr format with a log_line_prefix. Built from the
// decoder's steps: each connection's received, authorized and disconnection lines, each parse,
// bind and execute (or simple query) with its duration and parameters, each error and notice with
// its fields and the statement it failed.
//
// What the wire does not carry, and this log therefore lacks or approximates: the LOCATION of the
// server's own LOG lines (only errors and notices send theirs); durations, which are the wire's
// (request to answer, as the capture saw them) where the server measures its own work; a backend
// pid before BackendKeyData (the lines of a login that fails show 0, which pgBadger still reads); the SSL details of
// "connection authorized"; the server's DETAIL that it logs but does not send (pg_hba.conf's line
// for a failed login).

import type { DecodedMessage } from "../decoder/framing.ts";
import { FIELDS } from "../decoder/index.ts";
import type { Step } from "../pipeline.ts";

/** The log_line_prefix PostgreSQL's documentation suggests, and the issue asks for by default. */
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
  pid?: number;
  /** Lines written before the pid was known, written once it is (or at the end). */
  held: Array<{ time: number; text: string; user: boolean; code: string }>;
  /** The log lines of this session so far (%l). */
  lines: number;
  /** The statements and portals by name: their SQL, and a portal's parameters. */
  statements: Map<string, string>;
  portals: Map<string, { stmt: string; sql: string; params: string[] }>;
  /** The messages this session's failed requests were (no duration line for them). */
  failed: Set<DecodedMessage>;
  ended: boolean;
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

/** Writes the log of a capture's steps, line by line, to `write`. */
export class ServerLog {
  private readonly sessions = new Map<number, Session>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly prefix = DEFAULT_PREFIX,
  ) {}

  step(s: Step): void {
    for (const e of s.events) {
      if (e.kind === "syn" && !e.ack && !this.sessions.has(e.stream)) {
        this.sessions.set(e.stream, this.session(e.stream, e.src, e.srcPort, e.time));
      } else if ((e.kind === "fin" || e.kind === "rst") && this.sessions.has(e.stream)) {
        this.disconnect(this.sessions.get(e.stream) as Session, e.time);
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
      ended: false,
    };
  }

  /** One log line: the prefix, then the text; held until the session's pid is known. */
  private line(c: Session, time: number, text: string, code = "00000", user = true): void {
    c.held.push({ time, text, user, code });
    if (c.pid !== undefined) this.flush(c);
  }

  private flush(c: Session): void {
    for (const l of c.held) this.write(`${this.expand(c, l.time, l.user, l.code)}${l.text}`);
    c.held.length = 0;
  }

  /** log_line_prefix for one line of session c. */
  private expand(c: Session, time: number, named: boolean, code: string): string {
    c.lines++;
    const user = named ? (c.user ?? "[unknown]") : "[unknown]";
    const db = named ? (c.database ?? c.user ?? "[unknown]") : "[unknown]";
    const pid = String(c.pid ?? 0);
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
          return pid;
        case "u":
          return user;
        case "d":
          return db;
        case "a":
          return named ? (c.application ?? "") : "";
        case "h":
          return c.host;
        case "r":
          return `${c.host}(${c.port})`;
        case "l":
          return String(c.lines);
        case "c":
          return `${Math.floor(c.start).toString(16)}.${(c.pid ?? 0).toString(16)}`;
        case "e":
          return code;
        case "b":
          return "client backend";
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
        this.line(c, c.start, `LOG:  00000: connection received: host=${c.host} port=${c.port}`, "00000", false);
        break;
      }
      case "AuthenticationOk": {
        const app = c.application ? ` application_name=${c.application}` : "";
        this.line(
          c,
          time,
          `LOG:  00000: connection authorized: user=${c.user ?? ""} database=${c.database ?? c.user ?? ""}${app}`,
        );
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
        this.serverMessage(c, it, time);
        break;
      case "NoticeResponse":
        // The server logs notices from WARNING up (log_min_messages' default).
        if ((first(it, FIELDS.severityNonlocalized.name) ?? first(it, FIELDS.severity.name)) === "WARNING")
          this.serverMessage(c, it, time);
        break;
    }
    // The message that completes a request: its duration line, unless it failed.
    const req = it.request;
    if (req === undefined || it.responseTime === undefined || c.failed.has(req)) return;
    const d = ms(it.responseTime);
    switch (req.name) {
      case "Query":
        this.line(c, time, `LOG:  00000: duration: ${d} ms  statement: ${req.vars.query ?? ""}`);
        break;
      case "Parse":
        this.line(c, time, `LOG:  00000: duration: ${d} ms  parse ${name(req.vars.stmt)}: ${req.vars.query ?? ""}`);
        break;
      case "Bind": {
        const p = c.portals.get(req.vars.portal ?? "");
        const portal = req.vars.portal ? `/${req.vars.portal}` : "";
        this.line(c, time, `LOG:  00000: duration: ${d} ms  bind ${name(req.vars.stmt)}${portal}: ${p?.sql ?? ""}`);
        if (p && p.params.length > 0) this.line(c, time, `DETAIL:  parameters: ${p.params.join(", ")}`);
        break;
      }
      case "Execute": {
        const p = c.portals.get(req.vars.portal ?? "");
        const portal = req.vars.portal ? `/${req.vars.portal}` : "";
        const sql = p?.sql ?? first(req, FIELDS.sql.name) ?? "";
        this.line(c, time, `LOG:  00000: duration: ${d} ms  execute ${name(p?.stmt)}${portal}: ${sql}`);
        if (p && p.params.length > 0) this.line(c, time, `DETAIL:  parameters: ${p.params.join(", ")}`);
        break;
      }
    }
  }

  /** An ErrorResponse or NoticeResponse as the verbose log writes it, with the statement it failed. */
  private serverMessage(c: Session, it: DecodedMessage, time: number): void {
    const f = (name: string) => first(it, name);
    const severity = f(FIELDS.severityNonlocalized.name) ?? f(FIELDS.severity.name) ?? "ERROR";
    const code = f(FIELDS.code.name) ?? "XX000";
    const position = f(FIELDS.position.name) ?? f(FIELDS.internalPosition.name);
    const at = position !== undefined ? ` at character ${position}` : "";
    this.line(c, time, `${severity}:  ${code}: ${f(FIELDS.message.name) ?? ""}${at}`, code);
    const extra: Array<[string, string | undefined]> = [
      ["DETAIL", f(FIELDS.detail.name)],
      ["HINT", f(FIELDS.hint.name)],
      ["QUERY", f(FIELDS.internalQuery.name)],
      ["CONTEXT", f(FIELDS.where.name)],
    ];
    for (const [label, v] of extra) if (v !== undefined) this.line(c, time, `${label}:  ${v}`, code);
    const routine = f(FIELDS.routine.name);
    const file = f(FIELDS.file.name);
    const line = f(FIELDS.line.name);
    if (file !== undefined) {
      this.line(c, time, `LOCATION:  ${routine !== undefined ? `${routine}, ` : ""}${file}:${line ?? ""}`, code);
    }
    // The statement it failed: the request it answers (a Parse's, Bind's or Execute's SQL).
    const req = it.request;
    if (it.name === "ErrorResponse" && req !== undefined) {
      c.failed.add(req);
      const sql = this.sqlOf(c, req);
      if (sql !== undefined) this.line(c, time, `STATEMENT:  ${sql}`, code);
    }
    if (severity === "FATAL" || severity === "PANIC") this.disconnect(c, time);
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

  /** The end of a session: its disconnection line, once (not for a login that failed). */
  private disconnect(c: Session, time: number): void {
    if (c.ended) return;
    c.ended = true;
    if (c.pid !== undefined) {
      this.line(
        c,
        time,
        `LOG:  00000: disconnection: session time: ${sessionTime(time - c.start)} user=${c.user ?? ""} database=${c.database ?? c.user ?? ""} host=${c.host} port=${c.port}`,
      );
    }
    this.flush(c);
    // Its statements and portals go with it: memory stays flat over a capture of many sessions.
    this.sessions.delete(c.stream);
  }
}

/** A statement's name as the log writes it. */
function name(n: string | undefined): string {
  return n ? n : "<unnamed>";
}
