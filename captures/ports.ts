// The fixture captures whose server is not on PostgreSQL's 5432: the TCP ports to decode them on
// (pgwire's port preference; Decode As for the built-in, which has no heuristic), by file name.
export const CAPTURE_PORTS: Readonly<Record<string, readonly number[]>> = {
  "psql-other-port.pcapng": [6543],
  "binary.pcapng": [55432], // captures/values/
};

/** The ports to decode a capture on, as a fresh list (undefined: the default, 5432). */
export function portsOf(fileName: string): number[] | undefined {
  const p = CAPTURE_PORTS[fileName];
  return p ? [...p] : undefined;
}
