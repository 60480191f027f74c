/**
 * Reader of the golden vectors in proto/vectors/ (format: proto/vectors/README.md):
 * non-finite numbers written as "NaN", "Infinity", "-Infinity" are decoded back.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const VECTORS_DIR = fileURLToPath(new URL("../../proto/vectors/", import.meta.url));

export interface VectorCase {
  name: string;
  valid: boolean;
  error?: { field: string };
  [key: string]: unknown;
}

export interface VectorFile<C extends VectorCase = VectorCase> {
  description: string;
  cases: C[];
  [key: string]: unknown;
}

const NON_FINITE: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** Decodes the non-finite markers anywhere in a parsed JSON value. */
export function decodeNonFinite(value: unknown): unknown {
  if (typeof value === "string") return value in NON_FINITE ? NON_FINITE[value] : value;
  if (Array.isArray(value)) return value.map(decodeNonFinite);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, decodeNonFinite(entry)]));
  }
  return value;
}

/** Reads `proto/vectors/<relativePath>` and decodes it. */
export function readVectors<C extends VectorCase = VectorCase>(relativePath: string): VectorFile<C> {
  const raw: unknown = JSON.parse(readFileSync(join(VECTORS_DIR, relativePath), "utf8"));
  const decoded = decodeNonFinite(raw) as VectorFile<C>;
  if (!Array.isArray(decoded.cases) || decoded.cases.length === 0) {
    throw new Error(`proto/vectors/${relativePath}: expected a non-empty "cases" array`);
  }
  return decoded;
}

export const validCases = <C extends VectorCase>(file: VectorFile<C>): C[] => file.cases.filter((c) => c.valid);
export const invalidCases = <C extends VectorCase>(file: VectorFile<C>): C[] => file.cases.filter((c) => !c.valid);
