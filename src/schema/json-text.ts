/**
 * JSON text of a config file, parsed with the place of a syntax error: `line L, column C`
 * (1-based; columns count UTF-16 code units, as editors do for ASCII). V8 names an offset for
 * some errors and none for others ("Unexpected token ..."), so the offset is found by a small
 * scan of the grammar instead, the same for every error.
 */
import { ConfigError } from "./errors.js";

/** Offset of the first character where `text` stops being JSON (text.length when it ends early). */
export function jsonErrorOffset(text: string): number {
  let at = 0;
  const fail = (): never => {
    throw at;
  };
  const space = () => {
    while (at < text.length && " \t\n\r".includes(text[at] as string)) at++;
  };
  const expect = (char: string) => {
    if (text[at] !== char) fail();
    at++;
  };
  const digits = () => {
    const start = at;
    while (at < text.length && (text[at] as string) >= "0" && (text[at] as string) <= "9") at++;
    if (at === start) fail();
  };
  const string = () => {
    expect('"');
    while (at < text.length && text[at] !== '"') {
      const char = text[at] as string;
      if (char < " ") fail();
      if (char === "\\") {
        at++;
        if (text[at] === "u") {
          for (let i = 1; i <= 4; i++) if (!/[0-9a-fA-F]/.test(text[at + i] ?? "")) ((at += i), fail());
          at += 4;
        } else if (!'"\\/bfnrt'.includes(text[at] ?? "x")) fail();
      }
      at++;
    }
    expect('"');
  };
  const number = () => {
    if (text[at] === "-") at++;
    if (text[at] === "0") at++;
    else digits();
    if (text[at] === ".") ((at += 1), digits());
    if (text[at] === "e" || text[at] === "E") {
      at++;
      if (text[at] === "+" || text[at] === "-") at++;
      digits();
    }
  };
  const value = (): void => {
    space();
    const char = text[at];
    if (char === "{" || char === "[") {
      const close = char === "{" ? "}" : "]";
      at++;
      space();
      if (text[at] === close) return void at++;
      for (;;) {
        if (close === "}") {
          space();
          string();
          space();
          expect(":");
        }
        value();
        space();
        if (text[at] === close) return void at++;
        expect(",");
      }
    }
    if (char === '"') return string();
    if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) return number();
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, at)) return void (at += word.length);
    }
    for (const word of ["true", "false", "null"]) {
      // the longest matching start of a literal, so `tru}` points at the `}`
      let i = 0;
      while (i < word.length && text[at + i] === word[i]) i++;
      if (i > 0) ((at += i), fail());
    }
    fail();
  };
  try {
    value();
    space();
    if (at < text.length) fail();
  } catch (offset) {
    if (typeof offset !== "number") throw offset;
    return Math.min(offset, text.length);
  }
  return -1;
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) + 1 };
}

/** `JSON.parse(text)`, or a ConfigError naming `source`, the line and column, and what V8 says. */
export function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset < 0 ? text.length : offset);
    const reason = (error as Error).message.replace(/ (in JSON )?at position \d+.*$/, "").replace(/, ".*" is not valid JSON$/s, "");
    const near = offset >= text.length ? "the end of the text" : JSON.stringify(text.slice(offset, offset + 12));
    throw new ConfigError(
      source,
      [{ path: "(top level)", message: `expected JSON, got a syntax error at line ${line}, column ${column} (near ${near}): ${reason}` }],
      { cause: error },
    );
  }
}
