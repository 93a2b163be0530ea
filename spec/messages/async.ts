// Messages the server may send at any time, and the error and notice reports.

import { type Finding, int, lookup, type MessageDef, str, switchOn, untilZero } from "../dsl.ts";
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
        [
          "C",
          [
            str(F.code, "code"),
            lookup(F.codeName, "$code", "sqlstate", { bind: "codename" }),
            lookup(F.codeClass, "$code", "sqlstateClass", { prefix: 2 }),
          ],
        ],
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
        ["F", [str(F.file, "file")]],
        ["L", [str(F.line, "line")]],
        ["R", [str(F.routine, "routine")]],
      ],
      [str(F.unknownField)],
    ),
  ]),
];

/** Every error or notice that carries F/L/R tells who reads the traffic where in the server it came from. */
const sourceLeak: Finding = {
  expert: "sourceLeak",
  when: { var: "file", present: true },
  text: "Exposes the server's source: {file}:{line} in {routine}",
};

export const asynchronous: MessageDef[] = [
  {
    name: "ErrorResponse",
    dir: "B",
    type: "E",
    shape: "typed",
    body: errorFields,
    info: " {severity} {code}: {message}",
    effects: ["copyError"],
    phases: ["auth", "ready", "copyOut"],
    findings: [{ expert: "error", text: "{severity} {code} {codename}: {message}" }, sourceLeak],
    description: "An error; the fields carry severity, SQLSTATE, message and where it came from.",
  },
  {
    name: "NoticeResponse",
    async: true,
    phases: ["auth", "ready", "copyOut"],
    dir: "B",
    type: "N",
    shape: "typed",
    body: errorFields,
    info: " {severity} {code}: {message}",
    findings: [
      {
        expert: "noticeWarning",
        when: { var: "severity_v", oneOf: ["WARNING"] },
        text: "{severity} {code}: {message}",
      },
      { expert: "notice", when: { var: "severity_v", noneOf: ["WARNING"] }, text: "{severity} {code}: {message}" },
      sourceLeak,
    ],
    description: "A notice or warning; same fields as ErrorResponse.",
  },
  {
    name: "ParameterStatus",
    async: true,
    phases: ["ready", "copyOut"],
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
    phases: ["ready", "copyOut"],
    dir: "B",
    type: "A",
    shape: "typed",
    body: [int(F.pid, "pid"), str(F.condition, "channel"), str(F.text, "payload")],
    info: " {channel}: {payload}",
    description: "A NOTIFY on a channel the session listens to.",
  },
];
