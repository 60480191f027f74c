"""``python -m amlfs.megaface``: features of a finished cosface run written as devkit files, then rank-1."""
import json
import os

import numpy as np
import pytest
import torch

from amlfs import megaface
from amlfs.baselines import build_recipe
from amlfs.checkpoint import pack_state
from amlfs.eval import identification_rank1, read_feature_file
from amlfs.fixtures.face import write_face_fixture

OPTIONS = {"heightPx": 32, "widthPx": 32, "embeddingDim": 16, "batchSize": 16, "numWorkers": 0, "evalBatchSize": 64,
           "valPairsPerFold": 5}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run directory of a tiny cosface model (one epoch on the fixture), and the fixture's counts."""
    root = tmp_path_factory.mktemp("face")
    counts = write_face_fixture(str(root), ids=20, per_id=5)
    experiment = {"name": "mf", "seed": 0, "baseline": {"name": "cosface", "options": OPTIONS},
                  "dataset": {"kind": "casia-webface", "root": str(root), "splits": {"valFraction": 0.2, "splitSeed": 0}},
                  "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 1}, "reward": {"metric": "verificationAccuracy"}}
    torch.set_num_threads(1)
    recipe = build_recipe(experiment, torch.device("cpu"))
    run_dir = tmp_path_factory.mktemp("run")
    (run_dir / "final").mkdir()
    (run_dir / "config.json").write_text(json.dumps(experiment))
    (run_dir / "final" / "model.safetensors").write_bytes(pack_state(recipe.model, recipe.optimizer,
                                                                     recipe.scheduler).data)
    return run_dir, recipe, counts


def list_file(path, folder):
    paths = sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, files in os.walk(folder) for f in files)
    path.write_text(json.dumps({"path": paths}))
    return paths


def test_extract_then_rank1(run, tmp_path, capsys):
    run_dir, recipe, counts = run
    probes = list_file(tmp_path / "probes.json", counts.lfw_dir)
    distractors = list_file(tmp_path / "distractors.json", counts.casia_dir)
    for name, folder in (("probes", counts.lfw_dir), ("distractors", counts.casia_dir)):
        code = megaface.main(["extract", str(run_dir), "--list", str(tmp_path / f"{name}.json"), "--images", folder,
                              "--out", str(tmp_path / name)])
        assert code == 0

    # the files hold what the run's own test evaluation computes: concat(f(image), f(flip))
    expected = recipe.extract([os.path.join(counts.lfw_dir, p) for p in probes]).numpy()
    written = np.stack([read_feature_file(tmp_path / "probes" / (p + "_amlfs.bin")) for p in probes])
    assert written.shape == (counts.lfw_images, 2 * 16) and np.allclose(written, expected, atol=1e-5)

    code = megaface.main(["rank1", "--probes", str(tmp_path / "probes.json"), "--probe-features", str(tmp_path / "probes"),
                          "--distractors", str(tmp_path / "distractors.json"),
                          "--distractor-features", str(tmp_path / "distractors"), "--chunk-size", "7"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    gallery = recipe.extract([os.path.join(counts.casia_dir, p) for p in distractors])
    direct = identification_rank1(torch.from_numpy(expected), [p.split(os.sep)[0] for p in probes], gallery)
    assert result["numDistractors"] == counts.casia_images and result["numPairs"] == direct.num_pairs
    assert result["rank1"] == pytest.approx(direct.rank1)


def test_errors_name_the_input(run, tmp_path, capsys):
    run_dir, _, counts = run
    (tmp_path / "list.json").write_text(json.dumps({"path": ["a/b.jpg"]}))
    assert megaface.main(["extract", str(tmp_path), "--list", str(tmp_path / "list.json"), "--images", counts.lfw_dir,
                          "--out", str(tmp_path / "f")]) == 2
    assert "not a finished run directory" in capsys.readouterr().err
    assert megaface.main(["rank1", "--probes", str(tmp_path / "missing.json"), "--probe-features", ".",
                          "--distractors", str(tmp_path / "list.json"), "--distractor-features", "."]) == 2
    assert "missing.json" in capsys.readouterr().err
