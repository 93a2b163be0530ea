// The command line's arguments: one small hand-written parser, and the option groups several
// commands share (which traffic: the filters; colour).

import { COLOR, PLAIN, type Style } from "../analysis/explain.ts";
import type { Step } from "../pipeline.ts";

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface OptionSpec {
  /** Canonical key of the option. */
  key: string;
  /** Takes a value (--port 5432 or --port=5432). */
  value: boolean;
}

export interface Parsed {
  options: Map<string, string[]>;
  positional: string[];
  help: boolean;
}

export function parseArgs(command: string, args: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const options = new Map<string, string[]>();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const opt = spec[name];
    if (!opt) throw new UsageError(`unknown option '${name}' for ${command}`, command);
    let value = "";
    if (opt.value) {
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (i + 1 < args.length) value = args[++i];
      else throw new UsageError(`option '${name}' needs a value`, command);
    } else if (eq >= 0) {
      throw new UsageError(`option '${name}' takes no value`, command);
    }
    const list = options.get(opt.key) ?? [];
    list.push(value);
    options.set(opt.key, list);
  }
  return { options, positional, help };
}

export function oneFile(command: string, p: Parsed): string {
  if (p.positional.length === 0) throw new UsageError(`${command} needs a capture FILE`, command);
  if (p.positional.length > 1)
    throw new UsageError(`${command} takes one capture FILE, got ${p.positional.length}`, command);
  return p.positional[0];
}

export function parsePorts(command: string, values: readonly string[] | undefined): number[] | undefined {
  if (!values) return undefined;
  const ports: number[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const s = part.trim();
      const n = Number(s);
      if (!/^\d+$/.test(s) || n < 1 || n > 65535)
        throw new UsageError(`invalid port '${part}': expected a number from 1 to 65535`, command);
      ports.push(n);
    }
  }
  return ports;
}

// ---------------------------------------------------------------------------------------------
// The options several commands share

export const FILTER_HELP = `Which traffic:
  --port P[,P...]    server ports to decode as PostgreSQL (default 5432); may be repeated
  --keylog FILE      TLS key log (SSLKEYLOGFILE format): decrypt TLS sessions and decode them
  --no-heuristic     decode only the server ports, not PostgreSQL found on other ports
  --stream N[,N...]  only these connections (Wireshark's tcp.stream numbers); may be repeated
  --since T          only packets from T on, and --until T only up to T: seconds from the
  --until T          capture's first packet (12.5), or a date and time (2026-11-27T10:00:00Z)
  --absolute         show times as UTC dates and times, not as seconds from the capture's
                     first packet (tshark's frame.time_relative)`;

export const FILTER_OPTIONS: Record<string, OptionSpec> = {
  "--port": { key: "port", value: true },
  "--keylog": { key: "keylog", value: true },
  "--no-heuristic": { key: "noHeuristic", value: false },
  "--stream": { key: "stream", value: true },
  "--since": { key: "since", value: true },
  "--until": { key: "until", value: true },
  "--absolute": { key: "absolute", value: false },
};

export const COLOR_OPTIONS: Record<string, OptionSpec> = {
  "--color": { key: "color", value: false },
  "--no-color": { key: "noColor", value: false },
};

interface Filters {
  streams?: ReadonlySet<number>;
  /** Seconds from the first packet, or absolute times (seconds since the epoch). */
  since?: { rel?: number; abs?: number };
  until?: { rel?: number; abs?: number };
}

function parseTime(command: string, name: string, v: string | undefined): { rel?: number; abs?: number } | undefined {
  if (v === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return { rel: Number(v) };
  const t = Date.parse(v);
  if (/^\d{4}-\d\d-\d\d/.test(v) && !Number.isNaN(t)) return { abs: t / 1000 };
  throw new UsageError(`invalid time '${v}' for ${name}: seconds from the first packet, or a date and time`, command);
}

export function parseFilters(command: string, p: Parsed): Filters {
  const streams = p.options.get("stream");
  const set = new Set<number>();
  for (const v of streams ?? []) {
    for (const part of v.split(",")) {
      if (!/^\d+$/.test(part.trim())) throw new UsageError(`invalid stream '${part}': expected a number`, command);
      set.add(Number(part.trim()));
    }
  }
  return {
    streams: streams ? set : undefined,
    since: parseTime(command, "--since", p.options.get("since")?.at(-1)),
    until: parseTime(command, "--until", p.options.get("until")?.at(-1)),
  };
}

export function styleFor(p: Parsed): Style {
  if (p.options.has("noColor")) return PLAIN;
  if (p.options.has("color")) return COLOR;
  return process.stdout.isTTY && !process.env.NO_COLOR ? COLOR : PLAIN;
}

/** Keeps what the filters let through: the connections asked for, the packets in the time window. */
export function filterStep(step: Step, f: Filters, t0: number): Step | undefined {
  const t = step.time;
  const inTime = (lim: { rel?: number; abs?: number } | undefined, after: boolean) => {
    if (!lim) return true;
    const at = lim.abs ?? t0 + (lim.rel ?? 0);
    return after ? t >= at : t <= at;
  };
  if (!inTime(f.since, true) || !inTime(f.until, false)) return undefined;
  if (!f.streams) return step;
  const streams = f.streams;
  return {
    ...step,
    frames: step.frames.filter((fr) => streams.has(fr.stream)),
    events: step.events.filter((e) => streams.has(e.stream)),
  };
}
