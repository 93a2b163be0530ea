// `pgwire stats`: the numbers of a whole capture, gathered as the analysis streams by (constant
// memory per query shape): queries grouped by their normalised text with response-time
// percentiles, connections, errors by SQLSTATE, authentication methods.

import { type ConnectionRecord, normalizeSql, type RequestRecord, type ServerMessage } from "./analyzer.ts";
import { duration, oneLine, plural, type Style } from "./explain.ts";

/** Response times in buckets 2% wide (from 1 µs): percentiles within 2%, in constant memory. */
class Histogram {
  private readonly buckets = new Map<number, number>();
  count = 0;
  total = 0;
  max = 0;

  add(seconds: number): void {
    const us = Math.max(1, seconds * 1e6);
    const b = Math.floor(Math.log(us) / Math.log(1.02));
    this.buckets.set(b, (this.buckets.get(b) ?? 0) + 1);
    this.count++;
    this.total += seconds;
    if (seconds > this.max) this.max = seconds;
  }

  /** The q-quantile (0..1): the upper bound of the bucket that holds it, at most the maximum. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (const b of [...this.buckets.keys()].sort((x, y) => x - y)) {
      seen += this.buckets.get(b) as number;
      if (seen >= want) return Math.min(this.max, 1.02 ** (b + 1) / 1e6);
    }
    return this.max;
  }
}

export interface QueryRow {
  query: string;
  count: number;
  /** Requests answered without error, and their response times. */
  answered: number;
  total: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
  rows: number;
  /** Requests that failed with an error, and their count by SQLSTATE. */
  errors: number;
  failures: Record<string, number>;
  /** Times of the failed requests, from the request to its error. */
  failedMean: number;
  failedP50: number;
  failedMax: number;
  /** Requests the server skipped after an earlier error (not run; not in the times). */
  skipped: number;
  /** Requests that got no answer within the capture (not in the times). */
  unanswered: number;
}

export interface ConnectionRow {
  stream: number;
  client: string;
  server: string;
  user?: string;
  database?: string;
  application?: string;
  auth: string;
  tls: boolean;
  /** Seconds from the capture's first packet (with --absolute: since the epoch). */
  start: number;
  duration: number;
  bytesFromClient: number;
  bytesFromServer: number;
  requests: number;
  errors: number;
  messages: Record<string, { client: number; server: number }>;
}

export interface ErrorRow {
  code: string;
  name?: string;
  severity: string;
  count: number;
  example: string;
  /** The first error of this SQLSTATE with all its fields (detail, hint, where, table, ...; --json). */
  sample: ServerMessage;
}

/** A connection that only asked the server to cancel a request on another one. */
export interface CancelRow {
  stream: number;
  frame: number;
  pid: number;
  /** The connection whose request it interrupted, the request, and how long after it was sent. */
  targetStream?: number;
  request?: string;
  after?: number;
  /** The server's answer to that request: a SQLSTATE (57014 query_canceled), or none if it ended normally. */
  answer?: string;
}

export interface StatsResult {
  queries: QueryRow[];
  connections: ConnectionRow[];
  errors: ErrorRow[];
  /** Logins (CancelRequest connections are not logins: they are in cancels). */
  auth: Array<{ method: string; connections: number; failed: number }>;
  cancels: CancelRow[];
}

/** Request texts whose shapes stats keeps at once. */
const SHAPE_CACHE = 10_000;

export class Stats {
  private readonly queries = new Map<
    string,
    {
      hist: Histogram;
      failed: Histogram;
      failures: Map<string, number>;
      rows: number;
      count: number;
      skipped: number;
      unanswered: number;
    }
  >();
  private readonly connections: ConnectionRow[] = [];
  private readonly errors = new Map<string, ErrorRow>();
  private readonly auth = new Map<string, { connections: number; failed: number }>();
  /** Query shapes by request text (normalizeSql), SHAPE_CACHE texts at most. */
  private readonly shapes = new Map<string, string>();
  /** Cancel connections: their record's cancel, read at the end (the answer comes after they close). */
  private readonly cancels: Array<{ stream: number; cancel: NonNullable<ConnectionRecord["cancel"]> }> = [];

  /** clock.t0: the capture's first packet, which connections' start times count from (unset: the epoch). */
  constructor(private readonly clock: { t0?: number } = {}) {}

  request(r: RequestRecord): void {
    // Most requests repeat a few texts: their shapes, once each (at most SHAPE_CACHE texts kept).
    let key = this.shapes.get(r.sql);
    if (key === undefined) {
      if (this.shapes.size >= SHAPE_CACHE) this.shapes.clear();
      key = normalizeSql(r.sql);
      this.shapes.set(r.sql, key);
    }
    let q = this.queries.get(key);
    if (!q) {
      q = {
        hist: new Histogram(),
        failed: new Histogram(),
        failures: new Map(),
        rows: 0,
        count: 0,
        skipped: 0,
        unanswered: 0,
      };
      this.queries.set(key, q);
    }
    q.count++;
    q.rows += r.rows;
    if (r.outcome === "skipped") q.skipped++;
    else if (r.error) {
      q.failures.set(r.error.code, (q.failures.get(r.error.code) ?? 0) + 1);
      q.failed.add(r.duration ?? 0);
    } else if (r.duration !== undefined) q.hist.add(r.duration);
    else q.unanswered++;
  }

  connection(c: ConnectionRecord): void {
    const p = c.startup?.params ?? {};
    const method = c.cancel ? "cancel request" : c.auth.methods.join(" + ") || "(not seen)";
    if (c.cancel) this.cancels.push({ stream: c.stream, cancel: c.cancel });
    else {
      const a = this.auth.get(method) ?? { connections: 0, failed: 0 };
      a.connections++;
      if (c.auth.outcome === "failed") a.failed++;
      this.auth.set(method, a);
    }
    for (const m of c.errors) {
      const e = this.errors.get(m.code) ?? {
        code: m.code,
        name: m.name,
        severity: m.severity,
        count: 0,
        example: m.message,
        sample: m,
      };
      e.count++;
      this.errors.set(m.code, e);
    }
    const end = c.last.time;
    const start = c.syn?.time ?? c.first.time;
    // The application's name as the server last reported it (SET application_name changes it).
    const application = c.serverParams.application_name || p.application_name;
    this.connections.push({
      stream: c.stream,
      client: `${c.client.addr}:${c.client.port}`,
      server: `${c.server.addr}:${c.server.port}`,
      user: p.user,
      database: p.database,
      application,
      auth: method,
      tls: c.encryption.tls,
      start: Math.round((start - (this.clock.t0 ?? 0)) * 1e6) / 1e6,
      duration: Math.round((end - start) * 1e6) / 1e6,
      bytesFromClient: c.bytes.client,
      bytesFromServer: c.bytes.server,
      requests: c.requests.length + c.moreRequests,
      errors: c.errors.length,
      messages: c.counts,
    });
  }

  result(): StatsResult {
    // Times in seconds, to the microsecond the captures have.
    const us = (t: number) => Math.round(t * 1e6) / 1e6;
    const queries = [...this.queries].map(([query, q]) => ({
      query,
      count: q.count,
      answered: q.hist.count,
      total: us(q.hist.total),
      mean: us(q.hist.count ? q.hist.total / q.hist.count : 0),
      p50: us(q.hist.quantile(0.5)),
      p95: us(q.hist.quantile(0.95)),
      max: us(q.hist.max),
      rows: q.rows,
      errors: q.failed.count,
      failures: Object.fromEntries([...q.failures].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
      failedMean: us(q.failed.count ? q.failed.total / q.failed.count : 0),
      failedP50: us(q.failed.quantile(0.5)),
      failedMax: us(q.failed.max),
      skipped: q.skipped,
      unanswered: q.unanswered,
    }));
    queries.sort((a, b) => b.total - a.total || b.count - a.count);
    return {
      queries,
      connections: [...this.connections].sort((a, b) => a.stream - b.stream),
      errors: [...this.errors.values()].sort((a, b) => b.count - a.count),
      auth: [...this.auth].map(([method, a]) => ({ method, ...a })),
      cancels: this.cancels
        .map(({ stream, cancel: k }) => ({
          stream,
          frame: k.frame,
          pid: k.pid,
          targetStream: k.target?.stream,
          request: k.target?.sql,
          after: k.target?.after === undefined ? undefined : us(k.target.after),
          answer: k.answer?.code,
        }))
        .sort((a, b) => a.stream - b.stream),
    };
  }
}

function table(headers: string[], rows: string[][], right: boolean[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return `${[line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")}\n`;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The connection table's columns and, per connection, its cells (text, HTML). */
export const CONNECTION_COLUMNS = [
  "stream",
  "client",
  "server",
  "user",
  "database",
  "application",
  "auth",
  "tls",
  "duration",
  "bytes >",
  "bytes <",
  "requests",
  "errors",
];
export const CONNECTION_NUMERIC = [true, false, false, false, false, false, false, false, true, true, true, true, true];
export function connectionCells(c: ConnectionRow): string[] {
  const text = [c.client, c.server, c.user ?? "", c.database ?? "", c.application ?? "", c.auth, c.tls ? "yes" : "no"];
  const numbers = [c.bytesFromClient, c.bytesFromServer, c.requests, c.errors].map(String);
  return [String(c.stream), ...text, duration(c.duration), ...numbers];
}

/** The error table's columns and, per SQLSTATE, its cells (text, HTML): the example as given. */
export const ERROR_COLUMNS = ["count", "severity", "code", "condition", "example"];
export const ERROR_NUMERIC = [true, false, false, false, false];
export function errorCells(e: ErrorRow, example: string): string[] {
  return [String(e.count), e.severity, e.code, e.name ?? "", example];
}

/** The query table's columns and, per query shape, its cells (text, HTML): the query cut to width. */
export const QUERY_COLUMNS = ["count", "total", "mean", "p50", "p95", "max", "rows", "errors", "query"];
export const QUERY_NUMERIC = [true, true, true, true, true, true, true, true, false];
export function queryCells(q: QueryRow, width: number): string[] {
  // Times of the answered requests only: none answered, no times.
  const times = [q.total, q.mean, q.p50, q.p95, q.max].map((t) => (q.answered > 0 ? duration(t) : "-"));
  const codes = Object.keys(q.failures);
  const list = `${codes.slice(0, 2).join(", ")}${codes.length > 2 ? ", …" : ""}`;
  const errors = q.errors === 0 ? "0" : `${q.errors} (${list}; ${duration(q.failedMean)})`;
  return [String(q.count), ...times, String(q.rows), errors, oneLine(q.query, width)];
}

/** The stats as tables for a terminal. */
export function statsText(r: StatsResult, st: Style, width = 120, top = 20): string {
  const requests = r.queries.reduce((n, q) => n + q.count, 0);
  let out = `${st.bold(`Queries (${plural(r.queries.length, "shape")}, ${plural(requests, "request")})`)}\n`;
  const qw = Math.max(30, width - 80);
  out += table(
    QUERY_COLUMNS,
    r.queries.slice(0, top).map((q) => queryCells(q, qw)),
    QUERY_NUMERIC,
  );
  if (r.queries.length > top) out += st.dim(`… ${r.queries.length - top} more shapes (--json or --csv for all)\n`);
  out += `\n${st.bold(`Connections (${r.connections.length})`)}\n`;
  out += table(CONNECTION_COLUMNS, r.connections.map(connectionCells), CONNECTION_NUMERIC);
  out += `\n${st.bold(`Errors by SQLSTATE (${r.errors.reduce((n, e) => n + e.count, 0)})`)}\n`;
  out +=
    r.errors.length === 0
      ? "none\n"
      : table(
          ERROR_COLUMNS,
          r.errors.map((e) => errorCells(e, cut(e.example, 60))),
          ERROR_NUMERIC,
        );
  if (r.cancels.length > 0) {
    out += `\n${st.bold(`Cancel requests (${r.cancels.length})`)}\n`;
    out += table(
      ["stream", "pid", "target", "after", "answer", "request"],
      r.cancels.map((k) => [
        String(k.stream),
        String(k.pid),
        k.targetStream === undefined ? "" : String(k.targetStream),
        k.after === undefined ? "" : duration(k.after),
        k.answer ?? "",
        cut(k.request ?? "", 60),
      ]),
      [true, true, true, true, false, false],
    );
  }
  out += `\n${st.bold("Authentication")}\n`;
  out += table(
    ["method", "connections", "failed"],
    r.auth.map((a) => [a.method, String(a.connections), String(a.failed)]),
    [false, true, true],
  );
  return out;
}

function csvCell(v: unknown): string {
  const s = typeof v === "number" ? String(v) : v === undefined ? "" : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_TABLES = ["queries", "connections", "errors", "auth", "cancels"] as const;

/** One of the stats tables as CSV (times in seconds). */
export function statsCsv(r: StatsResult, which: (typeof CSV_TABLES)[number]): string {
  const rows: Array<Record<string, unknown>> =
    which === "queries"
      ? r.queries.map((q) => ({
          ...q,
          failures: Object.entries(q.failures)
            .map(([code, n]) => `${code}:${n}`)
            .join(" "),
        }))
      : which === "connections"
        ? r.connections.map(({ messages, ...c }) => ({
            ...c,
            messages: Object.entries(messages)
              .map(([k, v]) => `${k}:${v.client}/${v.server}`)
              .join(" "),
          }))
        : which === "errors"
          ? r.errors.map(({ sample, ...e }) => ({
              ...e,
              detail: sample.detail,
              hint: sample.hint,
              where: sample.where,
              file: sample.file,
              line: sample.line,
              routine: sample.routine,
            }))
          : which === "auth"
            ? r.auth.map((a) => ({ ...a }))
            : r.cancels.map((k) => ({ ...k }));
  const headers =
    rows.length > 0
      ? Object.keys(rows[0])
      : {
          queries: [
            "query",
            "count",
            "answered",
            "total",
            "mean",
            "p50",
            "p95",
            "max",
            "rows",
            "errors",
            "failures",
            "failedMean",
            "failedP50",
            "failedMax",
            "skipped",
            "unanswered",
          ],
          connections: ["stream", "client", "server"],
          errors: [
            "code",
            "name",
            "severity",
            "count",
            "example",
            "detail",
            "hint",
            "where",
            "file",
            "line",
            "routine",
          ],
          auth: ["method", "connections", "failed"],
          cancels: ["stream", "frame", "pid", "targetStream", "request", "after", "answer"],
        }[which];
  return `${[headers.join(","), ...rows.map((row) => headers.map((h) => csvCell(row[h])).join(","))].join("\n")}\n`;
}
