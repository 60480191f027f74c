"""The upstream adapters' tests run the authors' code, which needs torchvision: they run in the
venv `make upstream-venv` builds (`make test-upstream`) and skip, saying why, where torchvision
does not import (the main .venv's CPU torch). The snapshots they read are in
$AMLFS_UPSTREAM_DIR (default: ../shared/upstream beside the repository)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
UPSTREAM_DIR = Path(os.environ.get("AMLFS_UPSTREAM_DIR") or REPO_ROOT.parent / "shared" / "upstream")


def _torchvision_error():
    try:
        import torchvision  # noqa: F401
    except Exception as error:  # the CPU torch of .venv: "operator torchvision::nms does not exist"
        return f"{type(error).__name__}: {error}"
    return None


TORCHVISION_ERROR = _torchvision_error()


def pytest_collection_modifyitems(config, items):
    if TORCHVISION_ERROR is None:
        return
    skip = pytest.mark.skip(reason=f"torchvision does not import in this Python ({TORCHVISION_ERROR}); "
                                   "`make test-upstream` runs these in .venv-upstream")
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def upstream_dir() -> Path:
    """The folder of upstream snapshots; the test skips when it is missing."""
    if not UPSTREAM_DIR.is_dir():
        pytest.skip(f"no upstream snapshots at {UPSTREAM_DIR} (set AMLFS_UPSTREAM_DIR)")
    return UPSTREAM_DIR
