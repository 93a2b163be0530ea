// A throwaway PostgreSQL 15 server for the tests that need a live one: initdb as the postgres
// user in a temp folder, trust on 127.0.0.1 only, a free port; stopped and removed by stop().
// It needs root (runuser) and the tool "postgresql" of test/helpers/tools.ts: the test checks both.

import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PGBIN = process.env.PGBIN ?? "/usr/lib/postgresql/15/bin";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

export interface TestServer {
  port: number;
  /** The server's log file (its stderr, pg_ctl -l). */
  log: string;
  /** Its data directory (where logging_collector's log_directory is, when relative). */
  data: string;
  stop(): void;
}

/** settings: more of the server's settings (name=value, as -c takes them). */
export async function startServer(settings: readonly string[] = []): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "pgwire-pg-"));
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
  chownSync(dir, uid, gid);
  const data = join(dir, "data");
  const asPostgres = (cmd: string, args: string[]) =>
    execFileSync("runuser", ["-u", "postgres", "--", join(PGBIN, cmd), ...args], { cwd: dir, stdio: "pipe" });
  asPostgres("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  const more = settings.map((x) => ` -c ${x}`).join("");
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off${more}`;
  const log = join(dir, "server.log");
  asPostgres("pg_ctl", ["-D", data, "-l", log, "-o", opts, "-w", "-t", "60", "start"]);
  return {
    port,
    log,
    data,
    stop() {
      try {
        asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
