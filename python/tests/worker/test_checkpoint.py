"""Checkpoints: safetensors layout, strict unpacking, and training that continues bit for bit."""
import hashlib
import json
import struct

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load as safetensors_load
from torch import nn

from amlfs.checkpoint import CheckpointError, load_weights, pack_state, read_metadata, unpack_state


def make_model(seed=0, extra=False):
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)]
    if extra:
        layers.append(nn.Linear(5, 5))
    return nn.Sequential(*layers)


def make_objects(seed=0, optimizer="sgd"):
    model = make_model(seed)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.99))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.1)
    return model, opt, scheduler


def batches(count, seed=123):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, 1, 6, 6, generator=generator), torch.randint(0, 5, (8,), generator=generator))
            for _ in range(count)]


def train(model, opt, scheduler, data, steps_per_epoch=2):
    model.train()
    for i, (x, y) in enumerate(data, start=1):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % steps_per_epoch == 0:
            scheduler.step()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_continues_bit_for_bit_after_pack_and_unpack(optimizer):
    data = batches(8)
    reference = make_objects(0, optimizer)
    train(*reference, data[:4])
    packed = pack_state(*reference, epoch=2)
    train(*reference, data[4:])

    resumed = make_objects(7, optimizer)  # different initial weights, fresh optimizer
    assert unpack_state(packed.data, *resumed) == 2
    train(*resumed, data[4:])

    for (name, a), b in zip(reference[0].state_dict().items(), resumed[0].state_dict().values()):
        assert torch.equal(a, b), name
    state_a, state_b = reference[1].state_dict(), resumed[1].state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    for index, entries in state_a["state"].items():
        for key, value in entries.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state_b["state"][index][key])), (index, key)
    assert reference[2].state_dict() == resumed[2].state_dict()


def test_momentum_and_scheduler_are_restored():
    model, opt, scheduler = make_objects()
    train(model, opt, scheduler, batches(4))
    packed = pack_state(model, opt, scheduler, epoch=2)
    model2, opt2, scheduler2 = make_objects(3)
    unpack_state(packed.data, model2, opt2, scheduler2)
    for index, entries in opt.state_dict()["state"].items():
        assert torch.equal(entries["momentum_buffer"], opt2.state_dict()["state"][index]["momentum_buffer"])
    assert scheduler2.last_epoch == scheduler.last_epoch == 2
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    assert isinstance(scheduler2.milestones, type(scheduler.milestones))
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_layout_is_tensors_plus_json_metadata():
    model, opt, scheduler = make_objects()
    train(model, opt, scheduler, batches(2))
    packed = pack_state(model, opt, scheduler, epoch=1)
    tensors = safetensors_load(packed.data)
    assert set(tensors) == {f"model/{k}" for k in model.state_dict()} | {
        f"optimizer/{i}/momentum_buffer" for i in range(len(list(model.parameters())))}
    metadata = read_metadata(packed.data)
    assert set(metadata) == {"amlfs.format", "epoch", "optimizer.param_groups", "optimizer.scalars", "scheduler"}
    assert metadata["amlfs.format"] == "1" and metadata["epoch"] == "1"
    groups = json.loads(metadata["optimizer.param_groups"])
    assert groups[0]["params"] == list(range(len(list(model.parameters())))) and groups[0]["momentum"] == 0.9
    assert json.loads(metadata["scheduler"])["last_epoch"] == 1


def test_metadata_matches_what_safetensors_itself_reads(tmp_path):
    packed = pack_state(*make_objects(), epoch=0)
    path = tmp_path / "state.safetensors"
    path.write_bytes(packed.data)
    with safe_open(str(path), framework="pt") as handle:
        assert handle.metadata() == read_metadata(packed.data)


def test_sha256_names_the_bytes_and_is_deterministic():
    objects = make_objects()
    train(*objects, batches(2))
    first = pack_state(*objects, epoch=1)
    assert first.sha256 == hashlib.sha256(first.data).hexdigest()
    assert first.size_bytes == len(first.data)
    # safetensors writes its metadata map in hash order; the header is made canonical.
    assert {pack_state(*objects, epoch=1).sha256 for _ in range(8)} == {first.sha256}
    (size,) = struct.unpack("<Q", first.data[:8])
    header = json.loads(first.data[8 : 8 + size])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    assert pack_state(*objects, epoch=2).sha256 != first.sha256


def test_shared_storage_is_packed():
    model = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5, bias=False))
    model[1].weight = model[0].weight  # tied weights
    packed = pack_state(model)
    other = nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 5, bias=False))
    unpack_state(packed.data, other)
    assert torch.equal(other[1].weight, model[0].weight)


def test_missing_key_is_named():
    packed = pack_state(make_model())
    with pytest.raises(CheckpointError, match=r"lacks `model/5.bias`.*model/5.weight"):
        unpack_state(packed.data, make_model(extra=True))


def test_unexpected_key_is_named():
    packed = pack_state(make_model(extra=True))
    with pytest.raises(CheckpointError, match=r"unexpected `model/5.bias`"):
        unpack_state(packed.data, make_model())


def test_shape_mismatch_is_named():
    packed = pack_state(nn.Linear(3, 4))
    with pytest.raises(CheckpointError, match=r"`model/weight`: shape \[4, 3\]"):
        unpack_state(packed.data, nn.Linear(3, 5))


def test_optimizer_and_scheduler_presence_must_match():
    model, opt, scheduler = make_objects()
    bare = pack_state(model)
    with pytest.raises(CheckpointError, match="optimizer.param_groups"):
        unpack_state(bare.data, model, opt)
    with pytest.raises(CheckpointError, match="`scheduler`"):
        unpack_state(pack_state(model, opt).data, model, opt, scheduler)
    with pytest.raises(CheckpointError, match="optimizer.param_groups"):
        unpack_state(pack_state(model, opt).data, model)
    other = torch.optim.SGD([{"params": list(model.parameters())[:2]}, {"params": list(model.parameters())[2:]}],
                            lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError, match="optimizer.param_groups"):
        unpack_state(pack_state(model, opt).data, model, other)


def test_scheduler_keys_are_strict():
    model, opt, _ = make_objects()
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    packed = pack_state(model, opt, step)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    with pytest.raises(CheckpointError, match=r"scheduler.*`scheduler\.(T_max|eta_min|gamma|step_size)`"):
        unpack_state(packed.data, model, opt, cosine)


def test_not_a_checkpoint():
    with pytest.raises(CheckpointError):
        unpack_state(b"definitely not safetensors", nn.Linear(2, 2))
    from safetensors.torch import save

    plain = save({"model/weight": torch.zeros(2, 2), "model/bias": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="amlfs.format"):
        unpack_state(plain, nn.Linear(2, 2))


def test_pretrained_weights_load_without_pickle(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(nn.Linear(2, 3).state_dict(), path)
    assert set(load_weights(str(path))) == {"weight", "bias"}

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    evil = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "payload": Evil()}, evil)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_weights(str(evil))
    with pytest.raises(CheckpointError, match="not found: .*missing.pth"):
        load_weights(str(tmp_path / "missing.pth"))
