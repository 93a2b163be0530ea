// Startup phase: the untyped packets a client sends before the StartupMessage is accepted,
// and the server's one-byte answers to the encryption requests.

import { bytes, int, lookup, type MessageDef, str, switchOn, untilZero } from "../dsl.ts";
import { F } from "../fields.ts";

/** The server's one-byte answer to an encryption request. */
function encryptionAnswer(name: string, answerTo: "SSLRequest" | "GSSENCRequest", answers: string): MessageDef {
  return {
    name,
    dir: "B",
    shape: "single",
    when: { answerTo },
    body: [int(F.encryptionResponse, "answer")],
    info: " {answer:char}",
    effects: ["encryptionAnswer"],
    findings: [
      {
        expert: "tlsRefused",
        when: { var: "answer", equals: 78 },
        text: "The server refused encryption: the session continues unencrypted",
      },
    ],
    description: `The server's answer to ${answerTo}: ${answers}.`,
  };
}

export const startup: MessageDef[] = [
  {
    name: "StartupMessage",
    request: ["ReadyForQuery", "ErrorResponse"],
    dir: "F",
    shape: "untyped",
    when: { peekMajor: 3 },
    maxLength: 10004,
    // PostgreSQL requires the parameter "user"; the list ends with a 0 byte.
    opens: { contains: "user\0", endsWithZero: true },
    body: [
      int(F.versionMajor, "major"),
      int(F.versionMinor, "minor"),
      untilZero([str(F.parameterName, "pname"), str(F.parameterValue, "$pname")]),
      // The parameters bind under their own names ($pname): replication= opens a walsender.
      lookup(F.replConnection, "$replication", "replicationModes", { bind: "replmode" }),
    ],
    info: " {major}.{minor} user={user} database={database}",
    effects: ["startup"],
    description:
      "Opens a session: protocol version (3.0, or 3.2 from PostgreSQL 18) and parameters (user, database, options, replication, run-time settings).",
  },
  {
    name: "CancelRequest",
    dir: "F",
    shape: "untyped",
    when: { peekInt32: [80877102] },
    minLength: 16,
    maxLength: 268,
    opens: {},
    body: [
      int(F.requestCode),
      int(F.pid, "pid"),
      switchOn("$bodylen", [[12, [int(F.key, "key")]]], [bytes(F.keyData, "rest", "key")]),
    ],
    cancelKey: "cancel",
    info: " pid={pid}",
    description:
      "Asks the server to cancel the query of the backend with this process ID and secret key (4 bytes in 3.0, up to 256 in 3.2).",
  },
  {
    name: "SSLRequest",
    request: ["SSLResponse", "ErrorResponse"],
    dir: "F",
    shape: "untyped",
    when: { peekInt32: [80877103] },
    fixedLength: 8,
    opens: {},
    body: [int(F.requestCode)],
    effects: ["sslRequest"],
    description: "Asks the server to use TLS; the server answers with one byte.",
  },
  {
    name: "GSSENCRequest",
    request: ["GSSENCResponse", "ErrorResponse"],
    dir: "F",
    shape: "untyped",
    when: { peekInt32: [80877104] },
    fixedLength: 8,
    opens: {},
    body: [int(F.requestCode)],
    effects: ["gssRequest"],
    description: "Asks the server to use GSSAPI encryption; the server answers with one byte.",
  },
  {
    name: "UnknownStartupPacket",
    request: ["ErrorResponse", "ReadyForQuery"],
    dir: "F",
    shape: "untyped",
    maxLength: 10004,
    body: [int(F.startupCode, "code"), bytes(F.undecoded, "rest")],
    info: " code={code}",
    description: "An untyped packet whose code is none of the known ones (an old protocol version, or not PostgreSQL).",
  },
  encryptionAnswer("SSLResponse", "SSLRequest", "'S' (TLS follows) or 'N' (continue in clear)"),
  encryptionAnswer("GSSENCResponse", "GSSENCRequest", "'G' (GSSAPI encryption follows) or 'N' (continue in clear)"),
];
