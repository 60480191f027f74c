"""A config or data error reaches the controller as ``fatal {kind: "config"}`` (docs/protocol.md):
from the public session API (``ConfigError``, ``Session.fail_config``) and from the built-in
worker, whose message is on the wire before its process has exited."""
import copy
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from amlfs.worker import ConfigError

from fake_controller import DIGITS_EXPERIMENT

REASON = "market1501: missing folder /data/Market-1501-v15.09.15/bounding_box_train"
IDENTITY = [1.0] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6


def attached(session):
    model = nn.Linear(4, 3)
    session.attach(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    return model


def messages_until(controller, kind, timeout_s=10.0):
    """Every message (heartbeats skipped) up to and including the first of ``kind``."""
    seen = []
    while not seen or seen[-1]["type"] != kind:
        _, header, _ = controller.recv(timeout_s)
        seen.append(header)
    return seen


def test_a_config_error_raised_in_the_session_is_sent_as_fatal(controller, start_worker):
    def body(session):
        raise ConfigError(REASON)

    worker = start_worker(body)
    controller.accept()
    fatal, payload = controller.expect("fatal")
    assert fatal["kind"] == "config" and fatal["reason"] == REASON and payload == []
    worker.join()
    assert isinstance(worker.error, ConfigError) and str(worker.error) == REASON


def test_a_config_error_inside_a_task_ends_the_session_and_comes_before_the_task_failure(controller, start_worker):
    def body(session):
        attached(session)
        for task in session.tasks():
            with task:
                raise ConfigError(f"{REASON} (found at task {task.id})")

    worker = start_worker(body)
    controller.accept()
    request = controller.send("w0", "initRequest", seed=1)
    announce, _ = controller.expect("checkpoint")
    assert announce["replyTo"] == request
    controller.send("w0", "task", taskId="e0000-s000-a0", kind="train", epoch=0, sample=0, theta=IDENTITY, M=6,
                    start=announce["sha256"], seed=5, split="val")
    seen = messages_until(controller, "result")
    kinds = [header["type"] for header in seen]
    assert kinds.index("fatal") < kinds.index("result"), kinds
    fatal = seen[kinds.index("fatal")]
    assert fatal["reason"] == f"{REASON} (found at task e0000-s000-a0)"
    assert seen[-1]["ok"] is False and seen[-1]["taskId"] == "e0000-s000-a0"
    worker.join()
    assert isinstance(worker.error, ConfigError)  # not swallowed by ``with task:``: the loop did not go on


def test_fail_config_sends_once(controller, start_worker):
    def body(session):
        return session.fail_config(f"  {REASON}\n"), session.fail_config("a second reason")

    worker = start_worker(body)
    controller.accept()
    fatal, _ = controller.expect("fatal")
    assert fatal["reason"] == REASON
    worker.join()
    assert worker.result == (True, False)
    with pytest.raises(TimeoutError):  # the session is closed: anything it sent has arrived
        controller.recv(0.5)


def test_the_builtin_worker_reports_missing_data_then_exits_2(controller, tmp_path):
    missing = tmp_path / "no-such-cifar"
    experiment = copy.deepcopy(DIGITS_EXPERIMENT)
    experiment["baseline"] = {"name": "resnet20", "options": {}}
    experiment["dataset"] = {"kind": "cifar10-bin", "root": str(missing), "splits": {"valFraction": 0.1, "splitSeed": 0}}
    command = [sys.executable, "-m", "amlfs.worker", "--connect", controller.endpoint, "--worker-id", "w0",
               "--run-id", controller.run_id, "--device", "cpu", "--threads", "1"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        controller.accept(experiment=experiment, heartbeat_interval_ms=200, heartbeat_timeout_ms=5000)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, stderr
    # Read only after the process is gone: the message left before it exited (ZeroMQ linger).
    fatal, _ = controller.expect("fatal")
    assert fatal["kind"] == "config" and str(missing) in fatal["reason"], fatal
    assert str(missing) in stderr
