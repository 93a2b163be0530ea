import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join as join_ } from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/pcap.ts";
import { TcpReassembler } from "../../src/capture/tcp.ts";
import { hkdfExpandLabel, parseKeylog, TlsDecryptor } from "../../src/capture/tls.ts";
import { missing } from "../helpers/tools.ts";

const PCAP = "captures/tls-keylog.pcapng";
const KEYS = "captures/tls-keylog.keys";

interface Chunk {
  fromClient: boolean;
  frame: number;
  data: Uint8Array;
}

/** TCP bytes of the capture's PostgreSQL connection, per direction, TLS only (SSLRequest and 'S' removed). */
async function tlsChunks(): Promise<Chunk[]> {
  const tcp = new TcpReassembler();
  const out: Chunk[] = [];
  let skipClient = 8;
  let skipServer = 1;
  const take = (o: ReturnType<TcpReassembler["push"]>) => {
    for (const x of o) {
      if (x.kind !== "data") continue;
      const fromClient = x.dstPort === 5432;
      let data = x.data;
      if (fromClient && skipClient > 0) {
        const n = Math.min(skipClient, data.length);
        skipClient -= n;
        data = data.subarray(n);
      } else if (!fromClient && skipServer > 0) {
        const n = Math.min(skipServer, data.length);
        skipServer -= n;
        data = data.subarray(n);
      }
      if (data.length > 0) out.push({ fromClient, frame: x.frame, data });
    }
  };
  for await (const p of readCapture(PCAP)) take(tcp.push(p));
  take(tcp.end());
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function decryptAll(chunks: Chunk[], byteByByte = false) {
  const dec = new TlsDecryptor(parseKeylog(readFileSync(KEYS, "utf8")));
  const out: Chunk[] = [];
  for (const c of chunks) {
    if (byteByByte) {
      for (let i = 0; i < c.data.length; i++) out.push(...dec.feed(c.fromClient, c.data.subarray(i, i + 1), c.frame));
    } else {
      out.push(...dec.feed(c.fromClient, c.data, c.frame));
    }
  }
  const client = join(out.filter((o) => o.fromClient).map((o) => o.data));
  const server = join(out.filter((o) => !o.fromClient).map((o) => o.data));
  return { out, client, server };
}

describe("parseKeylog", () => {
  it("reads labels, lower-cases hex and skips comments and junk", () => {
    const m = parseKeylog("# comment\nCLIENT_RANDOM AABB CCDD\n\nbad line\r\nX 12 zz\n");
    expect([...m]).toEqual([["CLIENT_RANDOM aabb", "ccdd"]]);
  });
});

describe("hkdfExpandLabel", () => {
  it("matches the RFC 8448 simple 1-RTT server handshake key", () => {
    // RFC 8448 section 3: server handshake traffic secret -> key and iv.
    const secret = Buffer.from("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38", "hex");
    expect(Buffer.from(hkdfExpandLabel("sha256", secret, "key", 16)).toString("hex")).toBe(
      "3fce516009c21727d0f2e4e86ee403bc",
    );
    expect(Buffer.from(hkdfExpandLabel("sha256", secret, "iv", 12)).toString("hex")).toBe("5d313eb2671276ee13000b30");
  });
});

describe("TlsDecryptor on captures/tls-keylog.pcapng (TLS 1.3, AES-256-GCM)", () => {
  it("decrypts the PostgreSQL session", async () => {
    const chunks = await tlsChunks();
    expect(chunks[0]?.fromClient).toBe(true);
    expect(chunks[0]?.data[0]).toBe(22); // ClientHello record
    const { out, client, server } = decryptAll(chunks);
    expect(client.length).toBeGreaterThan(8);
    // StartupMessage: Int32 length, then protocol 3.0.
    const len = new DataView(client.buffer, client.byteOffset).getInt32(0);
    expect(len).toBeGreaterThan(8);
    expect([...client.subarray(4, 8)]).toEqual([0, 3, 0, 0]);
    expect(Buffer.from(client).toString("latin1")).toContain("SELECT id, name, title FROM employees");
    expect(server[0]).toBe(0x52); // 'R'
    // Frames come from the capture and are non-decreasing per direction.
    for (const side of [true, false]) {
      const frames = out.filter((o) => o.fromClient === side).map((o) => o.frame);
      expect(frames.every((f, i) => i === 0 || f >= (frames[i - 1] ?? 0))).toBe(true);
      expect(frames.every((f) => f >= 1)).toBe(true);
    }
  });

  it("gives the same plaintext when fed byte by byte", async () => {
    const chunks = await tlsChunks();
    const whole = decryptAll(chunks);
    const bytes = decryptAll(chunks, true);
    expect(Buffer.from(bytes.client).equals(Buffer.from(whole.client))).toBe(true);
    expect(Buffer.from(bytes.server).equals(Buffer.from(whole.server))).toBe(true);
    expect(bytes.client.length).toBeGreaterThan(0);
  });

  it("produces nothing without the keys", async () => {
    const chunks = await tlsChunks();
    const dec = new TlsDecryptor(new Map());
    const out = chunks.flatMap((c) => dec.feed(c.fromClient, c.data, c.frame));
    expect(out).toEqual([]);
  });

  it("stops a direction silently when a record is corrupted", async () => {
    const chunks = await tlsChunks();
    const good = decryptAll(chunks);
    // Flip the last byte (part of the tag) of the chunk carrying the query: earlier plaintext is
    // unchanged, the client side stops there, the server side is unaffected, nothing throws.
    const queryFrame = good.out.find((o) => Buffer.from(o.data).toString("latin1").includes("SELECT"))?.frame;
    const target = chunks.findIndex((c) => c.fromClient && c.frame === queryFrame);
    expect(target).toBeGreaterThan(0);
    const bad = chunks.map((c, i) => {
      if (i !== target) return c;
      const data = c.data.slice();
      data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 0xff;
      return { ...c, data };
    });
    const r = decryptAll(bad);
    expect(r.client.length).toBeLessThan(good.client.length);
    expect(Buffer.from(good.client.subarray(0, r.client.length)).equals(Buffer.from(r.client))).toBe(true);
    expect(Buffer.from(r.client).toString("latin1")).not.toContain("SELECT");
    expect(Buffer.from(r.server).equals(Buffer.from(good.server))).toBe(true);
  });
});

describe("TlsDecryptor robustness", () => {
  it("never throws on garbage", async () => {
    const chunks = await tlsChunks();
    const keylog = parseKeylog(readFileSync(KEYS, "utf8"));
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let trial = 0; trial < 200; trial++) {
      const dec = new TlsDecryptor(keylog);
      for (const c of chunks) {
        let data = c.data;
        if (trial % 2 === 0) {
          data = data.slice();
          for (let k = 0; k < 3; k++) data[rnd() % data.length] = rnd() & 0xff;
        } else {
          data = Uint8Array.from({ length: rnd() % 64 }, () => rnd() & 0xff);
        }
        expect(() => dec.feed(c.fromClient, data, c.frame)).not.toThrow();
      }
    }
    const dec = new TlsDecryptor(keylog);
    expect(() => dec.feed(true, Uint8Array.of(22, 3, 1, 0, 4, 1, 0, 0, 0), 1)).not.toThrow();
    expect(() => dec.feed(false, Uint8Array.of(22, 3, 3, 0, 4, 2, 0, 0, 0), 2)).not.toThrow();
    expect(() => dec.feed(true, new Uint8Array(0), 3)).not.toThrow();
  });
});

// Live sessions between node:tls peers on loopback, recorded by a forwarding proxy, cover the
// cipher suites and versions the capture does not (notably TLS 1.2). Needs the openssl CLI
// for a throwaway certificate.
const LIVE = "TlsDecryptor on live node:tls sessions";
describe.skipIf(missing("openssl", LIVE))(LIVE, () => {
  const dir = mkdtempSync(join_(tmpdir(), "tls-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // In a hook, not in the describe's body: vitest runs the body of a skipped describe too, and
  // there a missing openssl would fail the whole file.
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`].concat([
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
      ]),
      { stdio: "ignore" },
    );
    key = readFileSync(`${dir}/key.pem`);
    cert = readFileSync(`${dir}/cert.pem`);
  });

  interface Options {
    version: "TLSv1.2" | "TLSv1.3";
    ciphers: string;
    /** Key share groups (client, server); a mismatch makes a TLS 1.3 server send a HelloRetryRequest. */
    curves?: [string, string];
    /** Make a second connection that resumes the first one's session. */
    resume?: boolean;
  }

  interface Recorded {
    recorded: Chunk[];
    negotiated: { name: string; version: string };
    reused: boolean;
  }

  async function sessions(opts: Options): Promise<{ keylog: string; conns: Recorded[] }> {
    const keylog: string[] = [];
    const recordings: Chunk[][] = [];
    let frame = 0;
    const server = tls.createServer(
      { key, cert, minVersion: opts.version, maxVersion: opts.version, ecdhCurve: opts.curves?.[1] },
      (s) => {
        s.on("data", (d: Buffer) => {
          if (d.toString().includes("bye")) s.end("server says goodbye");
          else s.write(`echo:${d.toString()}`);
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const serverPort = (server.address() as AddressInfo).port;
    const proxy = net.createServer((c) => {
      const recorded: Chunk[] = [];
      recordings.push(recorded);
      const up = net.connect(serverPort, "127.0.0.1");
      c.on("data", (d: Buffer) => {
        recorded.push({ fromClient: true, frame: ++frame, data: new Uint8Array(d) });
        up.write(d);
      });
      up.on("data", (d: Buffer) => {
        recorded.push({ fromClient: false, frame: ++frame, data: new Uint8Array(d) });
        c.write(d);
      });
      c.on("end", () => up.end());
      up.on("end", () => c.end());
      c.on("error", () => up.destroy());
      up.on("error", () => c.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyPort = (proxy.address() as AddressInfo).port;
    const conns: Recorded[] = [];
    let ticket: Buffer | undefined;
    for (let n = 0; n < (opts.resume ? 2 : 1); n++) {
      await new Promise<void>((resolve, reject) => {
        const client = tls.connect({
          host: "127.0.0.1",
          port: proxyPort,
          rejectUnauthorized: false,
          minVersion: opts.version,
          maxVersion: opts.version,
          ciphers: opts.ciphers, // node:tls takes TLS 1.3 suite names here too
          ecdhCurve: opts.curves?.[0],
          session: ticket,
        });
        let received = 0;
        client.on("keylog", (line: Buffer) => keylog.push(line.toString()));
        client.on("session", (t: Buffer) => {
          ticket = t;
        });
        client.on("secureConnect", () => {
          conns.push({ recorded: [], negotiated: client.getCipher(), reused: client.isSessionReused() });
          client.write("hello from client");
        });
        client.on("data", () => {
          if (++received === 1) client.write("bye");
        });
        client.on("end", () => {
          client.end();
          resolve();
        });
        client.on("error", reject);
      });
    }
    await new Promise((r) => setTimeout(r, 50));
    proxy.close();
    server.close();
    conns.forEach((c, i) => {
      c.recorded = recordings[i] ?? [];
    });
    return { keylog: keylog.join(""), conns };
  }

  function check(keylog: string, recorded: Chunk[]): void {
    for (const byteByByte of [false, true]) {
      const dec = new TlsDecryptor(parseKeylog(keylog));
      const out: Chunk[] = [];
      for (const r of recorded) {
        if (byteByByte) {
          for (let i = 0; i < r.data.length; i++)
            out.push(...dec.feed(r.fromClient, r.data.subarray(i, i + 1), r.frame));
        } else {
          out.push(...dec.feed(r.fromClient, r.data, r.frame));
        }
      }
      const text = (side: boolean) =>
        Buffer.concat(out.filter((o) => o.fromClient === side).map((o) => o.data)).toString();
      expect(text(true)).toBe("hello from clientbye");
      expect(text(false)).toBe("echo:hello from clientserver says goodbye");
    }
  }

  const cases: Options[] = [
    { version: "TLSv1.3", ciphers: "TLS_AES_128_GCM_SHA256" },
    { version: "TLSv1.3", ciphers: "TLS_AES_256_GCM_SHA384" },
    { version: "TLSv1.3", ciphers: "TLS_CHACHA20_POLY1305_SHA256" },
    { version: "TLSv1.3", ciphers: "TLS_AES_128_GCM_SHA256", curves: ["X25519:P-256", "P-256"] },
    { version: "TLSv1.3", ciphers: "TLS_AES_256_GCM_SHA384", resume: true },
    { version: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" },
    { version: "TLSv1.2", ciphers: "ECDHE-RSA-AES256-GCM-SHA384" },
    { version: "TLSv1.2", ciphers: "ECDHE-RSA-CHACHA20-POLY1305" },
    { version: "TLSv1.2", ciphers: "AES128-GCM-SHA256" },
    { version: "TLSv1.2", ciphers: "AES256-GCM-SHA384" },
    { version: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256", resume: true },
  ];

  for (const c of cases) {
    const extra = c.curves ? " with HelloRetryRequest" : c.resume ? " with resumption" : "";
    it(`${c.version} ${c.ciphers}${extra}`, async () => {
      const { keylog, conns } = await sessions(c);
      expect(conns.length).toBe(c.resume ? 2 : 1);
      for (const conn of conns) {
        expect(conn.negotiated.version).toBe(c.version);
        expect(conn.negotiated.name.replaceAll("_", "-")).toContain(
          c.ciphers.replace(/^TLS_/, "").replaceAll("_", "-"),
        );
        check(keylog, conn.recorded);
      }
      if (c.resume) expect(conns[1]?.reused).toBe(true);
      if (c.curves) {
        // The server's first record holds a HelloRetryRequest: its random is the special value.
        const first = conns[0]?.recorded.find((r) => !r.fromClient)?.data;
        expect(Buffer.from(first?.subarray(11, 43) ?? []).toString("hex")).toBe(
          "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c",
        );
      }
    });
  }
});
