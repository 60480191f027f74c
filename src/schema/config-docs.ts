/**
 * docs/configs.md, the reference of every experiment field, rendered from the generated
 * JSON Schema (json-schema.ts), so the page cannot drift from the zod source: one table
 * per section, one row per field (path, type, default, meaning), unions as their options.
 */
import { EXPERIMENT_SCHEMA_FILE, experimentJsonSchema } from "./json-schema.js";

type Node = Record<string, unknown>;

export const CONFIG_DOCS_FILE = "docs/configs.md";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A short type: `integer >= 1`, `"a" \| "b"`, `array of number`, `object`, or the union of its options. */
export function typeOf(node: Node): string {
  if (Array.isArray(node.enum)) return node.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (node.const !== undefined) return JSON.stringify(node.const);
  const options = (node.anyOf ?? node.oneOf) as Node[] | undefined;
  if (options !== undefined) return options.map(typeOf).join(" or ");
  const type = String(node.type ?? "any");
  if (type === "array") {
    const items = node.items as Node | undefined;
    const least = typeof node.minItems === "number" ? `, at least ${node.minItems}` : "";
    return `array of ${items === undefined ? "any" : typeOf(items)}${least}`;
  }
  if (type === "object" && node.properties !== undefined) {
    const kind = (node.properties as Record<string, Node>).kind;
    if (kind?.const !== undefined) return `{kind: ${JSON.stringify(kind.const)}, ...}`;
  }
  const bounds: string[] = [];
  if (typeof node.minimum === "number") bounds.push(`>= ${node.minimum}`);
  if (typeof node.exclusiveMinimum === "number") bounds.push(`> ${node.exclusiveMinimum}`);
  if (typeof node.maximum === "number" && node.maximum !== MAX_SAFE) bounds.push(`<= ${node.maximum}`);
  if (typeof node.exclusiveMaximum === "number") bounds.push(`< ${node.exclusiveMaximum}`);
  if (typeof node.pattern === "string") bounds.push(`matching \`${node.pattern}\``);
  return [type, ...bounds].join(" ");
}

function rows(node: Node, path: string, required: boolean, out: string[]): void {
  const fallback = node.default === undefined ? (required ? "required" : "optional") : `\`${JSON.stringify(node.default)}\``;
  const options = (node.oneOf ?? node.anyOf) as Node[] | undefined;
  let meaning = String(node.description ?? "");
  if (options !== undefined && options.some((option) => option.description !== undefined)) {
    meaning += ` Options: ${options.map((option) => `${typeOf(option)}: ${String(option.description ?? "")}`).join("; ")}`;
  }
  out.push(`| \`${path}\` | ${cell(typeOf(node))} | ${cell(fallback)} | ${cell(meaning.trim())} |`);
  const properties = node.properties as Record<string, Node> | undefined;
  if (properties === undefined || node.type !== "object") return;
  const inner = new Set((node.required as string[] | undefined) ?? []);
  for (const [name, child] of Object.entries(properties)) rows(child, `${path}.${name}`, inner.has(name), out);
}

export function renderConfigDocs(): string {
  const schema = experimentJsonSchema() as Node;
  const properties = schema.properties as Record<string, Node>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const lines = [
    "# Experiment config reference",
    "",
    `Generated from the zod schema (src/schema/) through \`${EXPERIMENT_SCHEMA_FILE}\` by`,
    "`npm run proto`; `make test` fails when this page is out of date. `npx amlfs validate <config>`",
    "prints a config with every default filled in. Examples: `configs/`.",
    "",
    String(schema.description ?? ""),
    "",
  ];
  for (const [name, node] of Object.entries(properties)) {
    lines.push(`## \`${name}\``, "");
    if (node.description !== undefined && node.type === "object") lines.push(String(node.description), "");
    lines.push("| field | type | default | meaning |", "|---|---|---|---|");
    const body: string[] = [];
    if (node.type === "object" && node.properties !== undefined) {
      const inner = new Set((node.required as string[] | undefined) ?? []);
      for (const [field, child] of Object.entries(node.properties as Record<string, Node>)) {
        rows(child, `${name}.${field}`, inner.has(field), body);
      }
    } else {
      rows(node, name, required.has(name), body);
    }
    lines.push(...body, "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
