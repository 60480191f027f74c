/**
 * `amlfs report`: reads a run directory (and optionally a baseline run), gets the loss
 * curves from the Python loss, draws the figures and writes
 *
 *   <runDir>/report/report.html   self-contained (inline SVG and CSS, no script, no URL)
 *   <runDir>/report/<figure>.svg  each figure on its own
 *
 * See docs/report.md for what each figure shows and how it is computed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEAD_FACTOR } from "../schema/wire/loss-stats.js";
import { DEAD_FIGURE_ID, deadFigure, hasLossStats } from "./dead-figure.js";
import { ReportError } from "./errors.js";
import { GRADIENT_FIGURE_ID, gradientFigure } from "./gradient-figure.js";
import { renderReportHtml, type ReportSection } from "./html.js";
import { displayPath, metricsTable, metricsTableHtml, type TableRun } from "./metrics-table.js";
import { muFigure, MU_FIGURE_ID } from "./mu-figure.js";
import { lossTheta, tauForm } from "../search/index.js";
import { type CurveAnswer, type CurveRequest, type CurveSource, pythonCurves } from "./python-curves.js";
import { readReportRun, type ReportRun } from "./run-data.js";
import { rewardsFigure, REWARDS_FIGURE_ID } from "./rewards-figure.js";
import { type NamedCurves, shapeFigure, SHAPE_FIGURE_ID } from "./shape-figure.js";

/**
 * The default CosFace point drawn beside the learned loss: t(x) = x - 0.40, CosFace's published
 * margin (Wang et al. 2018) and the shipped configs' one; tau the identity.
 */
export const COSFACE_MARGIN = 0.4;

/** The margin of the CosFace reference: the run's own when it starts at a cosineMargin init, else COSFACE_MARGIN. */
export function referenceMargin(run: ReportRun): number {
  const init = run.config.search.init;
  return init.kind === "cosineMargin" ? init.margin : COSFACE_MARGIN;
}

export interface ReportOptions {
  /** A baseline run whose final metrics go beside this run's. */
  baseline?: string;
  /** C of the gradient setting (default 10). */
  numClasses?: number;
  /** s of the gradient setting (default 10). */
  scale?: number;
  /** Where the curves come from (default: the Python loss through pythonia). */
  curves?: CurveSource;
  cwd?: string;
}

export interface ReportResult {
  html: string;
  /** Every file written, the html first. */
  files: string[];
  /** Ids of the figures drawn in the page, in order (a figure without data has only its note). */
  figures: string[];
}

export const REPORT_DIR = "report";

export async function writeReport(runPath: string, options: ReportOptions = {}): Promise<ReportResult> {
  const run = await readReportRun(runPath);
  const baseline = options.baseline === undefined ? undefined : await readReportRun(options.baseline);
  const answer = await (options.curves ?? ((request) => pythonCurves(request)))(curveRequest(run, options));
  const figures = drawFigures(run, answer);
  const tableRuns: TableRun[] = [{ label: "this run", run }, ...(baseline === undefined ? [] : [{ label: "baseline", run: baseline }])];
  const table = metricsTableHtml(metricsTable(tableRuns, options.cwd));

  const outDir = join(run.path, REPORT_DIR);
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const html = join(outDir, "report.html");
  await writeFile(html, renderReportHtml(page(run, figures, table, answer, options.cwd)));
  files.push(html);
  const drawn = figures.filter((figure): figure is Figure & { svg: string } => figure.svg !== null);
  for (const figure of drawn) {
    const path = join(outDir, `${figure.id.replace(/^figure-/, "")}.svg`);
    await writeFile(path, `<?xml version="1.0" encoding="UTF-8"?>\n${figure.svg}\n`);
    files.push(path);
  }
  return { html, files, figures: drawn.map((figure) => figure.id) };
}

/** Two decimals as CosFace writes its margin (0.40), more when the margin has them. */
function marginText(margin: number): string {
  const fixed = margin.toFixed(2);
  return Number(fixed) === margin ? fixed : String(margin);
}

/**
 * The thetas to draw: the final mu, mu_0 when it differs from the others, the identity and
 * CosFace at referenceMargin(run); mu as the loss trains it (mapped by the run's search.space, in its form of tau).
 */
export function curveRequest(run: ReportRun, options: Pick<ReportOptions, "numClasses" | "scale"> = {}): CurveRequest {
  const M = run.M;
  const space = run.config.search.space;
  const block = (value: number) => Array<number>(M).fill(value);
  const identity = [...block(1), ...block(0), ...block(1), ...block(0)];
  const cosface = [...block(1), ...block(-referenceMargin(run)), ...block(1), ...block(0)];
  const first = lossTheta(run.muSeries[0] as number[], M, space);
  const last = lossTheta(run.muSeries.at(-1) as number[], M, space);
  const same = (a: readonly number[], b: readonly number[]) => a.every((value, index) => value === b[index]);
  const thetas: Record<string, number[]> = { final: last };
  // mu_0 is drawn only when it is neither the final mu nor one of the references.
  if (![last, identity, cosface].some((other) => same(first, other))) thetas.initial = first;
  thetas.identity = identity;
  thetas.cosface = cosface;
  return {
    M,
    thetas,
    tauForm: tauForm(space),
    ...(options.numClasses === undefined ? {} : { numClasses: options.numClasses }),
    ...(options.scale === undefined ? {} : { scale: options.scale }),
  };
}

interface Figure {
  id: string;
  heading: string;
  text: string[];
  /** null: nothing to draw (the text says why); no svg file is written. */
  svg: string | null;
}

function drawFigures(run: ReportRun, answer: CurveAnswer): Figure[] {
  const curve = (name: string) => {
    const found = answer.curves[name];
    if (found === undefined) throw new ReportError(`the loss curves lack ${JSON.stringify(name)}`);
    return found;
  };
  const learnedLabel = run.muUpdated ? "learned (final mu)" : `fixed theta (${run.config.search.mode} mode)`;
  const entries: NamedCurves[] = [
    { label: learnedLabel, curves: curve("final") },
    ...(answer.curves.initial === undefined ? [] : [{ label: "initial mu", curves: answer.curves.initial, dash: "2 2" }]),
    { label: "identity (cross-entropy)", curves: curve("identity"), dash: "6 3" },
    { label: `CosFace t(x) = x - ${marginText(referenceMargin(run))}`, curves: curve("cosface"), dash: "3 3" },
  ];
  const note = run.muUpdated ? undefined : `mu is never updated in ${run.config.search.mode} mode`;
  const metric = run.config.reward.metric;
  return [
    {
      id: MU_FIGURE_ID,
      heading: "mu over the epochs",
      text: [
        "Every coordinate of mu, the mean of the sampling distribution of theta = [a_t, b_t, a_tau, b_tau], after each epoch: x = e is mu after epoch e, epochs counted from 1 as the console counts them (the other figures too), and x = 0 is mu_0 (the paper's Figure 3). One line per interval.",
        ...(note === undefined ? [] : [`${note}: the lines are flat by design.`]),
      ],
      svg: muFigure(run.muSeries, run.M, note),
    },
    {
      id: SHAPE_FIGURE_ID,
      heading: "The learned t and tau",
      text: [
        "t on the target cosine and tau on the target probability for the final mu, beside the identity (plain softmax cross-entropy) and the CosFace point of the space (the paper's Figure 1): t(x) = x - m with the run's m when mu_0 is a cosineMargin init, else CosFace's published m = 0.40. Computed by the Python loss that trains; tau as the loss uses it, including the floor of the validity policy.",
      ],
      svg: shapeFigure(entries),
    },
    {
      id: GRADIENT_FIGURE_ID,
      heading: "Gradient on the target logit",
      text: [
        `|dL/df_y| against the target logit f_y = s x, by autograd through searched_softmax_loss: one sample, C = ${answer.setting.numClasses} classes, every other logit 0, s = ${answer.setting.scale} (the paper's Figure 4). The identity is the baseline (cross-entropy: 1 - p).`,
      ],
      svg: gradientFigure(entries, answer.setting),
    },
    {
      id: REWARDS_FIGURE_ID,
      heading: "Rewards per epoch",
      text: [`The validation ${metric} of every sample of each epoch, their min..max band and median; the best sample's model is kept.`],
      svg: rewardsFigure(run.epochs, metric),
    },
    deadExamples(run),
  ];
}

function deadExamples(run: ReportRun): Figure {
  const heading = "Dead examples per epoch";
  if (!hasLossStats(run.epochs)) {
    return {
      id: DEAD_FIGURE_ID,
      heading,
      text: ["Not drawn: this run's journal has no lossStats (runs of earlier versions, or a baseline whose fixed head never calls the searched loss)."],
      svg: null,
    };
  }
  return {
    id: DEAD_FIGURE_ID,
    heading,
    text: [
      `For each sample of each epoch, the share of its training examples on which its loss trained almost nothing, as the workers counted it: the gradient factor c = a_tau p / tau(p) below ${DEAD_FACTOR} (tau floored or flat), and, when any sample had some, t's slope a_t below ${DEAD_FACTOR} at the target cosine. The winner (whose model was kept) is marked. Right: the mean c per sample, over all examples of the epoch, and the identity's c = 1.`,
    ],
    svg: deadFigure(run.epochs),
  };
}

function page(run: ReportRun, figures: readonly Figure[], table: string, answer: CurveAnswer, cwd = process.cwd()): Parameters<typeof renderReportHtml>[0] {
  const search = run.config.search;
  const sections: ReportSection[] = figures.map((figure) => ({ id: figure.id, heading: figure.heading, text: figure.text, body: figure.svg ?? "" }));
  sections.push({ id: "metrics", heading: "Final metrics", text: ["Test split, touched once at the end of each run."], body: table });
  return {
    title: `AM-LFS report: ${run.config.name}`,
    meta: [
      `${displayPath(run.path, cwd)}: baseline ${run.config.baseline.name}, dataset ${run.config.dataset.kind}, mode ${search.mode}, B = ${search.B}, M = ${search.M}, sigmaStd = ${search.sigmaStd}, lr = ${search.lr}`,
      `${run.epochs.length}/${search.epochs} epochs finished; ${run.final === undefined ? "no final evaluation yet" : "final evaluation done"}. Curves: ${answer.setting.gridPoints} grid points per axis.`,
    ],
    sections,
  };
}
