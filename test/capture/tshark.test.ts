// Cross-checks the capture layer against tshark (skipped when tshark is not installed).

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { decodePacket } from "../../src/capture/packet.ts";
import { PcapWriter, parseCaptureBuffer, readCapture } from "../../src/capture/pcap.ts";
import { TcpReassembler } from "../../src/capture/tcp.ts";
import type { TcpData } from "../../src/capture/types.ts";
import { missing } from "../helpers/tools.ts";
import { TcpSessionBuilder, writeSessions } from "../tools/tcp-sessions.ts";
import { tempDir, text } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function tshark(...args: string[]): string {
  return execFileSync("tshark", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 });
}

/** Per-node bytes of `tshark -z follow,tcp,raw,N`, keyed by "addr|port". */
function follow(path: string, stream: number): Map<string, string> {
  const outText = tshark("-r", path, "-q", "-z", `follow,tcp,raw,${stream}`);
  const nodes: string[] = [];
  const bytes = new Map<string, string>();
  for (const line of outText.split("\n")) {
    const node = /^Node (\d): (.*):(\d+)$/.exec(line);
    if (node) {
      const key = `${node[2].replace(/^\[|\]$/g, "")}|${node[3]}`;
      nodes.push(key);
      bytes.set(key, "");
      continue;
    }
    const hex = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (hex && nodes.length === 2) {
      const key = nodes[hex[1] ? 1 : 0];
      bytes.set(key, (bytes.get(key) ?? "") + hex[2]);
    }
  }
  return bytes;
}

/** Several connections: splits, an out-of-order pair, retransmission, port reuse, IPv6. */
function scenario(): TcpSessionBuilder[] {
  const client = { ip: "192.168.7.1", port: 51000 };
  const server = { ip: "192.168.7.2", port: 5432 };
  const body = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
  const a = new TcpSessionBuilder({ client, server, startTime: 1700000000 })
    .handshake()
    .send(true, body(300, 1), { segmentSizes: [7, 13, 1, 100] })
    // Out-of-order pair from the server, then a retransmission overlapping both.
    .raw(false, 40, body(25, 2).subarray(0, 25))
    .raw(false, 0, body(40, 3))
    .raw(false, 30, Uint8Array.of(...body(40, 3).subarray(30), ...body(25, 2).subarray(0, 5)))
    .ack(true)
    .send(false, body(2000, 4), { segmentSizes: [1448] })
    .send(true, text("X"))
    .close();
  // Port reuse: the same 4-tuple with a new initial sequence number, ended by RST.
  const b = new TcpSessionBuilder({ client, server, startTime: 1700000010, clientIsn: 0xfffffff8, serverIsn: 7 })
    .handshake()
    .send(true, body(50, 5), { segmentSizes: [5, 3] })
    .send(false, body(9, 6))
    .rst(true);
  const c = new TcpSessionBuilder({
    client: { ip: "2001:db8::5", port: 40001 },
    server: { ip: "2001:db8::6", port: 5432 },
    startTime: 1700000000.0005,
  })
    .handshake()
    .send(true, body(77, 7), { segmentSizes: [10, 20] })
    .raw(false, 6, body(12, 8).subarray(6))
    .raw(false, 0, body(12, 8).subarray(0, 6))
    .ack(true)
    .close(false);
  return [a, b, c];
}

describe.skipIf(missing("tshark", "agreement with tshark"))("agreement with tshark", () => {
  it("frames, tcp.stream, tcp.len and follow-stream bytes match", async () => {
    const path = tmp.path("scenario.pcapng");
    await writeSessions(path, scenario());

    const ours: string[] = [];
    const r = new TcpReassembler();
    const data: TcpData[] = [];
    for await (const p of readCapture(path)) {
      for (const o of r.push(p)) if (o.kind === "data") data.push(o);
      const tcp = decodePacket(p);
      ours.push(`${p.frame}\t${r.lastStream}\t${tcp?.length}`);
    }
    for (const o of r.end()) if (o.kind === "data") data.push(o);
    expect(data.some((d) => d.gap || d.truncated)).toBe(false);

    const theirs = tshark("-r", path, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.len")
      .trimEnd()
      .split("\n");
    expect(ours).toEqual(theirs);
    expect(r.streamCount).toBe(3);

    for (let stream = 0; stream < r.streamCount; stream++) {
      const expected = follow(path, stream);
      const mine = new Map<string, string>();
      for (const d of data.filter((x) => x.stream === stream)) {
        const key = `${d.src}|${d.srcPort}`;
        mine.set(key, (mine.get(key) ?? "") + Buffer.from(d.data).toString("hex"));
      }
      expect(expected.size).toBe(2);
      for (const [key, hex] of expected) expect(mine.get(key) ?? "", `stream ${stream} from ${key}`).toBe(hex);
    }
  });

  it("synthetic frames have valid checksums and are read identically from classic pcap", async () => {
    const sessions = scenario();
    const path = tmp.path("scenario2.pcapng");
    await writeSessions(path, sessions);
    const status = tshark(
      "-r",
      path,
      "-o",
      "ip.check_checksum:TRUE",
      "-o",
      "tcp.check_checksum:TRUE",
      "-T",
      "fields",
      "-e",
      "ip.checksum.status",
      "-e",
      "tcp.checksum.status",
    );
    const lines = status.trimEnd().split("\n");
    // IPv4 frames: "1\t1"; IPv6 frames have no IP checksum: "\t1".
    expect(lines.every((l) => l === "1\t1" || l === "\t1")).toBe(true);

    // The same packets as a classic pcap: tshark sees the same frames and timestamps as we do.
    const w = new PcapWriter(1);
    for (const p of parseCaptureBuffer(readFileSync(path))) w.addPacket(p.time, p.data);
    const pcapPath = tmp.path("scenario.pcap");
    writeFileSync(pcapPath, w.toBuffer());
    const times = tshark("-r", pcapPath, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch")
      .trimEnd()
      .split("\n");
    const mine = [];
    for await (const p of readCapture(pcapPath)) mine.push(`${p.frame}\t${p.time.toFixed(6)}`);
    expect(mine).toEqual(times.map((l) => l.replace(/(\.\d{6})\d*$/, "$1")));
  });
});
