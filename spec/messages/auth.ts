// Authentication: the server's 'R' requests (the Int32 after the length picks the variant) and
// the client's 'p' answers (the last request on the connection picks the variant).

import { attributes, bytes, int, type MessageDef, remember, str, untilZero } from "../dsl.ts";
import { F } from "../fields.ts";

function authRequest(
  name: string,
  code: number,
  description: string,
  rest: MessageDef["body"] = [],
  extra: Partial<MessageDef> = {},
): MessageDef {
  return {
    name,
    dir: "B",
    type: "R",
    shape: "typed",
    when: { peekInt32: [code] },
    body: [int(F.authtype, "authtype"), ...rest],
    effects: ["authRequest"],
    phases: ["auth"],
    description,
    ...(rest.length === 0 ? { fixedLength: 8 } : {}),
    ...extra,
  };
}

/** SCRAM's attributes (RFC 5802) inside the SASL data bound to $data. */
function scram(gs2 = false) {
  return attributes(
    "$data",
    {
      n: F.scramUser,
      r: F.scramNonce,
      s: F.scramSalt,
      i: F.scramIterations,
      c: F.scramChannelBinding,
      p: F.scramProof,
      v: F.scramVerifier,
      e: F.scramError,
    },
    { cbind: F.scramCbind, authzid: F.scramAuthzid, other: F.scramOther },
    gs2,
  );
}

export const auth: MessageDef[] = [
  authRequest("AuthenticationOk", 0, "Authentication succeeded.", [], {
    findings: [
      {
        expert: "trustLogin",
        when: { lastAuth: [-1] },
        text: "Access granted without a password (trust authentication)",
      },
    ],
  }),
  authRequest("AuthenticationKerberosV5", 2, "Kerberos V5 authentication is required (no longer supported).", [], {
    authMethod: "Kerberos V5",
  }),
  authRequest("AuthenticationCleartextPassword", 3, "A cleartext password is required.", [], {
    authMethod: "cleartext password",
  }),
  authRequest(
    "AuthenticationMD5Password",
    5,
    "An MD5-hashed password is required: md5(md5(password + user) + salt).",
    [bytes(F.salt, 4)],
    { fixedLength: 12, authMethod: "MD5" },
  ),
  authRequest("AuthenticationGSS", 7, "GSSAPI authentication is required.", [], { authMethod: "GSSAPI" }),
  authRequest("AuthenticationGSSContinue", 8, "GSSAPI or SSPI authentication data.", [bytes(F.gssData, "rest")]),
  authRequest("AuthenticationSSPI", 9, "SSPI authentication is required.", [], { authMethod: "SSPI" }),
  authRequest(
    "AuthenticationSASL",
    10,
    "SASL authentication is required; the mechanisms the server offers follow.",
    [untilZero([str(F.saslMech, "mech"), remember("mechs", ["mech"])])],
    // The statistics name the method by all the mechanisms offered ("SASL (SCRAM-SHA-256-PLUS, ...)").
    { info: " {mech}", statistics: { lists: ["mechs"] }, authMethod: "SASL" },
  ),
  authRequest("AuthenticationSASLContinue", 11, "A SASL challenge (SCRAM: server-first-message).", [
    bytes(F.saslData, "rest", "data"),
    scram(),
  ]),
  authRequest("AuthenticationSASLFinal", 12, "SASL outcome data (SCRAM: server-final-message).", [
    bytes(F.saslData, "rest", "data"),
    scram(),
  ]),
  {
    name: "AuthenticationRequest",
    dir: "B",
    type: "R",
    shape: "typed",
    body: [int(F.authtype, "authtype"), bytes(F.authData, "rest")],
    info: " type={authtype}",
    effects: ["authRequest"],
    phases: ["auth"],
    description: "An authentication request of a type PostgreSQL no longer sends or never defined.",
  },

  // The client's answers: one type byte 'p', four meanings.
  {
    name: "SASLInitialResponse",
    dir: "F",
    type: "p",
    shape: "typed",
    phases: ["auth"],
    when: { lastAuth: [10] },
    maxLength: 65535,
    body: [str(F.saslMech, "mech"), int(F.saslDataLength, "n"), bytes(F.saslData, "$n", "data"), scram(true)],
    info: " {mech}",
    description: "The SASL mechanism the client chose and its initial response (SCRAM: client-first-message).",
  },
  {
    name: "SASLResponse",
    dir: "F",
    type: "p",
    shape: "typed",
    phases: ["auth"],
    when: { lastAuth: [11] },
    maxLength: 65535,
    body: [bytes(F.saslData, "rest", "data"), scram()],
    description: "SASL mechanism data (SCRAM: client-final-message).",
  },
  {
    name: "GSSResponse",
    dir: "F",
    type: "p",
    shape: "typed",
    phases: ["auth"],
    when: { lastAuth: [7, 8, 9] },
    maxLength: 65535,
    body: [bytes(F.gssData, "rest")],
    description: "A GSSAPI or SSPI token.",
  },
  {
    name: "PasswordMessage",
    dir: "F",
    type: "p",
    shape: "typed",
    phases: ["auth"],
    maxLength: 65535,
    body: [str(F.password, "password")],
    findings: [
      { expert: "cleartextPassword", when: { lastAuth: [3], clear: true }, text: "Password sent in cleartext" },
      {
        expert: "md5Hash",
        when: { lastAuth: [5], clear: true },
        text: "MD5 password hash sent without TLS: with the salt and the user name it can be cracked offline",
      },
    ],
    description:
      "A password: cleartext after AuthenticationCleartextPassword, 'md5' and 32 hex digits after AuthenticationMD5Password.",
  },
];
