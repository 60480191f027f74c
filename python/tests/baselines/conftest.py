import pytest
import torch

from amlfs.fixtures.cifar10 import write_fixture
from amlfs.fixtures.face import write_face_fixture
from amlfs.fixtures.reid import write_reid_fixture


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread, as the workers of the demo run: fast and steady on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar") / "cifar-10-batches-bin"
    write_fixture(str(root), per_batch=8, test=8)
    return str(root)


@pytest.fixture(scope="session")
def market_root(tmp_path_factory):
    """A Market-1501 tree: 6 training ids x 4 images (2 become validation ids), 6 test ids."""
    root = tmp_path_factory.mktemp("reid") / "Market-1501-v15.09.15"
    write_reid_fixture(str(root), "market", ids=6, per_id=4, height_px=64, width_px=32)
    return str(root)


@pytest.fixture(scope="session")
def face_root(tmp_path_factory):
    """CASIA-WebFace (20 ids x 5 images; 4 become validation ids), LFW (8 names, 2 folds of 5 + 5 pairs)."""
    root = tmp_path_factory.mktemp("face")
    write_face_fixture(str(root), ids=20, per_id=5)
    return str(root)


@pytest.fixture(scope="session")
def dataset_roots(cifar_root, market_root, face_root):
    """``dataset.root`` of each dataset kind the smoke tests use."""
    return {"digits": "", "synthetic-classes": "", "cifar10-bin": cifar_root, "market1501": market_root,
            "casia-webface": face_root}
