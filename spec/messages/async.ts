// Messages the server may send at any time, and the error and notice reports.

import { int, type MessageDef, str, switchOn, untilZero } from "../dsl.ts";
import { F } from "../fields.ts";

/** The fields of ErrorResponse and NoticeResponse: a code byte, then a string, until a 0 byte. */
const errorFields = [
  untilZero([
    int(F.errorField, "fc"),
    switchOn(
      "$fc",
      [
        ["S", [str(F.severity, "severity")]],
        ["V", [str(F.severityNonlocalized, "severity_v")]],
        ["C", [str(F.code, "code")]],
        ["M", [str(F.message, "message")]],
        ["D", [str(F.detail)]],
        ["H", [str(F.hint)]],
        ["P", [str(F.position)]],
        ["p", [str(F.internalPosition)]],
        ["q", [str(F.internalQuery)]],
        ["W", [str(F.where)]],
        ["s", [str(F.schemaName)]],
        ["t", [str(F.tableName)]],
        ["c", [str(F.columnName)]],
        ["d", [str(F.typeName)]],
        ["n", [str(F.constraintName)]],
        ["F", [str(F.file)]],
        ["L", [str(F.line)]],
        ["R", [str(F.routine)]],
      ],
      [str(F.unknownField)],
    ),
  ]),
];

export const asynchronous: MessageDef[] = [
  {
    name: "ErrorResponse",
    dir: "B",
    type: "E",
    shape: "typed",
    body: errorFields,
    info: " {severity} {code}: {message}",
    description: "An error; the fields carry severity, SQLSTATE, message and where it came from.",
  },
  {
    name: "NoticeResponse",
    async: true,
    dir: "B",
    type: "N",
    shape: "typed",
    body: errorFields,
    info: " {severity} {code}: {message}",
    description: "A notice or warning; same fields as ErrorResponse.",
  },
  {
    name: "ParameterStatus",
    async: true,
    dir: "B",
    type: "S",
    shape: "typed",
    body: [str(F.parameterName, "name"), str(F.parameterValue, "value")],
    info: " {name}={value}",
    description: "The current value of a run-time parameter the client should know.",
  },
  {
    name: "NotificationResponse",
    async: true,
    dir: "B",
    type: "A",
    shape: "typed",
    body: [int(F.pid, "pid"), str(F.condition, "channel"), str(F.text, "payload")],
    info: " {channel}: {payload}",
    description: "A NOTIFY on a channel the session listens to.",
  },
];
