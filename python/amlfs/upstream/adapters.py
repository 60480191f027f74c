"""The upstream adapters: which repository each drives, on which data, and where its code is.

Declared here as data, without importing any adapter (their modules import torchvision and
the repository's code), so that the catalog and ``amlfs validate`` know them on any machine.
Each adapter module has ``build(experiment, device, checkout, options) -> Recipe``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Dict, List, Tuple

from ..baselines.errors import BaselineError
from .checkout import UpstreamRepo

REID_METRICS = ("mAP", "rank1")
FACE_METRICS = ("verificationAccuracy",)


@dataclass(frozen=True)
class Adapter:
    """An adapter: its ``name`` (``baseline.options.adapter``), the repository it drives, the
    dataset kinds and reward metrics it offers, the Python modules the workers need beyond
    ``amlfs``'s own (``needs``), and its module under :mod:`amlfs.upstream`."""

    name: str
    repo: UpstreamRepo
    datasets: Tuple[str, ...]
    reward_metrics: Tuple[str, ...]
    needs: Tuple[str, ...]
    module: str

    def builder(self):
        """The adapter's ``build`` function (imports its module)."""
        return importlib.import_module(f"{__package__}.{self.module}").build


ADAPTERS: Dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (
        Adapter(
            name="spherereid-coincheung",
            repo=UpstreamRepo("CoinCheung/SphereReID", "e02c7b93bf8098ab0d73f3e6ec22723689344ac4",
                              "https://github.com/CoinCheung/SphereReID",
                              ("backbone.py", "sphere_loss.py", "market1501.py", "balanced_sampler.py",
                               "random_erasing.py", "train.py", "evaluate.py")),
            datasets=("market1501", "dukemtmc-reid"),
            reward_metrics=REID_METRICS,
            needs=("torchvision", "cv2"),
            module="coincheung_spherereid",
        ),
        Adapter(
            name="cosface-mugglewang",
            repo=UpstreamRepo("MuggleWang/CosFace_pytorch", "81de0a95b99661b12441e7c6f846082ac08ce054",
                              "https://github.com/MuggleWang/CosFace_pytorch",
                              ("net.py", "layer.py", "dataset.py", "main.py", "lfw_eval.py")),
            datasets=("casia-webface",),
            reward_metrics=FACE_METRICS,
            needs=("torchvision",),
            module="mugglewang_cosface",
        ),
        Adapter(
            name="mgn-seathiefwang",
            repo=UpstreamRepo("seathiefwang/MGN-pytorch", "384e82002e40b71157506e23d71e6709fa830757",
                              "https://github.com/seathiefwang/MGN-pytorch",
                              ("option.py", "trainer.py", "model/__init__.py", "model/mgn.py", "loss/__init__.py",
                               "loss/triplet.py", "data/__init__.py", "data/common.py", "data/market1501.py",
                               "data/sampler.py", "utils/random_erasing.py", "utils/utility.py")),
            datasets=("market1501", "dukemtmc-reid"),
            reward_metrics=REID_METRICS,
            needs=("torchvision",),
            module="seathiefwang_mgn",
        ),
    )
}


def adapter_names() -> List[str]:
    return list(ADAPTERS)


def get_adapter(name) -> Adapter:
    adapter = ADAPTERS.get(name) if isinstance(name, str) else None
    if adapter is None:
        raise BaselineError(f"`baseline.options.adapter`: expected one of {', '.join(ADAPTERS)}, got {name!r}")
    return adapter
