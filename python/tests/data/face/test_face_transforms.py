"""Face transforms and dataset: the CosFace normalization formula, flips against plain indexing."""
import numpy as np
import pytest
import torch
from PIL import Image

from amlfs.data import DataError
from amlfs.data.face import (
    NO_LABEL,
    FaceImageDataset,
    face_eval_transform,
    face_train_augment,
    load_face,
    normalize_face,
    read_casia_webface,
    with_flipped,
)
from amlfs.data.reid import load_image, resize
from amlfs.fixtures.face import write_face_fixture


def batch(n=4, h=112, w=96, seed=0):
    return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_normalize_follows_the_cosface_formula():
    x = batch()
    reference = (x.numpy().astype(np.float64) / 255.0 - 0.5) / 0.5
    out = normalize_face(x)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), reference, rtol=0, atol=1e-6)
    ends = normalize_face(torch.tensor([0, 255], dtype=torch.uint8))
    assert ends.tolist() == [-1.0, 1.0]
    assert torch.equal(face_eval_transform(x), out)


def test_normalize_refuses_float_input():
    with pytest.raises(DataError, match="expected a uint8 image batch"):
        normalize_face(torch.zeros(1, 3, 4, 4))


def test_train_augment_flips_exactly_the_drawn_images_then_normalizes():
    x = batch(n=12, h=8, w=6)
    out = face_train_augment(x, torch.Generator().manual_seed(5))
    flipped = (torch.rand(12, generator=torch.Generator().manual_seed(5)) < 0.5).tolist()
    assert 0 < sum(flipped) < 12
    for i, f in enumerate(flipped):
        pixels = x[i].numpy()[:, :, ::-1] if f else x[i].numpy()
        np.testing.assert_allclose(out[i].numpy(), (pixels / 255.0 - 0.5) / 0.5, atol=1e-6)


def test_with_flipped_appends_the_mirrors():
    x = batch(n=3, h=5, w=4)
    out = with_flipped(x)
    assert out.shape == (6, 3, 5, 4)
    assert np.array_equal(out[:3].numpy(), x.numpy())
    for i in range(3):
        for col in range(4):
            assert torch.equal(out[3 + i, :, :, col], x[i, :, :, 3 - col])


def test_load_face_keeps_aligned_files_and_resizes_others(tmp_path):
    rng = np.random.default_rng(0)
    aligned = rng.integers(0, 256, (112, 96, 3), dtype=np.uint8)
    Image.fromarray(aligned).save(tmp_path / "aligned.png")
    assert np.array_equal(load_face(str(tmp_path / "aligned.png")).permute(1, 2, 0).numpy(), aligned)
    Image.fromarray(rng.integers(0, 256, (250, 250, 3), dtype=np.uint8)).save(tmp_path / "raw.png")
    out = load_face(str(tmp_path / "raw.png"))
    assert out.shape == (3, 112, 96) and out.dtype == torch.uint8
    assert torch.equal(out, resize(load_image(str(tmp_path / "raw.png")), 112, 96))


def test_dataset_items_are_uint8_faces_with_their_labels(tmp_path):
    write_face_fixture(str(tmp_path), ids=3, per_id=2, lfw_names=2, folds=1, pairs_per_fold=1, height_px=40, width_px=32)
    images = read_casia_webface(str(tmp_path))
    dataset = FaceImageDataset(images.paths, images.labels)
    assert len(dataset) == 6
    pixels, label = dataset[3]
    assert pixels.shape == (3, 112, 96) and pixels.dtype == torch.uint8 and label == images.labels[3] == 1
    assert torch.equal(pixels, resize(load_image(images.paths[3]), 112, 96))
    assert FaceImageDataset(images.paths[:2])[1][1] == NO_LABEL
    with pytest.raises(DataError, match="expected 6 labels, got 2"):
        FaceImageDataset(images.paths, images.labels[:2])
