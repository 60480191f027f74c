import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { driftMessage, GENERATED_FILES } from "../../src/schema/generated.js";
import { EXPERIMENT_SCHEMA_FILE, EXPERIMENT_SCHEMA_ID, experimentJsonSchema } from "../../src/schema/json-schema.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const committed = readFileSync(`${ROOT}${EXPERIMENT_SCHEMA_FILE}`, "utf8");
const experimentFile = GENERATED_FILES.find((file) => file.path === EXPERIMENT_SCHEMA_FILE)!;
const render = experimentFile.render;
const schemaDriftMessage = (text: string | undefined) => driftMessage(experimentFile, text);

/** Every property schema found under `properties` anywhere, with its dotted path. */
function properties(node: unknown, path = ""): [string, Record<string, unknown>][] {
  if (node === null || typeof node !== "object") return [];
  const record = node as Record<string, unknown>;
  const own = Object.entries((record.properties as Record<string, Record<string, unknown>> | undefined) ?? {});
  const nested = [...own.map(([key, child]) => [`${path}${key}`, child] as const)].flatMap(([childPath, child]) => [
    [childPath, child] as [string, Record<string, unknown>],
    ...properties(child, `${childPath}.`),
  ]);
  const alternatives = ((record.oneOf ?? record.anyOf) as unknown[] | undefined) ?? [];
  return [...nested, ...alternatives.flatMap((alternative) => properties(alternative, path))];
}

describe("proto/experiment.schema.json", () => {
  it("is generated deterministically", () => {
    expect(render()).toBe(render());
  });

  it("matches the committed file (run `npm run proto` after changing the zod schema)", () => {
    expect(committed).toBe(render());
    expect(schemaDriftMessage(committed)).toBeNull();
  });

  it("is draft 2020-12 with an $id, a trailing newline and no unknown keys allowed", () => {
    const schema = experimentJsonSchema();
    expect(Object.keys(schema).slice(0, 4)).toEqual(["$schema", "$id", "title", "description"]);
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toBe(EXPERIMENT_SCHEMA_ID);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(["name", "baseline", "dataset", "search", "reward"]);
    expect(committed.endsWith("}\n")).toBe(true);
  });

  it("describes every field (the texts flow into the docs)", () => {
    const fields = properties(experimentJsonSchema());
    expect(fields.length).toBeGreaterThan(25);
    const undocumented = fields.filter(([path, child]) => typeof child.description !== "string" && !path.endsWith("kind"));
    expect(undocumented.map(([path]) => path)).toEqual([]);
  });

  it("reports drift with the command to run", () => {
    expect(schemaDriftMessage(committed.replace("AM-LFS experiment", "AM-LFS"))).toBe(
      "proto/experiment.schema.json is out of date: run `npm run proto`",
    );
    expect(schemaDriftMessage(undefined)).toBe("proto/experiment.schema.json is missing: run `npm run proto`");
  });

  it("`generate.ts --check` passes on the committed file", () => {
    const tsx = `${ROOT}node_modules/.bin/tsx`;
    expect(() => execFileSync(tsx, ["src/schema/generate.ts", "--check"], { cwd: ROOT, stdio: "pipe" })).not.toThrow();
  });
});
