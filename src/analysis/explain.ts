// `pgwire explain`: each connection's story, told top to bottom as the seed's lecture tells it,
// then the findings of the whole capture. Text (with colour on a terminal) or JSON.

import type {
  ConnectionRecord,
  Finding,
  Notification,
  ReplicationRecord,
  RequestRecord,
  ServerMessage,
} from "./analyzer.ts";

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
}

const ansi = (code: number, reset: number) => (s: string) => `\x1b[${code}m${s}\x1b[${reset}m`;

export const COLOR: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  yellow: ansi(33, 39),
  green: ansi(32, 39),
};

const same = (s: string) => s;
export const PLAIN: Style = { bold: same, dim: same, red: same, yellow: same, green: same };

/** A duration as people read it: µs, ms or s. */
export function duration(seconds: number): string {
  if (seconds < 0.001) return `${(seconds * 1e6).toFixed(0)} µs`;
  if (seconds < 1) return `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1)} ms`;
  return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
}

/** Text on one line (each run of whitespace as one space), cut to n characters with "…". */
export function oneLine(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

const cut = (s: string, n: number) => oneLine(s.trim(), n);

/** An address and port as people write them ([v6]:port). */
export const endpoint = (e: { addr: string; port: number }) =>
  e.addr.includes(":") ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;

export function serverMessageText(m: ServerMessage, st: Style): string {
  const head = `${m.severity} ${m.code}${m.name ? ` ${m.name}` : ""}: ${m.message}`;
  let s = m.severity === "ERROR" || m.severity === "FATAL" || m.severity === "PANIC" ? st.red(head) : st.yellow(head);
  const more: string[] = [];
  if (m.detail) more.push(`detail: ${m.detail}`);
  if (m.hint) more.push(`hint: ${m.hint}`);
  if (m.position) more.push(`at character ${m.position} of the query`);
  if (m.internalQuery) {
    more.push(`internal query: ${m.internalQuery}${m.internalPosition ? ` (at character ${m.internalPosition})` : ""}`);
  }
  if (m.where) more.push(`context: ${m.where}`);
  const object = [
    m.schema && `schema ${m.schema}`,
    m.table && `table ${m.table}`,
    m.column && `column ${m.column}`,
    m.dataType && `data type ${m.dataType}`,
    m.constraint && `constraint ${m.constraint}`,
  ].filter((x): x is string => Boolean(x));
  if (object.length > 0) more.push(object.join(", "));
  for (const x of more) s += ` (${oneLine(x, 300)})`;
  if (m.file) {
    s += st.yellow(
      ` — leaks the server's source: ${m.file}${m.line ? `:${m.line}` : ""}${m.routine ? ` in ${m.routine}` : ""}`,
    );
  }
  return s;
}

function requestText(r: RequestRecord, st: Style): string {
  const what = r.kind === "Query" ? "Query" : r.kind === "Execute" ? "Execute" : "Function call";
  let s = `${what}: ${st.bold(cut(r.sql, 160))}`;
  if (r.params && r.params.length > 0) s += ` with parameters (${r.params.map((p) => cut(p, 40)).join(", ")})`;
  const parts: string[] = [];
  if (r.rows > 0 || r.tags.some((t) => /^SELECT /.test(t))) parts.push(`${r.rows} row${r.rows === 1 ? "" : "s"}`);
  if (r.tags.length > 0) parts.push(cut(r.tags.join("; "), 80));
  if (r.outcome === "skipped") {
    const after = r.skippedAfter ? ` ${r.skippedAfter.code} in frame ${r.skippedAfter.frame}` : "";
    parts.push(st.yellow(`skipped after the error${after}: the server did not run it`));
  } else if (r.outcome === "failed") {
    const at = r.failedAt ? ` at its ${r.failedAt}` : "";
    parts.push(st.red(`failed${at}${r.duration !== undefined ? ` after ${duration(r.duration)}` : ""}`));
  } else if (r.duration !== undefined) parts.push(duration(r.duration));
  else if (!r.done) parts.push("no answer in the capture");
  if (parts.length) s += ` → ${parts.join(", ")}`;
  if (r.canceledBy) {
    s += `\n      ${st.yellow(`canceled by connection ${r.canceledBy.stream}'s CancelRequest (frame ${r.canceledBy.frame}), ${duration(r.canceledBy.time - r.time)} after it was sent`)}`;
  }
  if (r.error) s += `\n      ${serverMessageText(r.error, st)}`;
  for (const n of r.notices) s += `\n      ${serverMessageText(n, st)}`;
  return s;
}

/** A notification, with its payload as it travelled (in clear text without TLS). */
function notificationText(n: Notification): string {
  const from = n.pid !== undefined ? ` from backend process ${n.pid}` : "";
  return `Notification on channel "${cut(n.channel, 80)}"${from} (NotificationResponse, frame ${n.frame}): payload "${cut(n.payload, 160)}"`;
}

/** A byte count as people read it. */
function bytesText(n: number): string {
  if (n < 1000) return `${n} bytes`;
  if (n < 1e6) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** "1 connection", "2 connections". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A replication stream's summary, a line per part: what was asked, the WAL, the changes, the replies. */
export function replicationText(r: ReplicationRecord): string[] {
  const out: string[] = [];
  const range = r.firstLsn ? ` (WAL from ${r.firstLsn} to ${r.lastLsn})` : "";
  if (r.kind === "physical") {
    out.push(
      `START_REPLICATION (frame ${r.frame}): physical replication${r.slot ? ` from slot ${r.slot}` : ""} from ${r.startLsn}${r.timeline ? ` on timeline ${r.timeline}` : ""}`,
    );
  } else {
    const o = { ...r.options };
    const version = o.proto_version;
    const pubs = o.publication_names;
    delete o.proto_version;
    delete o.publication_names;
    const rest = Object.entries(o).map(([k, v]) => `${k} ${v}`);
    out.push(
      `START_REPLICATION (frame ${r.frame}): logical replication from slot ${r.slot ?? "?"}${r.plugin ? ` (plugin ${r.plugin})` : ""} at ${r.startLsn}${version ? `, protocol version ${version}` : ""}${pubs ? `, publications ${pubs}` : ""}${rest.length ? ` (${rest.join(", ")})` : ""}`,
    );
  }
  out.push(
    `  The server streams ${plural(r.xlogData, "XLogData", "XLogData")} with ${bytesText(r.walBytes)}${range} and ${plural(r.keepalives, "keepalive")}`,
  );
  if (r.kind === "logical") {
    const tx = [String(r.transactions)];
    const s = r.streamed;
    if (s.started || s.committed || s.aborted) {
      tx.push(`streamed: ${s.started} started, ${s.committed} committed, ${s.aborted} aborted`);
    }
    const p = r.prepared;
    if (p.prepared || p.committed || p.rolledBack) {
      tx.push(`two-phase: ${p.prepared} prepared, ${p.committed} committed, ${p.rolledBack} rolled back`);
    }
    out.push(`  Transactions: ${tx.join("; ")}`);
    for (const [table, n] of Object.entries(r.tables)) {
      const parts = [
        n.insert && plural(n.insert, "insert"),
        n.update && plural(n.update, "update"),
        n.delete && plural(n.delete, "delete"),
        n.truncate && plural(n.truncate, "truncate"),
      ].filter((x): x is string => Boolean(x));
      out.push(`  ${table}: ${parts.join(", ")}`);
    }
  }
  const st = r.lastStatus;
  out.push(
    `  The client replies with ${plural(r.statusUpdates, "status update")}${st ? ` (last: written ${st.written}, flushed ${st.flushed}, applied ${st.applied})` : ""}${r.feedback ? ` and ${plural(r.feedback, "hot standby feedback")}` : ""}`,
  );
  return out;
}

/** Why a FATAL error after the login ended the session, in words, by SQLSTATE. */
const SESSION_ENDS: Record<string, string> = {
  "57P01": "the backend was terminated (pg_terminate_backend() or a server shutdown)",
  "57P02": "another server process crashed and the server restarts",
  "57P03": "the server is not accepting connections",
  "57P05": "the session was idle longer than idle_session_timeout",
  "25P03": "the session was idle in a transaction longer than idle_in_transaction_session_timeout",
};

function sessionEnd(m: ServerMessage): string {
  const why = SESSION_ENDS[m.code];
  return `${m.severity} ${m.code}${m.name ? ` ${m.name}` : ""} (frame ${m.frame})${why ? `: ${why}` : `: ${m.message}`}`;
}

/** The startup parameters a person wants first; the rest follow. */
const FIRST_PARAMS = ["user", "database", "application_name", "replication", "options", "client_encoding"];
const SERVER_PARAMS_SHOWN = ["server_version", "server_encoding", "client_encoding", "TimeZone", "DateStyle"];

/** A time as seconds since t0 (the capture's first packet), or without t0 as a UTC date and time (µs). */
export function clockText(time: number, t0: number | undefined): string {
  if (t0 !== undefined) return (time - t0).toFixed(6).padStart(11);
  const us = Math.round(time * 1e6);
  const s = Math.floor(us / 1e6);
  return `${new Date(s * 1000).toISOString().slice(0, 19).replace("T", " ")}.${String(us - s * 1e6).padStart(6, "0")}`;
}

/** One connection's story, line by line; times in seconds since t0 (without t0: dates and times). */
export function explainConnection(c: ConnectionRecord, t0: number | undefined, st: Style): string {
  const lines: string[] = [];
  const at = (time: number) => st.dim(clockText(time, t0));
  const say = (time: number, text: string) => lines.push(`${at(time)}  ${text}`);
  const title = `Connection ${c.stream}: client ${endpoint(c.client)} → server ${endpoint(c.server)}${c.replication ? ` (${c.replication} replication)` : ""}`;
  lines.push(st.bold(title));
  if (c.syn) {
    const h = c.handshake;
    let text = `TCP handshake: the client opens the connection (SYN, frame ${c.syn.frame}`;
    if (h?.synAck) text += `; SYN/ACK, frame ${h.synAck.frame}`;
    if (h?.ack) text += `; ACK, frame ${h.ack.frame}`;
    text += ")";
    if (h?.serverRtt !== undefined && h.clientRtt !== undefined) {
      text += `: round trip ${duration(h.serverRtt + h.clientRtt)} (SYN to SYN/ACK ${duration(h.serverRtt)}, SYN/ACK to ACK ${duration(h.clientRtt)})`;
    }
    say(c.syn.time, text);
  } else say(c.first.time, "The capture starts in the middle of this connection (no SYN)");

  if (c.cancel) {
    const k = c.cancel;
    const t = k.target;
    let text = `CancelRequest (frame ${k.frame}) for backend process ${k.pid}`;
    if (!t) text += ": no connection of this capture has that backend";
    else if (t.requestFrame === undefined) text += `: connection ${t.stream}, which had no request running`;
    else {
      text += `: connection ${t.stream}'s ${t.kind ?? "request"} (frame ${t.requestFrame}) ${cut(t.sql ?? "", 80)}, sent ${duration(t.after ?? 0)} before`;
    }
    say(k.time, st.yellow(text));
    if (k.answer) {
      const a = k.answer;
      say(
        k.time,
        a.code
          ? `The server's answer there: ${a.code}${a.name ? ` ${a.name}` : ""} (frame ${a.frame}): ${a.message}`
          : `The server's answer there: ${a.message}`,
      );
    }
  }
  const e = c.encryption;
  const clearText = !e.tls;
  if (e.requested === "SSL" && e.answer === "N")
    say(
      c.first.time,
      st.yellow("The client asks for TLS (SSLRequest); the server refuses ('N'): the session goes on in clear text"),
    );
  else if (e.requested && e.answer === "S")
    say(c.first.time, `The client asks for TLS (SSLRequest); the server accepts: the rest is encrypted`);
  else if (e.requested === "GSSAPI")
    say(c.first.time, `The client asks for GSSAPI encryption; the server answers '${e.answer ?? "?"}'`);
  else if (c.startup)
    say(
      c.startup.time,
      st.yellow("No TLS: the client did not ask for encryption; everything below travels in clear text"),
    );

  if (c.startup) {
    const p = c.startup.params;
    const keys = [...FIRST_PARAMS.filter((k) => k in p), ...Object.keys(p).filter((k) => !FIRST_PARAMS.includes(k))];
    say(
      c.startup.time,
      `StartupMessage (frame ${c.startup.frame}): protocol ${c.startup.version}, ${keys.map((k) => `${k} ${JSON.stringify(p[k])}`).join(", ")} (no password in it)`,
    );
  }
  const a = c.auth;
  for (const step of a.steps) {
    if (step.exposed) say(step.time, st.yellow(`  ${clearText ? "In clear on the wire" : "Inside TLS"}: ${step.text}`));
    else if (step.text.includes("trust")) say(step.time, st.yellow("No password asked: trust authentication"));
    else say(step.time, `Authentication: ${step.text}`);
  }
  if (a.outcome === "ok")
    say(a.time ?? c.first.time, st.green(`Authentication succeeded (AuthenticationOk, frame ${a.frame})`));
  else if (a.outcome === "failed")
    say(c.errors[0]?.time ?? c.last.time, st.red("Authentication failed: the server refuses the login"));
  const params = Object.keys(c.serverParams);
  if (params.length > 0 && c.paramsAt) {
    const shown = SERVER_PARAMS_SHOWN.filter((k) => k in c.serverParams).map((k) => `${k} ${c.serverParams[k]}`);
    say(
      c.paramsAt.time,
      `Server parameters: ${shown.join(", ")}${params.length > shown.length ? ` (${params.length} in all)` : ""}`,
    );
  }
  if (c.backend) {
    say(
      c.backend.time,
      `BackendKeyData: backend process ${c.backend.pid}${clearText ? " (its cancel key travels in clear text)" : ""}`,
    );
  }
  // Requests, the errors and notices of no request, and notifications, in time order.
  const events: Array<{ time: number; frame: number; text: string }> = [];
  for (const r of c.requests) events.push({ time: r.time, frame: r.frame, text: requestText(r, st) });
  const attached = new Set<ServerMessage>(c.requests.flatMap((r) => [...(r.error ? [r.error] : []), ...r.notices]));
  for (const m of [...c.errors, ...c.notices]) {
    if (!attached.has(m)) events.push({ time: m.time, frame: m.frame, text: serverMessageText(m, st) });
  }
  for (const n of c.notifications) events.push({ time: n.time, frame: n.frame, text: notificationText(n) });
  events.sort((x, y) => x.frame - y.frame || x.time - y.time);
  for (const ev of events) say(ev.time, ev.text);
  if (c.moreRequests > 0) say(c.last.time, `… and ${c.moreRequests} more requests (pgwire stats sums them all)`);
  if (c.moreNotifications > 0) say(c.last.time, `… and ${c.moreNotifications} more notifications`);
  if (c.streaming) for (const line of replicationText(c.streaming)) say(c.streaming.time, line);
  const fatal =
    c.auth.outcome === "ok" ? c.errors.find((m) => m.severity === "FATAL" || m.severity === "PANIC") : undefined;
  if (fatal) say(fatal.time, st.red(`The server ends the session: ${sessionEnd(fatal)}`));

  // How it ended.
  const fin = c.fin;
  const firstFin =
    fin.client && fin.server
      ? fin.client.frame <= fin.server.frame
        ? "client"
        : "server"
      : fin.client
        ? "client"
        : fin.server
          ? "server"
          : undefined;
  if (c.terminate) {
    say(
      c.terminate.time,
      `The client ends the session (Terminate, frame ${c.terminate.frame})${firstFin ? `, then the ${firstFin} closes the connection (FIN)` : ""}`,
    );
  } else if (c.rst) say(c.rst.time, st.red(`The connection is reset (RST) by the ${c.rst.by}, frame ${c.rst.frame}`));
  else if (firstFin) {
    const f = fin[firstFin] as { frame: number; time: number };
    say(
      f.time,
      `${firstFin === "server" ? st.yellow("The server closes the connection") : "The client closes the connection"} (FIN, frame ${f.frame}) without Terminate`,
    );
  } else say(c.last.time, "Still open when the capture ends");
  return `${lines.join("\n")}\n`;
}

/** What the findings of a capture add up to, one line per kind. */
export function findingsSummary(findings: readonly Finding[], st: Style): string {
  if (findings.length === 0) return `${st.bold("Findings:")} none\n`;
  // By what was found and where: findings of one kind with different texts (each place in the
  // server's source, each message out of its phase) stay apart.
  const byKind = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = `${f.kind}\u0000${f.text}`;
    const list = byKind.get(key) ?? [];
    list.push(f);
    byKind.set(key, list);
  }
  const lines = [st.bold(`Findings (${findings.length}):`)];
  for (const list of byKind.values()) list.sort((a, b) => a.frame - b.frame);
  for (const list of [...byKind.values()].sort((a, b) => a[0].frame - b[0].frame)) {
    const first = list[0];
    const where = list
      .slice(0, 5)
      .map((f) => `frame ${f.frame}`)
      .join(", ");
    lines.push(st.yellow(`  ${list.length} × ${first.text}`) + st.dim(` (${where}${list.length > 5 ? ", …" : ""})`));
  }
  return `${lines.join("\n")}\n`;
}

/** A connection record as JSON: its story's facts (without the message list kept for diagrams). */
export function connectionJson(c: ConnectionRecord): Record<string, unknown> {
  const { messages: _m, moreMessages: _mm, ...rest } = c;
  return rest;
}
