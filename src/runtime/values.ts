// Column values as PostgreSQL prints them: a value's type OID, format code (0 text, 1 binary) and raw
// bytes in, the text PostgreSQL's output function gives for that value with the default settings out
// (DateStyle ISO, IntervalStyle postgres, TimeZone UTC, bytea_output hex, extra_float_digits 1,
// lc_monetary C). src/runtime/values.lua is the same code in Lua for the Wireshark plugin;
// test/runtime/values checks both against a real server's text output and against each other.
//
// Text format values are the bytes as UTF-8 (invalid sequences become U+FFFD, as TextDecoder does).
// Binary values are decoded by the type's kind (spec/data/types.ts). Where PostgreSQL's receive
// function would reject the bytes (wrong length, out-of-range date, bad numeric digit, ...), where the
// type has no decoder (user-defined OIDs, tsquery, ...) or the format code is neither 0 nor 1, the
// value is shown as "\x" + hex of the bytes. valueText never throws.
//
// Deliberate limits (what PostgreSQL prints but the bytes alone cannot tell): reg* types are shown as
// their OID number (PostgreSQL prints the object's name); money assumes lc_monetary C (2 fraction
// digits, "$", ","); ranges and multiranges are printed as sent (PostgreSQL canonicalizes a client's
// non-canonical range, e.g. [1,3] of int4 to [1,4)); a tsvector whose lexemes are not in PostgreSQL's
// order is shown as hex (PostgreSQL would sort it). Intervals with all three fields at their minimum
// or maximum print as -infinity / infinity, as PostgreSQL 17 and later do (15 and 16 print the numbers).
import { PG_TYPES } from "../../spec/data/types.ts";
import { utf8Text } from "./text.ts";

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const HEX = "0123456789abcdef";

/** "\x" and lowercase hex: bytea's text form, and the fallback for anything not decodable. */
export function hexText(b: Uint8Array): string {
  let s = "\\x";
  for (let i = 0; i < b.length; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

/** PostgreSQL's text for one column value; "\x..." hex when it cannot be decoded. Never throws. */
export function valueText(oid: number, format: number, bytes: Uint8Array): string {
  try {
    return valueTextStrict(oid, format, bytes);
  } catch {
    return hexText(bytes);
  }
}

/** valueText without the safety net (tests use it to prove that no decoder throws). */
export function valueTextStrict(oid: number, format: number, bytes: Uint8Array): string {
  // utf8Text: short values (most parameters and columns) without TextDecoder's per-call cost.
  if (format === 0) return utf8Text(bytes, 0, bytes.length);
  if (format !== 1) return hexText(bytes);
  return binaryText(oid, bytes, 0) ?? hexText(bytes);
}

// Nesting limit for arrays, ranges and records inside each other (PostgreSQL's own limit is its stack).
const MAX_DEPTH = 16;

/** The text of a binary value, or null when the bytes are not a valid value of that type. */
function binaryText(oid: number, b: Uint8Array, depth: number): string | null {
  const t = PG_TYPES[oid];
  if (t?.binary === undefined || depth > MAX_DEPTH) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.length;
  switch (t.binary) {
    case "bool":
      return n === 1 ? (b[0] !== 0 ? "t" : "f") : null;
    case "char":
      return n === 1 ? charText(b[0]) : null;
    case "name":
    case "text":
      return utf8Text(b, 0, n);
    case "bytea":
      return hexText(b);
    case "int2":
      return n === 2 ? String(dv.getInt16(0)) : null;
    case "int4":
      return n === 4 ? String(dv.getInt32(0)) : null;
    case "oid":
      return n === 4 ? String(dv.getUint32(0)) : null;
    case "int8":
      return n === 8 ? String(dv.getBigInt64(0)) : null;
    case "xid8":
      return n === 8 ? String(dv.getBigUint64(0)) : null;
    case "float4":
      return n === 4 ? f4(dv, 0) : null;
    case "float8":
      return n === 8 ? f8(dv, 0) : null;
    case "numeric":
      return numericText(dv, n);
    case "money":
      return n === 8 ? moneyText(dv.getBigInt64(0)) : null;
    case "date":
      return n === 4 ? dateText(dv.getInt32(0)) : null;
    case "time":
      return n === 8 ? timeText(dv.getBigInt64(0)) : null;
    case "timetz":
      return n === 12 ? timetzText(dv.getBigInt64(0), dv.getInt32(8)) : null;
    case "timestamp":
      return n === 8 ? timestampText(dv.getBigInt64(0), false) : null;
    case "timestamptz":
      return n === 8 ? timestampText(dv.getBigInt64(0), true) : null;
    case "interval":
      return n === 16 ? intervalText(dv.getBigInt64(0), dv.getInt32(8), dv.getInt32(12)) : null;
    case "uuid":
      return n === 16 ? uuidText(b) : null;
    case "jsonb":
    case "jsonpath":
      return n >= 1 && b[0] === 1 ? utf8.decode(b.subarray(1)) : null;
    case "inet":
      return inetText(b, false);
    case "cidr":
      return inetText(b, true);
    case "macaddr":
      return n === 6 ? macText(b) : null;
    case "macaddr8":
      return n === 8 ? macText(b) : null;
    case "tid":
      return n === 6 ? `(${dv.getUint32(0)},${dv.getUint16(4)})` : null;
    case "point":
      return n === 16 ? pointText(dv, 0) : null;
    case "lseg":
      return n === 32 ? `[${pointText(dv, 0)},${pointText(dv, 16)}]` : null;
    case "box":
      return n === 32 ? `${pointText(dv, 0)},${pointText(dv, 16)}` : null;
    case "line":
      return n === 24 ? `{${f8(dv, 0)},${f8(dv, 8)},${f8(dv, 16)}}` : null;
    case "circle":
      return n === 24 ? `<${pointText(dv, 0)},${f8(dv, 16)}>` : null;
    case "path":
      return pathText(dv, n);
    case "polygon":
      return polygonText(dv, n);
    case "pg_lsn":
      return n === 8 ? `${hexWord(b, 0)}/${hexWord(b, 4)}` : null;
    case "bit":
      return bitText(dv, b);
    case "int2vector":
      return vectorText(b, 21, depth);
    case "oidvector":
      return vectorText(b, 26, depth);
    case "snapshot":
      return snapshotText(dv, n);
    case "tsvector":
      return tsvectorText(b);
    case "void":
      return n === 0 ? "" : null;
    case "record":
      return recordText(b, depth);
    case "array":
      return arrayText(b, t.elem, depth);
    case "range":
      return t.elem === undefined ? null : rangeText(b, t.elem, depth);
    case "multirange":
      return t.elem === undefined ? null : multirangeText(b, t.elem, depth);
  }
  return null;
}

// ------------------------------------------------------------------------------------------------
// Scalars
// ------------------------------------------------------------------------------------------------

/** charout: a high-bit byte as backslash and three octal digits; 0 as the empty string. */
function charText(c: number): string {
  if (c >= 128) return `\\${c >> 6}${(c >> 3) & 7}${c & 7}`;
  return c === 0 ? "" : String.fromCharCode(c);
}

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, "0");
}

function uuidText(b: Uint8Array): string {
  const h = hexText(b).slice(2);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function macText(b: Uint8Array): string {
  return Array.from(b, (x) => HEX[x >> 4] + HEX[x & 15]).join(":");
}

/** %X of the big-endian uint32 at off. */
function hexWord(b: Uint8Array, off: number): string {
  const v = (b[off] * 16777216 + b[off + 1] * 65536 + b[off + 2] * 256 + b[off + 3]) >>> 0;
  return v.toString(16).toUpperCase();
}

// ------------------------------------------------------------------------------------------------
// Floats. PostgreSQL 12+ prints float4/float8 with Ryu (src/common/d2s.c, f2s.c) built without
// STRICTLY_SHORTEST: the shortest decimal strictly inside the value's rounding interval (a decimal
// exactly halfway to a neighbouring float is not used, although it would read back), and of those
// the one nearest the value, ties to even. Fixed notation when the decimal exponent X of the first
// digit satisfies -4 <= X < 15 (float8) or -4 <= X < 6 (float4), otherwise d.ddde+XX (at least two
// exponent digits). Done here exactly, with big integers: the value and both interval ends are
// N x 2^F, so scaled by 2^F (F >= 0) or 5^-F (F < 0) they are integers whose decimal digits are the
// exact decimal expansion. The Lua twin does the same with base-10^7 limbs.
// ------------------------------------------------------------------------------------------------

/** Text of an IEEE-754 value given as sign, exponent field and mantissa field. */
function ieeeText(neg: boolean, expField: number, mant: bigint, single: boolean): string {
  const maxExp = single ? 255 : 2047;
  const mbits = single ? 23 : 52;
  const bias = single ? 150 : 1075; // exponent bias + mantissa bits
  if (expField === maxExp) return mant !== 0n ? "NaN" : neg ? "-Infinity" : "Infinity";
  if (expField === 0 && mant === 0n) return neg ? "-0" : "0";
  const m = expField === 0 ? mant : mant + (1n << BigInt(mbits));
  const e = (expField === 0 ? 1 : expField) - bias;
  const boundary = mant === 0n && expField > 1; // a power of two: the gap below is half the gap above
  let digits: string;
  let exp: number;
  if (e <= 0 && e > -mbits - 1 && m % (1n << BigInt(-e)) === 0n) {
    // An integer with a gap of at most 1 to its neighbours: its own digits are the shortest.
    const d = String(m >> BigInt(-e));
    digits = d.replace(/0+$/, "");
    exp = d.length - 1;
  } else {
    [digits, exp] = shortestDigits(m, e, boundary);
  }
  const body = shortestLayout(digits, exp, single ? 6 : 15);
  return neg ? `-${body}` : body;
}

/** Shortest decimal of m x 2^e strictly inside its rounding interval: digits, exponent of the first. */
function shortestDigits(m: bigint, e: number, boundary: boolean): [string, number] {
  const f = e - 2; // everything times 4, so that the interval ends are integers too
  const scale = f >= 0 ? 2n ** BigInt(f) : 5n ** BigInt(-f);
  const f10 = Math.min(f, 0); // decimal exponent of the units digit of the scaled integers
  const v = 4n * m * scale;
  const lo = (4n * m - (boundary ? 1n : 2n)) * scale;
  const hi = (4n * m + 2n) * scale;
  const dv = String(v);
  const len = dv.length;
  for (let p = 1; p < len; p++) {
    const rest = dv.slice(p);
    const down = BigInt(dv.slice(0, p));
    const r0 = rest.charCodeAt(0) - 48;
    const beyond = /[1-9]/.test(rest.slice(1));
    const up = r0 > 5 || (r0 === 5 && (beyond || (down & 1n) === 1n));
    const unit = 10n ** BigInt(len - p);
    for (const c of up ? [down + 1n, down] : [down, down + 1n]) {
      const ci = c * unit;
      if (ci > lo && ci < hi) {
        const s = String(c);
        return [s.replace(/0+$/, ""), s.length + (len - p) - 1 + f10];
      }
    }
  }
  return [dv.replace(/0+$/, ""), len - 1 + f10];
}

function shortestLayout(digits: string, exp: number, fixedLimit: number): string {
  const n = digits.length;
  if (exp < -4 || exp >= fixedLimit) {
    const mant = n > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = Math.abs(exp);
    return `${mant}e${exp < 0 ? "-" : "+"}${ae < 10 ? `0${ae}` : ae}`;
  }
  if (exp < 0) return `0.${"0".repeat(-exp - 1)}${digits}`;
  if (n <= exp + 1) return digits + "0".repeat(exp + 1 - n);
  return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

function f4(dv: DataView, off: number): string {
  const w = dv.getUint32(off);
  return ieeeText(w >= 0x80000000, (w >>> 23) & 0xff, BigInt(w & 0x7fffff), true);
}

function f8(dv: DataView, off: number): string {
  const hi = dv.getUint32(off);
  const mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(dv.getUint32(off + 4));
  return ieeeText(hi >= 0x80000000, (hi >>> 20) & 0x7ff, mant, false);
}

function pointText(dv: DataView, off: number): string {
  return `(${f8(dv, off)},${f8(dv, off + 8)})`;
}

function pathText(dv: DataView, n: number): string | null {
  if (n < 5) return null;
  const closed = dv.getUint8(0) !== 0;
  const npts = dv.getInt32(1);
  if (npts <= 0 || n !== 5 + 16 * npts) return null;
  const pts: string[] = [];
  for (let i = 0; i < npts; i++) pts.push(pointText(dv, 5 + 16 * i));
  return closed ? `(${pts.join(",")})` : `[${pts.join(",")}]`;
}

function polygonText(dv: DataView, n: number): string | null {
  if (n < 4) return null;
  const npts = dv.getInt32(0);
  if (npts <= 0 || n !== 4 + 16 * npts) return null;
  const pts: string[] = [];
  for (let i = 0; i < npts; i++) pts.push(pointText(dv, 4 + 16 * i));
  return `(${pts.join(",")})`;
}

// ------------------------------------------------------------------------------------------------
// numeric: Int16 ndigits, Int16 weight, UInt16 sign, UInt16 dscale, ndigits base-10000 digits.
// numeric_recv checks sign, dscale and every digit, truncates to dscale; the value is then printed
// with exactly dscale fraction digits, a zero result never negative.
// ------------------------------------------------------------------------------------------------

function numericText(dv: DataView, n: number): string | null {
  if (n < 8) return null;
  const ndigits = dv.getInt16(0);
  const weight = dv.getInt16(2);
  const sign = dv.getUint16(4);
  const dscale = dv.getUint16(6);
  if (ndigits < 0 || ndigits > 3000 || n !== 8 + 2 * ndigits) return null;
  if (sign !== 0 && sign !== 0x4000 && sign !== 0xc000 && sign !== 0xd000 && sign !== 0xf000) return null;
  if (dscale > 0x3fff) return null;
  const digits: number[] = [];
  for (let i = 0; i < ndigits; i++) {
    const d = dv.getInt16(8 + 2 * i);
    if (d < 0 || d > 9999) return null;
    digits.push(d);
  }
  if (sign === 0xc000) return "NaN";
  if (sign === 0xd000) return "Infinity";
  if (sign === 0xf000) return "-Infinity";
  const group = (i: number) => pad(i >= 0 && i < ndigits ? digits[i] : 0, 4);
  let int = "0";
  if (weight >= 0) {
    const parts: string[] = [];
    for (let i = 0; i <= weight; i++) parts.push(group(i));
    int = parts.join("").replace(/^0+/, "") || "0";
  }
  let frac = "";
  if (dscale > 0) {
    const parts: string[] = [];
    let len = 0;
    for (let i = weight + 1; len < dscale; i++) {
      parts.push(group(i));
      len += 4;
    }
    frac = parts.join("").slice(0, dscale);
  }
  const zero = int === "0" && !/[1-9]/.test(frac);
  return `${sign === 0x4000 && !zero ? "-" : ""}${int}${dscale > 0 ? `.${frac}` : ""}`;
}

// ------------------------------------------------------------------------------------------------
// money (cash_out) with lc_monetary C: 2 fraction digits, "$", "," every 3 digits, "-" before "$".
// ------------------------------------------------------------------------------------------------

function moneyText(v: bigint): string {
  const neg = v < 0n;
  const s = String(neg ? -v : v).padStart(3, "0");
  const int = s.slice(0, -2).replace(/\B(?=(\d{3})+$)/g, ",");
  return `${neg ? "-" : ""}$${int}.${s.slice(-2)}`;
}

// ------------------------------------------------------------------------------------------------
// Dates and times (integer datetimes; PostgreSQL's epoch is 2000-01-01, Julian day 2451545).
// ------------------------------------------------------------------------------------------------

const EPOCH_JDATE = 2451545;
const USECS_PER_DAY = 86400000000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MIN_TIMESTAMP = -211813488000000000n; // 4714-11-24 00:00:00 BC
const END_TIMESTAMP = 9223371331200000000n; // 294277-01-01 00:00:00

/** PostgreSQL's j2date: Julian day number to proleptic Gregorian year (0 = 1 BC), month, day. */
function j2date(jd: number): [number, number, number] {
  let julian = jd + 32044;
  let quad = Math.floor(julian / 146097);
  const extra = (julian - quad * 146097) * 4 + 3;
  julian += 60 + quad * 3 + Math.floor(extra / 146097);
  quad = Math.floor(julian / 1461);
  julian -= quad * 1461;
  let y = Math.floor((julian * 4) / 1461);
  julian = (y !== 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123;
  y += quad * 4;
  const q = Math.floor((julian * 2141) / 65536);
  return [y - 4800, ((q + 10) % 12) + 1, julian - Math.floor((7834 * q) / 256)];
}

/** "YYYY-MM-DD", and whether the year is BC. */
function dateParts(jd: number): [string, boolean] {
  const [y, m, d] = j2date(jd);
  return [`${pad(y > 0 ? y : 1 - y, 4)}-${pad(m, 2)}-${pad(d, 2)}`, y <= 0];
}

function dateText(d: number): string | null {
  if (d === -2147483648) return "-infinity";
  if (d === 2147483647) return "infinity";
  if (d < -EPOCH_JDATE || d >= 2147483494 - EPOCH_JDATE) return null;
  const [s, bc] = dateParts(d + EPOCH_JDATE);
  return bc ? `${s} BC` : s;
}

/** AppendSeconds: two-digit seconds, then the microseconds without trailing zeros. */
function seconds(sec: number, usec: number): string {
  const s = pad(sec, 2);
  return usec === 0 ? s : `${s}.${pad(usec, 6).replace(/0+$/, "")}`;
}

/** HH:MM:SS[.ffffff] of microseconds since midnight (0 .. 24:00:00). */
function clock(us: bigint): string {
  const sec = Number(us / 1000000n);
  const usec = Number(us % 1000000n);
  return `${pad(Math.floor(sec / 3600), 2)}:${pad(Math.floor(sec / 60) % 60, 2)}:${seconds(sec % 60, usec)}`;
}

function timeText(t: bigint): string | null {
  return t < 0n || t > USECS_PER_DAY ? null : clock(t);
}

/** EncodeTimezone: seconds west of UTC as +HH, +HH:MM or +HH:MM:SS east. */
function zoneText(tz: number): string {
  const a = Math.abs(tz);
  const h = Math.floor(a / 3600);
  const m = Math.floor(a / 60) % 60;
  const s = a % 60;
  const sign = tz <= 0 ? "+" : "-";
  if (s !== 0) return `${sign}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}`;
  if (m !== 0) return `${sign}${pad(h, 2)}:${pad(m, 2)}`;
  return `${sign}${pad(h, 2)}`;
}

function timetzText(t: bigint, zone: number): string | null {
  if (t < 0n || t > USECS_PER_DAY || zone <= -57600 || zone >= 57600) return null;
  return clock(t) + zoneText(zone);
}

function timestampText(t: bigint, tz: boolean): string | null {
  if (t === INT64_MIN) return "-infinity";
  if (t === INT64_MAX) return "infinity";
  if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP) return null;
  let days = t / USECS_PER_DAY;
  let time = t % USECS_PER_DAY;
  if (time < 0n) {
    time += USECS_PER_DAY;
    days -= 1n;
  }
  const [date, bc] = dateParts(Number(days) + EPOCH_JDATE);
  return `${date} ${clock(time)}${tz ? "+00" : ""}${bc ? " BC" : ""}`;
}

/** IntervalStyle postgres: "1 year 2 mons -3 days +04:05:06.5" (PostgreSQL 17+'s infinities too). */
function intervalText(time: bigint, day: number, month: number): string {
  if (time === INT64_MIN && day === -2147483648 && month === -2147483648) return "-infinity";
  if (time === INT64_MAX && day === 2147483647 && month === 2147483647) return "infinity";
  const year = Math.trunc(month / 12);
  const mon = month - year * 12;
  const neg = time < 0n;
  const abs = neg ? -time : time;
  const sec = Number(abs / 1000000n);
  const usec = Number(abs % 1000000n);
  const hour = Math.floor(sec / 3600);
  const min = Math.floor(sec / 60) % 60;
  const s = sec % 60;
  let out = "";
  let isZero = true;
  let isBefore = false;
  const part = (value: number, unit: string) => {
    if (value === 0) return;
    out += `${isZero ? "" : " "}${isBefore && value > 0 ? "+" : ""}${value} ${unit}${value !== 1 ? "s" : ""}`;
    isBefore = value < 0;
    isZero = false;
  };
  part(year, "year");
  part(mon, "mon");
  part(day, "day");
  if (isZero || abs !== 0n) {
    const sign = neg ? "-" : isBefore ? "+" : "";
    out += `${isZero ? "" : " "}${sign}${pad(hour, 2)}:${pad(min, 2)}:${seconds(s, usec)}`;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// inet / cidr: Byte family (2 IPv4, 3 IPv6), Byte bits, Byte is_cidr (ignored), Byte length, address.
// ------------------------------------------------------------------------------------------------

function inetText(b: Uint8Array, cidr: boolean): string | null {
  if (b.length < 4) return null;
  const family = b[0];
  const bits = b[1];
  const size = family === 2 ? 4 : family === 3 ? 16 : 0;
  if (size === 0 || bits > size * 8 || b[3] !== size || b.length !== 4 + size) return null;
  const addr = b.subarray(4);
  if (cidr) {
    // cidr_recv: no bits may be set to the right of the mask.
    for (let i = 0; i < size; i++) {
      const maskBits = Math.min(8, Math.max(0, bits - 8 * i));
      if (addr[i] % 2 ** (8 - maskBits) !== 0) return null;
    }
  }
  const text = size === 4 ? addr.join(".") : ipv6Text(addr);
  return bits !== size * 8 || cidr ? `${text}/${bits}` : text;
}

/** inet_net_ntop_ipv6: longest run (>= 2) of zero words as "::", embedded IPv4 for ::a.b.c.d forms. */
function ipv6Text(a: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(a[2 * i] * 256 + a[2 * i + 1]);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    if (
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 || (bestLen === 7 && words[7] !== 1) || (bestLen === 5 && words[5] === 0xffff))
    ) {
      s += `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
      return s;
    }
    s += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ":";
  return s;
}

// ------------------------------------------------------------------------------------------------
// bit / varbit, txid_snapshot / pg_snapshot, tsvector
// ------------------------------------------------------------------------------------------------

function bitText(dv: DataView, b: Uint8Array): string | null {
  if (b.length < 4) return null;
  const nbits = dv.getInt32(0);
  if (nbits < 0 || b.length !== 4 + Math.ceil(nbits / 8)) return null;
  let s = "";
  for (let i = 0; i < nbits; i++) s += (b[4 + (i >> 3)] >> (7 - (i & 7))) & 1 ? "1" : "0";
  return s;
}

/** Int32 nxip, Int64 xmin, Int64 xmax, nxip Int64: "xmin:xmax:xip,...", duplicates dropped. */
function snapshotText(dv: DataView, n: number): string | null {
  if (n < 20) return null;
  const nxip = dv.getInt32(0);
  if (nxip < 0 || n !== 20 + 8 * nxip) return null;
  const xmin = dv.getBigUint64(4);
  const xmax = dv.getBigUint64(12);
  if ((xmin & 0xffffffffn) === 0n || (xmax & 0xffffffffn) === 0n || xmax < xmin) return null;
  const xips: string[] = [];
  let last = xmin;
  for (let i = 0; i < nxip; i++) {
    const x = dv.getBigUint64(20 + 8 * i);
    if (x < last || x < xmin || x >= xmax) return null;
    if (i > 0 && x === last) continue;
    xips.push(String(x));
    last = x;
  }
  return `${xmin}:${xmax}:${xips.join(",")}`;
}

/** Int32 count; per lexeme: cstring, UInt16 npos, npos UInt16 (weight in the top 2 bits). */
function tsvectorText(b: Uint8Array): string | null {
  if (b.length < 4) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = dv.getInt32(0);
  if (count < 0) return null;
  let off = 4;
  let prev: Uint8Array | null = null;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const end = b.indexOf(0, off);
    if (end < 0) return null;
    const lex = b.subarray(off, end);
    if (lex.length > 2047) return null;
    if (prev !== null && compareBytes(prev, lex) >= 0) return null; // PostgreSQL would sort
    prev = lex;
    off = end + 1;
    if (off + 2 > b.length) return null;
    const npos = dv.getUint16(off);
    off += 2;
    if (npos > 256 || off + 2 * npos > b.length) return null;
    let s = `'${utf8.decode(lex).replace(/['\\]/g, "$&$&")}'`;
    let lastPos = -1;
    for (let j = 0; j < npos; j++) {
      const wep = dv.getUint16(off + 2 * j);
      const pos = wep & 0x3fff;
      if (pos <= lastPos) return null;
      lastPos = pos;
      s += `${j === 0 ? ":" : ","}${pos}${["", "C", "B", "A"][wep >> 14]}`;
    }
    off += 2 * npos;
    out.push(s);
  }
  return off === b.length ? out.join(" ") : null;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// ------------------------------------------------------------------------------------------------
// Containers: arrays (and int2vector/oidvector), records, ranges, multiranges.
// ------------------------------------------------------------------------------------------------

/** ASCII isspace, as array_isspace / isspace in the C locale. */
const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";

/** array_out's quoting of one element. */
function arrayElement(s: string, delim: string): string {
  let quote = s === "" || s.toUpperCase() === "NULL";
  for (const c of s) if (c === '"' || c === "\\" || c === "{" || c === "}" || c === delim || isSpace(c)) quote = true;
  return quote ? `"${s.replace(/["\\]/g, "\\$&")}"` : s;
}

interface ArrayData {
  dims: number[];
  lbs: number[];
  /** element texts, null for NULL */
  items: (string | null)[];
}

/**
 * array_recv: Int32 ndim (0..6), Int32 flags (0/1), UInt32 element type, ndim x (Int32 size, Int32
 * lower bound), then each element as Int32 length (-1 NULL) and bytes. The element type must be the
 * array type's element type (any element type when `elem` is undefined: anyarray).
 */
function readArray(b: Uint8Array, elem: number | undefined, depth: number): ArrayData | null {
  if (b.length < 12) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ndim = dv.getInt32(0);
  const flags = dv.getInt32(4);
  const et = dv.getUint32(8);
  if (ndim < 0 || ndim > 6 || (flags !== 0 && flags !== 1) || (elem !== undefined && et !== elem)) return null;
  let off = 12;
  if (b.length < off + 8 * ndim) return null;
  const dims: number[] = [];
  const lbs: number[] = [];
  let nitems = ndim > 0 ? 1 : 0;
  for (let i = 0; i < ndim; i++) {
    const d = dv.getInt32(off);
    const lb = dv.getInt32(off + 4);
    off += 8;
    if (d < 0 || lb + d > 2147483647) return null;
    dims.push(d);
    lbs.push(lb);
    nitems *= d;
  }
  if (nitems > (b.length - off) / 4) return null; // each element needs at least its length word
  if (nitems === 0) return off === b.length ? { dims: [], lbs: [], items: [] } : null;
  const items: (string | null)[] = [];
  for (let i = 0; i < nitems; i++) {
    if (off + 4 > b.length) return null;
    const len = dv.getInt32(off);
    off += 4;
    if (len === -1) {
      items.push(null);
      continue;
    }
    if (len < -1 || len > b.length - off) return null;
    const text = binaryText(et, b.subarray(off, off + len), depth + 1);
    if (text === null) return null;
    items.push(text);
    off += len;
  }
  return off === b.length ? { dims, lbs, items } : null;
}

function arrayText(b: Uint8Array, elem: number | undefined, depth: number): string | null {
  const a = readArray(b, elem, depth);
  if (a === null) return null;
  if (a.items.length === 0) return "{}";
  const delim = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(8) === 603 ? ";" : ",";
  let k = 0;
  const level = (dim: number): string => {
    const parts: string[] = [];
    for (let i = 0; i < a.dims[dim]; i++) {
      if (dim === a.dims.length - 1) {
        const item = a.items[k++];
        parts.push(item === null ? "NULL" : arrayElement(item, delim));
      } else parts.push(level(dim + 1));
    }
    return `{${parts.join(delim)}}`;
  };
  let prefix = "";
  if (a.lbs.some((lb) => lb !== 1)) {
    prefix = `${a.dims.map((d, i) => `[${a.lbs[i]}:${a.lbs[i] + d - 1}]`).join("")}=`;
  }
  return prefix + level(0);
}

/** int2vector / oidvector: a one-dimensional array without NULLs, printed space-separated. */
function vectorText(b: Uint8Array, elem: number, depth: number): string | null {
  const a = readArray(b, elem, depth);
  if (a === null || a.dims.length > 1 || a.items.includes(null)) return null;
  return a.items.join(" ");
}

/** record_out's (and range_out's) quoting of one field; `special` are the characters forcing quotes. */
function quoteField(s: string, special: string): string {
  let quote = s === "";
  for (const c of s) if (c === '"' || c === "\\" || special.includes(c) || isSpace(c)) quote = true;
  return quote ? `"${s.replace(/["\\]/g, "$&$&")}"` : s;
}

/** record_send: Int32 column count; per column UInt32 type OID, Int32 length (-1 NULL), bytes. */
function recordText(b: Uint8Array, depth: number): string | null {
  if (b.length < 4) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ncols = dv.getInt32(0);
  if (ncols < 0 || ncols > (b.length - 4) / 8) return null;
  let off = 4;
  const fields: string[] = [];
  for (let i = 0; i < ncols; i++) {
    if (off + 8 > b.length) return null;
    const oid = dv.getUint32(off);
    const len = dv.getInt32(off + 4);
    off += 8;
    if (len === -1) {
      fields.push("");
      continue;
    }
    if (len < -1 || len > b.length - off) return null;
    const text = binaryText(oid, b.subarray(off, off + len), depth + 1);
    if (text === null) return null;
    fields.push(quoteField(text, "(),"));
    off += len;
  }
  return off === b.length ? `(${fields.join(",")})` : null;
}

/** range_send: Byte flags, then each finite bound of a non-empty range as Int32 length + bytes. */
function rangeText(b: Uint8Array, sub: number, depth: number): string | null {
  if (b.length < 1) return null;
  const flags = b[0];
  const empty = (flags & 0x01) !== 0;
  const lbInf = (flags & 0x08) !== 0;
  const ubInf = (flags & 0x10) !== 0;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 1;
  const bound = (): string | null => {
    if (off + 4 > b.length) return null;
    const len = dv.getInt32(off);
    off += 4;
    if (len < 0 || len > b.length - off) return null;
    const text = binaryText(sub, b.subarray(off, off + len), depth + 1);
    off += len;
    return text === null ? null : quoteField(text, "()[],");
  };
  let lower = "";
  let upper = "";
  if (!empty && !lbInf) {
    const t = bound();
    if (t === null) return null;
    lower = t;
  }
  if (!empty && !ubInf) {
    const t = bound();
    if (t === null) return null;
    upper = t;
  }
  if (off !== b.length) return null;
  if (empty) return "empty";
  const lbInc = (flags & 0x02) !== 0 && !lbInf;
  const ubInc = (flags & 0x04) !== 0 && !ubInf;
  return `${lbInc ? "[" : "("}${lower},${upper}${ubInc ? "]" : ")"}`;
}

/** multirange_send: Int32 count, then each range as Int32 length + range_send bytes. */
function multirangeText(b: Uint8Array, range: number, depth: number): string | null {
  if (b.length < 4) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = dv.getInt32(0);
  if (count < 0 || count > (b.length - 4) / 5) return null;
  let off = 4;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    if (off + 4 > b.length) return null;
    const len = dv.getInt32(off);
    off += 4;
    if (len < 0 || len > b.length - off) return null;
    const text = binaryText(range, b.subarray(off, off + len), depth + 1);
    if (text === null) return null;
    parts.push(text);
    off += len;
  }
  return off === b.length ? `{${parts.join(",")}}` : null;
}
