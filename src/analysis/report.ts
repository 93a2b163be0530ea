// `pgwire report`: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched):
// per connection a sequence diagram of its messages along time, a latency histogram and a
// timeline of the queries, the stats tables and the findings.

import type { ConnectionRecord, Finding, MessageRecord, RequestRecord } from "./analyzer.ts";
import { duration, endpoint, explainConnection, oneLine, PLAIN, plural } from "./explain.ts";
import {
  CONNECTION_COLUMNS,
  CONNECTION_NUMERIC,
  connectionCells,
  ERROR_COLUMNS,
  ERROR_NUMERIC,
  errorCells,
  QUERY_COLUMNS,
  QUERY_NUMERIC,
  queryCells,
  type StatsResult,
} from "./stats.ts";

/** Connections drawn in detail (the rest are in the tables), and messages per diagram. */
export const MAX_DIAGRAMS = 50;
export const MAX_DIAGRAM_MESSAGES = 300;
/** Requests drawn on the timeline. */
export const MAX_TIMELINE = 3000;

export interface ReportInput {
  file: string;
  t0: number;
  connections: ConnectionRecord[];
  /** Connections beyond MAX_DIAGRAMS: only counted. */
  moreConnections: number;
  stats: StatsResult;
  findings: Finding[];
  /** Every request's response time, in log buckets (LatencyHistogram). */
  latency: LatencyHistogram;
  /** Requests for the timeline (at most MAX_TIMELINE). */
  timeline: RequestRecord[];
}

/** Response times in buckets of a quarter decade, from 1 µs to 100 s. */
export class LatencyHistogram {
  readonly counts = new Array<number>(33).fill(0);
  add(seconds: number): void {
    const i = Math.floor((Math.log10(Math.max(seconds, 1e-6)) + 6) * 4);
    this.counts[Math.min(this.counts.length - 1, Math.max(0, i))]++;
  }
  /** The lower bound of bucket i, in seconds. */
  static lower(i: number): number {
    return 10 ** (i / 4 - 6);
  }
}

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

/** A run of messages of one name in one direction, drawn as one arrow when it is long. */
interface Arrow {
  m: MessageRecord;
  count: number;
  lastFrame: number;
}

/** Folds runs of three or more unmarked messages of one name and direction (DataRow × 209). */
function foldRuns(messages: readonly MessageRecord[]): Arrow[] {
  const runs: MessageRecord[][] = [];
  for (const m of messages) {
    const run = runs.at(-1);
    const p = run?.[0];
    if (run && p && !m.mark && !p.mark && p.name === m.name && p.frontend === m.frontend) run.push(m);
    else runs.push([m]);
  }
  return runs.flatMap((run) =>
    run.length >= 3
      ? [{ m: run[0], count: run.length, lastFrame: (run.at(-1) as MessageRecord).frame }]
      : run.map((m) => ({ m, count: 1, lastFrame: m.frame })),
  );
}

/** A sequence diagram: the client's and the server's lifelines, one arrow per message (runs folded). */
function sequenceDiagram(c: ConnectionRecord, t0: number): string {
  const msgs = foldRuns(c.messages).slice(0, MAX_DIAGRAM_MESSAGES);
  const row = 22;
  const width = 900;
  const left = 250;
  const right = 650;
  const top = 40;
  const height = top + msgs.length * row + 30;
  const parts: string[] = [
    `<svg class="sequence" role="img" aria-label="Sequence diagram of connection ${c.stream}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${left}" y="20" text-anchor="middle" class="actor">client ${esc(endpoint(c.client))}</text>`,
    `<text x="${right}" y="20" text-anchor="middle" class="actor">server ${esc(endpoint(c.server))}</text>`,
    `<line x1="${left}" y1="28" x2="${left}" y2="${height - 10}" class="lifeline"/>`,
    `<line x1="${right}" y1="28" x2="${right}" y2="${height - 10}" class="lifeline"/>`,
  ];
  msgs.forEach(({ m, count, lastFrame }, i) => {
    const y = top + i * row + 12;
    const frames = lastFrame === m.frame ? `frame ${m.frame}` : `frames ${m.frame}–${lastFrame}`;
    const label = count > 1 ? `${m.name} × ${count} (${frames})` : m.info;
    const [x1, x2] = m.frontend ? [left, right] : [right, left];
    const cls = `msg${m.mark ? ` ${m.mark}` : ""}`;
    const tip = x2 > x1 ? x2 - 8 : x2 + 8;
    parts.push(
      `<g class="${cls}" data-frame="${m.frame}"><title>frame ${m.frame}: ${esc(label)}</title>`,
      `<text x="10" y="${y + 4}" class="time">${(m.time - t0).toFixed(6)} s · #${m.frame}</text>`,
      `<line x1="${x1}" y1="${y}" x2="${x2}" y2="${y}"/>`,
      `<polygon points="${x2},${y} ${tip},${y - 4} ${tip},${y + 4}"/>`,
      `<text x="${(left + right) / 2}" y="${y - 4}" text-anchor="middle" class="label">${esc(oneLine(label, 70))}</text></g>`,
    );
  });
  const shown = msgs.reduce((n, a) => n + a.count, 0);
  const more = c.messages.length - shown + c.moreMessages;
  if (more > 0) {
    parts.push(
      `<text x="${(left + right) / 2}" y="${height - 12}" text-anchor="middle" class="time">… ${more} more messages</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}

function latencyHistogram(h: LatencyHistogram): string {
  const first = h.counts.findIndex((n) => n > 0);
  if (first < 0) return "<p>No request was answered.</p>";
  const last = h.counts.length - 1 - [...h.counts].reverse().findIndex((n) => n > 0);
  const max = Math.max(...h.counts);
  const bars = h.counts.slice(first, last + 1);
  const bw = 36;
  const height = 180;
  // Room above the tallest bar for its count.
  const top = 24;
  // Room for the last bar's label, drawn at 45° past the bar, and for the labels below the bars.
  const width = 120 + bars.length * bw;
  const parts = [
    `<svg class="histogram" role="img" aria-label="Latency histogram" width="${width}" height="${top + height + 80}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  bars.forEach((n, i) => {
    const h0 = max > 0 ? Math.round((n / max) * height) : 0;
    const x = 50 + i * bw;
    parts.push(
      `<g><title>${n} requests from ${duration(LatencyHistogram.lower(first + i))}</title>`,
      `<rect x="${x}" y="${top + height - h0}" width="${bw - 4}" height="${h0}" class="bar"/>`,
      n > 0
        ? `<text x="${x + (bw - 4) / 2}" y="${top - 4 + height - h0}" text-anchor="middle" class="count">${n}</text>`
        : "",
      `<text transform="translate(${x + 14},${top + height + 6}) rotate(45)" class="axis">${duration(LatencyHistogram.lower(first + i))}</text></g>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

function timeline(reqs: readonly RequestRecord[], conns: readonly ConnectionRecord[], t0: number): string {
  if (reqs.length === 0) return "<p>No requests.</p>";
  const streams = [...new Set(reqs.map((r) => r.stream))].sort((a, b) => a - b);
  const end = Math.max(...reqs.map((r) => r.time + (r.duration ?? 0)), ...conns.map((c) => c.last.time));
  const span = Math.max(end - t0, 1e-6);
  const lane = 18;
  const width = 900;
  const x0 = 90;
  const scale = (width - x0 - 10) / span;
  const height = 30 + streams.length * lane;
  const parts = [
    `<svg class="timeline" role="img" aria-label="Timeline of queries" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
    `<text x="${x0}" y="12" class="axis">0 s</text><text x="${width - 10}" y="12" text-anchor="end" class="axis">${span.toFixed(3)} s</text>`,
  ];
  streams.forEach((s, i) => {
    parts.push(`<text x="4" y="${30 + i * lane + 12}" class="axis">stream ${s}</text>`);
  });
  for (const r of reqs) {
    const i = streams.indexOf(r.stream);
    const x = x0 + (r.time - t0) * scale;
    const w = Math.max(2, (r.duration ?? 0) * scale);
    const cls = r.error ? "req error" : "req";
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${30 + i * lane}" width="${w.toFixed(1)}" height="${lane - 4}" class="${cls}"><title>${esc(oneLine(r.sql, 200))} — ${r.outcome === "skipped" ? "skipped after an error" : r.duration !== undefined ? `${r.error ? "failed after " : ""}${duration(r.duration)}` : "no answer"}</title></rect>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}

function table(headers: string[], rows: string[][], numeric: boolean[], cls: string): string {
  const th = headers.map((h, i) => `<th${numeric[i] ? ' class="num"' : ""}>${esc(h)}</th>`).join("");
  const trs = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ""}>${esc(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre.story { background: #f8f8f8; padding: 0.8em; overflow-x: auto; font-size: 12px; }
svg text { font: 12px system-ui, sans-serif; } svg .actor { font-weight: bold; } svg .time, svg .axis { fill: #666; font-size: 11px; }
svg .lifeline { stroke: #999; stroke-dasharray: 4 3; }
svg .msg line { stroke: #345; } svg .msg polygon { fill: #345; }
svg .msg.error line { stroke: #c00; } svg .msg.error polygon, svg .msg.error text.label { fill: #c00; }
svg .msg.notice line { stroke: #b80; } svg .msg.notice polygon, svg .msg.notice text.label { fill: #b80; }
svg .msg.finding line { stroke: #e60; } svg .msg.finding polygon, svg .msg.finding text.label { fill: #e60; }
svg .bar { fill: #4a7; } svg .count { font-size: 10px; } svg .req { fill: #47a; } svg .req.error { fill: #c00; }
ul.findings li { color: #a40; }
`;

/** The whole report. */
export function renderReport(r: ReportInput): string {
  const s = r.stats;
  const out: string[] = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>pgwire report: ${esc(r.file)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<h1>PostgreSQL traffic in ${esc(r.file)}</h1>`,
    `<p>${plural(s.connections.length, "connection")}, ${plural(
      s.queries.reduce((n, q) => n + q.count, 0),
      "request",
    )}, ${plural(
      s.errors.reduce((n, e) => n + e.count, 0),
      "error",
    )}, ${plural(r.findings.length, "finding")}. Made by <code>pgwire report</code>.</p>`,
    '<section id="findings"><h2>Findings</h2>',
  ];
  if (r.findings.length === 0) out.push("<p>None.</p>");
  else {
    const byText = new Map<string, Finding[]>();
    for (const f of r.findings) byText.set(f.text, [...(byText.get(f.text) ?? []), f]);
    out.push(
      `<ul class="findings">${[...byText]
        .map(
          ([text, list]) =>
            `<li>${list.length} × ${esc(text)} <small>(${list
              .slice(0, 5)
              .map((f) => `stream ${f.stream} frame ${f.frame}`)
              .join(", ")}${list.length > 5 ? ", …" : ""})</small></li>`,
        )
        .join("\n")}</ul>`,
    );
  }
  out.push("</section>", '<section id="latency"><h2>Response times</h2>', latencyHistogram(r.latency), "</section>");
  out.push(
    '<section id="timeline"><h2>Timeline of requests</h2>',
    timeline(r.timeline, r.connections, r.t0),
    "</section>",
  );
  out.push(
    '<section id="queries"><h2>Queries</h2>',
    table(
      QUERY_COLUMNS,
      s.queries.slice(0, 100).map((q) => queryCells(q, 200)),
      QUERY_NUMERIC,
      "queries",
    ),
    "</section>",
    '<section id="connections"><h2>Connections</h2>',
    table(CONNECTION_COLUMNS, s.connections.map(connectionCells), CONNECTION_NUMERIC, "connections"),
    "</section>",
    '<section id="errors"><h2>Errors by SQLSTATE</h2>',
    s.errors.length === 0
      ? "<p>None.</p>"
      : table(
          ERROR_COLUMNS,
          s.errors.map((e) => errorCells(e, oneLine(e.example, 200))),
          ERROR_NUMERIC,
          "errors",
        ),
    "</section>",
    '<section id="auth"><h2>Authentication</h2>',
    table(
      ["method", "connections", "failed"],
      s.auth.map((a) => [a.method, String(a.connections), String(a.failed)]),
      [false, true, true],
      "auth",
    ),
    "</section>",
    '<section id="sessions"><h2>Connections in detail</h2>',
  );
  for (const c of r.connections) {
    out.push(
      `<details class="connection" id="stream-${c.stream}"${r.connections.length <= 5 ? " open" : ""}><summary>Connection ${c.stream}: ${esc(endpoint(c.client))} → ${esc(endpoint(c.server))}${c.startup ? ` — ${esc(c.startup.params.user ?? "")}@${esc(c.startup.params.database ?? "")}` : ""}</summary>`,
      `<pre class="story">${esc(explainConnection(c, r.t0, PLAIN))}</pre>`,
      sequenceDiagram(c, r.t0),
      "</details>",
    );
  }
  if (r.moreConnections > 0) out.push(`<p>… and ${r.moreConnections} more connections (in the tables above).</p>`);
  out.push("</section></body></html>");
  return `${out.join("\n")}\n`;
}
