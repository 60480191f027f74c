"""Readable loop references for the face evaluation protocols (tests only)."""
import math


def loop_accuracy(scores, same, threshold):
    return sum((s > threshold) == bool(y) for s, y in zip(scores, same)) / len(scores)


def loop_candidates(scores):
    """Accept-all, the midpoints of consecutive distinct scores, reject-all; ascending."""
    values = sorted(set(float(s) for s in scores))
    mids = [(a + b) / 2 for a, b in zip(values, values[1:])]
    return [math.nextafter(values[0], -math.inf)] + mids + [values[-1]]


def loop_best_threshold(scores, same):
    """Try every candidate; keep the first (smallest) with the best accuracy."""
    best_t, best_acc = None, -1.0
    for t in loop_candidates(scores):
        acc = loop_accuracy(scores, same, t)
        if acc > best_acc:
            best_t, best_acc = t, acc
    return best_t, best_acc


def loop_k_fold(scores, same, fold):
    """The LFW protocol: per fold, threshold from the other folds; mean and population std."""
    num_folds = max(fold) + 1
    accs, thresholds = [], []
    for k in range(num_folds):
        train = [(s, y) for s, y, f in zip(scores, same, fold) if f != k]
        test = [(s, y) for s, y, f in zip(scores, same, fold) if f == k]
        t, _ = loop_best_threshold([s for s, _ in train], [y for _, y in train])
        thresholds.append(t)
        accs.append(loop_accuracy([s for s, _ in test], [y for _, y in test], t))
    mean = sum(accs) / len(accs)
    std = math.sqrt(sum((a - mean) ** 2 for a in accs) / len(accs))
    return accs, thresholds, mean, std


def brute_tar_at_far(scores, same, far):
    """Scan every threshold (each score and -inf) from the smallest; the first with FAR <= far."""
    neg = [s for s, y in zip(scores, same) if not y]
    pos = [s for s, y in zip(scores, same) if y]
    for t in [-math.inf] + sorted(set(float(s) for s in scores)):
        fa = sum(s > t for s in neg) / len(neg)
        if fa <= far + 1e-12:
            return sum(s > t for s in pos) / len(pos), t, fa
    raise AssertionError("unreachable: the largest score rejects every negative")


def brute_rank1(probe, probe_ids, distractors, metric, ties_win=False):
    """MegaFace identification, one (probe a, gallery b) pair at a time over a full score matrix:
    a hit when b scores strictly higher than every distractor (or as high, with ``ties_win``)."""
    def score(u, v):
        if metric == "cosine":
            nu = math.sqrt(sum(x * x for x in u)) or 1.0
            nv = math.sqrt(sum(x * x for x in v)) or 1.0
            return sum(x * y for x, y in zip(u, v)) / (nu * nv)
        return -math.sqrt(sum((x - y) ** 2 for x, y in zip(u, v)))

    hits = pairs = 0
    for a in range(len(probe)):
        best_distractor = max(score(probe[a], d) for d in distractors)
        for b in range(len(probe)):
            if b != a and probe_ids[b] == probe_ids[a]:
                pairs += 1
                s = score(probe[a], probe[b])
                hits += s >= best_distractor if ties_win else s > best_distractor
    return hits, pairs
