/**
 * `--cosines FILE` of `amlfs inspect-space`: start-of-training inputs of your own model,
 * `{"cosine": [[...]] (N x C, C >= 2), "target": [...] (N integers in [0, C)),
 * "scale": s > 0, or an array of arrays broadcastable to [N, C] ([1, 1], [N, 1], [1, C], [N, C]) of numbers > 0}`.
 * Checked here, before Python starts, so that a bad file is named with its field.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { InspectError } from "./errors.js";
import type { GivenCosines } from "./python-inspect.js";

const finite = z.number().refine(Number.isFinite, { error: "expected a finite number" });
const positive = finite.refine((v) => v > 0, { error: "expected a number > 0" });
const fileSchema = z.strictObject({
  cosine: z.array(z.array(finite).min(2, { error: "expected a row of C >= 2 cosines" })).min(1, { error: "expected N >= 1 rows" }),
  target: z.array(z.number().int({ error: "expected an integer class index" })),
  scale: z.union([positive, z.array(z.array(positive).min(1)).min(1)], { error: "expected a number > 0 or an array of arrays" }),
});

/** The checked contents of `path`; InspectError naming the file and the field. */
export async function readCosinesFile(path: string): Promise<GivenCosines> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new InspectError(`${path}: expected a readable JSON file, got ${(error as Error).message}`, { cause: error });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InspectError(`${path}: field \`${issue?.path.join(".") || "(top level)"}\`: ${issue?.message ?? "invalid"}`);
  }
  const { cosine, target, scale } = parsed.data;
  const n = cosine.length;
  const c = (cosine[0] as number[]).length;
  const ragged = cosine.findIndex((row) => row.length !== c);
  if (ragged >= 0) throw new InspectError(`${path}: field \`cosine.${ragged}\`: expected ${c} cosines (as row 0), got ${cosine[ragged]?.length}`);
  if (target.length !== n) throw new InspectError(`${path}: field \`target\`: expected N = ${n} entries (one per row of cosine), got ${target.length}`);
  const bad = target.findIndex((y) => y < 0 || y >= c);
  if (bad >= 0) throw new InspectError(`${path}: field \`target.${bad}\`: expected a class index in [0, ${c}), got ${target[bad]}`);
  if (Array.isArray(scale)) {
    const rows = scale.length;
    const cols = (scale[0] as number[]).length;
    const fits = (rows === 1 || rows === n) && (cols === 1 || cols === c) && scale.every((row) => row.length === cols);
    if (!fits) throw new InspectError(`${path}: field \`scale\`: expected an array broadcastable to [N, C] = [${n}, ${c}], got ${rows} rows of ${cols}`);
  }
  return { cosine, target, scale };
}
