// `pgwire report`: the HTML it writes, rendered by headless Chromium (Debian's chromium) as a
// person's browser would: no console errors, nothing fetched, and the diagram, the tables and the
// findings are there for the seed's capture.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { locate, missing } from "../helpers/tools.ts";
import { pgwire } from "./helpers.ts";

const tmp = mkdtempSync(join(tmpdir(), "pgwire-report-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CHROMIUM = locate("chromium");
/** The guard of the tests that render the report. */
const noChromium = () => missing("chromium", "pgwire report rendered in headless Chromium");

/** Headless Chromium on a file: the DOM after rendering and what it logged. */
async function render(file: string): Promise<{ dom: string; log: string }> {
  const r = await execa(
    CHROMIUM as string,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      // The width the README's screenshot uses (scripts/screenshots.sh).
      "--window-size=1100,1700",
      "--enable-logging=stderr",
      "--v=0",
      // Nothing may be fetched: any request outside the file would fail and be logged.
      "--host-resolver-rules=MAP * ~NOTFOUND",
      "--dump-dom",
      `file://${file}`,
    ],
    { reject: false, timeout: 60_000 },
  );
  return { dom: r.stdout, log: r.stderr };
}

describe("pgwire report", { timeout: 120_000 }, () => {
  it("writes one self-contained HTML file with the findings, the charts, the tables and the sequence diagram", async () => {
    const out = join(tmp, "seed.html");
    const r = await pgwire(["report", "captures/seed-md5.pcapng", "-o", out]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`pgwire: wrote ${out} (1 connection, 1 finding)`);
    const html = readFileSync(out, "utf8");
    // Self-contained: no script, no external resource (the SVG namespace is a name, not a fetch).
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, "")).not.toMatch(/https?:\/\//);
    expect(html).toContain('<svg class="sequence"');
    expect(html).toContain('<svg class="histogram"');
    expect(html).toContain('<svg class="timeline"');
  });

  it.skipIf(noChromium())("renders in headless Chromium without console errors, with everything in place", async () => {
    const out = join(tmp, "seed-render.html");
    expect((await pgwire(["report", "captures/seed-md5.pcapng", "-o", out])).exitCode).toBe(0);
    const { dom, log } = await render(out);
    expect(log).not.toMatch(/CONSOLE|Uncaught|ERR_NAME_NOT_RESOLVED|Failed to load/);
    // The sequence diagram: both lifelines, one arrow per message of the seed session, in order.
    const arrows = [...dom.matchAll(/<g class="msg[^"]*" data-frame="(\d+)">/g)].map((m) => Number(m[1]));
    expect(arrows.length).toBeGreaterThanOrEqual(12);
    expect([...arrows].sort((a, b) => a - b)).toEqual(arrows);
    expect(dom).toMatch(/<text[^>]*class="actor">client 127\.0\.0\.1:\d+<\/text>/);
    expect(dom).toMatch(/<text[^>]*class="actor">server 127\.0\.0\.1:5432<\/text>/);
    expect(dom).toMatch(/<g class="msg finding" data-frame="\d+"><title>frame \d+: PasswordMessage<\/title>/);
    expect(dom).toMatch(/class="label">Query: SELECT \* FROM employees<\/text>/);
    // Runs folded: the five rows, the thirteen server parameters.
    expect(dom).toMatch(/class="label">DataRow × 5 \(frames? \d+(–\d+)?\)<\/text>/);
    expect(dom).toMatch(/class="label">ParameterStatus × 13 \(frames? \d+(–\d+)?\)<\/text>/);
    // The tables: the query with its 5 rows, the connection, the authentication method.
    expect(dom).toMatch(
      /<table class="queries">[\s\S]*<td class="num">5<\/td><td class="num">0<\/td><td>SELECT \* FROM employees<\/td>/,
    );
    expect(dom).toMatch(/<table class="connections">[\s\S]*<td>app<\/td><td>company<\/td>/);
    expect(dom).toMatch(/<table class="auth">[\s\S]*<td>MD5<\/td>/);
    // The findings.
    expect(dom).toMatch(/<ul class="findings"><li>1 × MD5 password hash sent without TLS/);
  });

  it.skipIf(noChromium())("draws a capture with errors, notices and many requests", async () => {
    const out = join(tmp, "scram.html");
    expect((await pgwire(["report", "captures/psql-scram.pcapng", "-o", out])).exitCode).toBe(0);
    const { dom, log } = await render(out);
    expect(log).not.toMatch(/CONSOLE|Uncaught/);
    expect(dom).toMatch(/<table class="errors">[\s\S]*<td>22012<\/td><td>division_by_zero<\/td>/);
    expect((dom.match(/<rect [^>]*class="req error"/g) ?? []).length).toBe(3);
    expect(dom).toMatch(/<g class="msg error" data-frame="\d+"><title>frame \d+: ErrorResponse ERROR 22012/);
  });

  it.skipIf(noChromium())(
    "lays labels and numbers out whole: none outside its chart, no number clipped or wrapped",
    async () => {
      // A copy of the report with a script that measures the layout Chromium made and writes what
      // it found into the DOM (the report itself has no script).
      const measure = `<script>
      const problems = [];
      let labels = 0;
      let cells = 0;
      for (const svg of document.querySelectorAll("svg.histogram, svg.timeline")) {
        const box = svg.getBoundingClientRect();
        for (const t of svg.querySelectorAll("text")) {
          labels++;
          const r = t.getBoundingClientRect();
          if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
            problems.push(svg.getAttribute("class") + " label outside: " + t.textContent);
        }
      }
      for (const td of document.querySelectorAll("td.num")) {
        cells++;
        const range = document.createRange();
        range.selectNodeContents(td);
        if (td.scrollWidth > td.clientWidth + 1) problems.push("clipped: " + td.textContent);
        if (range.getClientRects().length > 1) problems.push("wrapped: " + td.textContent);
      }
      document.body.setAttribute("data-layout", JSON.stringify({ labels, cells, problems }));
    </script>`;
      for (const capture of ["pgbench-extended.pcapng", "psql-scram.pcapng", "node-failures.pcapng"]) {
        const out = join(tmp, `layout-${capture}.html`);
        expect((await pgwire(["report", `captures/${capture}`, "-o", out])).exitCode).toBe(0);
        writeFileSync(out, readFileSync(out, "utf8").replace("</body>", `${measure}</body>`));
        const { dom } = await render(out);
        const m = /data-layout="([^"]*)"/.exec(dom);
        expect(m, capture).not.toBeNull();
        const layout = JSON.parse((m as RegExpExecArray)[1].replace(/&quot;/g, '"').replace(/&amp;/g, "&")) as {
          labels: number;
          cells: number;
          problems: string[];
        };
        expect(layout.labels, capture).toBeGreaterThan(5);
        expect(layout.cells, capture).toBeGreaterThan(5);
        expect(layout.problems, capture).toEqual([]);
      }
    },
  );

  it("needs -o, and writes nothing when the capture is bad", async () => {
    const noOut = await pgwire(["report", "captures/seed-md5.pcapng"]);
    expect(noOut.exitCode).toBe(2);
    expect(noOut.stderr).toMatch(/^pgwire: report needs -o OUT\.html/);
    const out = join(tmp, "none.html");
    const bad = await pgwire(["report", "README.md", "-o", out]);
    expect(bad.exitCode).toBe(3);
    expect(existsSync(out)).toBe(false);
  });
});
