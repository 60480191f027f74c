"""bench/search_signal.py restates Eq. 19-20 to read journals; it must agree with the golden policy vectors."""
import importlib.util
import math
from pathlib import Path

import pytest

from .vectors import load_vectors

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "search_signal.py"
CASES = [c for c in load_vectors("policy/update.json")["cases"] if c["valid"]]


def load_script():
    spec = importlib.util.spec_from_file_location("search_signal", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normalized(rewards):
    """docs/algorithm.md, "Rewards": over the finished samples, (R - mean) / population std; all 0 without information."""
    done = [r for r in rewards if r is not None and math.isfinite(r)]
    mean = sum(done) / len(done) if done else 0.0
    std = math.sqrt(sum((r - mean) ** 2 for r in done) / len(done)) if done else 0.0
    if len(done) <= 1 or std <= 1e-12 * max(1.0, abs(mean)):
        return [None if r is None or not math.isfinite(r) else 0.0 for r in rewards]
    return [None if r is None or not math.isfinite(r) else (r - mean) / std for r in rewards]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_direction_equals_the_golden_vectors(case):
    got = load_script().direction(case["thetas"], normalized(case["rewards"]), case["mu"], case["sigmaStd"])
    assert got == pytest.approx(case["direction"], rel=1e-12, abs=1e-12)


def test_consistency_is_one_for_a_constant_direction_and_small_for_alternating_ones():
    script = load_script()
    assert script.consistency([[1.0, 2.0]] * 4)[0] == pytest.approx(1.0)
    ratio, cosine = script.consistency([[1.0, 0.0], [-1.0, 0.0]] * 3)
    assert ratio == pytest.approx(0.0, abs=1e-12) and cosine == pytest.approx(-1.0)
