// TLS decryption from an NSS key log (SSLKEYLOGFILE), using only node:crypto.
//
// `TlsDecryptor` takes the TCP bytes of one connection, per direction and in order, starting
// at the ClientHello, and returns the decrypted application data. Supported: TLS 1.3 with
// TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, and TLS 1.2
// with the AES-GCM (and ChaCha20-Poly1305) ECDHE/RSA suites. It never throws on bad input:
// a direction that cannot be decrypted silently stops producing output.

import { createDecipheriv, createHmac } from "node:crypto";
import { concat } from "./bytes.ts";

export interface TlsPlaintext {
  fromClient: boolean;
  /** The frame that completed the record this plaintext came from. */
  frame: number;
  data: Uint8Array;
}

/** Parses an NSS key log: returns "LABEL clientRandomHex" (lower case) -> secret hex. */
export function parseKeylog(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 3) continue;
    const [label, random, secret] = parts as [string, string, string];
    if (!/^[0-9a-fA-F]+$/.test(random) || !/^[0-9a-fA-F]+$/.test(secret)) continue;
    map.set(`${label} ${random.toLowerCase()}`, secret.toLowerCase());
  }
  return map;
}

const HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c";
/** Largest record body accepted (TLS 1.2 allows 2^14 + 2048 of ciphertext). */
const MAX_RECORD = 16384 + 2048;
/** Records held back while waiting for the other direction, beyond which a direction gives up. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

type Aead = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";

interface Suite {
  aead: Aead;
  keyLen: number;
  hash: "sha256" | "sha384";
  /** TLS 1.2 only: true for GCM (4-byte implicit IV + 8-byte explicit nonce per record). */
  explicitNonce: boolean;
}

/** The cipher suites' names as OpenSSL gives them (SSL_get_cipher), which PostgreSQL logs. */
const SUITE_NAMES = new Map<number, string>([
  [0x1301, "TLS_AES_128_GCM_SHA256"],
  [0x1302, "TLS_AES_256_GCM_SHA384"],
  [0x1303, "TLS_CHACHA20_POLY1305_SHA256"],
  [0xc02f, "ECDHE-RSA-AES128-GCM-SHA256"],
  [0xc030, "ECDHE-RSA-AES256-GCM-SHA384"],
  [0xc02b, "ECDHE-ECDSA-AES128-GCM-SHA256"],
  [0xc02c, "ECDHE-ECDSA-AES256-GCM-SHA384"],
  [0x009c, "AES128-GCM-SHA256"],
  [0x009d, "AES256-GCM-SHA384"],
  [0x009e, "DHE-RSA-AES128-GCM-SHA256"],
  [0x009f, "DHE-RSA-AES256-GCM-SHA384"],
  [0xcca8, "ECDHE-RSA-CHACHA20-POLY1305"],
  [0xcca9, "ECDHE-ECDSA-CHACHA20-POLY1305"],
  [0xccaa, "DHE-RSA-CHACHA20-POLY1305"],
]);

/** A TLS session as OpenSSL names it: SSL_get_version, SSL_get_cipher, SSL_get_cipher_bits. */
export interface TlsSession {
  protocol: string;
  cipher: string;
  bits: number;
}

const SUITES13 = new Map<number, Suite>([
  [0x1301, { aead: "aes-128-gcm", keyLen: 16, hash: "sha256", explicitNonce: false }],
  [0x1302, { aead: "aes-256-gcm", keyLen: 32, hash: "sha384", explicitNonce: false }],
  [0x1303, { aead: "chacha20-poly1305", keyLen: 32, hash: "sha256", explicitNonce: false }],
]);

const SUITES12 = new Map<number, Suite>([
  [0xc02f, { aead: "aes-128-gcm", keyLen: 16, hash: "sha256", explicitNonce: true }],
  [0xc030, { aead: "aes-256-gcm", keyLen: 32, hash: "sha384", explicitNonce: true }],
  [0xc02b, { aead: "aes-128-gcm", keyLen: 16, hash: "sha256", explicitNonce: true }],
  [0xc02c, { aead: "aes-256-gcm", keyLen: 32, hash: "sha384", explicitNonce: true }],
  [0x009c, { aead: "aes-128-gcm", keyLen: 16, hash: "sha256", explicitNonce: true }],
  [0x009d, { aead: "aes-256-gcm", keyLen: 32, hash: "sha384", explicitNonce: true }],
  [0x009e, { aead: "aes-128-gcm", keyLen: 16, hash: "sha256", explicitNonce: true }],
  [0x009f, { aead: "aes-256-gcm", keyLen: 32, hash: "sha384", explicitNonce: true }],
  [0xcca8, { aead: "chacha20-poly1305", keyLen: 32, hash: "sha256", explicitNonce: false }],
  [0xcca9, { aead: "chacha20-poly1305", keyLen: 32, hash: "sha256", explicitNonce: false }],
  [0xccaa, { aead: "chacha20-poly1305", keyLen: 32, hash: "sha256", explicitNonce: false }],
]);

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Byte at `i`, or 0 past the end (callers check lengths first). */
function at(b: Uint8Array, i: number): number {
  return b[i] ?? 0;
}

function hmac(hash: string, key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac(hash, key).update(data).digest());
}

/** RFC 5869 HKDF-Expand. */
function hkdfExpand(hash: string, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let t: Uint8Array = new Uint8Array(0);
  let n = 0;
  for (let i = 1; n < length; i++) {
    t = hmac(hash, prk, concat([t, info, Uint8Array.of(i)]));
    parts.push(t);
    n += t.length;
  }
  return concat(parts).subarray(0, length);
}

/** RFC 8446 section 7.1 HKDF-Expand-Label with an empty context. */
export function hkdfExpandLabel(hash: string, secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = Buffer.from(`tls13 ${label}`, "latin1");
  const info = concat([Uint8Array.of(length >> 8, length & 0xff, full.length), full, Uint8Array.of(0)]);
  return hkdfExpand(hash, secret, info, length);
}

/** RFC 5246 section 5 PRF (P_hash). */
export function prf12(hash: string, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const s = concat([Buffer.from(label, "latin1"), seed]);
  const parts: Uint8Array[] = [];
  let a = s;
  let n = 0;
  while (n < length) {
    a = hmac(hash, secret, a);
    const p = hmac(hash, secret, concat([a, s]));
    parts.push(p);
    n += p.length;
  }
  return concat(parts).subarray(0, length);
}

interface Keys {
  suite: Suite;
  key: Uint8Array;
  /** 12 bytes (XOR nonce) or 4 bytes (TLS 1.2 GCM implicit part). */
  iv: Uint8Array;
  seq: bigint;
  /** TLS 1.3 traffic secret, kept for KeyUpdate. */
  secret?: Uint8Array;
}

interface QueuedRecord {
  type: number;
  header: Uint8Array;
  body: Uint8Array;
  frame: number;
}

class Direction {
  buf = new Uint8Array(4096);
  start = 0;
  end = 0;
  queue: QueuedRecord[] = [];
  queuedBytes = 0;
  dead = false;
  /** Handshake message reassembly (plaintext, or decrypted under the current keys). */
  hs: Uint8Array = new Uint8Array(0);
  keys: Keys | null = null;
  /** TLS 1.3: "handshake" until this side's Finished, then "app". */
  stage: "plain" | "handshake" | "app" = "plain";
  /** TLS 1.2: a ChangeCipherSpec has been seen; records are encrypted. */
  encrypted = false;

  constructor(readonly fromClient: boolean) {}

  append(data: Uint8Array): void {
    const need = this.end - this.start + data.length;
    if (this.end + data.length > this.buf.length) {
      if (need <= this.buf.length / 2) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let size = this.buf.length;
        while (size < need * 2) size *= 2;
        const nb = new Uint8Array(size);
        nb.set(this.buf.subarray(this.start, this.end));
        this.buf = nb;
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.buf.set(data, this.end);
    this.end += data.length;
  }

  kill(): void {
    this.dead = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.buf = new Uint8Array(0);
    this.start = this.end = 0;
    this.hs = new Uint8Array(0);
    this.keys = null;
  }
}

type Outcome = "ok" | "block";

/** Decrypts one TLS connection given its key log. See the file comment. */
export class TlsDecryptor {
  private readonly client = new Direction(true);
  private readonly server = new Direction(false);
  private clientRandom: Uint8Array | undefined;
  private serverRandom: Uint8Array | undefined;
  private suiteId: number | undefined;

  /** The session the ServerHello chose, once it was read (and its suite is one this reads). */
  get session(): TlsSession | undefined {
    if (this.suiteId === undefined || this.version === 0) return undefined;
    const suite = (this.version === 13 ? SUITES13 : SUITES12).get(this.suiteId);
    const cipher = SUITE_NAMES.get(this.suiteId);
    if (!suite || !cipher) return undefined;
    return { protocol: this.version === 13 ? "TLSv1.3" : "TLSv1.2", cipher, bits: suite.keyLen * 8 };
  }
  /** 0 until a ServerHello (or HelloRetryRequest) says which version. */
  private version: 0 | 12 | 13 = 0;
  /** The real ServerHello (not a HelloRetryRequest) has been seen. */
  private helloDone = false;

  constructor(private readonly keylog: ReadonlyMap<string, string>) {}

  feed(fromClient: boolean, data: Uint8Array, frame: number): TlsPlaintext[] {
    const out: TlsPlaintext[] = [];
    try {
      const d = fromClient ? this.client : this.server;
      if (!d.dead && data.length > 0) {
        d.append(data);
        this.splitRecords(d, frame);
      }
      this.pump(out);
    } catch {
      // Never throw: give up on both directions.
      this.client.kill();
      this.server.kill();
    }
    return out;
  }

  private splitRecords(d: Direction, frame: number): void {
    while (!d.dead && d.end - d.start >= 5) {
      const b = d.buf;
      const s = d.start;
      const type = at(b, s);
      const len = (at(b, s + 3) << 8) | at(b, s + 4);
      if (type < 20 || type > 24 || b[s + 1] !== 3 || len > MAX_RECORD) {
        d.kill();
        return;
      }
      if (d.end - s < 5 + len) return;
      const header = b.slice(s, s + 5);
      const body = b.slice(s + 5, s + 5 + len);
      d.start += 5 + len;
      d.queue.push({ type, header, body, frame });
      d.queuedBytes += len;
      if (d.queuedBytes > MAX_QUEUED_BYTES) d.kill();
    }
  }

  /** Processes queued records of both directions until neither can make progress. */
  private pump(out: TlsPlaintext[]): void {
    for (;;) {
      let progress = false;
      for (const d of [this.server, this.client]) {
        while (!d.dead && d.queue.length > 0) {
          const rec = d.queue[0];
          if (!rec) break;
          let r: Outcome;
          try {
            r = this.process(d, rec, out);
          } catch {
            d.kill();
            break;
          }
          if (r === "block") break;
          d.queue.shift();
          d.queuedBytes -= rec.body.length;
          progress = true;
        }
      }
      if (!progress) return;
    }
  }

  private process(d: Direction, rec: QueuedRecord, out: TlsPlaintext[]): Outcome {
    if (this.version === 13) return this.process13(d, rec, out);
    if (this.version === 12) return this.process12(d, rec, out);
    // Version not yet known: only plaintext handshake and alerts can be handled.
    if (rec.type === 22) {
      this.plainHandshake(d, rec.body);
      return "ok";
    }
    if (rec.type === 21) return "ok";
    return "block";
  }

  private process13(d: Direction, rec: QueuedRecord, out: TlsPlaintext[]): Outcome {
    if (rec.type === 20) return "ok"; // middlebox-compatibility ChangeCipherSpec
    if (rec.type === 22 && d.stage === "plain") {
      this.plainHandshake(d, rec.body);
      return "ok";
    }
    if (rec.type === 21 && d.stage === "plain") return "ok";
    if (rec.type !== 23) {
      d.kill();
      return "ok";
    }
    if (d.stage === "plain") {
      if (!this.helloDone) return "block";
      d.kill(); // keys were missing from the key log
      return "ok";
    }
    const keys = d.keys;
    if (!keys) throw new Error("no keys");
    const plain = decrypt(keys, rec.body, rec.header);
    keys.seq++;
    let end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    if (end === 0) {
      d.kill();
      return "ok";
    }
    const inner = at(plain, end - 1);
    const content = plain.subarray(0, end - 1);
    if (inner === 23) {
      if (content.length > 0) out.push({ fromClient: d.fromClient, frame: rec.frame, data: content });
    } else if (inner === 22) {
      d.hs = concat([d.hs, content]);
      let finished = false;
      let update = false;
      for (const [type] of takeMessages(d)) {
        if (type === 20 && d.stage === "handshake") finished = true;
        if (type === 24 && d.stage === "app") update = true;
      }
      const suite = keys.suite;
      if (finished) {
        const label = d.fromClient ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0";
        const secret = this.secret(label);
        if (!secret) {
          d.kill();
          return "ok";
        }
        d.keys = keys13(suite, secret);
        d.stage = "app";
        d.hs = new Uint8Array(0);
      } else if (update && keys.secret) {
        const hashLen = suite.hash === "sha384" ? 48 : 32;
        d.keys = keys13(suite, hkdfExpandLabel(suite.hash, keys.secret, "traffic upd", hashLen));
        d.hs = new Uint8Array(0);
      }
    }
    // Alerts and anything else: decrypted only to advance the sequence number.
    return "ok";
  }

  private process12(d: Direction, rec: QueuedRecord, out: TlsPlaintext[]): Outcome {
    if (!d.encrypted) {
      if (rec.type === 22) {
        this.plainHandshake(d, rec.body);
        return "ok";
      }
      if (rec.type === 21) return "ok";
      if (rec.type === 20) {
        if (!this.helloDone) return "block";
        const keys = this.keys12(d.fromClient);
        if (!keys) {
          d.kill();
          return "ok";
        }
        d.keys = keys;
        d.encrypted = true;
        return "ok";
      }
      d.kill();
      return "ok";
    }
    if (rec.type === 20) return "ok";
    const keys = d.keys;
    if (!keys) throw new Error("no keys");
    let body = rec.body;
    let nonce: Uint8Array;
    if (keys.suite.explicitNonce) {
      if (body.length < 8 + 16) throw new Error("short record");
      nonce = concat([keys.iv, body.subarray(0, 8)]);
      body = body.subarray(8);
    } else {
      nonce = xorNonce(keys.iv, keys.seq);
    }
    const plainLen = body.length - 16;
    if (plainLen < 0) throw new Error("short record");
    const aad = new Uint8Array(13);
    new DataView(aad.buffer).setBigUint64(0, keys.seq);
    aad[8] = rec.type;
    aad[9] = at(rec.header, 1);
    aad[10] = at(rec.header, 2);
    aad[11] = plainLen >> 8;
    aad[12] = plainLen & 0xff;
    const plain = aeadOpen(keys.suite.aead, keys.key, nonce, aad, body);
    keys.seq++;
    if (rec.type === 23 && plain.length > 0) out.push({ fromClient: d.fromClient, frame: rec.frame, data: plain });
    return "ok";
  }

  /** Parses plaintext handshake messages: ClientHello and ServerHello. */
  private plainHandshake(d: Direction, body: Uint8Array): void {
    d.hs = concat([d.hs, body]);
    for (const [type, msg] of takeMessages(d)) {
      if (type === 1 && d.fromClient) {
        if (msg.length < 34) throw new Error("short ClientHello");
        this.clientRandom = msg.slice(2, 34);
      } else if (type === 2 && !d.fromClient) {
        this.serverHello(msg);
        if (this.version === 13 && this.helloDone) {
          // Everything after the ServerHello is encrypted; it must end its record.
          d.hs = new Uint8Array(0);
          return;
        }
      }
    }
  }

  private serverHello(msg: Uint8Array): void {
    if (msg.length < 38) throw new Error("short ServerHello");
    const legacy = (at(msg, 0) << 8) | at(msg, 1);
    const random = msg.slice(2, 34);
    let p = 34;
    const sidLen = at(msg, p);
    p += 1 + sidLen;
    if (p + 3 > msg.length) throw new Error("short ServerHello");
    const suite = (at(msg, p) << 8) | at(msg, p + 1);
    p += 3; // suite + compression method
    let selected = legacy;
    if (p + 2 <= msg.length) {
      const extEnd = Math.min(msg.length, p + 2 + ((at(msg, p) << 8) | at(msg, p + 1)));
      p += 2;
      while (p + 4 <= extEnd) {
        const et = (at(msg, p) << 8) | at(msg, p + 1);
        const el = (at(msg, p + 2) << 8) | at(msg, p + 3);
        if (et === 0x002b && el >= 2 && p + 6 <= extEnd) selected = (at(msg, p + 4) << 8) | at(msg, p + 5);
        p += 4 + el;
      }
    }
    this.suiteId = suite;
    if (selected === 0x0304) this.version = 13;
    else if (selected === 0x0303) this.version = 12;
    else throw new Error("unsupported TLS version");
    if (toHex(random) === HRR_RANDOM) return; // HelloRetryRequest: a real ServerHello follows
    this.serverRandom = random;
    this.helloDone = true;
    if (this.version === 13) {
      const s = SUITES13.get(suite);
      if (!s) throw new Error("unsupported cipher suite");
      for (const d of [this.client, this.server]) {
        const secret = this.secret(
          d.fromClient ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET" : "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        );
        if (!secret) continue; // left in "plain": its encrypted records kill the direction
        d.keys = keys13(s, secret);
        d.stage = "handshake";
      }
    } else if (!SUITES12.has(suite)) {
      throw new Error("unsupported cipher suite");
    }
  }

  private secret(label: string): Uint8Array | undefined {
    if (!this.clientRandom) return undefined;
    const hex = this.keylog.get(`${label} ${toHex(this.clientRandom)}`);
    return hex ? hexToBytes(hex) : undefined;
  }

  private keys12(fromClient: boolean): Keys | undefined {
    const suite = this.suiteId === undefined ? undefined : SUITES12.get(this.suiteId);
    const master = this.secret("CLIENT_RANDOM");
    if (!suite || !master || !this.serverRandom || !this.clientRandom) return undefined;
    const ivLen = suite.explicitNonce ? 4 : 12;
    const block = prf12(
      suite.hash,
      master,
      "key expansion",
      concat([this.serverRandom, this.clientRandom]),
      2 * suite.keyLen + 2 * ivLen,
    );
    const k = suite.keyLen;
    return fromClient
      ? { suite, key: block.slice(0, k), iv: block.slice(2 * k, 2 * k + ivLen), seq: 0n }
      : { suite, key: block.slice(k, 2 * k), iv: block.slice(2 * k + ivLen, 2 * k + 2 * ivLen), seq: 0n };
  }
}

function keys13(suite: Suite, secret: Uint8Array): Keys {
  return {
    suite,
    key: hkdfExpandLabel(suite.hash, secret, "key", suite.keyLen),
    iv: hkdfExpandLabel(suite.hash, secret, "iv", 12),
    seq: 0n,
    secret,
  };
}

function xorNonce(iv: Uint8Array, seq: bigint): Uint8Array {
  const nonce = iv.slice();
  const s = new Uint8Array(8);
  new DataView(s.buffer).setBigUint64(0, seq);
  for (let i = 0; i < 8; i++) nonce[4 + i] = at(nonce, 4 + i) ^ at(s, i);
  return nonce;
}

/** TLS 1.3 record decryption (nonce = iv XOR seq). */
function decrypt(keys: Keys, body: Uint8Array, aad: Uint8Array): Uint8Array {
  return aeadOpen(keys.suite.aead, keys.key, xorNonce(keys.iv, keys.seq), aad, body);
}

/** AEAD decryption of ciphertext||tag(16); throws on authentication failure. */
function aeadOpen(aead: Aead, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, body: Uint8Array): Uint8Array {
  if (body.length < 16) throw new Error("short record");
  // The cast only picks a CipherGCM overload; chacha20-poly1305 takes the same calls.
  const decipher = createDecipheriv(aead as "aes-128-gcm", key, nonce, { authTagLength: 16 });
  decipher.setAAD(aad, { plaintextLength: body.length - 16 });
  decipher.setAuthTag(body.subarray(body.length - 16));
  const a = decipher.update(body.subarray(0, body.length - 16));
  const b = decipher.final();
  return new Uint8Array(b.length ? Buffer.concat([a, b]) : a);
}

/** Removes complete handshake messages from `d.hs`, returning [type, body] pairs. */
function takeMessages(d: Direction): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  let p = 0;
  const hs = d.hs;
  while (hs.length - p >= 4) {
    const len = (at(hs, p + 1) << 16) | (at(hs, p + 2) << 8) | at(hs, p + 3);
    if (len > 1 << 20) throw new Error("handshake message too long");
    if (hs.length - p < 4 + len) break;
    out.push([at(hs, p), hs.subarray(p + 4, p + 4 + len)]);
    p += 4 + len;
  }
  if (p > 0) d.hs = hs.slice(p);
  return out;
}
