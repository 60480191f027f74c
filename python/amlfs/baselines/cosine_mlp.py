"""``cosine-mlp``: an MLP with a normalized cosine head on ``synthetic-classes`` (many classes, p starts tiny).

FC (D -> 256) - BN - ReLU - FC (256 -> 128) - BN: the embedding ``x``. Head: ``cos_j``
between ``x / ||x||`` and ``W_j / ||W_j||`` (bias-free ``W``, ``[C, 128]``), logits
``s * cos_j`` with a fixed ``s = 30`` (``scale``), as the CosFace and SphereReID heads: the
searched loss gets ``(cosine [N, C], scale)``, so the identity ``theta`` is normalized
softmax and ``search.init = cosineMargin 0.35`` is CosFace. With ``C = 1000`` classes the
target probability starts near ``1e-3``.

SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch 128, cosine LR over ``search.epochs``.
The data options (``classes``, ``inputDims``, ``trainPerClass``, ``testPerClass``,
``noiseStd``) size the generated task (:mod:`amlfs.data.synthetic_classes`); its seed is
``dataset.splits.splitSeed``. At the defaults (1,000 classes, 32 dims, noise 0.2) one epoch
takes about 0.5 s on one CPU thread, and 20 epochs reach about 79 % test top-1 with plain
normalized softmax, 82 % with CosFace's margin 0.35; the nearest true centre scores 89 %.
"""
from __future__ import annotations

from typing import Any, Mapping, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..data import SyntheticClassesSpec, load_dataset
from .classification import ClassificationRecipe, sgd_config
from .errors import BaselineError
from .options import (fractions_list, non_negative_number, one_of, parse_options, positive_int, positive_number,
                      sourced_table)
from .registry import register_baseline

OPTIONS = sourced_table({
    "batchSize": positive_int(128),
    "lr": positive_number(0.1),
    "momentum": non_negative_number(0.9),
    "weightDecay": non_negative_number(5e-4),
    "schedule": one_of("cosine", ("cosine", "step", "none")),
    "milestones": fractions_list((0.5, 0.75)),
    "evalBatchSize": positive_int(2048),
    "scale": positive_number(30.0),
    "hiddenDim": positive_int(256),
    "embeddingDim": positive_int(128),
    "classes": positive_int(1000),
    "inputDims": positive_int(32),
    "trainPerClass": positive_int(24),
    "testPerClass": positive_int(6),
    "noiseStd": positive_number(SyntheticClassesSpec.noise_std),
}, "ours: the synthetic many-class task (no paper baseline)")


class CosineMLP(nn.Module):
    """Input ``[N, D, 1, 1]`` or ``[N, D]``; ``branch`` gives ``(cosine [N, C], scale)``, ``forward`` the logits ``s * cosine``."""

    def __init__(self, in_dims: int, num_classes: int, hidden: int = 256, embedding: int = 128, scale: float = 30.0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_dims, hidden, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, embedding, bias=False),
            nn.BatchNorm1d(embedding),
        )
        self.classifier = nn.Linear(embedding, num_classes, bias=False)
        self.scale = float(scale)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding, ``[N, embedding]`` (not normalized)."""
        return self.body(x)

    def branch(self, x: torch.Tensor) -> Tuple[torch.Tensor, float]:
        """``(cosine [N, C], s)``: normalized embedding against normalized class weights."""
        cosine = F.normalize(self.features(x), dim=1) @ F.normalize(self.classifier.weight, dim=1).t()
        return cosine, self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cosine, scale = self.branch(x)
        return scale * cosine


def data_spec(options: Mapping[str, Any]) -> SyntheticClassesSpec:
    """The generated task of parsed ``options``."""
    if options["classes"] < 2:
        raise BaselineError(f"`baseline.options.classes`: expected at least 2, got {options['classes']}")
    if options["trainPerClass"] < 2:
        raise BaselineError(f"`baseline.options.trainPerClass`: expected at least 2 (the validation split is carved "
                            f"out of them), got {options['trainPerClass']}")
    return SyntheticClassesSpec(classes=options["classes"], dims=options["inputDims"],
                                train_per_class=options["trainPerClass"], test_per_class=options["testPerClass"],
                                noise_std=float(options["noiseStd"]))


@register_baseline("cosine-mlp", datasets=("synthetic-classes",), recipe=ClassificationRecipe, options=OPTIONS)
def build_cosine_mlp(experiment: Mapping[str, Any], device: torch.device) -> ClassificationRecipe:
    options = parse_options("cosine-mlp", experiment["baseline"].get("options", {}), OPTIONS)
    config = sgd_config(options, experiment["search"]["epochs"])
    data = load_dataset(experiment["dataset"], spec=data_spec(options))
    hidden, embedding, scale = options["hiddenDim"], options["embeddingDim"], float(options["scale"])
    return ClassificationRecipe(data, lambda d, c: CosineMLP(d, c, hidden, embedding, scale), config, device,
                                experiment.get("seed", 0))
