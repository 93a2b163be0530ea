// Expert infos the runtime raises, in both languages. Message-independent: framing and bounds.

export interface ExpertDef {
  readonly abbrev: string;
  readonly text: string;
  readonly group: "MALFORMED" | "PROTOCOL" | "UNDECODED" | "SEQUENCE" | "RESPONSE_CODE" | "SECURITY";
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

  unexpectedResponse: {
    abbrev: "unexpected_response",
    text: "A response with no request waiting for it",
    group: "PROTOCOL",
    severity: "WARN",
  },
  unexpectedMessage: {
    abbrev: "unexpected_message",
    text: "A message that is not allowed at this point of the connection",
    group: "SEQUENCE",
    severity: "WARN",
  },
  unknownPayload: {
    abbrev: "unknown_payload",
    text: "Unknown type of a message or value carried inside another message",
    group: "PROTOCOL",
    severity: "WARN",
  },
  copyFormat: {
    abbrev: "copy_format",
    text: "COPY data that does not follow its format",
    group: "PROTOCOL",
    severity: "WARN",
  },
  copyLongRow: {
    abbrev: "copy_long_row",
    text: "A COPY row too long to split into fields",
    group: "UNDECODED",
    severity: "NOTE",
  },

  // Raised by the messages' findings (spec/messages/*.ts).
  error: { abbrev: "error", text: "The server reports an error", group: "RESPONSE_CODE", severity: "ERROR" },
  noticeWarning: { abbrev: "warning", text: "The server sends a warning", group: "RESPONSE_CODE", severity: "WARN" },
  notice: { abbrev: "notice", text: "The server sends a notice", group: "RESPONSE_CODE", severity: "NOTE" },
  sourceLeak: {
    abbrev: "source_leak",
    text: "The message names the server's source file, line and routine",
    group: "SECURITY",
    severity: "NOTE",
  },
  cleartextPassword: {
    abbrev: "cleartext_password",
    text: "Password sent in cleartext",
    group: "SECURITY",
    severity: "WARN",
  },
  md5Hash: { abbrev: "md5_hash", text: "MD5 password hash sent without TLS", group: "SECURITY", severity: "WARN" },
  trustLogin: {
    abbrev: "trust_login",
    text: "Access granted without a password",
    group: "SECURITY",
    severity: "WARN",
  },
  tlsRefused: { abbrev: "tls_refused", text: "The server refused encryption", group: "SECURITY", severity: "WARN" },
  passwordLiteral: {
    abbrev: "password_literal",
    text: "A query sets a password in plain text",
    group: "SECURITY",
    severity: "WARN",
  },
} as const satisfies Record<string, ExpertDef>;

export type ExpertKey = keyof typeof experts;
