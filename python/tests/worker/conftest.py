"""Fixtures of the worker tests: a fake controller and worker sessions on threads."""
from typing import List

import pytest

from fake_controller import FakeController, WorkerThread


@pytest.fixture
def controller():
    fake = FakeController()
    yield fake
    fake.close()


@pytest.fixture
def start_worker(controller):
    threads: List[WorkerThread] = []

    def start(body, worker_id: str = "w0", **extra) -> WorkerThread:
        args = dict(adapter="test-adapter", dataset_sizes={"train": 10, "val": 2, "test": 3},
                    endpoint=controller.endpoint, worker_id=worker_id, run_id=controller.run_id, device="cpu")
        args.update(extra)
        thread = WorkerThread(body, **args)
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        if thread.thread.is_alive():
            controller.send("w0", "shutdown", reason="test over")
            thread.thread.join(5)


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: steady timings on a shared 2-core machine (restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
