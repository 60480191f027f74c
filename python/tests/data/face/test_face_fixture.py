"""The face fixture generator: layout, command line, determinism and separable identities."""
import os

import numpy as np
import pytest

from amlfs.data.face import load_face, read_casia_webface
from amlfs.fixtures.face import main, write_face_fixture


def test_command_line_writes_both_layouts(tmp_path, capsys):
    out = tmp_path / "faces"
    assert main([str(out), "--ids", "3", "--per-id", "2", "--lfw-names", "4", "--folds", "2",
                 "--pairs-per-fold", "3", "--height", "24", "--width", "20"]) == 0
    assert "wrote 6 CASIA-WebFace images (3 identities), 8 LFW images (4 people) and 12 pairs" in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["CASIA-WebFace", "lfw", "pairs.txt"]
    assert sorted(os.listdir(out / "CASIA-WebFace")) == ["0000045", "0000058", "0000071"]
    assert sorted(os.listdir(out / "CASIA-WebFace" / "0000058")) == ["001.jpg", "002.jpg"]
    assert sorted(os.listdir(out / "lfw" / "Ada_Abbott")) == ["Ada_Abbott_0001.jpg", "Ada_Abbott_0002.jpg"]
    with open(out / "CASIA-WebFace" / "0000045" / "001.jpg", "rb") as handle:
        assert handle.read(3) == b"\xff\xd8\xff"  # a real JPEG
    assert (out / "pairs.txt").read_text().splitlines()[0] == "2\t3"


@pytest.mark.parametrize("argv, message", [
    (["--ids", "0"], "Expected --ids >= 1, got 0"),
    (["--per-id", "1"], "Expected --per-id >= 2, got 1"),
    (["--lfw-names", "3", "--folds", "2"], "Expected --lfw-names in 4..400"),
])
def test_bad_arguments_exit_with_a_message(tmp_path, capsys, argv, message):
    assert main([str(tmp_path)] + argv) == 2
    assert message in capsys.readouterr().err


def test_a_seed_fixes_every_byte(tmp_path):
    for name in ("a", "b"):
        write_face_fixture(str(tmp_path / name), ids=2, per_id=2, lfw_names=2, folds=1, pairs_per_fold=2,
                           height_px=16, width_px=16, seed=3)
    for folder, _, files in os.walk(tmp_path / "a"):
        for file in files:
            other = os.path.join(str(tmp_path / "b"), os.path.relpath(os.path.join(folder, file), tmp_path / "a"))
            with open(os.path.join(folder, file), "rb") as x, open(other, "rb") as y:
                assert x.read() == y.read()


def test_identities_are_separable_by_nearest_centroid(tmp_path):
    # Learnable: a nearest-centroid classifier on 16 x 16 thumbnails, centroids from images 1-3,
    # recognizes image 4 of every identity.
    write_face_fixture(str(tmp_path), ids=12, per_id=4, lfw_names=2, folds=1, pairs_per_fold=1)
    images = read_casia_webface(str(tmp_path))
    thumbs = np.stack([load_face(p, 16, 16).numpy().astype(np.float64).ravel() for p in images.paths])
    labels = np.array(images.labels)
    last = np.array([os.path.basename(p) == "004.jpg" for p in images.paths])
    centroids = np.stack([thumbs[(labels == k) & ~last].mean(0) for k in range(12)])
    distances = ((thumbs[last][:, None, :] - centroids[None]) ** 2).sum(-1)
    assert (distances.argmin(1) == labels[last]).all()
