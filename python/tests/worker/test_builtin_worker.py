"""``python -m amlfs.worker`` as a real process against the fake controller (digits, CPU)."""
import copy
import os
import subprocess
import sys
import time

import pytest
import torch

from amlfs.baselines import build_recipe
from amlfs.checkpoint import read_metadata

from fake_controller import DIGITS_EXPERIMENT

IDENTITY = [1.0] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6
ZERO = [0.0] * 24  # t(x) = 0 and tau(p) = 0: every example floored (c = 0) with a_t = 0, a loss that trains nothing
BATCH = 64  # small-cnn's default batch size


def epoch_examples() -> int:
    """Training examples of one small-cnn epoch on the test's digits split: every one, except a
    last batch of one (dropped)."""
    train = build_recipe(DIGITS_EXPERIMENT, torch.device("cpu")).dataset_sizes()["train"]
    return train - 1 if train % BATCH == 1 else train


def start(controller, worker_id="w0", env=None, extra=()):
    command = [sys.executable, "-m", "amlfs.worker", "--connect", controller.endpoint, "--worker-id", worker_id,
               "--run-id", controller.run_id, "--device", "cpu", "--threads", "1", *extra]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def next_of(controller, kind):
    while True:
        _, header, payload = controller.recv(20)
        if header["type"] == kind:
            return header, payload


def test_search_epochs_then_final_evaluation(controller):
    process = start(controller)
    try:
        controller.accept(experiment=DIGITS_EXPERIMENT, heartbeat_interval_ms=200, heartbeat_timeout_ms=5000)
        examples = epoch_examples()
        controller.send("w0", "initRequest", seed=0)
        header, _ = controller.expect("checkpoint", timeout_s=20)
        start_sha = header["sha256"]
        rewards = []
        for epoch in range(3):
            task_id = f"e{epoch:04d}-s000-a0"
            controller.send("w0", "task", taskId=task_id, kind="train", epoch=epoch, sample=0, theta=IDENTITY, M=6,
                            start=start_sha, seed=100 + epoch, split="val")
            result, _ = next_of(controller, "result")
            assert result["ok"], result
            assert result["taskId"] == task_id and result["metrics"]["top1"] == result["reward"]
            assert {"train", "eval", "load", "pack", "task"} <= set(result["timingsMs"])
            # The identity is cross-entropy: c = 1 and a_t = 1 on every example of the epoch.
            assert result["lossStats"] == {"examples": examples, "flooredShare": 0.0, "deadShare": 0.0,
                                           "meanC": pytest.approx(1.0, rel=1e-12), "tDeadShare": 0.0,
                                           "meanTSlope": 1.0}
            rewards.append(result["reward"])
            controller.send("w0", "keep", taskId=task_id, keep=True)
            controller.send("w0", "checkpointRequest", taskId=task_id)
            header, payload = controller.expect("checkpoint")
            assert read_metadata(payload[0])["epoch"] == str(epoch + 1)
            start_sha = header["sha256"]
        assert rewards[-1] > 0.8  # small CNN on digits learns within three epochs
        # a loss that becomes infinite fails its task, and the worker stays up for the next one
        controller.send("w0", "task", taskId="e0003-s000-a0", kind="train", epoch=3, sample=0,
                        theta=[-1e308] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6, M=6, start=start_sha, seed=1,
                        split="val")
        result, _ = next_of(controller, "result")
        assert not result["ok"] and result["reward"] is None and result["reason"] == "loss is infinite at step 1"
        assert "lossStats" not in result
        # a loss that floors every example trains nothing, and its result says so (counted afresh)
        controller.send("w0", "task", taskId="e0003-s001-a0", kind="train", epoch=3, sample=1, theta=ZERO, M=6,
                        start=start_sha, seed=1, split="val")
        result, _ = next_of(controller, "result")
        assert result["ok"] and result["lossStats"] == {"examples": examples, "flooredShare": 1.0, "deadShare": 1.0,
                                                        "meanC": 0.0, "tDeadShare": 1.0, "meanTSlope": 0.0}
        controller.send("w0", "keep", taskId="e0003-s001-a0", keep=False)
        controller.send("w0", "task", taskId="final-test-a0", kind="evaluate", epoch=3, sample=0, theta=IDENTITY,
                        M=6, start=start_sha, seed=0, split="test")
        result, _ = next_of(controller, "result")
        assert result["ok"] and result["reward"] > 0.8 and "lossStats" not in result
        controller.send("w0", "shutdown", reason="run finished")
        assert process.wait(10) == 0
    finally:
        process.kill()
        process.wait()


def test_exits_by_itself(controller):
    """Controller silent after welcome (4), no welcome at all (3), an experiment it cannot build (2)."""
    from fake_controller import FakeController

    mute, broken = FakeController(), FakeController()
    experiment = copy.deepcopy(DIGITS_EXPERIMENT)
    experiment["baseline"]["options"] = {"learningRate": 0.1}
    silent = start(controller, "w0")
    no_welcome = start(mute, "w1", env={"AMLFS_STARTUP_TIMEOUT_MS": "500"})
    bad_config = start(broken, "w2")
    processes = (silent, no_welcome, bad_config)
    try:
        controller.accept(experiment=DIGITS_EXPERIMENT, heartbeat_interval_ms=100, heartbeat_timeout_ms=500)
        welcomed = time.monotonic()
        broken.accept(experiment=experiment, heartbeat_timeout_ms=5000)
        codes = tuple(process.wait(15) for process in processes)
        silent_for = time.monotonic() - welcomed
    finally:
        for process in processes:
            process.kill()
            process.wait()
        mute.close()
        broken.close()
    errors = tuple(process.stderr.read() for process in processes)
    assert codes == (4, 3, 2), errors
    assert "[w0]" in errors[0] and "silent for" in errors[0] and "heartbeatTimeoutMs 500" in errors[0]
    assert silent_for < 10
    assert "[w1]" in errors[1] and "no welcome" in errors[1]
    assert "`baseline.options.learningRate`: unknown option for small-cnn" in errors[2]
