// Expert infos the runtime raises, in both languages. Message-independent: framing and bounds.

export interface ExpertDef {
  readonly abbrev: string;
  readonly text: string;
  readonly group: "MALFORMED" | "PROTOCOL" | "UNDECODED" | "SEQUENCE";
  readonly severity: "ERROR" | "WARN" | "NOTE" | "CHAT";
}

export const experts = {
  badLength: { abbrev: "bad_length", text: "Invalid message length", group: "MALFORMED", severity: "ERROR" },
  unknownType: { abbrev: "unknown_type", text: "Unknown message type", group: "PROTOCOL", severity: "ERROR" },
  overrun: { abbrev: "overrun", text: "Field runs past the end of the message", group: "MALFORMED", severity: "ERROR" },
  unterminated: {
    abbrev: "unterminated",
    text: "String has no terminating NUL",
    group: "MALFORMED",
    severity: "ERROR",
  },
  trailing: { abbrev: "trailing", text: "Bytes after the last field", group: "MALFORMED", severity: "WARN" },
  truncated: { abbrev: "truncated", text: "Message cut short in the capture", group: "UNDECODED", severity: "WARN" },
  resync: { abbrev: "resync", text: "Bytes skipped to find the next message", group: "MALFORMED", severity: "WARN" },
} as const satisfies Record<string, ExpertDef>;

export type ExpertKey = keyof typeof experts;
