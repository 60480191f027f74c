"""Adapters over the upstream baselines' own PyTorch code (baseline ``upstream``).

:mod:`.adapters` lists them as data; :mod:`.checkout` opens a user's checkout and imports its
files without editing them; :mod:`.baseline` registers the ``upstream`` baseline. Each adapter
module (``coincheung_spherereid``, ``mugglewang_cosface``, ``seathiefwang_mgn``) is imported only
when a worker builds it, since it imports torchvision and the repository's code.
"""
from .adapters import ADAPTERS, Adapter, adapter_names, get_adapter
from .checkout import Checkout, UpstreamRepo, function_from_source, git_commit, load_module, open_checkout

__all__ = ["ADAPTERS", "Adapter", "Checkout", "UpstreamRepo", "adapter_names", "function_from_source", "get_adapter",
           "git_commit", "load_module", "open_checkout"]
