/**
 * `amlfs inspect-space <config> [options]`: before spending GPU hours, how many of the
 * losses the config would sample train at the start of training (docs/inspect-space.md).
 * The config is validated first (errors as `amlfs validate`), then the flags, and only
 * then does Python start: the samples are drawn here by the policy (src/inspect/draws.ts),
 * the gradients computed by the Python loss (python/amlfs/inspect_space).
 */
import { drawSamples, describeInit } from "../inspect/draws.js";
import { readCosinesFile } from "../inspect/cosines-file.js";
import { InspectError } from "../inspect/errors.js";
import { type InspectView, formatInspect, verdict } from "../inspect/format.js";
import { type GivenCosines, type InspectRequest, pythonInspect } from "../inspect/python-inspect.js";
import { SPACE_FORMS } from "../search/index.js";
import { UsageError } from "./errors.js";
import { integerFlag, parseCommandArgs, positiveFlag } from "./flags.js";
import { EXIT } from "./exit-codes.js";
import { readConfigFile } from "./load-config.js";
import { USAGES } from "./usage.js";

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const DEFAULT_SAMPLES = 32;
export const DEFAULT_EXAMPLES = 256;
/** N x C cosines are float64 on the Python side: 5e7 of them is 400 MB per copy. */
export const MAX_COSINES = 50_000_000;

const COMMAND = "inspect-space";
const usage = (message: string) => new UsageError(`${COMMAND}: ${message}`, COMMAND);

const integer = (flag: string, text: string, minimum: number, maximum?: number) => integerFlag(COMMAND, flag, text, minimum, maximum);

function scaleFlag(text: string): number | "linear" {
  return text === "linear" ? "linear" : positiveFlag(COMMAND, "--scale", text, 'a number > 0 or "linear"');
}

export async function inspectSpaceCommand(argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(COMMAND, argv, {
    help: { type: "boolean", short: "h" },
    json: { type: "boolean" },
    samples: { type: "string" },
    classes: { type: "string" },
    scale: { type: "string" },
    seed: { type: "string" },
    examples: { type: "string" },
    cosines: { type: "string" },
  });
  if (values.help === true) {
    io.out(USAGES[COMMAND] as string);
    return EXIT.ok;
  }
  const [path, ...extra] = positionals;
  if (path === undefined) throw usage("expected a config file");
  if (extra.length > 0) throw usage(`unexpected argument ${JSON.stringify(extra[0])}`);
  const config = await readConfigFile(path); // ConfigError: reported as `amlfs validate` does

  const K = values.samples === undefined ? DEFAULT_SAMPLES : integer("--samples", values.samples, 1, 10_000);
  const request: InspectRequest = { M: config.search.M, forms: {}, experiment: config };
  if (values.cosines !== undefined) {
    for (const flag of ["classes", "scale", "seed", "examples"] as const) {
      if (values[flag] !== undefined) throw usage(`--${flag}: cannot be combined with --cosines (the file fixes the examples, classes and scale)`);
    }
    let cosines: GivenCosines;
    try {
      cosines = await readCosinesFile(values.cosines);
    } catch (error) {
      if (!(error instanceof InspectError)) throw error;
      throw usage(`--cosines: ${error.message}`);
    }
    request.cosines = cosines;
  } else {
    if (values.classes !== undefined) request.classes = integer("--classes", values.classes, 2);
    if (values.scale !== undefined) request.scale = scaleFlag(values.scale);
    request.seed = values.seed === undefined ? config.seed : integer("--seed", values.seed, 0, 0xffff_ffff);
    request.examples = values.examples === undefined ? DEFAULT_EXAMPLES : integer("--examples", values.examples, 1);
    if (request.classes !== undefined && request.classes * request.examples > MAX_COSINES) {
      throw usage(`--classes x --examples: expected at most ${MAX_COSINES.toExponential()} cosines, got ${request.classes} x ${request.examples}`);
    }
  }

  const draws = drawSamples(config, K);
  const forms = [draws.configForm, ...SPACE_FORMS.filter((form) => form !== draws.configForm)];
  for (const form of forms) {
    const { mu, lossThetas, tauForm } = draws.forms[form];
    request.forms[form] = { mu, thetas: lossThetas, tauForm };
  }
  let answer;
  try {
    answer = await pythonInspect(request);
  } catch (error) {
    if (!(error instanceof InspectError)) throw error;
    io.err(`amlfs: ${error.message}\n`);
    return EXIT.runFailed;
  }
  const { sigmaStd, M, init } = config.search;
  const view: InspectView = {
    config: path,
    configForm: draws.configForm,
    forms,
    samples: { K, seed: config.seed, sigmaStd, M, init: describeInit(init) },
    answer,
    notes: draws.notes,
    ...(values.cosines === undefined ? {} : { cosinesFile: values.cosines }),
  };
  if (values.json === true) {
    const formsOut = Object.fromEntries(forms.map((form) => {
      const got = answer.forms[form];
      const samples = got?.samples.map((stats, k) => ({
        theta: draws.forms[form].thetas[k],
        lossTheta: draws.forms[form].lossThetas[k],
        ...stats,
      }));
      const mu = { lossTheta: draws.forms[form].mu, ...got?.mu };
      return [form, { tauForm: draws.forms[form].tauForm, mu, summary: got?.summary, samples }];
    }));
    const out = { config: path, space: draws.configForm, samples: view.samples, setting: answer.setting,
      thresholds: answer.thresholds, forms: formsOut, notes: draws.notes, verdict: verdict(view) };
    io.out(`${JSON.stringify(out)}\n`);
  } else {
    io.out(formatInspect(view));
  }
  return EXIT.ok;
}
