import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { PcapngWriter, PcapWriter, parseCaptureBuffer, readCapture } from "../../src/capture/pcap.ts";
import { CaptureError } from "../../src/capture/types.ts";
import { Bytes, block, collect, concat, epb, idb, shb, tempDir } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const payloads = [Uint8Array.of(1), Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3), new Uint8Array(1500).fill(7)];

async function readAll(path: string) {
  const out = [];
  for await (const p of readCapture(path)) out.push(p);
  return out;
}

describe("writers round-trip through the reader", () => {
  it("pcapng", async () => {
    const w = new PcapngWriter(113);
    payloads.forEach((d, i) => {
      w.addPacket(1700000000.123456 + i, d);
    });
    w.addPacket(1700000010.5, Uint8Array.of(9, 9), 100);
    const buf = w.toBuffer();
    const path = tmp.path("rt.pcapng");
    writeFileSync(path, buf);
    for (const packets of [parseCaptureBuffer(buf), await readAll(path)]) {
      expect(packets.map((p) => p.frame)).toEqual([1, 2, 3, 4, 5]);
      packets.slice(0, 4).forEach((p, i) => {
        expect(p.linkType).toBe(113);
        expect(p.data).toEqual(payloads[i]);
        expect(p.origLen).toBe(payloads[i].length);
        expect(p.time).toBeCloseTo(1700000000.123456 + i, 6);
      });
      expect(packets[4].origLen).toBe(100);
      expect(packets[4].data).toEqual(Uint8Array.of(9, 9));
      expect(packets[4].time).toBeCloseTo(1700000010.5, 6);
    }
  });

  it.each([false, true])("pcap (nanosecond %s)", async (nanosecond) => {
    const w = new PcapWriter(101, { nanosecond });
    payloads.forEach((d, i) => {
      w.addPacket(1600000000 + i * 1.000001, d, d.length + i);
    });
    const buf = w.toBuffer();
    const path = tmp.path(`rt-${nanosecond}.pcap`);
    writeFileSync(path, buf);
    for (const packets of [parseCaptureBuffer(buf), await readAll(path)]) {
      expect(packets).toHaveLength(4);
      packets.forEach((p, i) => {
        expect(p.frame).toBe(i + 1);
        expect(p.linkType).toBe(101);
        expect(p.data).toEqual(payloads[i]);
        expect(p.origLen).toBe(payloads[i].length + i);
        expect(p.time).toBeCloseTo(1600000000 + i * 1.000001, 6);
      });
    }
  });

  it("an empty capture (header only) has no packets", () => {
    expect(parseCaptureBuffer(new PcapngWriter().toBuffer())).toEqual([]);
    expect(parseCaptureBuffer(new PcapWriter().toBuffer())).toEqual([]);
  });
});

/** A classic pcap file built by hand in the given byte order. */
function handPcap(le: boolean, nano: boolean, records: { sec: number; frac: number; data: number[]; orig?: number }[]) {
  const b = new Bytes(le)
    .u32(nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(65535)
    .u32(0x10000000 | 1); // FCS bits above the link type must be ignored
  for (const r of records)
    b.u32(r.sec)
      .u32(r.frac)
      .u32(r.data.length)
      .u32(r.orig ?? r.data.length)
      .bytes(r.data);
  return b.build();
}

describe("byte orders and timestamp resolutions", () => {
  it.each([
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ])("classic pcap little-endian=%s nanosecond=%s", (le, nano) => {
    const buf = handPcap(le, nano, [
      { sec: 1700000000, frac: nano ? 250000000 : 250000, data: [0xde, 0xad] },
      { sec: 1700000001, frac: nano ? 999999000 : 999999, data: [1, 2, 3], orig: 60 },
    ]);
    const [a, b] = parseCaptureBuffer(buf);
    expect(a).toMatchObject({ frame: 1, linkType: 1, origLen: 2, data: Uint8Array.of(0xde, 0xad) });
    expect(a?.time).toBeCloseTo(1700000000.25, 6);
    expect(b).toMatchObject({ frame: 2, origLen: 60, data: Uint8Array.of(1, 2, 3) });
    expect(b?.time).toBeCloseTo(1700000001.999999, 6);
  });

  it("pcapng with several sections in both byte orders, all packet block kinds and skipped blocks", async () => {
    const be = false;
    const le = true;
    const buf = concat(
      // Section 1, big-endian: two interfaces (nanoseconds; default microseconds).
      shb(be),
      idb(be, 113, { tsresol: 9 }),
      idb(be, 1),
      epb(be, 0, 1700000000_500000000n, Uint8Array.of(1, 2, 3)),
      block(be, 4, new Bytes(be).u16(0).u16(0).build()), // name resolution: skipped
      epb(be, 1, 1700000001_000001n, Uint8Array.of(4, 5, 6, 7, 8), 1514),
      block(be, 5, new Bytes(be).u32(0).u32(0).u32(0).build()), // interface statistics: skipped
      block(be, 10, new Bytes(be).u32(0x544c534b).u32(0).build()), // decryption secrets: skipped
      // Obsolete packet block: 16-bit interface id and drops count.
      block(
        be,
        2,
        new Bytes(be)
          .u16(1)
          .u16(0)
          .u32(0)
          .u32(1700000002_000000 % 2 ** 32)
          .u32(2)
          .u32(2)
          .u8(9, 9)
          .pad4()
          .build(),
      ),
      // Section 2, little-endian: interfaces are reset; binary resolution 2^-10 and an offset.
      shb(le),
      idb(le, 101, { tsresol: 0x8a, tsoffset: 1000, snapLen: 4 }),
      epb(le, 0, 1536n, Uint8Array.of(0x45)),
      // Simple packet block: original length 6, captured limited by the snap length 4.
      block(le, 3, new Bytes(le).u32(6).u8(1, 2, 3, 4, 5, 6).build()),
      block(le, 0x40000bad, Uint8Array.of(1, 2, 3, 4)), // custom/unknown: skipped
    );
    const path = tmp.path("sections.pcapng");
    writeFileSync(path, buf);
    for (const packets of [parseCaptureBuffer(buf), await readAll(path)]) {
      expect(packets.map((p) => [p.frame, p.linkType, p.data.length, p.origLen])).toEqual([
        [1, 113, 3, 3],
        [2, 1, 5, 1514],
        [3, 1, 2, 2],
        [4, 101, 1, 1],
        [5, 101, 4, 6],
      ]);
      expect(packets[0].time).toBeCloseTo(1700000000.5, 6);
      expect(packets[1].time).toBeCloseTo(1700000001.000001, 6);
      expect(packets[2].data).toEqual(Uint8Array.of(9, 9));
      expect(packets[3].time).toBeCloseTo(1000 + 1.5, 6);
      expect(packets[4].data).toEqual(Uint8Array.of(1, 2, 3, 4));
    }
  });
  it("64-bit timestamps in every resolution: the seconds as exact BigInt arithmetic gives them", () => {
    // ns, 2^-30 s, 10^-7 s, and ps (past the plain-number path's units, BigInt's); the high word
    // both below 2^21 (plain) and above (the long division), up to its largest value.
    const resolutions = [9, 0x80 | 30, 7, 12];
    const stamps = [
      0n,
      1n,
      1700000000_123456789n,
      (0x1fffffn << 32n) | 0xffffffffn,
      0x200000n << 32n,
      1733400000_999999999n,
      (1n << 64n) - 1n,
    ];
    let seed = 7;
    const rnd32 = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return BigInt(seed) * 2n + BigInt(seed & 1);
    };
    for (let i = 0; i < 200; i++) stamps.push((rnd32() << 32n) | rnd32());
    const blocks = [shb(true), ...resolutions.map((r) => idb(true, 1, { tsresol: r }))];
    for (let k = 0; k < resolutions.length; k++) {
      for (const t of stamps) blocks.push(epb(true, k, t, Uint8Array.of(0)));
    }
    const packets = parseCaptureBuffer(concat(...blocks));
    expect(packets).toHaveLength(resolutions.length * stamps.length);
    let n = 0;
    for (const r of resolutions) {
      const units = r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r);
      for (const t of stamps) {
        const exact = Number(t / units) + Number(t % units) / Number(units);
        expect(packets[n++].time, `${t} at resolution ${r}`).toBe(exact);
      }
    }
  });
});

describe("errors", () => {
  async function errorOf(path: string): Promise<CaptureError> {
    const { error } = await collect(path);
    expect(error).toBeInstanceOf(CaptureError);
    return error as CaptureError;
  }

  it("missing file", async () => {
    expect((await errorOf(tmp.path("nope.pcap"))).message).toBe(`capture file ${tmp.path("nope.pcap")} does not exist`);
  });

  it("directory", async () => {
    const dir = tmp.path("adir");
    mkdirSync(dir);
    expect((await errorOf(dir)).message).toBe(`${dir} is a directory, not a capture file`);
  });

  it("empty file", async () => {
    const path = tmp.path("empty.pcap");
    writeFileSync(path, new Uint8Array(0));
    expect((await errorOf(path)).message).toBe(`capture file ${path} is empty`);
    expect(() => parseCaptureBuffer(new Uint8Array(0))).toThrow(CaptureError);
  });

  it("not a capture file", async () => {
    for (const [name, content] of [
      ["text.txt", "SELECT 1;\nSELECT 2;\n"],
      ["tiny", "ab"],
    ] as const) {
      const path = tmp.path(name);
      writeFileSync(path, content);
      expect((await errorOf(path)).message).toBe(`${path} is not a pcap or pcapng capture file`);
    }
  });

  it("gzip-compressed file", async () => {
    const path = tmp.path("c.pcap.gz");
    writeFileSync(path, Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0));
    expect((await errorOf(path)).message).toMatch(/gzip-compressed/);
  });

  it.each(["pcap", "pcapng"])("truncated %s: complete records are yielded first", async (kind) => {
    const w = kind === "pcap" ? new PcapWriter() : new PcapngWriter();
    for (let i = 0; i < 3; i++) w.addPacket(1700000000 + i, new Uint8Array(100).fill(i));
    const full = w.toBuffer();
    for (const cut of [1, 50, 99]) {
      const path = tmp.path(`trunc-${cut}.${kind}`);
      writeFileSync(path, full.subarray(0, full.length - cut));
      const { packets, error } = await collect(path);
      expect(packets.map((p) => p.frame)).toEqual([1, 2]);
      expect(error).toBeInstanceOf(CaptureError);
      expect((error as Error).message).toBe(`capture file ${path} is truncated after frame 2`);
    }
    expect(() => parseCaptureBuffer(full.subarray(0, full.length - 1))).toThrow(/truncated after frame 2/);
    // Cut inside the file header.
    const path = tmp.path(`trunc-header.${kind}`);
    writeFileSync(path, full.subarray(0, 10));
    expect((await errorOf(path)).message).toBe(`capture file ${path} is truncated before its first frame`);
  });

  it("corrupt pcapng block length", () => {
    const buf = concat(shb(true), idb(true, 1), new Bytes(true).u32(6).u32(7).u32(0).build());
    expect(() => parseCaptureBuffer(buf)).toThrow(/corrupt after frame 0: a block has invalid length 7/);
  });

  it("packet on an undescribed interface", () => {
    const buf = concat(shb(true), idb(true, 1), epb(true, 3, 0n, Uint8Array.of(1)));
    expect(() => parseCaptureBuffer(buf)).toThrow(/undescribed interface 3/);
  });
});

describe("streaming over chunk boundaries", () => {
  it("reads records straddling the 1 MiB buffer and a record larger than it", async () => {
    const w = new PcapngWriter();
    const sizes = [1, 1000, 65535, 3 * 1024 * 1024 + 3, 17, 2 * 1024 * 1024, 5];
    let t = 1700000000;
    for (let k = 0; k < 3; k++) {
      for (const s of sizes) {
        t += 0.001;
        w.addPacket(t, new Uint8Array(s).fill((k * 7 + s) & 0xff));
      }
    }
    const buf = w.toBuffer();
    const path = tmp.path("big.pcapng");
    writeFileSync(path, buf);
    const expected = parseCaptureBuffer(buf);
    let n = 0;
    for await (const p of readCapture(path)) {
      const e = expected[n++];
      expect(p.frame).toBe(e.frame);
      expect(p.data.length).toBe(e.data.length);
      expect(Buffer.from(p.data).equals(Buffer.from(e.data))).toBe(true);
    }
    expect(n).toBe(sizes.length * 3);
  });
});
