"""What adapter ``mgn-seathiefwang`` takes from a checkout of seathiefwang/MGN-pytorch, and how: its
modules imported as ``main.py`` imports them, ``option.py``'s arguments parsed from an argv, the
definitions compiled alone from files that import plotting and scoring libraries, a ``ckpt`` that
writes nothing, and torchvision's ResNet-50 with local ImageNet weights in place of the download.
See :mod:`amlfs.upstream.seathiefwang_mgn`."""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import logging
import os
import sys
from typing import Dict, Optional, Sequence
from unittest import mock

import numpy as np
import torch
from torch import nn

from ..baselines.errors import BaselineError
from .checkout import Checkout, function_from_source, load_module, on_path
from .common import imagenet_state

NAME = "mgn-seathiefwang"
log = logging.getLogger(f"amlfs.upstream.{NAME}")

PACKAGES = ("data", "model", "loss", "utils")  # the checkout's top-level packages (generic names)
FAMILY = PACKAGES + ("option", "trainer")  # its module names that another checkout may have imported


# --- importing the checkout ------------------------------------------------------------------------


def import_checkout_module(checkout: Checkout, name: str):
    """The checkout's module ``name`` (dotted: ``data``, ``model.mgn``), imported as ``main.py`` would,
    its packages' namesakes from elsewhere evicted first."""
    return load_module(checkout, name, FAMILY)


def parse_option_argv(checkout: Checkout, argv: Sequence[str]) -> argparse.Namespace:
    """``option.args`` as ``option.py`` makes it when the command line is ``main.py argv...``."""
    sys.modules.pop("option", None)
    with mock.patch.object(sys, "argv", ["main.py", *argv]), contextlib.redirect_stderr(io.StringIO()) as errors:
        try:
            module = import_checkout_module(checkout, "option")
        except SystemExit as error:  # argparse's exit on an argument it rejects
            raise BaselineError(f"{checkout.repo.name}: option.py rejects {' '.join(argv)}: "
                                f"{errors.getvalue().strip()}") from error
        finally:
            sys.modules.pop("option", None)
    return module.args


class RepositoryCode:
    """What the adapter uses of a checkout: its modules (``data``, ``model``, ``model.mgn``,
    ``loss.triplet``) and the definitions compiled from files that import plotting and scoring
    libraries (``Loss``, ``Trainer``, ``make_optimizer``, ``make_scheduler``)."""

    def __init__(self, checkout: Checkout):
        self.checkout = checkout
        self.data = import_checkout_module(checkout, "data")
        self.market1501 = import_checkout_module(checkout, "data.market1501")
        self.model = import_checkout_module(checkout, "model")
        self.mgn = import_checkout_module(checkout, "model.mgn")
        self.triplet = self._triplet_module()
        utility = argparse.Namespace(**{
            name: function_from_source(checkout, "utils/utility.py", name,
                                         {"optim": torch.optim, "lrs": torch.optim.lr_scheduler})
            for name in ("make_optimizer", "make_scheduler")})
        self.utility = utility
        self.Loss = function_from_source(checkout, "loss/__init__.py", "Loss", {
            "os": os, "np": np, "torch": torch, "nn": nn, "TripletLoss": self.triplet.TripletLoss,
            "TripletSemihardLoss": self.triplet.TripletSemihardLoss, "__name__": "loss"})
        self.Trainer = function_from_source(checkout, "trainer.py", "Trainer", {
            "os": os, "np": np, "torch": torch, "utility": utility, "__name__": "trainer"})

    def _triplet_module(self):
        """``loss/triplet.py`` alone (``import loss.triplet`` would run ``loss/__init__.py``, which imports matplotlib)."""
        path = self.checkout.root / "loss" / "triplet.py"
        spec = importlib.util.spec_from_file_location("amlfs_upstream_mgn_loss_triplet", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    @contextlib.contextmanager
    def imports(self):
        """The checkout's packages on the path, for the repository code that imports at call time
        (``model.Model`` imports ``model.mgn``)."""
        with on_path(self.checkout, FAMILY):
            yield


class LogOnly:
    """The ``ckpt`` the repository's ``Model``, ``Loss`` and ``Trainer`` are given: no folder, no file;
    ``write_log`` goes to our logger."""

    dir = ""

    def write_log(self, text: str, refresh: bool = False, end: str = "\n") -> None:
        log.debug("%s", text.strip())


def mgn_imagenet_state(path: Optional[str]) -> Optional[Dict[str, torch.Tensor]]:
    """The torchvision ResNet-50 state at ``path`` (what ``resnet50(pretrained=True)`` downloads), or None
    with a warning."""
    return imagenet_state(path, NAME, "model/mgn.py", log)


def local_resnet50(torchvision_resnet50, state: Optional[Dict[str, torch.Tensor]], where: Optional[str]):
    """``resnet50`` for ``model/mgn.py``: torchvision's net, with ``state`` loaded instead of the download."""

    def resnet50(pretrained: bool = False, **kwargs):
        net = torchvision_resnet50(weights=None, **kwargs)
        if pretrained and state is not None:
            try:
                net.load_state_dict(state)
            except RuntimeError as error:
                raise BaselineError(f"`baseline.options.pretrainedPath`: {where} does not load into "
                                    f"torchvision's resnet50: {error}") from error
        return net

    return resnet50
