import json
import re
import struct

import numpy as np
import pytest
import torch

from amlfs.data.errors import DataError
from amlfs.eval.face_identification import IdentificationResult, best_distractor_scores, identification_rank1
from amlfs.eval.megaface_features import (iter_feature_chunks, read_cv_mat, read_feature_file, read_feature_list,
                                          read_list_file, write_feature_file)

from .face_reference import brute_rank1


def tied_case(seed, num_ids=5, per_id=4, num_distractors=60, dim=8):
    """Integer features (exact float arithmetic) with 4 nonzero entries of +-1 each, so all
    norms are 2, cosines are multiples of 1/4 and ties with distractors are frequent. An
    identity's images are its base vector with up to one sign flipped."""
    rng = np.random.default_rng(seed)

    def draw(n):
        out = np.zeros((n, dim))
        for row in out:
            idx = rng.choice(dim, size=4, replace=False)
            row[idx] = rng.choice([-1.0, 1.0], size=4)
        return out

    ids = np.repeat(np.arange(num_ids), per_id)
    probe = draw(num_ids)[ids]
    for row in probe:
        if rng.random() < 0.6:
            k = rng.choice(np.flatnonzero(row))
            row[k] = -row[k]
    distractors = draw(num_distractors)
    distractors[:2] = probe[[1, per_id + 1]]  # exact copies of probe images: certain ties
    return probe, ids, distractors


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("chunk_size", [None, 7])
def test_rank1_matches_brute_force_with_ties(seed, metric, chunk_size):
    probe, ids, distractors = tied_case(seed)
    hits, pairs = brute_rank1(probe.tolist(), ids.tolist(), distractors.tolist(), metric)
    got = identification_rank1(probe, ids, distractors, metric=metric, chunk_size=chunk_size)
    assert (got.num_hits, got.num_pairs) == (hits, pairs)
    assert pairs == 5 * 4 * 3 and 0 < hits < pairs
    # The case has ties that decide pairs: counting them as hits would change the answer.
    assert brute_rank1(probe.tolist(), ids.tolist(), distractors.tolist(), metric, ties_win=True)[0] > hits
    assert got.rank1 == hits / pairs and got.num_distractors == 60 and got.num_probe_identities == 5


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_continuous_float32_features_uneven_identities_and_chunk_iterables(metric):
    rng = np.random.default_rng(1)
    ids = np.array(["a"] * 5 + ["b"] * 2 + ["c"] * 1 + ["d"] * 3)  # "c" contributes no pair
    centres = {k: rng.normal(size=8) for k in "abcd"}
    probe = np.stack([centres[k] + 0.9 * rng.normal(size=8) for k in ids]).astype(np.float32)
    distractors = rng.normal(size=(200, 8)).astype(np.float32) * 1.3
    hits, pairs = brute_rank1(probe.astype(np.float64).tolist(), ids.tolist(),
                              distractors.astype(np.float64).tolist(), metric)
    chunks = (torch.from_numpy(distractors[i:i + 33]) for i in range(0, 200, 33))
    got = identification_rank1(torch.from_numpy(probe), ids, chunks, metric=metric, chunk_size=10)
    assert (got.num_hits, got.num_pairs) == (hits, pairs) and pairs == 5 * 4 + 2 + 3 * 2
    assert got.num_probe_identities == 3 and got.num_probe_images == 11 and 0 < hits < pairs


def test_tie_with_a_distractor_is_a_miss():
    probe = np.array([[1.0, 0.0], [1.0, 0.0]])
    got = identification_rank1(probe, [7, 7], np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert (got.num_hits, got.num_pairs) == (0, 2)
    got = identification_rank1(probe, [7, 7], np.array([[0.0, 1.0]]))
    assert (got.num_hits, got.num_pairs, got.rank1) == (2, 2, 1.0)


def test_cosine_ignores_scale_euclidean_does_not():
    probe = np.array([[1.0, 0.0], [10.0, 0.5]])
    distractor = np.array([[1.0, 0.2]])
    assert identification_rank1(probe, [0, 0], distractor, metric="cosine").num_hits == 2
    assert identification_rank1(probe, [0, 0], distractor, metric="euclidean").num_hits == 0


def test_best_distractor_scores_and_result_dict():
    probe, ids, distractors = tied_case(0)
    best, n = best_distractor_scores(probe, distractors, metric="cosine", chunk_size=5)
    norm = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(best.numpy(), (norm(probe) @ norm(distractors).T).max(axis=1), atol=1e-12)
    assert n == 60
    d = json.loads(json.dumps(identification_rank1(probe, ids, distractors).as_dict()))
    assert set(d) == {"rank1", "numHits", "numPairs", "numProbeImages", "numProbeIdentities", "numDistractors",
                      "metric", "tieRule"}
    assert d["tieRule"] == "a tie with a distractor is a miss" and d["metric"] == "cosine"
    assert isinstance(identification_rank1(probe, ids, distractors), IdentificationResult)


def test_device_argument_cpu():
    probe, ids, distractors = tied_case(2)
    a = identification_rank1(probe, ids, distractors, device="cpu")
    b = identification_rank1(torch.from_numpy(probe), torch.from_numpy(ids), torch.from_numpy(distractors), device=torch.device("cpu"))
    assert a == b


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(probe_ids=[0, 1]), ValueError, "No probe identity has two images"),
    (dict(probe_ids=[0]), ValueError, "`probe_ids` of shape [2]"),
    (dict(probe_ids=[0.0, 0.0]), ValueError, "integers or strings"),
    (dict(distractors=np.zeros((3, 5))), ValueError, "[n, 2]"),
    (dict(distractors=np.zeros((0, 2))), ValueError, "at least one distractor"),
    (dict(distractors=np.array([[0.0, 1.0], [np.nan, 1.0]])), ValueError, "contain NaN"),
    (dict(metric="dot"), ValueError, "`metric`"),
    (dict(chunk_size=0), ValueError, "chunk_size"),
    (dict(distractors=[[0.0, 1.0]]), TypeError, "distractors chunk 0"),
])
def test_bad_input_is_named(kwargs, error, message):
    args = dict(probe_feats=np.eye(2), probe_ids=[3, 3], distractors=np.ones((4, 2)))
    args.update(kwargs)
    with pytest.raises(error, match=re.escape(message)):
        identification_rank1(**args)


# ----------------------------------------------------------------------------- feature files

def test_feature_file_is_the_devkit_layout(tmp_path):
    feature = np.arange(5, dtype=np.float32) / 4
    write_feature_file(tmp_path / "x.bin", feature)
    raw = (tmp_path / "x.bin").read_bytes()
    # Independent reference: the devkit's header 'iiii' = rows, cols, stride, type; D x 1 column.
    assert struct.unpack("<4i", raw[:16]) == (5, 1, 4, 5)
    assert np.frombuffer(raw[16:], dtype="<f4").tolist() == feature.tolist()
    assert read_feature_file(tmp_path / "x.bin").tolist() == feature.tolist()
    mat = np.arange(6, dtype=np.float64).reshape(2, 3)
    write_feature_file(tmp_path / "m.bin", mat)
    assert struct.unpack("<4i", (tmp_path / "m.bin").read_bytes()[:16]) == (2, 3, 24, 6)
    np.testing.assert_array_equal(read_cv_mat(tmp_path / "m.bin"), mat)


@pytest.mark.parametrize("content, message", [
    (b"\x01\x00", "16-byte header"),
    (struct.pack("<4i", 3, 1, 4, 4) + b"\0" * 12, "type 5 (CV_32F) or 6 (CV_64F), got 4"),
    (struct.pack("<4i", 3, 1, 8, 5) + b"\0" * 24, "stride = cols * 4"),
    (struct.pack("<4i", 3, 1, 4, 5) + b"\0" * 8, "expected 28 bytes"),
    (struct.pack("<4i", 3, 1, 4, 5) + b"\0" * 16, "expected 28 bytes"),
    (struct.pack("<4i", 2, 2, 8, 5) + b"\0" * 16, "one feature"),
])
def test_malformed_feature_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad_feature.bin"
    path.write_bytes(content)
    with pytest.raises(DataError, match=re.escape(message)) as err:
        read_feature_file(path)
    assert "bad_feature.bin" in str(err.value)


def write_list(tmp_path, paths, ids=None, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(len(paths), dim)).astype(np.float32)
    for p, f in zip(paths, feats):
        write_feature_file(tmp_path / "feats" / (p + "_cosface.bin"), f)
    content = {"path": paths} if ids is None else {"path": paths, "id": ids}
    (tmp_path / "list.json").write_text(json.dumps(content))
    return feats


def test_feature_list_round_trip_and_identities(tmp_path):
    paths = ["Aaron_Eckhart/Aaron_Eckhart_1.png", "Aaron_Eckhart/Aaron_Eckhart_2.png", "Zoe/Zoe_7.png"]
    feats = write_list(tmp_path, paths)
    got = read_feature_list(tmp_path / "list.json", tmp_path / "feats", "_cosface.bin")
    np.testing.assert_array_equal(got.features, feats)
    assert got.paths == paths and got.identities == ["Aaron_Eckhart", "Aaron_Eckhart", "Zoe"]
    chunks = list(iter_feature_chunks(tmp_path / "list.json", tmp_path / "feats", "_cosface.bin", chunk_size=2))
    assert [c.shape for c in chunks] == [(2, 4), (1, 4)]
    np.testing.assert_array_equal(np.concatenate(chunks), feats)
    write_list(tmp_path, paths, ids=[10, 10, 11])
    assert read_list_file(tmp_path / "list.json")[1] == ["10", "10", "11"]


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON"),
    ('["a/b.png"]', "an object with a \"path\" array"),
    ('{"paths": ["a/b.png"]}', "an object with a \"path\" array"),
    ('{"path": ["a/b.png", 3]}', "\"path\"[1]"),
    ('{"path": ["b.png"]}', "no folder to take the identity"),
    ('{"path": ["a/b.png"], "id": [1, 2]}', "array of 1 entries"),
])
def test_malformed_list_files_are_named(tmp_path, content, message):
    (tmp_path / "list.json").write_text(content)
    with pytest.raises(DataError, match=re.escape(message)) as err:
        read_list_file(tmp_path / "list.json")
    assert "list.json" in str(err.value)


def test_missing_feature_and_dimension_mismatch_are_named(tmp_path):
    write_list(tmp_path, ["a/1.png", "a/2.png"])
    with pytest.raises(DataError, match="Cannot read feature file .*1.png_other.bin"):
        read_feature_list(tmp_path / "list.json", tmp_path / "feats", "_other.bin")
    write_feature_file(tmp_path / "feats" / "a/2.png_cosface.bin", np.zeros(3, dtype=np.float32))
    with pytest.raises(DataError, match="2.png_cosface.bin: expected dimension 4"):
        read_feature_list(tmp_path / "list.json", tmp_path / "feats", "_cosface.bin")


def test_identification_from_feature_files(tmp_path):
    probe, ids, distractors = tied_case(3, num_ids=2, per_id=3, num_distractors=10)
    paths = [f"id{i}/img{k}.png" for k, i in enumerate(ids)]
    for p, f in zip(paths, probe.astype(np.float32)):
        write_feature_file(tmp_path / "probe" / (p + "_x.bin"), f)
    (tmp_path / "probe.json").write_text(json.dumps({"path": paths}))
    dpaths = [f"{k // 4}/d{k}.jpg" for k in range(10)]
    for p, f in zip(dpaths, distractors.astype(np.float32)):
        write_feature_file(tmp_path / "mega" / (p + "_x.bin"), f)
    (tmp_path / "mega.json").write_text(json.dumps({"path": dpaths}))
    probes = read_feature_list(tmp_path / "probe.json", tmp_path / "probe", "_x.bin")
    chunks = iter_feature_chunks(tmp_path / "mega.json", tmp_path / "mega", "_x.bin", chunk_size=3)
    got = identification_rank1(probes.features, probes.identities, chunks)
    assert (got.num_hits, got.num_pairs) == brute_rank1(probe.tolist(), ids.tolist(), distractors.tolist(), "cosine")

