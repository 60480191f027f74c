"""The Multiple Granularity Network (Wang et al., "Learning Discriminative Features with Multiple
Granularities for Person Re-Identification", ACM MM 2018), built on the project's ResNet-50.

Layout: ResNet-50 up to and including ``layer3[0]`` is shared; three branches each own a copy
of ``layer3[1:]`` and ``layer4``. The global branch keeps the stride-2 ``layer4`` (a 384x128
input gives a 12x4 map); the part-2 and part-3 branches use stride 1 (24x8). Each branch's
map is globally pooled, and the part branches also pool 2 and 3 horizontal stripes (``pool``:
max, as the paper, or average, as seathiefwang/MGN-pytorch ``--pool avg``): 8 vectors of
2048-d, in the order ``[g1, g2, g3, p2_1, p2_2, p3_1, p3_2, p3_3]`` (``g`` the global pool of
branch 1, 2, 3). Each is reduced by its own 1x1 conv (2048 -> 256, no bias) - BN - ReLU, and
classified by its own linear head (with a bias when ``head_bias``, as seathiefwang's
``nn.Linear``). The three global 256-d features feed the triplet losses; the evaluation feature
is the L2-normalized concatenation of all 8 (``[N, 2048]``).
"""
from __future__ import annotations

import copy
from typing import List, Mapping, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .resnet50 import ResNet50

POOLS = {"max": F.adaptive_max_pool2d, "avg": F.adaptive_avg_pool2d}
STRIPES = (1, 2, 3)  # horizontal stripes of the global, part-2 and part-3 branch (besides the global pool)
NUM_FEATURES = 8  # 3 global pools + 2 + 3 stripes


class MgnOutputs(NamedTuple):
    """Training outputs: the 8 reduced features ``[N, 256]``, their heads' logits ``[N, C]``, the
    heads' weights ``[C, 256]`` and biases ``[C]`` (None without; for
    :func:`amlfs.loss.cosine_and_scale`). The first 3 are global."""

    features: Tuple[torch.Tensor, ...]
    logits: Tuple[torch.Tensor, ...]
    weights: Tuple[torch.Tensor, ...]
    biases: Tuple[Optional[torch.Tensor], ...]


class MgnNet(nn.Module):
    """MGN. ``outputs(x) -> MgnOutputs``; ``features(x) -> [N, 8 * reduced_dim]`` unit rows.

    Args:
        num_classes: identities of the training split.
        reduced_dim: width of each reduced feature (256 in the paper).
        backbone_state: ResNet-50 weights (torchvision names) loaded before the branches are copied.
        where: named in the error when ``backbone_state`` does not match.
        pool: ``"max"`` or ``"avg"``, the pooling of the maps and stripes.
        head_bias: whether the 8 linear heads have a bias (initialized to 0).
    """

    def __init__(self, num_classes: int, reduced_dim: int = 256,
                 backbone_state: Optional[Mapping[str, torch.Tensor]] = None, where: str = "state dict",
                 pool: str = "max", head_bias: bool = False):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"MgnNet: expected `pool` to be one of {', '.join(POOLS)}, got {pool!r}")
        self.pool = POOLS[pool]
        resnet = ResNet50(last_stride=1)
        if backbone_state is not None:
            resnet.load_backbone_state(backbone_state, where=where)
        self.conv1, self.bn1, self.layer1, self.layer2 = resnet.conv1, resnet.bn1, resnet.layer1, resnet.layer2
        self.layer3_0 = resnet.layer3[0]
        self.branches = nn.ModuleList(
            nn.Sequential(copy.deepcopy(resnet.layer3[1:]), copy.deepcopy(resnet.layer4)) for _ in STRIPES)
        global_layer4 = self.branches[0][1]
        global_layer4[0].conv2.stride = (2, 2)  # same weights, the ImageNet stride
        global_layer4[0].downsample[0].stride = (2, 2)
        channels = resnet.out_channels
        self.reductions = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, reduced_dim, 1, bias=False), nn.BatchNorm2d(reduced_dim), nn.ReLU())
            for _ in range(NUM_FEATURES))
        self.heads = nn.ModuleList(nn.Linear(reduced_dim, num_classes, bias=head_bias) for _ in self.reductions)
        for reduction in self.reductions:
            nn.init.kaiming_normal_(reduction[0].weight, mode="fan_in")
        for head in self.heads:
            nn.init.kaiming_normal_(head.weight, mode="fan_out")
            if head.bias is not None:
                nn.init.zeros_(head.bias)

    def pooled(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The 8 pooled vectors ``[N, 2048, 1, 1]``, globals first."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), kernel_size=3, stride=2, padding=1)
        shared = self.layer3_0(self.layer2(self.layer1(x)))
        maps = [branch(shared) for branch in self.branches]
        globals_ = [self.pool(m, 1) for m in maps]
        stripes = [s for m, n in zip(maps, STRIPES) if n > 1 for s in self.pool(m, (n, 1)).split(1, dim=2)]
        return globals_ + stripes

    def reduced(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The 8 reduced features ``[N, reduced_dim]``, globals first."""
        return [reduce(p).flatten(1) for reduce, p in zip(self.reductions, self.pooled(x))]

    def outputs(self, x: torch.Tensor) -> MgnOutputs:
        features = self.reduced(x)
        logits = tuple(head(f) for head, f in zip(self.heads, features))
        return MgnOutputs(tuple(features), logits, tuple(head.weight for head in self.heads),
                          tuple(head.bias for head in self.heads))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(torch.cat(self.reduced(x), dim=1), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def branch(self, x: torch.Tensor) -> Tuple[MgnOutputs, None]:
        """What the re-ID recipe's training loop hands its loss: ``(outputs(x), None)`` (no single
        ``(cosine, scale)``: the ``mgn`` baseline's loss splits the 8 heads itself)."""
        return self.outputs(x), None
