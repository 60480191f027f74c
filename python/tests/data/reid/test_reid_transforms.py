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
