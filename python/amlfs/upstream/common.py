"""What the re-ID adapters share around the repositories' code: scratch folders of links that their
dataset classes read, the seeding of the global generators their samplers draw from, the local
ImageNet weights in place of their downloads, and a ``Sampler`` constructor recent torch lacks."""
from __future__ import annotations

import logging
import os
import random
import shutil
import tempfile
import weakref
from typing import Dict, Optional

import numpy as np
import torch

from ..baselines.errors import BaselineError
from ..baselines.recipe import seed_global_rng
from ..data.reid.images import ReidImages


class ScratchFolders:
    """Scratch folders of symlinks to a split's images, in the layout a repository's dataset class
    reads; removed with this object or at exit."""

    def __init__(self, adapter: str):
        self.adapter = adapter
        self.root = tempfile.mkdtemp(prefix=f"amlfs-{adapter}-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, True)

    def links(self, folder: str, images: Optional[ReidImages], split: str) -> str:
        """``<root>/<folder>`` (created) holding a link to each of ``images`` (None: empty); two images
        of ``split`` with the same file name are an error."""
        path = os.path.join(self.root, folder)
        os.makedirs(path)
        for image in (images.paths if images is not None else ()):
            link = os.path.join(path, os.path.basename(image))
            if os.path.lexists(link):
                raise BaselineError(f"{self.adapter}: two images of the {split} split are named "
                                    f"{os.path.basename(image)}")
            os.symlink(os.path.abspath(image), link)
        return path

    def remove(self) -> None:
        self._cleanup()


def seed_task_rngs(generator: torch.Generator) -> None:
    """Seed torch's global generator (transforms, dropout, loader processes), then Python's ``random``
    (samplers, random erasing) and NumPy's (samplers), in that order, from ``generator``."""
    seed_global_rng(generator)
    random.seed(int(torch.randint(0, 2**62, (), generator=generator)))
    np.random.seed(int(torch.randint(0, 2**32, (), generator=generator)))


def imagenet_state(path: Optional[str], adapter: str, downloader: str,
                   log: logging.Logger) -> Optional[Dict[str, torch.Tensor]]:
    """The torchvision ResNet-50 state at ``path`` (what ``downloader`` of the repository downloads),
    or None with a warning that the network trains from scratch."""
    if path is None:
        log.warning("%s: no `baseline.options.pretrainedPath`; the network trains from scratch (give a local "
                    "torchvision ImageNet resnet50 .pth, the weights %s downloads, for the repository's setting)",
                    adapter, downloader)
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError) as error:
        raise BaselineError(f"`baseline.options.pretrainedPath`: cannot read {path}: {error}") from error
    if not isinstance(state, dict) or "conv1.weight" not in state:
        raise BaselineError(f"`baseline.options.pretrainedPath`: {path} is not a torchvision ResNet-50 state dict "
                            "(no `conv1.weight`)")
    return state


def ignore_data_source(self, *args, **kwargs) -> None:
    """``Sampler.__init__`` as torch before 2.4 had it (it took the data source and kept nothing), for
    the repositories' samplers that still pass one."""
