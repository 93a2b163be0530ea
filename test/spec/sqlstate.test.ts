// The SQLSTATE table against PostgreSQL's documentation (Appendix A, "PostgreSQL Error Codes"):
// expected names and class titles are taken from there, not from the table.

import { describe, expect, it } from "vitest";
import { SQLSTATE_CLASSES, SQLSTATES, sqlstateClass, sqlstateName } from "../../spec/data/sqlstate.ts";

describe("sqlstateName", () => {
  it.each([
    ["00000", "successful_completion"],
    ["01000", "warning"],
    ["08P01", "protocol_violation"],
    ["0A000", "feature_not_supported"],
    ["22012", "division_by_zero"],
    ["23505", "unique_violation"],
    ["28P01", "invalid_password"],
    ["3D000", "invalid_catalog_name"],
    ["40001", "serialization_failure"],
    ["42P01", "undefined_table"],
    ["53300", "too_many_connections"],
    ["57014", "query_canceled"],
    ["P0001", "raise_exception"],
    ["XX000", "internal_error"],
  ])("%s is %s", (code, name) => {
    expect(sqlstateName(code)).toBe(name);
  });

  it("names a code listed twice after its line that has a condition name", () => {
    // errcodes.txt lists 2202E first as ERRCODE_ARRAY_ELEMENT_ERROR without a condition name,
    // and 22008 second as ERRCODE_DATETIME_VALUE_OUT_OF_RANGE without one.
    expect(sqlstateName("2202E")).toBe("array_subscript_error");
    expect(sqlstateName("22008")).toBe("datetime_field_overflow");
    // Class 42 repeats codes of other classes as aliases; their own class's name wins.
    expect(sqlstateName("34000")).toBe("invalid_cursor_name");
    expect(sqlstateName("26000")).toBe("invalid_sql_statement_name");
    expect(sqlstateName("3F000")).toBe("invalid_schema_name");
  });

  it("knows the codes added in recent releases", () => {
    expect(sqlstateName("25P04")).toBe("transaction_timeout");
    expect(sqlstateName("58P03")).toBe("file_name_too_long");
    expect(sqlstateName("10608")).toBe("invalid_argument_for_xquery");
    expect(sqlstateName("22P07")).toBe("datum_version_mismatch");
  });

  it("does not know codes PostgreSQL 18 lacks, nor non-codes", () => {
    expect(sqlstateName("72000")).toBeUndefined(); // snapshot_too_old, removed in 17
    expect(sqlstateName("99999")).toBeUndefined();
    expect(sqlstateName("")).toBeUndefined();
    expect(sqlstateName("toString")).toBeUndefined();
    expect(sqlstateName("__proto__")).toBeUndefined();
    expect(sqlstateName("42p01")).toBeUndefined();
  });
});

describe("kinds", () => {
  it("marks success, warnings and errors", () => {
    expect(SQLSTATES["00000"].kind).toBe("S");
    expect(SQLSTATES["01000"].kind).toBe("W");
    expect(SQLSTATES["02000"].kind).toBe("W");
    expect(SQLSTATES["23505"].kind).toBe("E");
  });

  it("gives kind S only to class 00 and W only to classes 01 and 02", () => {
    for (const [code, { kind }] of Object.entries(SQLSTATES)) {
      const cls = code.slice(0, 2);
      const expected = cls === "00" ? "S" : cls === "01" || cls === "02" ? "W" : "E";
      expect(kind, code).toBe(expected);
    }
  });
});

describe("sqlstateClass", () => {
  it.each([
    ["28P01", "Invalid Authorization Specification"],
    ["28000", "Invalid Authorization Specification"],
    ["42P01", "Syntax Error or Access Rule Violation"],
    ["08006", "Connection Exception"],
    ["23505", "Integrity Constraint Violation"],
    ["XX001", "Internal Error"],
    ["P0002", "PL/pgSQL Error"],
    ["HV00N", "Foreign Data Wrapper Error (SQL/MED)"],
  ])("class of %s is %s", (code, title) => {
    expect(sqlstateClass(code)).toBe(title);
  });

  it("goes by the first two characters, so unknown codes of a known class still have one", () => {
    expect(sqlstateClass("42")).toBe("Syntax Error or Access Rule Violation");
    expect(sqlstateClass("42ZZZ")).toBe("Syntax Error or Access Rule Violation");
    expect(sqlstateName("42ZZZ")).toBeUndefined();
  });

  it("has no class for unknown prefixes or too-short input", () => {
    expect(sqlstateClass("72000")).toBeUndefined();
    expect(sqlstateClass("ZZ000")).toBeUndefined();
    expect(sqlstateClass("4")).toBeUndefined();
    expect(sqlstateClass("")).toBeUndefined();
  });
});

describe("the table as a whole", () => {
  const codes = Object.keys(SQLSTATES);
  const classes = Object.keys(SQLSTATE_CLASSES);

  it("has a plausible size", () => {
    expect(codes.length).toBeGreaterThan(250);
    expect(codes.length).toBeLessThan(320);
    expect(classes.length).toBeGreaterThanOrEqual(40);
    expect(classes.length).toBeLessThanOrEqual(50);
  });

  it("has only 5-character codes of digits and upper-case letters", () => {
    for (const code of codes) expect(code).toMatch(/^[0-9A-Z]{5}$/);
  });

  it("has only 2-character class keys with a title", () => {
    for (const cls of classes) {
      expect(cls).toMatch(/^[0-9A-Z]{2}$/);
      expect(SQLSTATE_CLASSES[cls].length).toBeGreaterThan(0);
    }
  });

  it("puts every code in an existing class", () => {
    for (const code of codes) expect(SQLSTATE_CLASSES, code).toHaveProperty([code.slice(0, 2)]);
  });

  it("gives every class its generic 000 code, except class 10 (XQuery), which has only 10608", () => {
    for (const cls of classes) {
      if (cls === "10") expect(Object.keys(SQLSTATES).filter((c) => c.startsWith("10"))).toEqual(["10608"]);
      else expect(SQLSTATES, cls).toHaveProperty([`${cls}000`]);
    }
  });

  it("has lower-case snake_case condition names", () => {
    for (const { name } of Object.values(SQLSTATES)) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it("agrees with sqlstateName and sqlstateClass for every code", () => {
    for (const code of codes) {
      expect(sqlstateName(code)).toBe(SQLSTATES[code].name);
      expect(sqlstateClass(code)).toBe(SQLSTATE_CLASSES[code.slice(0, 2)]);
    }
  });
});
