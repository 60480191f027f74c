"""The misbehaving worker programs of test/fixtures/workers/ do what the TypeScript tests expect."""
import subprocess
import sys
from pathlib import Path

import pytest

from amlfs.worker.errors import HeaderError

from fake_controller import DIGITS_EXPERIMENT

FIXTURES = Path(__file__).resolve().parents[3] / "test" / "fixtures" / "workers"
IDENTITY = [1.0] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6


def start(controller, name, *extra):
    command = [sys.executable, str(FIXTURES / name), "--connect", controller.endpoint, "--worker-id", "w0",
               "--run-id", controller.run_id, "--device", "cpu", "--threads", "1", *extra]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def processes():
    started = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_crash_mid_task_and_hang(controller, processes):
    from fake_controller import FakeController

    quiet = FakeController()
    crash = start(controller, "crash_mid_task.py")
    hang = start(quiet, "hang.py")
    processes.extend([crash, hang])
    try:
        controller.accept(experiment=DIGITS_EXPERIMENT, heartbeat_timeout_ms=5000)
        quiet.accept(experiment=DIGITS_EXPERIMENT, heartbeat_interval_ms=50, heartbeat_timeout_ms=5000)
        controller.send("w0", "initRequest", seed=0)
        sha = controller.expect("checkpoint", timeout_s=20)[0]["sha256"]
        controller.send("w0", "task", taskId="e0000-s000-a0", kind="train", epoch=0, sample=0, theta=IDENTITY, M=6,
                        start=sha, seed=1, split="val")
        progress, _ = controller.expect("progress")
        assert progress["taskId"] == "e0000-s000-a0"
        assert crash.wait(10) == 1
        assert "dying in task e0000-s000-a0" in crash.stderr.read()
        later = []
        with pytest.raises(TimeoutError):
            while True:
                later.append(controller.recv(0.3)[1]["type"])
        assert later == []  # no result

        # hang.py said hello and then nothing at all, not even heartbeats, yet it is alive
        with pytest.raises(TimeoutError):
            quiet.recv(0.5, skip_heartbeats=False)
        assert hang.poll() is None
    finally:
        quiet.close()


def test_garbage_then_a_working_worker(controller, processes):
    process = start(controller, "garbage.py")
    processes.append(process)
    rejected = []
    while True:
        worker, frames = controller.recv_raw(20)
        try:
            header = controller.codec.decode(frames[0])
        except HeaderError as error:
            rejected.append(error.field)
            continue
        if header["type"] == "hello":
            break
        rejected.append(f"{header['type']}:{header['runId']}")
    assert rejected == ["header", "header", "header", "protocol", "type", "header", "heartbeat:another-run",
                        "result:run-test"]
    controller.send("w0", "welcome", reply_to=header["msgId"], heartbeatIntervalMs=100, heartbeatTimeoutMs=5000,
                    experiment=DIGITS_EXPERIMENT)
    bad_on_session = []
    while len(bad_on_session) < 2:
        frames = controller.recv_raw(5)[1]
        try:
            assert controller.codec.decode(frames[0])["type"] == "heartbeat"
        except HeaderError as error:
            bad_on_session.append(error.field)
    assert bad_on_session == ["header", "type"]
    controller.send("w0", "initRequest", seed=0)
    sha = controller.expect("checkpoint", timeout_s=20)[0]["sha256"]
    controller.send("w0", "task", taskId="e0000-s000-a0", kind="train", epoch=0, sample=0, theta=IDENTITY, M=6,
                    start=sha, seed=1, split="val")
    while True:
        _, header, _ = controller.recv(20)
        if header["type"] == "result":
            break
    assert header["ok"]
    controller.send("w0", "shutdown", reason="done")
    assert process.wait(10) == 0


def test_config_error_reports_fatal_or_only_exits_2(controller, processes):
    reporting = start(controller, "config_error.py")
    silent = start(controller, "config_error.py", "--exit-only")
    processes.extend([reporting, silent])
    controller.accept(experiment=DIGITS_EXPERIMENT, heartbeat_timeout_ms=5000)
    fatal, _ = controller.expect("fatal")
    assert fatal["kind"] == "config" and "labels.csv does not exist" in fatal["reason"]
    assert reporting.wait(30) == 2
    assert silent.wait(30) == 2
    assert "labels.csv does not exist" in silent.stderr.read()
