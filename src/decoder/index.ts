// The decoder as the rest of the project uses it (the pipeline, the analyses, the command line,
// the comparison and the tests): what it outputs and the descriptions it decodes by.

export { DEFAULT_MAX_LENGTH, DERIVED_FIELDS, EXPERTS, F as FIELDS, MESSAGES } from "../../dissector/pgwire.ts";
export type { DecodedField, FieldValue } from "../runtime/reader.ts";
export { infoText } from "../runtime/text.ts";
export { ConnectionDecoder, type ConnectionOptions, frameInfo } from "./connection.ts";
export { type DecodedItem, type DecodedMessage, FINDING_EXPERTS, type MessageOf, messageInfo } from "./framing.ts";
export { CONTEXT_FIELDS } from "./links.ts";
export { heuristicSide } from "./register.ts";
export { type ConnState, type EveryKey, setsPasswordLiteral } from "./state.ts";
