// Deterministic random inputs for the value decoders: per decoder kind a few thousand byte strings,
// mostly shaped like the kind's binary layout (so that the deep paths run) and often broken (wrong
// lengths, bad headers, truncation, stray bytes), plus mutants of every recorded fixture value.
import { type Kind, PG_TYPES } from "../../../spec/data/types.ts";

export type Input = [oid: number, format: number, bytes: Uint8Array];

/** mulberry32: small, seedable, the same sequence everywhere. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const chance = (p: number) => next() < p;
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { next, int, chance, pick, bytes };
}
type Rng = ReturnType<typeof rng>;

const cat = (...parts: (Uint8Array | number[])[]) => {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return Uint8Array.from(out);
};
const be = (v: number | bigint, n: number): number[] => {
  let x = BigInt.asUintN(n * 8, BigInt(v));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
};
const i32 = (v: number) => be(v, 4);

/** One OID per kind (the first in PG_TYPES), and every OID that has a kind. */
export function oidsByKind(): Map<Kind, number[]> {
  const m = new Map<Kind, number[]>();
  for (const [oid, t] of Object.entries(PG_TYPES)) {
    if (t.binary === undefined) continue;
    const list = m.get(t.binary) ?? [];
    list.push(Number(oid));
    m.set(t.binary, list);
  }
  return m;
}

const FIXED: Partial<Record<Kind, number>> = {
  bool: 1,
  char: 1,
  int2: 2,
  int4: 4,
  oid: 4,
  int8: 8,
  xid8: 8,
  float4: 4,
  float8: 8,
  money: 8,
  date: 4,
  time: 8,
  timetz: 12,
  timestamp: 8,
  timestamptz: 8,
  interval: 16,
  uuid: 16,
  macaddr: 6,
  macaddr8: 8,
  tid: 6,
  point: 16,
  lseg: 32,
  box: 32,
  line: 24,
  circle: 24,
  pg_lsn: 8,
  void: 0,
};

/** Random text bytes: ASCII with specials, valid UTF-8 and broken sequences. */
function textBytes(r: Rng, max = 12): number[] {
  const out: number[] = [];
  const n = r.int(max + 1);
  for (let i = 0; i < n; i++) {
    const c = r.int(10);
    if (c < 4) out.push(r.pick([32, 34, 92, 123, 125, 44, 59, 40, 41, 91, 93, 9, 10, 11, 12, 13, 39, 0x4e, 0x6c]));
    else if (c < 6) out.push(32 + r.int(95));
    else if (c === 6) out.push(...Buffer.from(r.pick(["é", "✓", "😀", "\u00a0", "NULL", "null", "ß", "\ufeff"])));
    else if (c === 7) out.push(r.pick([0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff]));
    else if (c === 8) out.push(r.pick([0xe0, 0xed, 0xf0, 0xf4, 0xe1]), r.int(256));
    else out.push(r.int(256));
  }
  return out;
}

/** A 64-bit value biased to interesting places. */
function int64(r: Rng): bigint {
  const c = r.int(8);
  if (c === 0) return r.pick([0n, 1n, -1n, -(2n ** 63n), 2n ** 63n - 1n, -(2n ** 63n) + 1n, 2n ** 63n - 2n]);
  if (c === 1) return BigInt(r.int(2 ** 31)) * (r.chance(0.5) ? -1n : 1n);
  if (c === 2) return BigInt.asIntN(64, BigInt(r.int(2 ** 32)) * BigInt(r.int(2 ** 32)));
  if (c === 3) return r.pick([-211813488000000000n, 9223371331200000000n, 86400000000n]) + BigInt(r.int(5) - 2);
  return BigInt.asIntN(64, (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32)));
}

function int32(r: Rng): number {
  const c = r.int(5);
  if (c === 0) return r.pick([0, 1, -1, -2147483648, 2147483647, -2451545, 2145031948, 2145031949, -2451546]);
  if (c === 1) return r.int(20000) - 10000;
  return (r.int(2 ** 32) | 0) >> r.int(32);
}

/** A value of `oid` in its binary form: usually valid-looking, sometimes not. */
export function valueBytes(r: Rng, oid: number, depth = 0): Uint8Array {
  const t = PG_TYPES[oid];
  const kind = t?.binary;
  if (kind === undefined || depth > 3 || r.chance(0.03)) return r.bytes(r.int(10));
  const fixed = FIXED[kind];
  switch (kind) {
    case "int8":
    case "money":
    case "time":
    case "timestamp":
    case "timestamptz":
    case "xid8":
    case "pg_lsn":
      if (r.chance(0.9)) {
        let v = int64(r);
        if (kind === "time" && r.chance(0.6)) v = BigInt(r.int(86400000001));
        return cat(be(v, 8));
      }
      break;
    case "date":
    case "int4":
    case "oid":
      if (r.chance(0.9)) return cat(i32(int32(r)));
      break;
    case "timetz":
      if (r.chance(0.9))
        return cat(
          be(r.chance(0.7) ? BigInt(r.int(86400000001)) : int64(r), 8),
          i32(r.chance(0.7) ? r.int(115201) - 57600 : int32(r)),
        );
      break;
    case "interval":
      if (r.chance(0.9)) {
        if (r.chance(0.05)) return cat(be(-(2n ** 63n), 8), i32(-2147483648), i32(-2147483648));
        if (r.chance(0.05)) return cat(be(2n ** 63n - 1n, 8), i32(2147483647), i32(2147483647));
        const small = () => (r.chance(0.5) ? 0 : r.int(41) - 20);
        return cat(
          be(r.chance(0.5) ? int64(r) : BigInt(small()) * 1000000n, 8),
          i32(r.chance(0.5) ? small() : int32(r)),
          i32(r.chance(0.5) ? small() : int32(r)),
        );
      }
      break;
    case "float4":
    case "float8":
    case "point":
    case "lseg":
    case "box":
    case "line":
    case "circle": {
      if (!r.chance(0.9)) break;
      const n = kind === "float4" ? 1 : (fixed ?? 8) / 8;
      const parts: number[][] = [];
      for (let i = 0; i < n; i++) {
        if (kind === "float4") {
          const e = r.chance(0.3) ? r.pick([0, 1, 2, 127, 254, 255]) : r.int(256);
          const m = r.chance(0.2) ? r.pick([0, 1, 0x7fffff]) : r.int(0x800000);
          parts.push(be(((r.int(2) << 31) | (e << 23) | m) >>> 0, 4));
        } else {
          // Geometric types: mostly everyday magnitudes (far exponents cost the Lua side big-integer work).
          const everyday = kind !== "float8" && r.chance(0.9);
          const e = everyday ? 960 + r.int(128) : r.chance(0.3) ? r.pick([0, 1, 2, 1023, 2046, 2047]) : r.int(2048);
          const m = r.chance(0.2)
            ? r.pick([0n, 1n, 2n ** 52n - 1n])
            : BigInt(r.int(2 ** 20)) * 2n ** 32n + BigInt(r.int(2 ** 32));
          parts.push(be((BigInt(r.int(2)) << 63n) | (BigInt(e) << 52n) | m, 8));
        }
      }
      return cat(...parts);
    }
    case "numeric": {
      if (!r.chance(0.95)) break;
      const nd = r.int(7);
      const digits = Array.from({ length: nd }, () => (r.chance(0.95) ? r.int(10000) : r.pick([10000, 65535, 32768])));
      const sign = r.chance(0.9) ? r.pick([0, 0x4000, 0xc000, 0xd000, 0xf000, 0, 0x4000]) : r.int(65536);
      // Extreme weights and scales make strings of up to 131072 digits: rare, to keep the test fast.
      const weight = r.chance(0.97) ? r.int(13) - 6 : r.int(65536) - 32768;
      const dscale = r.chance(0.9) ? r.int(30) : r.chance(0.7) ? r.int(65536) : r.int(2000);
      const body = cat(
        be(nd + (r.chance(0.05) ? 1 : 0), 2),
        be(weight, 2),
        be(sign, 2),
        be(dscale, 2),
        ...digits.map((d) => be(d, 2)),
      );
      return body;
    }
    case "text":
    case "name":
    case "bytea":
      return cat(textBytes(r, 20));
    case "jsonb":
    case "jsonpath":
      return cat(r.chance(0.9) ? [1] : [r.int(3)], textBytes(r));
    case "char":
      if (r.chance(0.9)) return cat([r.chance(0.3) ? r.int(256) : r.pick([0, 34, 44, 92, 97, 128, 233, 255])]);
      break;
    case "inet":
    case "cidr": {
      if (!r.chance(0.9)) break;
      const v6 = r.chance(0.5);
      const size = v6 ? 16 : 4;
      const family = r.chance(0.95) ? (v6 ? 3 : 2) : r.int(5);
      const bits = r.chance(0.3) ? size * 8 : r.chance(0.9) ? r.int(size * 8 + 1) : r.int(256);
      const addr: number[] = [];
      for (let i = 0; i < size / 2; i++) {
        if (v6 && r.chance(0.6)) addr.push(0, r.chance(0.1) ? 1 : 0);
        else if (v6 && r.chance(0.1)) addr.push(255, 255);
        else addr.push(r.int(256), r.int(256));
      }
      if (kind === "cidr" && r.chance(0.7)) {
        for (let i = 0; i < size; i++) {
          const keep = Math.min(8, Math.max(0, bits - 8 * i));
          addr[i] -= addr[i] % 2 ** (8 - keep);
        }
      }
      const len = r.chance(0.95) ? size : r.int(20);
      return cat([family, bits, r.int(2), len], addr.slice(0, size));
    }
    case "path":
    case "polygon": {
      if (!r.chance(0.9)) break;
      const npts = r.chance(0.9) ? 1 + r.int(3) : r.int(3) - 1;
      const pts = Array.from({ length: Math.max(npts, 0) * 2 }, () => Array.from(valueBytes(r, 701, depth + 1)));
      const head = kind === "path" ? [r.int(2), ...i32(npts)] : i32(npts);
      return cat(head, ...pts);
    }
    case "bit": {
      if (!r.chance(0.9)) break;
      const nbits = r.chance(0.9) ? r.int(40) : int32(r);
      const n = r.chance(0.9) ? Math.ceil(Math.max(nbits, 0) / 8) : r.int(8);
      return cat(i32(nbits), r.bytes(Math.min(n, 64)));
    }
    case "snapshot": {
      if (!r.chance(0.9)) break;
      const nxip = r.int(4);
      const xmin = r.chance(0.1) ? r.pick([0, 2 ** 32]) : 1 + r.int(50);
      const xmax = xmin + r.int(50) - 5;
      const xips = Array.from({ length: nxip }, () => xmin + r.int(55) - 3).sort((a, b) => a - b);
      if (r.chance(0.1)) xips.reverse();
      return cat(
        i32(nxip + (r.chance(0.05) ? 1 : 0)),
        be(xmin, 8),
        be(Math.max(xmax, 0), 8),
        ...xips.map((x) => be(x, 8)),
      );
    }
    case "tsvector": {
      if (!r.chance(0.9)) break;
      const n = r.int(4);
      const lexemes = Array.from({ length: n }, () => textBytes(r, 6).filter((b) => b !== 0));
      if (r.chance(0.8)) lexemes.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const parts: number[][] = [i32(n)];
      for (const lex of lexemes) {
        const npos = r.chance(0.5) ? 0 : r.int(4);
        let pos = r.int(3);
        const ps: number[] = [];
        for (let i = 0; i < npos; i++) {
          pos += r.chance(0.9) ? 1 + r.int(5) : 0;
          ps.push(...be(((r.int(4) << 14) | (pos & 0x3fff)) >>> 0, 2));
        }
        parts.push(lex, [0], be(npos, 2), ps);
      }
      return cat(...parts);
    }
    case "int2vector":
    case "oidvector":
      return arrayBytes(r, kind === "int2vector" ? 21 : 26, depth);
    case "array":
      return arrayBytes(r, t.elem ?? r.pick([23, 25, 1700, 16]), depth);
    case "record": {
      if (!r.chance(0.95)) break;
      const n = r.int(4);
      const parts: number[][] = [i32(n)];
      for (let i = 0; i < n; i++) {
        const oid = r.pick(SCALARS);
        if (r.chance(0.15)) parts.push(be(oid, 4), i32(-1));
        else {
          const v = valueBytes(r, oid, depth + 1);
          parts.push(be(oid, 4), i32(v.length), Array.from(v));
        }
      }
      return cat(...parts);
    }
    case "range":
      return rangeBytes(r, t.elem ?? 23, depth);
    case "multirange": {
      if (!r.chance(0.95)) break;
      const n = r.int(4);
      const parts: number[][] = [i32(n)];
      for (let i = 0; i < n; i++) {
        const v = rangeBytes(r, t.elem ?? 3904, depth + 1);
        parts.push(i32(v.length), Array.from(v));
      }
      return cat(...parts);
    }
  }
  // Raw bytes around the fixed length, or any short length.
  const len = fixed !== undefined && r.chance(0.6) ? Math.max(0, fixed + r.int(5) - 2) : r.int(24);
  return r.bytes(len);
}

const SCALARS = [16, 18, 19, 20, 21, 23, 25, 26, 600, 700, 701, 1043, 1082, 1114, 1184, 1186, 1700, 2950, 3802, 869];

function arrayBytes(r: Rng, elem: number, depth: number): Uint8Array {
  if (r.chance(0.05)) return r.bytes(r.int(30));
  const ndim = r.chance(0.9) ? r.int(4) : r.pick([-1, 7, 6]);
  const dims = Array.from({ length: Math.max(0, Math.min(ndim, 6)) }, () =>
    r.chance(0.95) ? r.int(3) + (r.chance(0.8) ? 1 : 0) : r.pick([-1, 2 ** 31 - 1]),
  );
  const lbs = dims.map(() => (r.chance(0.8) ? 1 : r.chance(0.8) ? r.int(5) - 2 : r.pick([2 ** 31 - 1, -(2 ** 31)])));
  const nitems = dims.length === 0 ? 0 : dims.reduce((a, b) => a * Math.max(b, 0), 1);
  const flags = r.chance(0.95) ? r.int(2) : r.int(5);
  const et = r.chance(0.95) ? elem : r.pick(SCALARS);
  const parts: number[][] = [i32(ndim), i32(flags), be(et, 4)];
  for (let i = 0; i < dims.length; i++) parts.push(i32(dims[i]), i32(lbs[i]));
  for (let i = 0; i < Math.min(nitems, 8); i++) {
    if (r.chance(0.15)) parts.push(i32(-1));
    else {
      const v = valueBytes(r, et, depth + 1);
      parts.push(i32(r.chance(0.97) ? v.length : v.length + r.int(5) - 2), Array.from(v));
    }
  }
  const out = cat(...parts);
  if (r.chance(0.05)) return out.subarray(0, r.int(out.length + 1));
  if (r.chance(0.03)) return cat(out, [r.int(256)]);
  return out;
}

function rangeBytes(r: Rng, sub: number, depth: number): Uint8Array {
  if (r.chance(0.05)) return r.bytes(r.int(20));
  const flags = r.chance(0.8) ? r.pick([0x00, 0x01, 0x02, 0x04, 0x06, 0x08, 0x10, 0x12, 0x0a, 0x18, 0x1e]) : r.int(256);
  const parts: number[][] = [[flags]];
  const hasLower = (flags & 0x01) === 0 && (flags & 0x08) === 0;
  const hasUpper = (flags & 0x01) === 0 && (flags & 0x10) === 0;
  for (const has of [hasLower, hasUpper]) {
    if (!has) continue;
    const v = valueBytes(r, sub, depth + 1);
    parts.push(i32(v.length), Array.from(v));
  }
  const out = cat(...parts);
  if (r.chance(0.05)) return out.subarray(0, r.int(out.length + 1));
  return out;
}

/** `perKind` inputs for every kind (spread over the kind's OIDs), format 1; some format 0 and 2. */
export function randomInputs(seed: number, perKind: number): Input[] {
  const r = rng(seed);
  const out: Input[] = [];
  for (const [, oids] of oidsByKind()) {
    for (let i = 0; i < perKind; i++) out.push([r.pick(oids), 1, valueBytes(r, r.pick(oids))]);
  }
  for (let i = 0; i < perKind; i++) out.push([r.pick([25, 23, 16]), 0, cat(textBytes(r, 30))]);
  for (let i = 0; i < 50; i++) out.push([r.pick([25, 23, 16, 99999]), r.pick([2, -1, 65535]), r.bytes(r.int(6))]);
  for (let i = 0; i < 200; i++) out.push([r.pick([0, 1, 705 + 1, 2276, 99999, 4294967295]), 1, r.bytes(r.int(12))]);
  return out;
}

/** Mutants of a recorded value: flipped bytes, truncations, extra bytes. */
export function mutants(seed: number, oid: number, bytes: Uint8Array, count: number): Input[] {
  const r = rng(seed);
  const out: Input[] = [];
  for (let i = 0; i < count; i++) {
    const b = Uint8Array.from(bytes);
    const c = r.int(4);
    if (c === 0 && b.length > 0) {
      for (let k = 0; k <= r.int(3); k++) b[r.int(b.length)] = r.int(256);
      out.push([oid, 1, b]);
    } else if (c === 1) out.push([oid, 1, b.subarray(0, r.int(b.length + 1))]);
    else if (c === 2) out.push([oid, 1, cat(b, r.bytes(1 + r.int(4)))]);
    else if (b.length > 0) {
      const k = r.int(b.length);
      b[k] ^= 1 << r.int(8);
      out.push([oid, 1, b]);
    }
  }
  return out;
}
