/**
 * The samples `amlfs inspect-space` looks at: the first K draws of epoch 0, by the policy's
 * own sampling (createPolicy + planEpoch with B = K and the config's seed), so where K = B
 * they are exactly the run's first samples (and for K < B its first K: the generator is
 * consumed sample by sample). Each space form maps its draws, and mu_0, to the losses the
 * workers would train (lossTheta, with the form's tau_form). The forms' draws differ only in
 * the coordinates each holds (b_tau[0] under "anchored", every b_tau under "power"), since
 * every coordinate consumes its normal either way.
 */
import type { Experiment } from "../schema/index.js";
import {
  SPACE_FORMS,
  type SpaceForm,
  type TauForm,
  createPolicy,
  initialMu,
  lossTheta,
  planEpoch,
  sampledCoordinates,
  tauForm,
} from "../search/index.js";

export interface FormDraws {
  /** mu_0 as trained under this form (lossTheta of mu_0), 4M numbers. */
  mu: number[];
  /** The drawn thetas (as the journal records them), K x 4M. */
  thetas: number[][];
  /** What the workers train for each (lossTheta), K x 4M. */
  lossThetas: number[][];
  /** The loss option tau_form the workers get under this form. */
  tauForm: TauForm;
}

export interface Draws {
  /** The config's search.space. */
  configForm: SpaceForm;
  forms: Record<SpaceForm, FormDraws>;
  /** Readable remarks on how the draws differ from the run's (baseline mode, mu_0 moved into a form). */
  notes: string[];
}

/** The first `K` samples of epoch 0 of `config`, under each space form. */
export function drawSamples(config: Experiment, K: number): Draws {
  const { M, sigmaStd, lr, init, mode } = config.search;
  const configForm = config.search.space;
  const notes: string[] = [];
  if (mode === "baseline") notes.push('search.mode is "baseline": the run samples nothing; shown: what mode "amlfs" would draw around its mu_0');
  const forms = {} as Record<SpaceForm, FormDraws>;
  for (const form of SPACE_FORMS) {
    let start = init;
    const mu0 = initialMu(init, M);
    const held = sampledCoordinates(form, M).map((sampled, d) => !sampled && mu0[d] !== 0);
    if (held.some(Boolean)) {
      // mu_0 is outside this form's space (the config's own form is checked by the schema): its held coordinates are 0.
      start = { kind: "theta", theta: mu0.map((value, d) => (held[d] === true ? 0 : value)) };
      notes.push(`under "${form}", mu_0's ${held.map((h, d) => (h ? `b_tau[${d - 3 * M}]` : "")).filter(Boolean).join(", ")} taken as 0 (held there)`);
    }
    const policy = createPolicy({ mode: "amlfs", M, B: K, sigmaStd, lr, seed: config.seed, init: start, space: form });
    const thetas = planEpoch(policy, 0);
    forms[form] = {
      mu: lossTheta(policy.mu, M, form),
      thetas,
      lossThetas: thetas.map((theta) => lossTheta(theta, M, form)),
      tauForm: tauForm(form),
    };
  }
  return { configForm, forms, notes };
}

/** mu_0 in words: "identity", "cosineMargin 0.4" or "an explicit theta". */
export function describeInit(init: Experiment["search"]["init"]): string {
  if (init.kind === "cosineMargin") return `cosineMargin ${init.margin}`;
  return init.kind === "identity" ? "identity" : "an explicit theta";
}
