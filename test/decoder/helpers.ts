import { readdirSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

/** The recorded captures (real server, real clients). */
export const REAL_CAPTURES = readdirSync(join(ROOT, "captures"))
  .filter((f) => f.endsWith(".pcapng"))
  .map((f) => join(ROOT, "captures", f));

export { CAPTURE_PORTS, portsOf } from "../../captures/ports.ts";

/** Encodes a typed message: type byte, Int32 length (counting itself), body. */
export function typed(type: string, ...body: Array<number[] | Uint8Array | string>): Uint8Array {
  const parts = body.map((p) => (typeof p === "string" ? new TextEncoder().encode(`${p}\0`) : Uint8Array.from(p)));
  const len = 4 + parts.reduce((n, p) => n + p.length, 0);
  return Uint8Array.from([type.charCodeAt(0), ...be32(len), ...parts.flatMap((p) => [...p])]);
}

export function untyped(...body: Array<number[] | string>): Uint8Array {
  const parts = body.map((p) => (typeof p === "string" ? [...new TextEncoder().encode(`${p}\0`)] : p));
  const len = 4 + parts.reduce((n, p) => n + p.length, 0);
  return Uint8Array.from([...be32(len), ...parts.flat()]);
}

export function be32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

export function be16(n: number): number[] {
  return [(n >>> 8) & 255, n & 255];
}

export { concatBytes as concat } from "../tools/encoder.ts";
