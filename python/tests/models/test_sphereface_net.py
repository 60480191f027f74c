"""sphere20 (SphereFace / CosFace 20-layer face network): layer count, hand-counted parameters, shapes, init."""
import math

import pytest
import torch
from torch import nn

from amlfs.models.sphereface_net import SphereFaceNet, caffe_xavier_

CHANNELS = (64, 128, 256, 512)
UNITS = (1, 2, 4, 1)


def hand_count(embedding_dim=512, map_hw=(7, 6), units=UNITS):
    """Parameters written out from the architecture: convs, PReLU slopes, FC."""
    total, c_in = 0, 3
    for c, u in zip(CHANNELS, units):
        total += c_in * c * 9 + c  # stride-2 conv with bias
        total += u * 2 * c * c * 9  # residual convs, no bias
        total += (1 + 2 * u) * c  # one PReLU slope per channel after every conv
        c_in = c
    total += 512 * map_hw[0] * map_hw[1] * embedding_dim + embedding_dim
    return total


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SphereFaceNet()


def test_twenty_convolutions_and_parameter_count(net):
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20
    assert sum(c.stride == (2, 2) for c in convs) == 4
    assert sum(p.numel() for p in net.parameters()) == hand_count()
    assert net.fc.in_features == 7 * 6 * 512 and net.fc.out_features == 512


def test_sixty_four_layer_variant_counts():
    net = SphereFaceNet(embedding_dim=8, input_size_px=(16, 16), stage_units=(3, 8, 16, 3))
    assert sum(isinstance(m, nn.Conv2d) for m in net.modules()) == 64
    assert sum(p.numel() for p in net.parameters()) == hand_count(8, (1, 1), (3, 8, 16, 3))


def test_forward_shapes_at_112x96(net):
    torch.set_num_threads(1)
    sizes = []
    hooks = [stage.register_forward_hook(lambda _m, _i, out: sizes.append(tuple(out.shape))) for stage in net.stages]
    x = torch.randn(2, 3, 112, 96)
    with torch.no_grad():
        embedding = net(x)
    for h in hooks:
        h.remove()
    assert sizes == [(2, 64, 56, 48), (2, 128, 28, 24), (2, 256, 14, 12), (2, 512, 7, 6)]
    assert embedding.shape == (2, 512) and torch.isfinite(embedding).all()
    assert SphereFaceNet.map_size_px((112, 96)) == (7, 6)


def test_configurable_embedding_and_input_size_with_backward():
    net = SphereFaceNet(embedding_dim=16, input_size_px=(20, 18))
    assert net.feature_size_px == (2, 2)  # 20 -> 10 -> 5 -> 3 -> 2, 18 -> 9 -> 5 -> 3 -> 2
    x = torch.randn(3, 3, 20, 18, requires_grad=True)
    net(x).sum().backward()
    assert x.grad.shape == x.shape and torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match=r"`x` to have shape \[N, 3, 20, 18\].*got \[3, 3, 112, 96\]"):
        net(torch.randn(3, 3, 112, 96))
    with pytest.raises(ValueError, match=r"got \[3, 1, 20, 18\]"):
        net(torch.randn(3, 1, 20, 18))


@pytest.mark.parametrize("kwargs,field", [
    ({"embedding_dim": 0}, "`embedding_dim`"),
    ({"input_size_px": (112,)}, "`input_size_px`"),
    ({"input_size_px": (112, 0)}, "`input_size_px`"),
    ({"stage_units": (1, 2, 4)}, "`stage_units`"),
])
def test_bad_construction_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SphereFaceNet(**kwargs)


def test_residual_unit_is_identity_when_its_convs_are_zero():
    unit = SphereFaceNet(input_size_px=(16, 16)).stages[1].units[0]  # first residual unit of stage 2
    with torch.no_grad():
        for p in (unit.conv1.weight, unit.conv2.weight):
            p.zero_()
        x = torch.randn(2, 128, 5, 4)
        torch.testing.assert_close(unit(x), x, rtol=0, atol=0)


def test_init_follows_the_reference_model():
    torch.manual_seed(0)
    net = SphereFaceNet(input_size_px=(16, 16))
    for stage in net.stages:
        conv = stage.conv
        fan_in = conv.weight[0].numel()
        bound = math.sqrt(3.0 / fan_in)  # Caffe xavier: uniform, variance 1 / fan_in
        assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
        assert conv.weight.std().item() == pytest.approx(math.sqrt(1.0 / fan_in), rel=0.1)
        assert (conv.bias == 0).all()
        for unit in stage.units:
            for c in (unit.conv1, unit.conv2):
                assert c.bias is None and c.weight.std().item() == pytest.approx(0.01, rel=0.1)
    slopes = [m.weight for m in net.modules() if isinstance(m, nn.PReLU)]
    assert len(slopes) == 20 and all((s == 0.25).all() for s in slopes)
    assert (net.fc.bias == 0).all() and net.fc.weight.abs().max() <= math.sqrt(3.0 / net.fc.in_features)


def test_caffe_xavier_bound():
    w = torch.empty(10, 4, 3, 3)
    caffe_xavier_(w)
    assert w.abs().max() <= math.sqrt(3.0 / 36)
