import { describe, expect, it } from "vitest";
import { linePath, renderFigure } from "../../src/report/chart.js";
import { linearScale } from "../../src/report/scale.js";
import { attributes, escapeXml, px } from "../../src/report/svg.js";

/** The plot frame of the first panel: its x, y, width, height. */
function frame(svg: string): { x: number; y: number; width: number; height: number } {
  const match = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none" stroke="#444444"\/>/.exec(svg);
  if (match === null) throw new Error("no plot frame in the svg");
  const [x, y, width, height] = match.slice(1).map(Number) as [number, number, number, number];
  return { x, y, width, height };
}

/** The points of the path of series `label`. */
function pathPoints(svg: string, label: string): [number, number][] {
  const match = new RegExp(`data-series="${label}" d="([^"]+)"`).exec(svg);
  if (match === null) throw new Error(`no path for ${label}`);
  return [...(match[1] as string).matchAll(/[ML]([-\d.]+) ([-\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe("escaping", () => {
  it("escapes the five XML specials and nothing else", () => {
    expect(escapeXml(`a<b>&"c'd é`)).toBe("a&lt;b&gt;&amp;&quot;c&#39;d é");
    expect(attributes({ title: '"x" & <y>', skip: undefined, width: 1.23456 })).toBe(' title="&quot;x&quot; &amp; &lt;y&gt;" width="1.23"');
  });

  it("refuses a non-finite pixel coordinate", () => {
    expect(px(1.005)).toBe("1");
    expect(() => px(Number.NaN)).toThrow(/finite pixel/);
  });

  it("escapes titles and labels inside a figure: no markup can be injected", () => {
    const svg = renderFigure({
      id: "figure-x",
      title: "</svg><script>alert(1)</script>",
      panels: [{ title: "a & b", xLabel: "<x>", yLabel: "y", series: [{ label: "s<1>", points: [[0, 0], [1, 1]] }] }],
    });
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;");
    expect(svg).toContain("a &amp; b");
    expect(svg).toContain("&lt;x&gt;");
    expect(svg.match(/<svg/g)).toHaveLength(1);
    expect(svg.match(/<\/svg>/g)).toHaveLength(1);
  });
});

describe("figures", () => {
  it("places data points by the linear map from the domain onto the plot frame", () => {
    const svg = renderFigure({
      id: "figure-test",
      title: "t",
      panels: [{ title: "p", xLabel: "x", yLabel: "y", xDomain: [-1, 1], yDomain: [0, 2], series: [{ label: "line", points: [[-1, 0], [0, 0.5], [1, 2]] }] }],
    });
    const box = frame(svg);
    const expected = [[-1, 0], [0, 0.5], [1, 2]].map(([x, y]) => [
      box.x + (((x as number) + 1) / 2) * box.width,
      box.y + box.height - ((y as number) / 2) * box.height,
    ]);
    const points = pathPoints(svg, "line");
    expect(points).toHaveLength(3);
    points.forEach(([x, y], index) => {
      expect(x).toBeCloseTo(expected[index]?.[0] as number, 1);
      expect(y).toBeCloseTo(expected[index]?.[1] as number, 1);
    });
  });

  it("draws ticks with labels at nice values of the domain", () => {
    const svg = renderFigure({
      id: "f",
      title: "t",
      panels: [{ title: "p", xLabel: "x", yLabel: "y", xDomain: [0, 1], yDomain: [-1, 1], series: [{ label: "s", points: [[0, 0]] }] }],
    });
    const labels = [...svg.matchAll(/text-anchor="(?:middle|end)">([^<]+)<\/text>/g)].map((m) => m[1]);
    for (const tick of ["0", "0.2", "0.4", "0.6", "0.8", "1.0", "-1.0", "-0.5", "0.5"]) expect(labels).toContain(tick);
  });

  it("has one svg with the figure id, a panel per spec in a grid, and a legend entry per series", () => {
    const series = [
      { label: "a", points: [[0, 1]] as const },
      { label: "b", points: [[1, 0]] as const, dash: "6 3" },
      { label: "hidden", points: [[1, 1]] as const, hideInLegend: true },
    ];
    const svg = renderFigure({
      id: "figure-grid",
      title: "t",
      columns: 2,
      panelWidthPx: 400,
      panelHeightPx: 250,
      panels: [1, 2, 3].map((n) => ({ title: `panel ${n}`, xLabel: "x", yLabel: "y", series })),
    });
    expect(svg).toMatch(/^<svg [^>]*id="figure-grid" data-figure="figure-grid" width="800" height="500"/);
    expect(svg.match(/class="panel"/g)).toHaveLength(3);
    expect(svg.match(/class="legend-item"/g)).toHaveLength(3 * 2);
    expect(svg.match(/<clipPath id="clip-figure-grid-\d"/g)).toHaveLength(3);
  });

  it("breaks a line at non-finite points instead of drawing through them", () => {
    const x = linearScale([0, 3], [0, 300]);
    const y = linearScale([0, 1], [100, 0]);
    expect(linePath([[0, 0], [1, 1], [2, Number.NaN], [3, 0]], x, y)).toBe("M0 100L100 0M300 100");
  });

  it("refuses a figure without panels", () => {
    expect(() => renderFigure({ id: "empty", title: "t", panels: [] })).toThrow(/at least one panel/);
  });
});
