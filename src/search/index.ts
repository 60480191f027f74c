export { SearchInputError } from "./errors.js";
export {
  TAU_FLOOR,
  checkTheta,
  cosineMargin,
  dim,
  evalT,
  evalTau,
  identity,
  intervalT,
  intervalTau,
  logTauEffective,
  split,
  type LogTauValue,
  type PieceValue,
  type ThetaParts,
} from "./space.js";
export {
  SPACE_FORMS,
  checkSpaceForm,
  lossTheta,
  sampledCoordinates,
  T_SCALE_GRADS,
  tauForm,
  type TauForm,
  type SpaceForm,
  type TScaleGrad,
} from "./space-form.js";
export { validityReport, type ValidityReport } from "./validity.js";
export { Rng, type RngState } from "./rng.js";
export { sampleThetas, type SampleRequest } from "./sample.js";
export { normalizeRewards, type NormalizedRewards } from "./rewards.js";
export { ADAM_BETA1, ADAM_BETA2, ADAM_EPS, adamAscend, adamInit, checkAdamState, type AdamState } from "./adam.js";
export {
  policyUpdate,
  reinforceDirection,
  type DirectionRequest,
  type PolicyUpdate,
  type PolicyUpdateRequest,
} from "./reinforce.js";
export {
  createPolicy,
  finishEpoch,
  initialMu,
  planEpoch,
  type EpochOutcome,
  type MuInit,
  type PolicyConfig,
  type PolicyState,
  type SearchMode,
} from "./policy.js";
