/**
 * How a sampled theta becomes the loss that is trained (docs/algorithm.md, "Space forms").
 *
 * - `paper`: the literal reading of Li et al. (ICCV 2019, Eq. 15-17): the sample is the
 *   loss. With many classes every example starts with a tiny target probability, inside
 *   tau's first interval, where a sampled b_tau[0] > 0 flattens the loss and b_tau[0] < 0
 *   floors it: most samples train nothing at the start.
 * - `anchored`: tau(0) = 0, so the first piece of tau is a_tau[0] p and the
 *   hardest examples keep cross-entropy's gradient factor c = 1 (b_tau[0] is not sampled);
 *   and slopes are used as |a| (the paper's "any function with positive gradient",
 *   Sec. 3.3). The identity and CosFace points are the same loss in both forms.
 *
 * - `power` (the default): tau is a power of p on each interval, tau(p) = K_i p^|a_tau[i]|, continuous,
 *   tau(1) = 1 (Eq. 15's gradient factor tau'(log p) acting on log p): the gradient
 *   factor is c = |a_tau[i]| on every interval, so no piece can flatten or floor the
 *   loss; every b_tau is unused and held. Slopes of t are |a_t| as under `anchored`.
 *
 * The third remedy, for unnormalized heads, is a loss option rather than a mapping of
 * theta: `search.tScaleGrad` (the Python loss's `t_scale_grad`).
 */
import { SearchInputError, describeValue } from "./errors.js";
import { checkTheta } from "./space.js";

export const SPACE_FORMS = ["power", "anchored", "paper"] as const;
export type SpaceForm = (typeof SPACE_FORMS)[number];

/** How a tensor scale gets its gradient through the target logit (the Python loss's `t_scale_grad`). */
export const T_SCALE_GRADS = ["plain", "full"] as const;
export type TScaleGrad = (typeof T_SCALE_GRADS)[number];

export function checkSpaceForm(form: unknown): SpaceForm {
  if (!(SPACE_FORMS as readonly unknown[]).includes(form)) {
    throw new SearchInputError("space", `\`space\` must be one of ${SPACE_FORMS.join(", ")}, got ${describeValue(form)}`);
  }
  return form as SpaceForm;
}

/** The Python loss's `tau_form` for a space form. */
export type TauForm = "linear" | "power";

export function tauForm(form: SpaceForm): TauForm {
  return form === "power" ? "power" : "linear";
}

/** Whether coordinate `d` of theta is sampled (true) or held at mu's value (false). */
export function sampledCoordinates(form: SpaceForm, M: number): boolean[] {
  const sampled = Array<boolean>(4 * M).fill(true);
  if (form === "anchored") sampled[3 * M] = false; // b_tau[0]: tau(0) = 0
  if (form === "power") sampled.fill(false, 3 * M); // b_tau: unused by a power tau
  return sampled;
}

/** The theta the loss trains with for a sampled (or mean) theta. */
export function lossTheta(theta: readonly number[], M: number, form: SpaceForm): number[] {
  checkTheta(theta, M);
  if (form === "paper") return [...theta];
  return theta.map((value, d) => {
    const slope = d < M || (d >= 2 * M && d < 3 * M);
    if (d === 3 * M || (form === "power" && d > 3 * M)) return 0;
    return slope ? Math.abs(value) : value;
  });
}

/** mu_0 must lie in the form's space: the held coordinates are 0. */
export function checkInitInSpace(mu: readonly number[], M: number, form: SpaceForm): void {
  sampledCoordinates(form, M).forEach((sampled, d) => {
    if (sampled || mu[d] === 0) return;
    throw new SearchInputError(
      "init",
      `\`init\`: under space "${form}" b_tau[${d - 3 * M}] (index ${d}) is held at 0, got ${describeValue(mu[d])}; ` +
        `use space "paper" for another value`,
    );
  });
}
