// pgwire compare reading both sides as they come (src/compare.ts): the PDML reader handing each
// frame over as its packet ends, and the streaming merge (compareStreams) on small hand-built
// sides. The merge must give what diffFrames gives on the two sides read whole, while the TS
// decoder adds pgwire.response_in to a request only when its response comes, frames come in
// parts, and the 50-difference limit cuts.

import { describe, expect, it } from "vitest";
import type { MessageName } from "../../dissector/pgwire.ts";
import {
  type CmpFrame,
  compareStreams,
  diffFrames,
  PdmlReader,
  type StreamOptions,
  type TsStep,
  tsItem,
} from "../../src/compare.ts";
import type { DecodedMessage, FieldValue } from "../../src/decoder/index.ts";

/** A decoder item: `fields` as [name without "pgwire.", value]. */
function msg(frame: number, frontend: boolean, name: MessageName, fields: [string, FieldValue][] = []): DecodedMessage {
  return {
    frame,
    frontend,
    name,
    label: `PostgreSQL: ${name}`,
    streamOffset: 0,
    size: 5,
    fields: fields.map(([n, value], i) => ({ name: `pgwire.${n}`, value, offset: i, length: 1 })),
    vars: {},
  } as DecodedMessage;
}

/** What the decoder does when `response` completes `request`. */
function answer(request: DecodedMessage, response: DecodedMessage): DecodedMessage {
  response.request = request;
  response.fields.push({ name: "pgwire.response_to", value: request.frame, offset: 0, length: 0 });
  request.fields.push({ name: "pgwire.response_in", value: response.frame, offset: 0, length: 0 });
  return response;
}

/** One step per packet: frames 1..last, each with the parts `parts(n)` gives (called when the step is read). */
type Parts = (n: number) => { frame: number; items: DecodedMessage[]; stream?: number }[] | undefined;

async function* steps(last: number, parts: Parts, tail: Parts = () => undefined): AsyncGenerator<TsStep> {
  for (let n = 1; n <= last; n++) {
    yield { frame: n, frames: (parts(n) ?? []).map((p) => ({ stream: 0, info: info(p.items), ...p })) };
  }
  // After the last packet, like the end of decodeSteps: parts of any frame.
  const rest = tail(last);
  if (rest) yield { frame: last, frames: rest.map((p) => ({ stream: 0, info: info(p.items), ...p })) };
}

const info = (items: DecodedMessage[]) => (items.length ? `> ${items.map((i) => i.name).join(", ")}` : undefined);

async function* frames(list: CmpFrame[]): AsyncGenerator<CmpFrame> {
  for (const f of list) yield f;
}

/**
 * Runs the merge, then checks it against diffFrames over both sides as they ended (the TS side's
 * parts joined, as tsSide joins them), and returns its differences.
 */
async function check(
  lua: CmpFrame[],
  last: number,
  parts: Parts,
  opts: StreamOptions = {},
  tail?: Parts,
): Promise<string[]> {
  const seen: { frame: number; items: DecodedMessage[] }[] = [];
  const record: Parts = (n) => {
    const p = parts(n);
    if (p) seen.push(...p);
    return p;
  };
  const recordTail: Parts = (n) => {
    const p = tail?.(n);
    if (p) seen.push(...p);
    return p;
  };
  const r = await compareStreams(frames(lua), steps(last, record, recordTail), opts);
  const ts = new Map<number, CmpFrame>();
  for (const p of seen) {
    const prev = ts.get(p.frame);
    if (prev) prev.items.push(...p.items.map(tsItem));
    else ts.set(p.frame, { frame: p.frame, items: p.items.map(tsItem), info: info(p.items) });
  }
  if (opts.twoPass === false) {
    for (const fr of ts.values())
      for (const it of fr.items) it.fields = it.fields.filter((f) => f.name !== "pgwire.response_in");
  }
  const luaMap = new Map(lua.map((f) => [f.frame, f]));
  expect(r.late).toEqual([]);
  expect(r.differences).toEqual(diffFrames(luaMap, ts, opts.limit ?? 50));
  expect(r.frames).toBe(lua.length);
  expect(r.items).toBe(lua.reduce((k, f) => k + f.items.length, 0));
  expect(r.fields).toBe(lua.reduce((k, f) => k + f.items.reduce((j, i) => j + i.fields.length, 0), 0));
  return r.differences;
}

/** The Lua side of a frame as the plugin would show `items` once everything is known. */
function luaFrame(n: number, items: DecodedMessage[]): CmpFrame {
  return { frame: n, items: items.map(tsItem), info: info(items) };
}

/** A query in frame 2 whose ReadyForQuery comes in frame `at`. */
function queryAnsweredAt(at: number) {
  const q = msg(2, true, "Query", [["query", "SELECT 1"]]);
  const rfq = msg(at, false, "ReadyForQuery", [["status", 73]]);
  const parts: Parts = (n) => {
    if (n === 2) return [{ frame: 2, items: [q] }];
    if (n === at) return [{ frame: at, items: [answer(q, rfq)] }];
    return undefined;
  };
  return { q, rfq, parts };
}

describe("compareStreams: the streaming merge of compare", () => {
  it("agrees when both sides agree", async () => {
    const { q, rfq, parts } = queryAnsweredAt(3);
    // The Lua side as the plugin shows it after two passes: the link already there.
    const final = structuredClone([q, rfq]);
    answer(final[0], final[1]);
    expect(await check([luaFrame(2, [final[0]]), luaFrame(3, [final[1]])], 5, parts)).toEqual([]);
  });

  it("joins a frame given in parts, in one packet's step and in the next one's", async () => {
    const a = msg(2, true, "Parse", [["statement", "s1"]]);
    const b = msg(2, true, "Bind", [["portal", ""]]);
    const c = msg(2, true, "Sync");
    const parts: Parts = (n) => {
      if (n === 2)
        return [
          { frame: 2, items: [a] },
          { frame: 2, items: [b] },
        ];
      // Items for the previous frame with the next packet (as TLS may give them).
      if (n === 3) return [{ frame: 2, items: [c] }];
      return undefined;
    };
    const lua = [{ frame: 2, items: [a, b, c].map(tsItem), info: "> Parse" }];
    expect(await check(lua, 4, parts)).toEqual([]);
    // The Lua side without the third item: the joined frame has three.
    const short = await check([{ frame: 2, items: [a, b].map(tsItem), info: "> Parse" }], 4, parts);
    expect(short).toEqual([
      "frame 2: 2 items in Lua, 3 in TS\n  lua: PostgreSQL: Parse, PostgreSQL: Bind\n  ts:  PostgreSQL: Parse, PostgreSQL: Bind, PostgreSQL: Sync",
    ]);
  });

  it("waits for a request's response many frames later", async () => {
    // Frames 10-14 in between, which differ in the skewed case: frame 2's message still comes first.
    const scenario = () => {
      const { q, rfq, parts } = queryAnsweredAt(40);
      const between = Array.from({ length: 5 }, (_, i) => msg(10 + i, false, "NoticeResponse"));
      const all: Parts = (n) => parts(n) ?? (n >= 10 && n < 15 ? [{ frame: n, items: [between[n - 10]] }] : undefined);
      const final = structuredClone([q, rfq]);
      answer(final[0], final[1]);
      const lua = [luaFrame(2, [final[0]]), ...between.map((m) => luaFrame(m.frame, [m])), luaFrame(40, [final[1]])];
      return { lua, parts: all };
    };
    const agree = scenario();
    expect(await check(agree.lua, 50, agree.parts)).toEqual([]);
    const skewed = scenario();
    skewed.lua[0].items[0].fields[1].show = "41";
    for (const f of skewed.lua.slice(1, 6)) f.info = "< other";
    const got = await check(skewed.lua, 50, skewed.parts);
    expect(got[0]).toBe(
      'frame 2 item 1 (PostgreSQL: Query) field 2:\n  lua: pgwire.response_in = "41" @0+0\n  ts:  pgwire.response_in = "40" @0+0',
    );
    expect(got).toHaveLength(6);
  });

  it("a request never answered: compared at the end without the link", async () => {
    const q = msg(2, true, "Query", [["query", "SELECT pg_sleep(1000)"]]);
    const parts: Parts = (n) => (n === 2 ? [{ frame: 2, items: [q] }] : undefined);
    expect(await check([luaFrame(2, [q])], 30, parts)).toEqual([]);
    // The plugin links it to a frame the decoder never answered it in.
    const lua = luaFrame(2, [q]);
    lua.items[0].fields.push({ name: "pgwire.response_in", show: "7", offset: 0, length: 0 });
    expect(await check([lua], 30, parts)).toEqual([
      'frame 2 item 1 (PostgreSQL: Query) field 2:\n  lua: pgwire.response_in = "7" @0+0\n  ts:  (none)',
    ]);
  });

  it("a request the decoder dropped when a later one of its connection was answered", async () => {
    // Parse (frame 2) never answered; Sync (frame 4) answered in frame 9, on stream 0. A query on
    // stream 1 (frame 3) is answered only in frame 20.
    const scenario = () => {
      const parse = msg(2, true, "Parse", [["statement", "s"]]);
      const other = msg(3, true, "Query", [["query", "SELECT 2"]]);
      const sync = msg(4, true, "Sync");
      const rfq = msg(9, false, "ReadyForQuery");
      const rfq2 = msg(20, false, "ReadyForQuery");
      const parts: Parts = (n) => {
        if (n === 2) return [{ frame: 2, items: [parse] }];
        if (n === 3) return [{ frame: 3, items: [other], stream: 1 }];
        if (n === 4) return [{ frame: 4, items: [sync] }];
        if (n === 9) return [{ frame: 9, items: [answer(sync, rfq)] }];
        if (n === 20) return [{ frame: 20, items: [answer(other, rfq2)], stream: 1 }];
        return undefined;
      };
      const final = structuredClone([parse, other, sync, rfq, rfq2]);
      answer(final[2], final[3]);
      answer(final[1], final[4]);
      return { lua: final.map((m) => luaFrame(m.frame, [m])), parts };
    };
    const agree = scenario();
    expect(await check(agree.lua, 25, agree.parts)).toEqual([]);
    // Where the plugin links the dropped Parse anyway, that shows.
    const linked = scenario();
    linked.lua[0].items[0].fields.push({ name: "pgwire.response_in", show: "9", offset: 0, length: 0 });
    expect(await check(linked.lua, 25, linked.parts)).toEqual([
      'frame 2 item 1 (PostgreSQL: Parse) field 2:\n  lua: pgwire.response_in = "9" @0+0\n  ts:  (none)',
    ]);
  });

  it("frames only one side has", async () => {
    const a = msg(3, true, "Query", [["query", "x"]]);
    const b = msg(5, false, "ErrorResponse");
    const c = msg(6, false, "NoticeResponse");
    const parts: Parts = (n) => {
      if (n === 3) return [{ frame: 3, items: [a] }];
      if (n === 6) return [{ frame: 6, items: [c] }];
      return undefined;
    };
    // Frame 5 only in Lua, frame 6 only in TS, frame 8 in Lua after the TS side's last packet.
    const lua = [luaFrame(3, [a]), luaFrame(5, [b]), luaFrame(8, [b])];
    expect(await check(lua, 7, parts)).toEqual([
      "frame 5: only the Lua plugin shows pgwire items: PostgreSQL: ErrorResponse",
      "frame 6: only the TS decoder shows pgwire items: PostgreSQL: NoticeResponse",
      "frame 8: only the Lua plugin shows pgwire items: PostgreSQL: ErrorResponse",
    ]);
  });

  it("stops at the limit between frames, with a request still waiting before the cut", async () => {
    // Frame 1: a query answered only at the end of the capture (frame 200), whose link differs.
    // Frames 2-80: each differs in its Info; frame 30 also in its items' labels (three messages).
    const scenario = () => {
      const q = msg(1, true, "Query", [["query", "SELECT 1"]]);
      const rfq = msg(200, false, "ReadyForQuery");
      const items = new Map<number, DecodedMessage[]>();
      for (let n = 2; n <= 80; n++)
        items.set(n, n === 30 ? [msg(n, false, "DataRow"), msg(n, false, "DataRow")] : [msg(n, false, "DataRow")]);
      const parts: Parts = (n) => {
        if (n === 1) return [{ frame: 1, items: [q] }];
        if (n === 200) return [{ frame: 200, items: [answer(q, rfq)] }];
        const it = items.get(n);
        return it && [{ frame: n, items: it }];
      };
      const final = structuredClone([q, rfq]);
      answer(final[0], final[1]);
      const lua: CmpFrame[] = [luaFrame(1, [final[0]])];
      lua[0].items[0].fields[1].show = "199";
      for (const [n, it] of items) {
        const f = luaFrame(n, it);
        f.info = "< something else";
        if (n === 30) for (const i of f.items) i.label = "PostgreSQL: CopyData";
        lua.push(f);
      }
      lua.push(luaFrame(200, [final[1]]));
      return { lua, parts };
    };
    for (const limit of [1, 2, 28, 29, 30, 31, 50, 1000]) {
      const s = scenario();
      const got = await check(s.lua, 200, s.parts, { limit });
      expect(got[0]).toMatch(/^frame 1 item 1 \(PostgreSQL: Query\) field 2:/);
    }
    const s50 = scenario();
    const fifty = await check(s50.lua, 200, s50.parts);
    expect(fifty).toHaveLength(50);
    expect(fifty.at(-1)).toMatch(/^frame 48: Info differs/);
    // Frame 30's three messages land across the limit: diffFrames keeps them all.
    const s30 = scenario();
    expect(await check(s30.lua, 200, s30.parts, { limit: 30 })).toHaveLength(32);
  });

  it("one pass: the decoder's later links are not compared", async () => {
    // What the plugin shows in one pass: no pgwire.response_in.
    const shown = queryAnsweredAt(12);
    answer(shown.q, shown.rfq);
    shown.q.fields.pop();
    const lua = [luaFrame(2, [shown.q]), luaFrame(12, [shown.rfq])];
    expect(await check(lua, 20, queryAnsweredAt(12).parts, { twoPass: false })).toEqual([]);
    const two = await compareStreams(frames(lua), steps(20, queryAnsweredAt(12).parts));
    expect(two.differences).toEqual([
      'frame 2 item 1 (PostgreSQL: Query) field 2:\n  lua: (none)\n  ts:  pgwire.response_in = "12" @0+0',
    ]);
  });

  it("items for a frame already compared: reported late, and right when held back", async () => {
    // The end of the capture flushes data behind a gap into frame 3 (as decodeSteps may).
    const scenario = () => {
      const a = msg(3, true, "Query", [["query", "x"]]);
      const b = msg(5, true, "Query", [["query", "y"]]);
      const parts: Parts = (n) => {
        if (n === 3) return [{ frame: 3, items: [a] }];
        if (n === 5) return [{ frame: 5, items: [b] }];
        return undefined;
      };
      const tail: Parts = () => [{ frame: 3, items: [msg(3, true, "Sync")] }];
      return { lua: [luaFrame(3, [a]), luaFrame(5, [b])], parts, tail };
    };
    const s = scenario();
    const first = await compareStreams(frames(s.lua), steps(6, s.parts, s.tail));
    expect(first.late).toEqual([3]);
    const held = scenario();
    expect(await check(held.lua, 6, held.parts, { hold: new Set([3]) }, held.tail)).toEqual([
      "frame 3: 1 items in Lua, 2 in TS\n  lua: PostgreSQL: Query\n  ts:  PostgreSQL: Query, PostgreSQL: Sync",
    ]);
  });
});

describe("PdmlReader handing frames over as they end", () => {
  const pdml = `<?xml version="1.0" encoding="utf-8"?>
<pdml version="0" creator="wireshark/4.0.17">
<packet>
  <proto name="geninfo" pos="0" showname="General information" size="74">
    <field name="num" pos="0" show="1" showname="Number" value="1" size="74"/>
  </proto>
  <proto name="tcp" showname="TCP" size="20" pos="34">
    <field name="tcp.srcport" showname="Source Port: 5432" size="2" pos="34" show="5432" value="1538"/>
  </proto>
</packet>
<packet>
  <proto name="pgwire" showname="PostgreSQL: Query" size="14" pos="66">
    <field name="pgwire.msg" showname="Message: Query" size="0" pos="66" show="Query"/>
    <field name="pgwire.query" showname="Query: SELECT &quot;a&lt;b&quot; &amp; 'x'" size="9" pos="71" show="SELECT &quot;a&lt;b&quot;
&amp; &#x41;&#66;"/>
    <field name="" show="Some text" size="0" pos="66">
      <field name="_ws.expert" showname="Expert Info" size="0" pos="66">
        <field name="pgwire.bad_length" showname="Bad" size="0" pos="0" show="" value=""/>
        <field name="_ws.expert.message" showname="Message: bad" hide="yes" size="0" pos="0" show="Invalid length 3"/>
      </field>
    </field>
  </proto>
  <proto name="pgwire" showname="PostgreSQL: Sync" size="5" pos="80"/>
  <proto name="_ws.malformed" showname="[Malformed Packet: pgwire]" size="0" pos="85"/>
</packet>
<packet>
  <proto name="fake-field-wrapper">
    <field name="" show="Lua Error: broken" size="0" pos="66">
      <field name="_ws.lua.error" showname="Lua Error: x.lua:1: broken &lt;here&gt;" size="0" pos="0" show="" value=""/>
    </field>
  </proto>
</packet>
<packet>
  <proto name="pgwire" showname="PostgreSQL: Terminate" size="5" pos="66">
    <field name="pgwire.msg" showname="Message: Terminate" size="0" pos="66" show="Terminate"/>
  </proto>
</packet>
</pdml>
`;

  it("gives the frames and problems of the whole-text reader, whatever the chunks", () => {
    const whole = new PdmlReader();
    whole.push(pdml);
    const want = whole.end();
    expect([...want.frames.keys()]).toEqual([2, 4]);
    expect(want.frames.get(2)?.items[0].fields).toEqual([
      { name: "pgwire.msg", show: "Query", offset: 0, length: 0 },
      { name: "pgwire.query", show: `SELECT "a<b"\n& AB`, offset: 5, length: 9 },
      { name: "expert:pgwire.bad_length", show: "Invalid length 3", offset: 0, length: 0 },
    ]);
    expect(want.frames.get(2)?.items[1]).toEqual({ label: "PostgreSQL: Sync", fields: [] });
    expect(want.problems).toEqual([
      "frame 2: malformed packet ([Malformed Packet: pgwire])",
      "frame 3: Lua error: Lua Error: x.lua:1: broken <here>",
    ]);
    for (let size = 1; size <= pdml.length; size += size < 40 ? 1 : 97) {
      const got: CmpFrame[] = [];
      const r = new PdmlReader("pgwire", (f) => got.push(f));
      for (let i = 0; i < pdml.length; i += size) r.push(pdml.slice(i, i + size));
      const run = r.end();
      expect(run.frames.size, `chunks of ${size}`).toBe(0);
      expect(got, `chunks of ${size}`).toEqual([...want.frames.values()]);
      expect(run.problems, `chunks of ${size}`).toEqual(want.problems);
    }
  });
});
