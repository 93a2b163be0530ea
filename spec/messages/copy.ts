// COPY: the responses that start the sub-protocol and the messages inside it.

import { copyRows, int, intN, type MessageDef, repeat, str } from "../dsl.ts";
import { F } from "../fields.ts";

function copyResponse(name: string, type: string, effect: "copyIn" | "copyOut" | "copyBoth", description: string) {
  const m: MessageDef = {
    name,
    dir: "B",
    type,
    shape: "typed",
    body: [intN(F.format, 1, "format"), int(F.copyColumns, "n"), repeat("$n", [int(F.format)])],
    info: " format={format} columns={n}",
    effects: [effect],
    description,
  };
  return m;
}

const copyDataBody = [
  copyRows({
    field: F.copydata,
    row: F.copyRow,
    column: F.copyColumn,
    value: F.copyValue,
    isNull: F.copyNull,
    flags: F.copyFlags,
    extension: F.copyExtension,
    trailer: F.copyTrailer,
  }),
];

/** The client's COPY messages come while it copies in, or after an error dropped its COPY. */
const clientCopy = ["copyIn", "copyDropped"] as const;

function copyData(dir: "F" | "B"): MessageDef {
  return {
    name: "CopyData",
    dir,
    phases: dir === "F" ? clientCopy : ["copyOut"],
    type: "d",
    shape: "typed",
    body: copyDataBody,
    effects: ["copyData"],
    description: "A chunk of the COPY stream (or a replication message inside CopyBoth).",
  };
}

function copyDone(dir: "F" | "B"): MessageDef {
  return {
    name: "CopyDone",
    dir,
    type: "c",
    shape: "typed",
    fixedLength: 4,
    body: [],
    effects: [dir === "F" ? "copyInDone" : "copyOutDone"],
    phases: dir === "F" ? clientCopy : ["copyOut"],
    description: "The sender has finished its COPY data.",
  };
}

export const copy: MessageDef[] = [
  copyResponse("CopyInResponse", "G", "copyIn", "COPY FROM STDIN starts: the client sends CopyData."),
  copyResponse("CopyOutResponse", "H", "copyOut", "COPY TO STDOUT starts: the server sends CopyData."),
  copyResponse("CopyBothResponse", "W", "copyBoth", "Copy-both mode starts (streaming replication)."),
  copyData("F"),
  copyData("B"),
  copyDone("F"),
  copyDone("B"),
  {
    name: "CopyFail",
    dir: "F",
    type: "f",
    shape: "typed",
    maxLength: 10000,
    body: [str(F.error, "reason")],
    info: ": {reason}",
    effects: ["copyInDone"],
    phases: clientCopy,
    description: "The client aborts COPY FROM STDIN with a reason.",
  },
];
