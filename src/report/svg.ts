/** Small helpers to write SVG and HTML as strings: escaping, attributes, coordinates. */

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text and attribute values for XML/HTML: `&`, `<`, `>`, `"` and `'` escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** A pixel coordinate with at most two decimals (keeps the files small and stable). */
export function px(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`expected a finite pixel coordinate, got ${value}`);
  return String(Math.round(value * 100) / 100);
}

/** ` name="value"` pairs, escaped; undefined values are left out. */
export function attributes(values: Readonly<Record<string, string | number | undefined>>): string {
  return Object.entries(values)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(typeof value === "number" ? px(value) : value)}"`)
    .join("");
}

/** An element with escaped attributes; `children` is raw markup (already escaped). */
export function element(tag: string, attrs: Readonly<Record<string, string | number | undefined>>, children = ""): string {
  return children === "" ? `<${tag}${attributes(attrs)}/>` : `<${tag}${attributes(attrs)}>${children}</${tag}>`;
}

/** Colors of the series, in order (colour-blind friendly, Okabe-Ito). */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"] as const;

export function paletteColor(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}
