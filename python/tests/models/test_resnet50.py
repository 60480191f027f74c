"""ResNet-50: torchvision's key names and shapes, last stride, and loading a local weights file."""
import pytest
import torch

from amlfs.checkpoint import CheckpointError
from amlfs.models import PretrainedWeightsError, ResNet50

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
# (layer, blocks, width, in_channels of block 0), as torchvision's resnet50
STAGES = ((1, 3, 64, 64), (2, 4, 128, 256), (3, 6, 256, 512), (4, 3, 512, 1024))

# written out by hand from torchvision's resnet50 state_dict
SHAPES = {
    "conv1.weight": [64, 3, 7, 7],
    "bn1.running_var": [64],
    "layer1.0.conv1.weight": [64, 64, 1, 1],
    "layer1.0.conv3.weight": [256, 64, 1, 1],
    "layer1.0.downsample.0.weight": [256, 64, 1, 1],
    "layer1.2.bn3.weight": [256],
    "layer2.0.conv1.weight": [128, 256, 1, 1],
    "layer2.0.conv2.weight": [128, 128, 3, 3],
    "layer2.0.downsample.0.weight": [512, 256, 1, 1],
    "layer2.3.conv3.weight": [512, 128, 1, 1],
    "layer3.0.downsample.1.running_mean": [1024],
    "layer3.5.conv2.weight": [256, 256, 3, 3],
    "layer4.0.conv1.weight": [512, 1024, 1, 1],
    "layer4.0.downsample.0.weight": [2048, 1024, 1, 1],
    "layer4.2.conv3.weight": [2048, 512, 1, 1],
    "layer4.2.bn3.num_batches_tracked": [],
    "fc.weight": [1000, 2048],
    "fc.bias": [1000],
}


def torchvision_keys():
    keys = {"conv1.weight", "fc.weight", "fc.bias"} | {f"bn1.{n}" for n in BN}
    for layer, blocks, _, _ in STAGES:
        for b in range(blocks):
            prefix = f"layer{layer}.{b}"
            keys |= {f"{prefix}.conv{i}.weight" for i in (1, 2, 3)}
            keys |= {f"{prefix}.bn{i}.{n}" for i in (1, 2, 3) for n in BN}
            if b == 0:
                keys |= {f"{prefix}.downsample.0.weight"} | {f"{prefix}.downsample.1.{n}" for n in BN}
    return keys


def test_keys_and_shapes_match_torchvision():
    state = ResNet50(num_classes=1000).state_dict()
    assert set(state) == torchvision_keys()
    assert len(state) == 320
    for key, shape in SHAPES.items():
        assert list(state[key].shape) == shape, key
    assert sum(p.numel() for p in ResNet50(num_classes=1000).parameters()) == 25_557_032  # torchvision's count
    assert not any(k.startswith("fc.") for k in ResNet50().state_dict())


def test_last_stride():
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        assert ResNet50(last_stride=2).eval().features(x).shape == (2, 2048, 2, 1)
        assert ResNet50(last_stride=1).eval().features(x).shape == (2, 2048, 4, 2)
        assert ResNet50(num_classes=7).eval()(x).shape == (2, 7)
    assert ResNet50(last_stride=1).layer4[0].conv2.stride == (1, 1)
    assert ResNet50(last_stride=1).layer3[0].conv2.stride == (2, 2)  # stride on the 3x3 conv (v1.5)
    with pytest.raises(ValueError, match="last_stride"):
        ResNet50(last_stride=3)


def test_pretrained_round_trip_ignores_fc(tmp_path):
    torch.manual_seed(0)
    source = ResNet50(num_classes=1000)  # an ImageNet-style file, fc included
    path = tmp_path / "resnet50.pth"
    torch.save(source.state_dict(), path)
    torch.manual_seed(1)
    target = ResNet50(last_stride=1)
    target.load_pretrained(str(path))
    for key, value in source.backbone_state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key


def test_pretrained_errors_name_the_keys(tmp_path):
    state = ResNet50().state_dict()
    del state["layer3.5.conv2.weight"]
    state["layer5.0.conv1.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(PretrainedWeightsError, match=r"broken\.pth.*missing 1 keys \[layer3\.5\.conv2\.weight\], "
                                                     r"unexpected 1 keys \[layer5\.0\.conv1\.weight\]"):
        ResNet50().load_pretrained(str(path))

    state = ResNet50().state_dict()
    state["layer1.0.conv1.weight"] = torch.zeros(64, 64, 3, 3)
    torch.save(state, path)
    with pytest.raises(PretrainedWeightsError, match=r"layer1\.0\.conv1\.weight \[64, 64, 3, 3\] \(expected \[64, 64, 1, 1\]\)"):
        ResNet50().load_pretrained(str(path))

    with pytest.raises(CheckpointError, match="not found"):
        ResNet50().load_pretrained(str(tmp_path / "absent.pth"))


def test_data_parallel_prefix_is_unwrapped(tmp_path):
    source = ResNet50()
    path = tmp_path / "dp.pth"
    torch.save({"module." + k: v for k, v in source.state_dict().items()}, path)
    target = ResNet50()
    target.load_pretrained(str(path))
    assert torch.equal(target.conv1.weight, source.conv1.weight)
