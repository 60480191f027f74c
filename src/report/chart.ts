/**
 * One SVG figure made of panels, each an x-y plot with axes, ticks, labels and a legend:
 * the building block of every figure of the report. Hand-written SVG, no dependency.
 * Every figure is an `<svg data-figure="<id>">` element (the browser test finds them so).
 */
import { type LinearScale, formatTick, linearScale, niceDomain, niceStep, niceTicks } from "./scale.js";
import { element, escapeXml, paletteColor, px } from "./svg.js";

export type Point = readonly [x: number, y: number];

export interface Series {
  label: string;
  points: readonly Point[];
  /** Default: the palette color of the series' index. */
  color?: string;
  /** SVG stroke-dasharray, e.g. "6 3". */
  dash?: string;
  /** "line" (default) joins the points, breaking at non-finite ones; "points" draws dots. */
  style?: "line" | "points";
  /** Leave the series out of the legend (e.g. one of many strip points). */
  hideInLegend?: boolean;
}

/** A shaded area between two curves that share their x values (e.g. min..max of rewards). */
export interface Band {
  label: string;
  lower: readonly Point[];
  upper: readonly Point[];
  color: string;
}

export interface PanelSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  bands?: readonly Band[];
  /** Default: the data's range widened to nice ticks. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  /** A line of text drawn inside the plot (e.g. "mu is never updated in baseline mode"). */
  note?: string;
}

export interface FigureSpec {
  /** Unique in the report; becomes the svg's id and data-figure attribute. */
  id: string;
  /** Accessible title (`<title>` and aria-label). */
  title: string;
  panels: readonly PanelSpec[];
  /** Panels per row (default: all in one row). */
  columns?: number;
  panelWidthPx?: number;
  panelHeightPx?: number;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const MARGIN = { left: 58, top: 26, bottom: 42, legendGap: 12 };
const LEGEND_WIDTH_PX = 170;
const LEGEND_ROW_PX = 16;
const FONT = 'font-family="sans-serif"';
/** Mean advance of a sans-serif character over its font size, rounded up: to keep labels inside their panel. */
const CHAR_WIDTH_EM = 0.6;

/** The whole figure as one `<svg>` string, its size the panels' grid. */
export function renderFigure(figure: FigureSpec): string {
  if (figure.panels.length === 0) throw new RangeError(`figure ${figure.id}: expected at least one panel`);
  const columns = Math.max(1, Math.min(figure.columns ?? figure.panels.length, figure.panels.length));
  const rows = Math.ceil(figure.panels.length / columns);
  const width = figure.panelWidthPx ?? 460;
  const height = figure.panelHeightPx ?? 300;
  const panels = figure.panels
    .map((panel, index) =>
      renderPanel(panel, { x: (index % columns) * width, y: Math.floor(index / columns) * height, width, height }, `${figure.id}-${index}`),
    )
    .join("");
  const totalWidth = columns * width;
  const totalHeight = rows * height;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" id="${escapeXml(figure.id)}" data-figure="${escapeXml(figure.id)}" ` +
    `width="${totalWidth}" height="${totalHeight}" viewBox="0 0 ${totalWidth} ${totalHeight}" role="img" ` +
    `aria-label="${escapeXml(figure.title)}">` +
    `<title>${escapeXml(figure.title)}</title>` +
    element("rect", { x: 0, y: 0, width: totalWidth, height: totalHeight, fill: "#ffffff" }) +
    panels +
    `</svg>`
  );
}

/** One panel inside `box` (pixels of the figure); `key` makes its clip-path id unique. */
export function renderPanel(panel: PanelSpec, box: Box, key: string): string {
  const legend = panel.series.filter((series) => series.hideInLegend !== true);
  const legendWidth = legend.length + (panel.bands?.length ?? 0) > 0 ? LEGEND_WIDTH_PX : 0;
  const plot: Box = {
    x: box.x + MARGIN.left,
    y: box.y + MARGIN.top,
    width: Math.max(40, box.width - MARGIN.left - MARGIN.legendGap - legendWidth),
    height: Math.max(40, box.height - MARGIN.top - MARGIN.bottom),
  };
  const allPoints = [
    ...panel.series.flatMap((series) => series.points),
    ...(panel.bands ?? []).flatMap((band) => [...band.lower, ...band.upper]),
  ];
  const xDomain = panel.xDomain ?? niceDomain(allPoints.map(([x]) => x));
  const yDomain = panel.yDomain ?? niceDomain(allPoints.map(([, y]) => y));
  const xScale = linearScale(xDomain, [plot.x, plot.x + plot.width]);
  const yScale = linearScale(yDomain, [plot.y + plot.height, plot.y]);
  const clipId = `clip-${key}`;

  const parts = [
    `<g class="panel" data-panel="${escapeXml(panel.title)}">`,
    `<clipPath id="${escapeXml(clipId)}">${element("rect", { x: plot.x, y: plot.y, width: plot.width, height: plot.height })}</clipPath>`,
    axes(panel, box, plot, xScale, yScale),
    `<g clip-path="url(#${escapeXml(clipId)})">`,
    ...(panel.bands ?? []).map((band) => bandPath(band, xScale, yScale)),
    ...panel.series.map((series, index) => seriesMarkup(series, index, xScale, yScale)),
    `</g>`,
    element("rect", { x: plot.x, y: plot.y, width: plot.width, height: plot.height, fill: "none", stroke: "#444444" }),
    `<text x="${px(box.x + MARGIN.left)}" y="${px(box.y + 17)}" ${FONT} font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    panel.note === undefined
      ? ""
      : `<text x="${px(plot.x + 8)}" y="${px(plot.y + 16)}" ${FONT} font-size="11" fill="#7a1f1f">${escapeXml(panel.note)}</text>`,
    legendMarkup(panel, legend, plot.x + plot.width + MARGIN.legendGap, plot.y),
    `</g>`,
  ];
  return parts.join("");
}

function axes(panel: PanelSpec, box: Box, plot: Box, xScale: LinearScale, yScale: LinearScale): string {
  const [x0, x1] = xScale.domain;
  const [y0, y1] = yScale.domain;
  const xStep = niceStep(Math.abs(x1 - x0), 5);
  const yStep = niceStep(Math.abs(y1 - y0), 5);
  const bottom = plot.y + plot.height;
  const xTicks = niceTicks(x0, x1, 5).map((tick) => {
    const x = xScale(tick);
    return (
      element("line", { x1: x, y1: plot.y, x2: x, y2: bottom, stroke: "#e4e4e4" }) +
      element("line", { x1: x, y1: bottom, x2: x, y2: bottom + 4, stroke: "#444444" }) +
      `<text x="${px(x)}" y="${px(bottom + 16)}" ${FONT} font-size="11" text-anchor="middle">${escapeXml(formatTick(tick, xStep))}</text>`
    );
  });
  const yTicks = niceTicks(y0, y1, 5).map((tick) => {
    const y = yScale(tick);
    return (
      element("line", { x1: plot.x, y1: y, x2: plot.x + plot.width, y2: y, stroke: "#e4e4e4" }) +
      element("line", { x1: plot.x - 4, y1: y, x2: plot.x, y2: y, stroke: "#444444" }) +
      `<text x="${px(plot.x - 7)}" y="${px(y + 4)}" ${FONT} font-size="11" text-anchor="end">${escapeXml(formatTick(tick, yStep))}</text>`
    );
  });
  // Centred under the plot, but shifted to stay inside the panel: a label wider than the
  // plot would otherwise run off the figure's left edge (or into the next panel).
  const half = (panel.xLabel.length * 12 * CHAR_WIDTH_EM) / 2;
  const xMid = Math.max(box.x + half + 4, Math.min(plot.x + plot.width / 2, box.x + box.width - half - 4));
  const xLabel = `<text x="${px(xMid)}" y="${px(bottom + 34)}" ${FONT} font-size="12" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`;
  const yMid = plot.y + plot.height / 2;
  const yLabel = `<text x="${px(plot.x - 44)}" y="${px(yMid)}" ${FONT} font-size="12" text-anchor="middle" transform="rotate(-90 ${px(plot.x - 44)} ${px(yMid)})">${escapeXml(panel.yLabel)}</text>`;
  return `<g class="axes">${xTicks.join("")}${yTicks.join("")}${xLabel}${yLabel}</g>`;
}

/** Path data of a polyline, broken into pieces at non-finite points. */
export function linePath(points: readonly Point[], xScale: LinearScale, yScale: LinearScale): string {
  let data = "";
  let pen = "M";
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      pen = "M";
      continue;
    }
    data += `${pen}${px(xScale(x))} ${px(yScale(y))}`;
    pen = "L";
  }
  return data;
}

function seriesMarkup(series: Series, index: number, xScale: LinearScale, yScale: LinearScale): string {
  const color = series.color ?? paletteColor(index);
  if (series.style === "points") {
    const dots = series.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y]) => element("circle", { cx: xScale(x), cy: yScale(y), r: 2.6 }))
      .join("");
    return `<g class="series" data-series="${escapeXml(series.label)}" fill="${escapeXml(color)}" fill-opacity="0.75">${dots}</g>`;
  }
  return element("path", {
    class: "series",
    "data-series": series.label,
    d: linePath(series.points, xScale, yScale) || "M0 0",
    fill: "none",
    stroke: color,
    "stroke-width": "1.8",
    "stroke-dasharray": series.dash,
    "stroke-linejoin": "round",
  });
}

function bandPath(band: Band, xScale: LinearScale, yScale: LinearScale): string {
  const ring = [...band.lower, ...[...band.upper].reverse()].filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (ring.length === 0) return "";
  const d = `${linePath(ring, xScale, yScale)}Z`;
  return element("path", { class: "band", "data-series": band.label, d, fill: band.color, "fill-opacity": "0.18", stroke: "none" });
}

function legendMarkup(panel: PanelSpec, series: readonly Series[], x: number, y: number): string {
  const rows: string[] = [];
  let row = 0;
  const line = (label: string, swatch: string) => {
    const top = y + row * LEGEND_ROW_PX;
    rows.push(
      `<g class="legend-item">${swatch.replaceAll("{y}", px(top + 6))}` +
        `<text x="${px(x + 26)}" y="${px(top + 10)}" ${FONT} font-size="11">${escapeXml(label)}</text></g>`,
    );
    row++;
  };
  for (const band of panel.bands ?? []) {
    line(band.label, `<rect x="${px(x)}" y="{y}" width="20" height="8" fill="${escapeXml(band.color)}" fill-opacity="0.3" transform="translate(0 -4)"/>`);
  }
  panel.series.forEach((entry, index) => {
    if (!series.includes(entry)) return;
    const color = escapeXml(entry.color ?? paletteColor(index));
    const swatch =
      entry.style === "points"
        ? `<circle cx="${px(x + 10)}" cy="{y}" r="3" fill="${color}"/>`
        : `<line x1="${px(x)}" y1="{y}" x2="${px(x + 20)}" y2="{y}" stroke="${color}" stroke-width="2"${entry.dash === undefined ? "" : ` stroke-dasharray="${escapeXml(entry.dash)}"`}/>`;
    line(entry.label, swatch);
  });
  return rows.length === 0 ? "" : `<g class="legend">${rows.join("")}</g>`;
}
