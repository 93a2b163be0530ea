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
];

/**
 * Takes the messages of a logged-in pg.Client's connection away from the client. Returns the
 * connection, `until(name)` (waits for the next message named `name`; returns the messages up to
 * it) and `show(step, msgs)` (prints one line per step).
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
  async function until(name) {
    for (;;) {
      const i = inbox.findIndex((m) => m.name === name);
      if (i >= 0) return inbox.splice(0, i + 1);
      await new Promise((resolve) => {
        wake = resolve;
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
