/**
 * Turns zod issues into problems that name the path, what was expected and what was
 * given. `expectedPhrase` is the error map for parsing (fields that need a precise
 * phrase set their own, see fields.ts); `formatIssues` adds the given value.
 */
import type { z } from "zod";
import { editDistance } from "./edit-distance.js";
import type { ConfigProblem } from "./errors.js";

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

const ARTICLES: Record<string, string> = {
  int: "an integer",
  number: "a number",
  string: "a string",
  boolean: "a boolean",
  object: "an object",
  array: "an array",
  record: "an object",
};

function quoteAll(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === "string" ? JSON.stringify(value) : String(value))).join(", ");
}

/** A short rendering of a given value. */
export function describeGiven(value: unknown): string {
  if (value === undefined) return "nothing (the field is missing)";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

function count(n: number | bigint, origin: string): string {
  const unit = origin === "string" ? "character" : "item";
  return `${n} ${unit}${n === 1 || n === 1n ? "" : "s"}`;
}

function bound(issue: { inclusive?: boolean }, strict: string, loose: string): string {
  return issue.inclusive === false ? strict : loose;
}

/** "Did you mean" for an unknown key: a known key equal up to case, or one edit away. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return (
    known.find((candidate) => candidate.toLowerCase() === lower) ??
    known.find((candidate) => editDistance(candidate, key) <= 1)
  );
}

function knownKeys(issue: RawIssue): string[] {
  const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
  return shape === undefined ? [] : Object.keys(shape);
}

/** The error map: an "expected ..." phrase for each zod issue (without the given value). */
export function expectedPhrase(issue: RawIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${ARTICLES[issue.expected] ?? issue.expected}`;
    case "too_small":
      if (issue.origin === "number" || issue.origin === "int") {
        return `expected a number ${bound(issue, ">", ">=")} ${issue.minimum}`;
      }
      return `expected at least ${count(issue.minimum, issue.origin)}`;
    case "too_big":
      if (issue.origin === "number" || issue.origin === "int") {
        return `expected a number ${bound(issue, "<", "<=")} ${issue.maximum}`;
      }
      return `expected at most ${count(issue.maximum, issue.origin)}`;
    case "invalid_value":
      return `expected ${issue.values.length === 1 ? "" : "one of "}${quoteAll(issue.values)}`;
    case "invalid_format":
      return `expected a string matching ${issue.format === "regex" ? String(issue["pattern"]) : issue.format}`;
    case "unrecognized_keys": {
      const known = knownKeys(issue);
      const keys = issue.keys.map((key) => {
        const suggestion = closestKey(key, known);
        const hint = suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
        return `${JSON.stringify(key)}${hint}`;
      });
      const label = keys.length === 1 ? "unknown key" : "unknown keys";
      return `${label} ${keys.join(", ")}; expected only ${known.join(", ")}`;
    }
    case "invalid_union": {
      if ("discriminator" in issue && typeof issue["discriminator"] === "string") {
        return `expected one of ${quoteAll((issue["options"] as unknown[] | undefined) ?? [])}`;
      }
      const alternatives = issue.errors
        .map((branch) => branch[0]?.message.replace(/^expected /, ""))
        .filter((text): text is string => text !== undefined && text !== "");
      return alternatives.length === 0 ? "expected a valid value" : `expected ${alternatives.join(" or ")}`;
    }
    default:
      return issue.message ?? "invalid value";
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path.reduce<string>((text, segment, index) => {
    if (typeof segment === "number") return `${text}[${segment}]`;
    return index === 0 ? String(segment) : `${text}.${String(segment)}`;
  }, "");
}

/** The value an issue is about; for a bad discriminator, the discriminator's value. */
function given(issue: Issue): unknown {
  const input = (issue as { input?: unknown }).input;
  if (issue.code === "invalid_union" && "discriminator" in issue && input !== null && typeof input === "object") {
    return (input as Record<string, unknown>)[String(issue["discriminator"])];
  }
  return input;
}

/** One problem per issue: path, expected, given. Requires parsing with `reportInput: true`. */
export function formatIssues(issues: readonly Issue[]): ConfigProblem[] {
  return issues.map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === "unrecognized_keys") return { path, message: issue.message };
    // A rule's issue that carries no value (an unknown option: its name is the problem).
    if (issue.code === "custom" && issue.params?.["noGiven"] === true) return { path, message: issue.message };
    return { path, message: `${issue.message}, got ${describeGiven(given(issue))}` };
  });
}
