/**
 * Variants of bench/search_efficacy.ts: a name and dotted config overrides.
 *
 * `--variant name=amlfs-paper:mode=amlfs,search.space=paper` reads as the variant
 * `amlfs-paper` with `search.mode = "amlfs"` and `search.space = "paper"`. Keys are dotted
 * paths into the experiment JSON (created where missing) or one of the shorthands below;
 * a value is JSON when it parses as JSON (`0.1`, `true`, `[1,0,1,0]`, `{"kind":"identity"}`,
 * `"1"` for the string 1), else the text itself (`paper`). Commas inside brackets, braces
 * or quotes do not split pairs.
 */

/** Dotted path -> value, applied in order. */
export type Overrides = Readonly<Record<string, unknown>>;

export interface Variant {
  name: string;
  overrides: Overrides;
}

/** Short keys for the fields a comparison changes most. */
export const SHORTHANDS: Readonly<Record<string, string>> = {
  mode: "search.mode",
  B: "search.B",
  W: "workers.count",
  sigma: "search.sigmaStd",
};

/** The controls and the search, at equal epochs (baseline mode gets B = 1 and W = 1, see `configFor`). */
export const BUILT_IN_VARIANTS: readonly Variant[] = [
  { name: "baseline", overrides: { "search.mode": "baseline" } },
  { name: "fixed", overrides: { "search.mode": "fixed" } },
  { name: "amlfs", overrides: { "search.mode": "amlfs" } },
];

const NAME = /^[a-z0-9][a-z0-9_-]{0,23}$/;

/** `text` split at the top-level occurrences of `separator` (not inside [], {} or "..."). */
export function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === "\\") i += 1;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === "[" || char === "{") depth += 1;
    else if (char === "]" || char === "}") depth -= 1;
    else if (char === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** A value as JSON when it parses, else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `name=<slug>[:key=value,key=value...]` as a variant; errors name the flag and what was expected. */
export function parseVariant(text: string): Variant {
  const colon = text.indexOf(":");
  const head = colon === -1 ? text : text.slice(0, colon);
  const body = colon === -1 ? "" : text.slice(colon + 1);
  const name = head.startsWith("name=") ? head.slice("name=".length) : "";
  if (!NAME.test(name)) {
    throw new Error(
      `--variant ${JSON.stringify(text)}: expected "name=<name>:key=value,..." with a name of 1 to 24 lowercase ` +
        'letters, digits, "-" or "_", starting with a letter or digit',
    );
  }
  const overrides: Record<string, unknown> = {};
  for (const pair of body === "" ? [] : splitTopLevel(body, ",")) {
    const equals = pair.indexOf("=");
    const key = equals === -1 ? "" : pair.slice(0, equals).trim();
    if (key === "" || !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(key)) {
      throw new Error(`--variant ${JSON.stringify(text)}: expected key=value pairs with a dotted key, got ${JSON.stringify(pair)}`);
    }
    overrides[SHORTHANDS[key] ?? key] = parseValue(pair.slice(equals + 1));
  }
  return { name, overrides };
}

/** A deep copy of `config` with each dotted path set (intermediate objects created). */
export function applyOverrides<T>(config: T, overrides: Overrides): T {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const [path, value] of Object.entries(overrides)) {
    const keys = path.split(".");
    let node: Record<string, unknown> = copy;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (typeof next !== "object" || next === null || Array.isArray(next)) {
        throw new Error(`override ${path}: ${key} is ${JSON.stringify(next)}, not an object`);
      }
      node = node[key] as Record<string, unknown>;
    }
    node[keys.at(-1) as string] = structuredClone(value);
  }
  return copy as T;
}

/** The overrides as `key=value,...` (JSON values), for the report. */
export function describeOverrides(overrides: Overrides): string {
  return Object.entries(overrides)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(", ");
}
