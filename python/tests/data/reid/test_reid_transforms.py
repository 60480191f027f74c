"""Re-ID transforms: shapes, seeded determinism, and hand-written references."""
import numpy as np
import pytest
import torch

from amlfs.data import DataError
from amlfs.data.reid import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ReidImageDataset,
    eval_transform,
    hflip,
    load_image,
    normalize,
    pad_random_crop,
    random_erasing,
    random_hflip,
    read_reid,
    resize,
    train_augment,
)
from amlfs.fixtures.reid import write_reid_fixture


def batch(n=4, h=16, w=8, seed=0):
    return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_hflip_matches_a_loop():
    x = batch()
    out = hflip(x)
    w = x.shape[-1]
    for col in range(w):
        assert torch.equal(out[..., col], x[..., w - 1 - col])


def test_random_hflip_flips_exactly_the_drawn_images():
    x = batch(n=16)
    out = random_hflip(x, gen(3))
    flipped = (torch.rand(16, generator=gen(3)) < 0.5).tolist()
    assert 0 < sum(flipped) < 16
    for i, f in enumerate(flipped):
        reference = x[i].numpy()[:, :, ::-1] if f else x[i].numpy()
        assert np.array_equal(out[i].numpy(), reference)


def test_pad_random_crop_matches_a_padded_slice():
    x = batch(n=6)
    out = pad_random_crop(x, 3, gen(4))
    g = gen(4)
    dy = torch.randint(0, 7, (6,), generator=g).tolist()
    dx = torch.randint(0, 7, (6,), generator=g).tolist()
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (3, 3), (3, 3)))
    for i in range(6):
        assert np.array_equal(out[i].numpy(), padded[i, :, dy[i]:dy[i] + 16, dx[i]:dx[i] + 8])


def test_random_transforms_are_deterministic_for_a_seed():
    x = batch(n=8, h=32, w=16)
    first = train_augment(x, gen(11))
    assert first.shape == (8, 3, 32, 16) and first.dtype == torch.float32
    assert torch.equal(first, train_augment(x, gen(11)))
    assert not torch.equal(first, train_augment(x, gen(12)))


def test_normalize_matches_the_formula():
    x = batch(n=2)
    out = normalize(x)
    for c in range(3):
        expected = (x[:, c].double() / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        assert torch.allclose(out[:, c].double(), expected, atol=1e-6)
    assert torch.allclose(normalize(x[0]), out[0])
    assert torch.equal(eval_transform(x), out)


def test_random_erasing_boxes_respect_the_paper_ranges():
    x = torch.zeros(64, 3, 64, 32)
    out = random_erasing(x, gen(2), p=1.0, fill=1.0)
    for i in range(64):
        mask = out[i, 0] == 1.0
        rows = mask.any(1).nonzero().flatten()
        cols = mask.any(0).nonzero().flatten()
        h, w = len(rows), len(cols)
        assert int(mask.sum()) == h * w  # one rectangle
        assert 0.02 * 64 * 32 * 0.7 <= h * w <= 0.4 * 64 * 32 * 1.3
        assert 0.3 * 0.6 <= h / w <= 3.34 / 0.6
        assert torch.equal(out[i, 0], out[i, 2])
    assert torch.equal(random_erasing(x, gen(2), p=0.0), x)


def test_random_erasing_with_p_half_erases_about_half_and_rejects_uint8():
    x = torch.zeros(200, 3, 32, 16)
    erased = (random_erasing(x, gen(5)) != 0).flatten(1).any(1).float().mean().item()
    assert 0.35 < erased < 0.65
    with pytest.raises(DataError, match="uint8"):
        random_erasing(batch(), gen(0))


def test_resize_shapes_dtypes_and_constant_images():
    x = batch(n=2, h=20, w=10)
    assert resize(x, 256, 128).shape == (2, 3, 256, 128)
    assert resize(x[0], 384, 128).shape == (3, 384, 128)
    assert resize(x, 8, 4).dtype == torch.uint8
    assert resize(x.float(), 8, 4).dtype == torch.float32
    grey = torch.full((3, 30, 11), 77, dtype=torch.uint8)
    assert torch.equal(resize(grey, 13, 7), torch.full((3, 13, 7), 77, dtype=torch.uint8))


def test_resize_is_close_to_pillow_bilinear():
    from PIL import Image

    x = batch(n=1, h=48, w=24, seed=9)[0]
    for h, w in ((96, 48), (20, 10)):
        pil = Image.fromarray(x.permute(1, 2, 0).numpy()).resize((w, h), Image.BILINEAR)
        reference = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1).int()
        assert (resize(x, h, w).int() - reference).abs().max() <= 2


def test_load_image_gives_chw_uint8_rgb(tmp_path):
    from PIL import Image

    array = np.random.default_rng(0).integers(0, 256, (10, 6, 3), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "a.png")
    image = load_image(str(tmp_path / "a.png"))
    assert image.dtype == torch.uint8 and image.shape == (3, 10, 6)
    assert np.array_equal(image.permute(1, 2, 0).numpy(), array)
    Image.fromarray(array[:, :, 0]).save(tmp_path / "grey.png")
    assert load_image(str(tmp_path / "grey.png")).shape == (3, 10, 6)
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="bad.jpg"):
        load_image(str(tmp_path / "bad.jpg"))


def test_image_dataset_loads_fixture_jpegs(tmp_path):
    write_reid_fixture(str(tmp_path), "duke", 2, 4, height_px=40, width_px=20)
    data = read_reid(str(tmp_path), "dukemtmc-reid", strict=False)
    dataset = ReidImageDataset(data.train.images, 64, 32, labels=data.train.labels)
    pixels, label, camid = dataset[5]
    assert pixels.shape == (3, 64, 32) and pixels.dtype == torch.uint8
    assert label == data.train.labels[5] and camid == data.train.images.camids[5]
    assert ReidImageDataset(data.gallery, 64, 32)[0][1] == data.gallery.pids[0]


def zhong_box(height_px, width_px, rng):
    """Zhong et al.'s RandomErasing box (CoinCheung/SphereReID@e02c7b9 random_erasing.py:30-44), one try
    loop, with ``rng`` a ``random.Random``: (top, left, h, w) or None."""
    import math
    for _ in range(100):
        target = rng.uniform(0.02, 0.4) * height_px * width_px
        aspect = rng.uniform(0.3, 1 / 0.3)
        h = int(round(math.sqrt(target * aspect)))
        w = int(round(math.sqrt(target / aspect)))
        if w < width_px and h < height_px:
            return rng.randint(0, height_px - h), rng.randint(0, width_px - w), h, w
    return None


def test_random_erasing_region_statistics_match_zhong_et_al():
    import random
    n, height_px, width_px = 3000, 256, 128
    out = random_erasing(torch.zeros(n, 1, height_px, width_px), gen(11), p=1.0, fill=1.0)
    ours = out.flatten(1).mean(1)  # erased area fraction per image
    rng = random.Random(0)
    boxes = [zhong_box(height_px, width_px, rng) for _ in range(n)]
    theirs = torch.tensor([h * w / (height_px * width_px) for _, _, h, w in boxes])
    # area fraction ~ U(0.02, 0.4) before rounding and rejection: mean 0.21, sd 0.11
    assert ours.min() >= 0.015 and ours.max() <= 0.41
    assert abs(ours.mean().item() - theirs.mean().item()) < 0.01
    assert abs(ours.std().item() - theirs.std().item()) < 0.01
    # row centre of the box: uniform top over [0, H - h]
    rows = out[:, 0].any(2).float()
    centre = (rows * torch.arange(height_px)).sum(1) / rows.sum(1)
    their_centre = torch.tensor([top + (h - 1) / 2 for top, _, h, _ in boxes])
    assert abs(centre.mean().item() - their_centre.mean().item()) < 2.0


def test_erasing_fills_are_zero_after_normalize_or_pixel_127_before():
    from amlfs.data.reid import ERASING_FILLS, erasing_fill
    assert ERASING_FILLS == ("random", "normalizedZero", "pixel127")
    assert erasing_fill("random") is None and erasing_fill("normalizedZero") == 0.0
    pixel = torch.full((1, 3, 1, 1), 127, dtype=torch.uint8)
    assert erasing_fill("pixel127") == pytest.approx(tuple(normalize(pixel).flatten().tolist()), abs=1e-6)
    x = normalize(batch(8, 64, 32))
    out = random_erasing(x, gen(4), p=1.0, fill=erasing_fill("pixel127"))
    erased = out != x
    for c in range(3):
        assert torch.allclose(out[:, c][erased[:, c]], torch.tensor(erasing_fill("pixel127")[c]))
    with pytest.raises(DataError, match="erasing fill: expected one of random, normalizedZero, pixel127, got 'mean'"):
        erasing_fill("mean")
