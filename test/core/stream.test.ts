// pgwire compare reading both sides as they come (src/compare.ts): the PDML reader handing each
// frame over as its packet ends.

import { describe, expect, it } from "vitest";
import { type CmpFrame, PdmlReader } from "../../src/compare.ts";

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
