// Texts: from wire bytes, the cut that keeps long values short, and the values of the Info column.
// Mirrors src/runtime/text.lua; the one place these live (reader.ts, copy.ts and the decoder use
// them).

/** The longest column value shown, in bytes; longer ones are cut (the bytes stay in pgwire.val.data). */
export const MAX_VALUE_BYTES = 1024;

// ignoreBOM: a leading U+FEFF is text like any other (a query may start with one); without it,
// TextDecoder would drop it.
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const enc = new TextEncoder();

/** Text of UTF-8 bytes (invalid sequences as U+FFFD, as TextDecoder and Wireshark show them). */
export function utf8Text(buf: Uint8Array, start: number, end: number): string {
  // A few ASCII characters (names, tags, flags): without TextDecoder's per-call cost, which
  // beyond about eight characters is less than building the string here.
  const n = end - start;
  if (n <= 8) {
    for (let i = start; i < end; i++) if (buf[i] >= 0x80) return utf8.decode(buf.subarray(start, end));
    return n <= 0 ? "" : shortAscii(buf, start, n);
  }
  return utf8.decode(buf.subarray(start, end));
}

/**
 * One to eight ASCII bytes as a string, made at once (a character at a time with += made a new
 * string per character: integer parameters, command tags, names).
 */
function shortAscii(b: Uint8Array, p: number, n: number): string {
  const f = String.fromCharCode;
  switch (n) {
    case 1:
      return f(b[p]);
    case 2:
      return f(b[p], b[p + 1]);
    case 3:
      return f(b[p], b[p + 1], b[p + 2]);
    case 4:
      return f(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5:
      return f(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6:
      return f(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7:
      return f(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    default:
      return f(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
  }
}

/** The text of UTF-8 bytes cut to at most max of them, at a character boundary, the cut marked "...". */
export function cutUtf8Bytes(b: Uint8Array, max: number): string {
  if (b.length <= max) return utf8Text(b, 0, b.length);
  let cut = max;
  while (cut > 0 && b[cut] >= 0x80 && b[cut] < 0xc0) cut--;
  return `${utf8.decode(b.subarray(0, cut))}...`;
}

/** Text cut to at most max UTF-8 bytes, as cutUtf8Bytes cuts its bytes. */
export function cutUtf8(s: string, max: number): string {
  // Short enough whatever its characters: no need to encode it.
  if (s.length * 3 <= max) return s;
  const bytes = enc.encode(s);
  return bytes.length <= max ? s : cutUtf8Bytes(bytes, max);
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Info column values: control characters as spaces, cut at 80 bytes on a UTF-8 boundary. */
export function infoText(v: number | string): string {
  if (typeof v === "number") return String(v);
  // Printable ASCII, most SQL: a character is a byte, so the cut needs no encoding.
  if (PRINTABLE_ASCII.test(v)) return v.length <= 80 ? v : `${v.slice(0, 80)}...`;
  return cutUtf8(v.replace(/[\x00-\x1f\x7f]/g, " "), 80);
}

/** A one-byte code as its character when printable (an Info text's char part), else its number. */
export function charOf(v: number | string): string {
  return typeof v === "number" && v >= 32 && v < 127 ? String.fromCharCode(v) : String(v);
}
