/**
 * The readable output of `amlfs inspect-space`: the setting, one table row per space form
 * (the config's first), and a one-line verdict (docs/inspect-space.md).
 */
import type { SpaceForm } from "../search/index.js";
import type { FormAnswer, InspectAnswer } from "./python-inspect.js";

export interface InspectView {
  config: string;
  configForm: SpaceForm;
  /** Forms in table order, the config's first. */
  forms: SpaceForm[];
  samples: { K: number; seed: number; sigmaStd: number; M: number; init: string };
  answer: InspectAnswer;
  notes: string[];
  /** The --cosines file, when the inputs came from one. */
  cosinesFile?: string;
}

/** 3 significant digits; tiny values as 1.2e-7; exactly 0 as "0". */
export function formatRatio(value: number | null): string {
  if (value === null) return "n/a";
  if (value === 0) return "0";
  return Math.abs(value) < 0.01 ? value.toExponential(1) : String(Number(value.toPrecision(3)));
}

const percent = (share: number) => `${(100 * share).toFixed(1)} %`;

function deadCell(form: FormAnswer): string {
  const { deadSamples, samples } = form.summary;
  if (deadSamples === null) return "n/a (mu_0 has no gradient)";
  return `${deadSamples}/${samples} (${Math.round((100 * deadSamples) / samples)} %)`;
}

function table(view: InspectView): string[] {
  const limit = `${100 * view.answer.thresholds.deadRatio} %`;
  const header = ["space", `samples dead (gradient < ${limit} of mu_0's)`, "median ratio", "min ratio", "floored (mean)", `c < ${view.answer.thresholds.deadC} (mean)`];
  const rows = view.forms.map((name) => {
    const form = view.answer.forms[name] as FormAnswer;
    const label = name === view.configForm ? `${name} (config)` : name;
    return [label, deadCell(form), formatRatio(form.summary.medianRatio), formatRatio(form.summary.minRatio),
      percent(form.summary.meanFloored), percent(form.summary.meanDead)];
  });
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** One line: how many of the config's samples start dead, against the other forms. */
export function verdict(view: InspectView): string {
  const [mine, ...others] = view.forms as [SpaceForm, ...SpaceForm[]];
  const dead = (form: SpaceForm) => (view.answer.forms[form] as FormAnswer).summary.deadSamples;
  const ours = dead(mine);
  const K = (view.answer.forms[mine] as FormAnswer).summary.samples;
  if (ours === null) {
    return `verdict: mu_0 itself has no gradient on these inputs under "${mine}" (every example floored): the search cannot start here`;
  }
  const compare = others.filter((form) => dead(form) !== null).map((form) => `${dead(form)}/${K} under "${form}"`);
  const head = `verdict: ${ours}/${K} of the samples start dead under "${mine}" (this config)${compare.length > 0 ? `, ${compare.join(", ")}` : ""}`;
  if (ours === 0) return `${head}: every sample trains from the start`;
  const better = others.filter((form) => (dead(form) ?? K) < ours).sort((a, b) => (dead(a) as number) - (dead(b) as number));
  if (better.length > 0) return `${head}: they waste their epoch; consider search.space "${better[0]}"`;
  return `${head}: they waste their epoch; consider a smaller search.sigmaStd`;
}

function number(value: number): string {
  return value.toLocaleString("en-US");
}

/** The whole text output. */
export function formatInspect(view: InspectView): string {
  const { setting } = view.answer;
  const meanScale = setting.meanTargetScale.toPrecision(3);
  const scale = typeof setting.scale === "number"
    ? `s = ${setting.scale}`
    : setting.scale === "linear" ? `linear head, s_j = ||W_j|| ||x|| (mean ${meanScale})` : `scale s_y mean ${meanScale}`;
  const from = (source: string, flag: string) => (setting.inputs === "given" ? "" : ` (${source === "request" ? flag : source})`);
  const inputs = setting.inputs === "random"
    ? `${number(setting.examples)} random start-of-training examples (features and class weights N(0, 1/${setting.dim}) in ${setting.dim} dims, seed ${setting.seed})`
    : `${number(setting.examples)} examples from ${view.cosinesFile ?? "the given cosines"}`;
  const p = setting.medianTargetProbability.toExponential(1);
  const { K, seed, sigmaStd, M, init } = view.samples;
  const lines = [
    `amlfs inspect-space ${view.config}`,
    `  setting   ${number(setting.classes)} classes${from(setting.classesFrom, "--classes")}, ${scale}${from(setting.scaleFrom, "--scale")}`,
    `  inputs    ${inputs}; softmax's target probability: median ${p}`,
    `  samples   the first ${K} draws of epoch 0 (seed ${seed}): theta ~ N(mu_0, ${sigmaStd}^2 I), mu_0 = ${init}, M = ${M}`,
    ...view.notes.map((note) => `  note      ${note}`),
    "",
    ...table(view),
    "",
    verdict(view),
  ];
  return `${lines.join("\n")}\n`;
}
