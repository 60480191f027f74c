import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread, as the workers of the demo run: fast and steady on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
