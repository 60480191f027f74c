"""Start-of-training inputs: random ones have the documented statistics and are seeded; given ones are checked."""
import math

import pytest
import torch

from amlfs.inspect_space import InspectError, given_start, random_start


def test_normalized_head_random_unit_vectors():
    inputs = random_start(300, 30.0, 64, 512, seed=5)
    assert inputs.cosine.shape == (64, 300) and inputs.cosine.dtype == torch.float64
    assert inputs.scale == 30.0
    assert float(inputs.cosine.abs().max()) <= 1.0
    assert float(inputs.cosine.std()) == pytest.approx(1 / math.sqrt(512), rel=0.05)  # cos of random unit vectors
    assert int(inputs.target.min()) >= 0 and int(inputs.target.max()) < 300
    assert len(set(inputs.target.tolist())) > 40  # spread over the classes


def test_linear_head_scale_is_rank_one_and_about_one():
    normalized = random_start(50, 2.0, 40, 256, seed=1)
    linear = random_start(50, "linear", 40, 256, seed=1)
    assert torch.equal(linear.cosine, normalized.cosine) and torch.equal(linear.target, normalized.target)
    s = linear.scale
    assert s.shape == (40, 50)
    assert float(s.mean()) == pytest.approx(1.0, rel=0.1)  # ||x|| ||W_j||, each about 1
    # s[n, j] = ||x_n|| ||W_j||: any 2 x 2 minor vanishes
    assert torch.allclose(s[0, 0] * s[1:, 1:], s[1:, :1] * s[:1, 1:], rtol=1e-12)


def test_seeded():
    a, b, c = (random_start(20, 30.0, 8, 16, seed=s) for s in (3, 3, 4))
    assert torch.equal(a.cosine, b.cosine) and torch.equal(a.target, b.target)
    assert not torch.equal(a.cosine, c.cosine)


@pytest.mark.parametrize("field, value, message", [
    ("classes", 1, r"`classes`: expected an integer >= 2, got 1"),
    ("examples", 0, r"`examples`: expected an integer >= 1, got 0"),
    ("scale", 0, r"`scale`: expected a number > 0 or 'linear', got 0"),
    ("scale", "plain", r"`scale`: expected a number > 0 or 'linear', got 'plain'"),
])
def test_random_errors_name_the_field(field, value, message):
    kwargs = {"classes": 10, "scale": 30.0, "examples": 4, "dim": 8, "seed": 0, field: value}
    with pytest.raises(InspectError, match=message):
        random_start(**kwargs)


def test_given():
    inputs = given_start({"cosine": [[0.1, 0.2, -0.3], [0.0, 0.5, 0.4]], "target": [2, 0], "scale": [[1.0], [2.0]]})
    assert inputs.cosine.dtype == torch.float64 and inputs.target.tolist() == [2, 0]
    assert inputs.scale.shape == (2, 1)
    assert given_start({"cosine": [[0.1, 0.2]], "target": [1], "scale": 12}).scale == 12.0


@pytest.mark.parametrize("body, message", [
    ([1, 2], r"`cosines`: expected an object"),
    ({"cosine": [[0.1, 0.2]], "target": [0]}, r"`cosines.scale`: expected a value, got none"),
    ({"cosine": [[0.1, 0.2], [0.3]], "target": [0, 1], "scale": 1}, r"`cosines.cosine`: expected an N x C array"),
    ({"cosine": [[0.1], [0.3]], "target": [0, 0], "scale": 1}, r"`cosines.cosine`: expected an N x C array"),
    ({"cosine": [[0.1, 0.2]], "target": [1.0], "scale": 1}, r"`cosines.target`: expected a list of 1 integers"),
    ({"cosine": [[0.1, 0.2]], "target": [2], "scale": 1}, r"`cosines.target`: expected 1 integers in \[0, 2\)"),
    ({"cosine": [[0.1, 0.2]], "target": [0, 1], "scale": 1}, r"`cosines.target`: expected 1 integers"),
    ({"cosine": [[0.1, 0.2]], "target": [0], "scale": [[1.0, 2.0, 3.0]]}, r"`cosines.scale`: expected a number > 0 or"),
    ({"cosine": [[0.1, 0.2]], "target": [0], "scale": -1}, r"`cosines.scale`: expected finite numbers > 0"),
    ({"cosine": [[0.1, 0.2]], "target": [0], "scale": [[1.0, 0.0]]}, r"`cosines.scale`: expected finite numbers > 0"),
    ({"cosine": [[0.1, float("nan")]], "target": [0], "scale": 1}, r"`cosines.cosine`: expected finite numbers"),
])
def test_given_errors_name_the_field(body, message):
    with pytest.raises(InspectError, match=message):
        given_start(body)
