// The whole protocol, as the generator reads it.

import type { MessageDef, PayloadSet } from "./dsl.ts";
import { F } from "./fields.ts";
import { asynchronous } from "./messages/async.ts";
import { auth } from "./messages/auth.ts";
import { copy } from "./messages/copy.ts";
import { pgoutputMessages, pgoutputSet } from "./messages/pgoutput.ts";
import { functionCall, query } from "./messages/query.ts";
import { streaming } from "./messages/replication.ts";
import { startup } from "./messages/startup.ts";

export const messages: readonly MessageDef[] = [
  ...startup,
  ...auth,
  ...query,
  ...functionCall,
  // Before copy: they are CopyData variants, and CopyData (no selector) comes last in its group.
  ...streaming,
  ...copy,
  ...asynchronous,
  // Carried inside XLogData (shape "payload"), not framed on their own.
  ...pgoutputMessages,
];

/** Message sets carried inside other messages, and what starts them. */
export const payloadSets: readonly PayloadSet[] = [pgoutputSet];

export const fields = F;

/** Protocol versions the spec covers. */
export const protocolVersions = ["3.0", "3.2"] as const;
