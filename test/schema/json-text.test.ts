import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/schema/errors.js";
import { jsonErrorOffset, lineColumn, parseJsonText } from "../../src/schema/json-text.js";

function message(text: string): string {
  try {
    parseJsonText(text, "c.json");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems[0]?.message ?? "";
  }
  throw new Error("expected a syntax error");
}

describe("parseJsonText", () => {
  it.each([
    ["a trailing comma in an object", '{\n  "a": 1,\n}', 3, 1],
    ["a missing colon", '{"a" 1}', 1, 6],
    ["a cut-off array", "[1,2", 1, 5],
    ["an empty file", "", 1, 1],
    ["a misspelt literal (V8 gives no position)", '{\n "a": tru}', 2, 10],
    ["a trailing comma in an array (V8 gives no position)", '{"a": [1, 2,]}', 1, 13],
    ["text after the value", '{"a": 1}\n\n  x', 3, 3],
    ["a control character in a string", '{"a": "x\u0001"}', 1, 9],
    ["a leading zero", '{"a": 01}', 1, 8],
  ])("places %s", (_name, text, line, column) => {
    expect(message(text)).toMatch(new RegExp(`^expected JSON, got a syntax error at line ${line}, column ${column} \\(near `));
  });

  it("returns what JSON.parse returns for valid text, and the scan agrees it is valid", () => {
    for (const text of ['{"a": [1, {"b": null}], "c": "\\u00e9\\n", "d": -1.5e+3, "e": true}', "0", ' "x" ', "[]"]) {
      expect(parseJsonText(text, "c.json")).toEqual(JSON.parse(text));
      expect(jsonErrorOffset(text)).toBe(-1);
    }
  });

  it("counts lines and columns from 1", () => {
    expect(lineColumn("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});
