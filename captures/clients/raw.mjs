// What the raw-protocol recording clients share: once pg.Client has logged in, they read the
// server's messages themselves from its connection (pg-protocol's parser), so that they can send
// sequences node `pg`'s query API never sends.
const EVENTS = [
  "readyForQuery",
  "rowDescription",
  "dataRow",
  "portalSuspended",
  "emptyQuery",
  "commandComplete",
  "parseComplete",
  "copyInResponse",
  "copyOutResponse",
  "copyData",
  "copyDone",
  "errorMessage",
  "notice",
  "notification",
  "replicationStart",
];

/**
 * Takes the messages of a logged-in pg.Client's connection away from the client. Returns the
 * connection, `until(names, ms)` (waits for the next message named `names` or one of them;
 * returns the messages up to it; with ms, fails after that many milliseconds) and
 * `show(step, msgs)` (prints one line per step).
 */
export function rawConnection(client) {
  const con = client.connection;
  for (const ev of EVENTS) con.removeAllListeners(ev);
  con._emitMessage = true;
  const inbox = [];
  let wake = null;
  con.on("message", (msg) => {
    inbox.push(msg);
    wake?.();
  });
  async function until(names, ms) {
    const wanted = Array.isArray(names) ? names : [names];
    const deadline = ms === undefined ? undefined : Date.now() + ms;
    for (;;) {
      const i = inbox.findIndex((m) => wanted.includes(m.name));
      if (i >= 0) return inbox.splice(0, i + 1);
      if (deadline !== undefined && Date.now() > deadline) throw new Error(`no ${wanted.join("/")} within ${ms} ms`);
      await new Promise((resolve) => {
        wake = resolve;
        if (deadline !== undefined) setTimeout(resolve, 200);
      });
      wake = null;
    }
  }
  function show(step, msgs) {
    const summary = msgs.map((m) => (m.name === "error" ? `error ${m.code} ${m.message}` : m.name)).join(", ");
    console.log(`${step}: ${summary}`);
  }
  return { con, until, show };
}
