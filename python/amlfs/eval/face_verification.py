"""Face verification: LFW k-fold accuracy, TAR@FAR and pair similarities.

Protocol: LFW "View 2" (Huang et al., "Labeled Faces in the Wild", UMass TR 07-49, 2007).
``pairs.txt`` lists 10 folds of 300 same-identity then 300 different-identity pairs, in
file order, so pair ``i`` of 6,000 belongs to fold ``i // 600`` (:func:`contiguous_fold_ids`).
For each fold a threshold is chosen on the *other* folds, and the fold is scored with it.
CosFace (Wang et al., CVPR 2018, Sec. 4.1) and SphereFace describe each face by the
concatenation of the features of the image and of its horizontal flip, and score a pair by
the cosine similarity of those features (:func:`combine_flip`, :func:`pair_cosine_similarity`).

Conventions, used by every function here:

- A pair is *accepted* (predicted "same") iff ``score > threshold``; a score equal to the
  threshold is rejected.
- Scores are compared in float64.
- Candidate thresholds on a training set with sorted distinct scores ``s_1 < ... < s_m``:
  ``nextafter(s_1, -inf)`` (accept all), the midpoints ``(s_i + s_{i+1}) / 2`` and ``s_m``
  (reject all). These realise every split of the sorted scores, and the midpoint keeps the
  chosen threshold away from both classes. Among candidates of equal training accuracy the
  **smallest** similarity threshold is chosen (the first maximum over ascending candidates),
  i.e. the one that accepts the most pairs. The common LFW evaluation code differs in two
  ways: it thresholds squared Euclidean *distances* (``distance < threshold``) on a fixed grid
  (``np.arange(0, 4, 0.01)``), and its first maximum is the smallest *distance* threshold,
  which for unit features (``d**2 = 2 - 2 cos``) is the **largest** similarity threshold.
  The two protocols can therefore pick different thresholds and report slightly different
  accuracies on the same scores.
- ``accuracyStd`` is the **population** standard deviation of the fold accuracies
  (``np.std``, ddof = 0), as the common LFW evaluation code reports it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[torch.Tensor, np.ndarray, Sequence]

STD_VARIANT = "population (ddof=0)"
THRESHOLD_RULE = "accept iff score > threshold; threshold maximising accuracy on the other folds (smallest on ties)"
FLIP_COMBINATIONS = {"concat": "concat(image, flip)", "sum": "sum(image, flip)"}


def _to_numpy(name: str, value: ArrayLike) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _scores(name: str, value: ArrayLike) -> np.ndarray:
    arr = _to_numpy(name, value)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(f"Expected `{name}` of shape [P] with P >= 1, got {list(arr.shape)}")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"Expected `{name}` to hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` contains NaN or Inf at index {int(np.flatnonzero(~np.isfinite(arr))[0])}")
    return arr


def _same(value: ArrayLike, length: int) -> np.ndarray:
    arr = _to_numpy("same", value)
    if arr.shape != (length,):
        raise ValueError(f"Expected `same` of shape [{length}] (one flag per score), got {list(arr.shape)}")
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "iu" or not np.isin(arr, (0, 1)).all():
            raise ValueError(f"Expected `same` to hold booleans (or 0/1), got dtype {arr.dtype}")
        arr = arr.astype(bool)
    return arr


def _prepare(scores: ArrayLike, same: ArrayLike) -> Tuple[np.ndarray, np.ndarray]:
    s = _scores("scores", scores)
    return s, _same(same, s.shape[0])


# ----------------------------------------------------------------------------- thresholds

def accuracy_at_threshold(scores: ArrayLike, same: ArrayLike, threshold: float) -> float:
    """Fraction of pairs classified correctly when ``score > threshold`` means "same".

    ``scores [P]`` (any real similarity), ``same [P]`` bool.
    """
    s, y = _prepare(scores, same)
    return float(((s > float(threshold)) == y).mean())


def best_threshold(scores: ArrayLike, same: ArrayLike) -> Tuple[float, float]:
    """``(threshold, accuracy)``: the candidate threshold (module docstring) with the highest
    accuracy on these pairs, the smallest on ties. Optimistic when scored on the same pairs;
    usable as a validation reward, where only the ranking between models matters."""
    s, y = _prepare(scores, same)
    return _best_threshold(s, y)


def _best_threshold(s: np.ndarray, y: np.ndarray) -> Tuple[float, float]:
    values, inverse = np.unique(s, return_inverse=True)  # sorted distinct scores
    pos = np.bincount(inverse, weights=y, minlength=values.shape[0])
    neg = np.bincount(inverse, weights=~y, minlength=values.shape[0])
    # Candidate k (0..m) rejects the k lowest distinct values: correct = negatives rejected + positives accepted.
    rejected_neg = np.concatenate([[0.0], np.cumsum(neg)])
    accepted_pos = pos.sum() - np.concatenate([[0.0], np.cumsum(pos)])
    correct = rejected_neg + accepted_pos
    k = int(np.argmax(correct))  # first maximum = smallest threshold
    return _candidate(values, k), float(correct[k] / s.shape[0])


def _candidate(values: np.ndarray, k: int) -> float:
    """The threshold that rejects exactly the ``k`` lowest of the sorted distinct ``values``."""
    if k == 0:
        return float(np.nextafter(values[0], -np.inf))
    if k == values.shape[0]:
        return float(values[-1])
    low, high = values[k - 1], values[k]
    mid = low + (high - low) / 2
    # For adjacent floats the midpoint can round up to `high`, which would then be rejected.
    return float(mid if low <= mid < high else low)


# ----------------------------------------------------------------------------- TAR@FAR

@dataclass(frozen=True)
class TarAtFar:
    """``tar`` at the smallest ``threshold`` whose false accept rate is <= ``far``;
    ``achieved_far`` is that rate (ties can make it lower than ``far``)."""

    far: float
    tar: float
    threshold: float
    achieved_far: float


def tar_at_far(scores: ArrayLike, same: ArrayLike, far: float) -> TarAtFar:
    """True accept rate at a false accept rate of at most ``far``.

    With ``K`` different-identity pairs, at most ``k = floor(far * K)`` of them may be accepted
    (``far * K`` rounded with a 1e-9 tolerance, so ``0.29 * 100`` allows 29). The threshold is
    the smallest one with ``#{negatives > threshold} <= k``: the ``(k + 1)``-th largest negative
    score (``-inf`` when ``k >= K``). Pairs scoring exactly the threshold are rejected, so with
    tied negatives the achieved FAR may be below ``far``. ``TAR = #{positives > threshold} / #positives``.
    ``scores [P]``, ``same [P]`` bool, ``far`` in ``(0, 1]``.
    """
    s, y = _prepare(scores, same)
    if isinstance(far, bool) or not isinstance(far, (int, float)) or not 0.0 < far <= 1.0:
        raise ValueError(f"Expected `far` in (0, 1], got {far!r}")
    positives, negatives = s[y], s[~y]
    if positives.shape[0] == 0 or negatives.shape[0] == 0:
        raise ValueError(f"TAR@FAR needs both same and different pairs, got {positives.shape[0]} same "
                         f"and {negatives.shape[0]} different")
    num_neg = negatives.shape[0]
    allowed = int(np.floor(far * num_neg + 1e-9))
    if allowed >= num_neg:
        threshold = -np.inf
    else:
        threshold = float(np.sort(negatives)[::-1][allowed])
    return TarAtFar(far=float(far), tar=float((positives > threshold).mean()), threshold=float(threshold),
                    achieved_far=float((negatives > threshold).mean()))


def far_key(far: float) -> str:
    """The ``as_dict`` key of a TAR@FAR value: ``tarAtFar1e-3`` for ``far = 0.001``."""
    return "tarAtFar" + np.format_float_scientific(far, trim="-", exp_digits=1)


# ----------------------------------------------------------------------------- k-fold protocol

@dataclass(frozen=True)
class VerificationResult:
    """Per-fold results of :func:`evaluate_verification`.

    ``fold_accuracies[i]`` is the accuracy on fold ``i`` at ``thresholds[i]``, chosen on the
    other folds; ``accuracy`` is their mean and ``accuracy_std`` their population std.
    ``tar_at_far`` is computed on all pairs at once (no folds), keyed by the FAR.
    """

    accuracy: float
    accuracy_std: float
    fold_accuracies: Tuple[float, ...]
    thresholds: Tuple[float, ...]
    num_pairs: int
    num_same: int
    tar_at_far: Dict[float, TarAtFar] = field(default_factory=dict)
    feature_combination: Optional[str] = None
    std_variant: str = STD_VARIANT
    threshold_rule: str = THRESHOLD_RULE

    @property
    def num_folds(self) -> int:
        return len(self.fold_accuracies)

    def as_dict(self) -> dict:
        """JSON-ready: ``accuracy``, ``accuracyStd``, ``foldAccuracies``, ``thresholds``,
        ``numFolds``, ``numPairs``, ``numSame``, ``stdVariant``, ``thresholdRule``, one
        ``tarAtFar<far>`` per FAR (e.g. ``tarAtFar1e-3``) and ``featureCombination`` if given."""
        out = {"accuracy": self.accuracy, "accuracyStd": self.accuracy_std,
               "foldAccuracies": list(self.fold_accuracies), "thresholds": list(self.thresholds),
               "numFolds": self.num_folds, "numPairs": self.num_pairs, "numSame": self.num_same,
               "stdVariant": self.std_variant, "thresholdRule": self.threshold_rule}
        for far, value in sorted(self.tar_at_far.items()):
            out[far_key(far)] = value.tar
        if self.feature_combination is not None:
            out["featureCombination"] = self.feature_combination
        return out


def contiguous_fold_ids(num_pairs: int, num_folds: int = 10) -> np.ndarray:
    """``[num_pairs]`` fold ids ``0..num_folds-1`` of consecutive, near-equal blocks in file
    order: ``i * num_folds // num_pairs``. For LFW's 6,000 pairs, fold ``i // 600``."""
    if isinstance(num_folds, bool) or not isinstance(num_folds, int) or num_folds < 2:
        raise ValueError(f"Expected `num_folds` to be an integer >= 2, got {num_folds!r}")
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, int) or num_pairs < num_folds:
        raise ValueError(f"Expected `num_pairs` to be an integer >= num_folds ({num_folds}), got {num_pairs!r}")
    return np.arange(num_pairs, dtype=np.int64) * num_folds // num_pairs


def evaluate_verification(scores: ArrayLike, same: ArrayLike, fold: ArrayLike,
                          fars: Sequence[float] = (1e-3,),
                          feature_combination: Optional[str] = None) -> VerificationResult:
    """k-fold verification accuracy (the LFW protocol with ``k = 10``) and TAR@FAR.

    ``scores [P]``: similarity of each pair (larger = more alike, e.g. cosine); ``same [P]``
    bool; ``fold [P]``: integer fold ids ``0..k-1``, ``k >= 2``, every fold non-empty (any
    sizes). For each fold, the threshold maximising accuracy on the other folds is chosen
    (rules in the module docstring) and the fold is scored with it. ``fars``: the FARs for
    :func:`tar_at_far` on all pairs (empty to skip; skipped too when only one class is
    present). ``feature_combination`` is only recorded, e.g. ``combine_flip``'s name.
    """
    s, y = _prepare(scores, same)
    folds = _to_numpy("fold", fold)
    if folds.shape != s.shape:
        raise ValueError(f"Expected `fold` of shape [{s.shape[0]}] (one fold id per score), got {list(folds.shape)}")
    if folds.dtype.kind not in "iu":
        raise ValueError(f"Expected `fold` to hold integers, got dtype {folds.dtype}")
    num_folds = int(folds.max()) + 1
    counts = np.bincount(folds, minlength=num_folds) if folds.min() >= 0 else None
    if counts is None or num_folds < 2 or (counts == 0).any():
        raise ValueError(f"Expected `fold` ids 0..k-1 with k >= 2 and every fold non-empty, got ids "
                         f"{sorted(set(folds.tolist()))[:20]}")
    accuracies, thresholds = [], []
    for k in range(num_folds):
        test = folds == k
        threshold, _ = _best_threshold(s[~test], y[~test])
        thresholds.append(threshold)
        accuracies.append(float(((s[test] > threshold) == y[test]).mean()))
    tars = {}
    if y.any() and not y.all():
        tars = {float(far): tar_at_far(s, y, far) for far in fars}
    return VerificationResult(accuracy=float(np.mean(accuracies)), accuracy_std=float(np.std(accuracies)),
                              fold_accuracies=tuple(accuracies), thresholds=tuple(thresholds),
                              num_pairs=int(s.shape[0]), num_same=int(y.sum()), tar_at_far=tars,
                              feature_combination=feature_combination)


# ----------------------------------------------------------------------------- features

def combine_flip(features: torch.Tensor, flip_features: torch.Tensor, mode: str = "concat") -> torch.Tensor:
    """Per-image descriptor from ``features [N, D]`` of the images and ``flip_features [N, D]``
    of their horizontal flips: ``"concat"`` gives ``[N, 2D]`` (CosFace Sec. 4.1, SphereFace's
    LFW code), ``"sum"`` gives ``[N, D]``. ``FLIP_COMBINATIONS[mode]`` names it for reports."""
    if mode not in FLIP_COMBINATIONS:
        raise ValueError(f"Expected `mode` to be one of {sorted(FLIP_COMBINATIONS)}, got {mode!r}")
    if features.dim() != 2 or features.shape != flip_features.shape:
        raise ValueError(f"Expected features and flip_features of the same shape [N, D], got "
                         f"{list(features.shape)} and {list(flip_features.shape)}")
    return torch.cat([features, flip_features], dim=1) if mode == "concat" else features + flip_features


def pair_cosine_similarity(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    """``[P]`` cosine similarity of row ``i`` of ``features_a [P, D]`` with row ``i`` of
    ``features_b [P, D]`` (rows L2-normalised first; an all-zero row gets similarity 0)."""
    if features_a.dim() != 2 or features_a.shape != features_b.shape:
        raise ValueError(f"Expected features_a and features_b of the same shape [P, D], got "
                         f"{list(features_a.shape)} and {list(features_b.shape)}")
    a = torch.nn.functional.normalize(features_a, dim=1)
    b = torch.nn.functional.normalize(features_b.to(a.dtype), dim=1)
    return (a * b).sum(dim=1)
