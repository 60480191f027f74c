"""The public session API against a fake controller on a real ROUTER socket."""
import json
import time

import pytest
import torch
from torch import nn

from amlfs.checkpoint import pack_state, unpack_state
from amlfs.worker import ControllerLost, TaskFailed, WorkerError, connect

IDENTITY = [1.0] * 6 + [0.0] * 6 + [1.0] * 6 + [0.0] * 6


def task_fields(task_id="e0000-s000-a0", start="0" * 64, kind="train", epoch=0, seed=5, split="val"):
    return dict(taskId=task_id, kind=kind, epoch=epoch, sample=0, theta=IDENTITY, M=6, start=start, seed=seed,
                split=split)


def tiny_objects(seed=0):
    torch.manual_seed(seed)
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    return model, opt, scheduler


def train_body(sleep_s=0.0, reward=0.5, steps=3):
    """A worker that trains ``tiny_objects`` on random data drawn from the task seed."""

    def body(session):
        model, opt, scheduler = tiny_objects()
        session.attach(model=model, optimizer=opt, scheduler=scheduler)
        seen = []
        for task in session.tasks():
            with task:
                seen.append((task.id, task.start_epoch, [p.detach().clone() for p in model.parameters()]))
                if task.kind == "evaluate":
                    task.report(reward=None, metrics={"top1": 0.25})
                    continue
                x = torch.randn(8, 4, generator=task.generator())
                y = torch.randint(0, 3, (8,), generator=task.generator())
                for step in range(steps):
                    loss = nn.functional.cross_entropy(model(x), y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    task.progress(step + 1, steps, loss.item(), samples=8 * (step + 1))
                scheduler.step()
                time.sleep(sleep_s)
                if task.id.startswith("boom"):
                    raise ValueError("boom")
                if task.id.startswith("nan"):
                    task.report(reward=float("nan"))
                    continue
                if task.id.startswith("verbatim"):
                    raise TaskFailed("loss is NaN at step 2")
                task.report(reward=reward, metrics={"top1": reward, "odd": float("nan")}, train_loss=loss.item())
        return seen

    return body


def wait_for(controller, kind, timeout_s=10.0):
    """Next message of ``kind`` (others skipped, heartbeats counted)."""
    deadline = time.monotonic() + timeout_s
    while True:
        _, header, payload = controller.recv(max(0.01, deadline - time.monotonic()))
        if header["type"] == kind:
            return header, payload


def init(controller, worker="w0", seed=3):
    request = controller.send(worker, "initRequest", seed=seed)
    header, payload = controller.expect("checkpoint")
    assert header["replyTo"] == request and "taskId" not in header
    return header["sha256"], payload[0]


def test_hello_and_welcome(controller, start_worker):
    worker = start_worker(lambda session: (session.experiment, session.heartbeat_timeout_ms, str(session.device)))
    name, hello = controller.accept(experiment={"name": "x", "seed": 9, "search": {"M": 6}}, heartbeat_timeout_ms=4000)
    assert name == "w0" and hello["adapter"] == "test-adapter"
    assert hello["datasetSizes"] == {"train": 10, "val": 2, "test": 3}
    assert hello["device"] == "cpu" and hello["threads"] >= 1 and hello["msgId"] == "w0-1"
    assert set(hello["versions"]) == {"python", "torch", "amlfs", "pyzmq"}
    worker.join()
    assert worker.error is None
    assert worker.result == ({"name": "x", "seed": 9, "search": {"M": 6}}, 4000, "cpu")


def test_init_train_keep_and_upload(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    sha, data = init(controller)
    model, opt, scheduler = tiny_objects()
    assert pack_state(model, opt, scheduler).sha256 == sha  # the attached state, as it was

    controller.send("w0", "task", **task_fields(start=sha))
    progress, _ = wait_for(controller, "progress")
    assert progress["taskId"] == "e0000-s000-a0" and progress["steps"] == 3 and progress["samplesPerSec"] > 0
    result, _ = wait_for(controller, "result")
    assert result["ok"] and result["reward"] == 0.5 and result["metrics"] == {"top1": 0.5, "odd": None}
    assert {"load", "pack", "task"} <= set(result["timingsMs"])
    assert not [h for h in controller.received if h["type"] == "checkpointRequest"]  # it held the start state

    controller.send("w0", "keep", taskId="e0000-s000-a0", keep=True)
    request = controller.send("w0", "checkpointRequest", taskId="e0000-s000-a0")
    header, payload = controller.expect("checkpoint")
    assert header["replyTo"] == request and header["taskId"] == "e0000-s000-a0"
    assert header["sizeBytes"] == len(payload[0])
    restored = tiny_objects(seed=1)
    assert unpack_state(payload[0], *restored) == 1
    assert restored[2].last_epoch == 1 and restored[1].state_dict()["state"][0]["momentum_buffer"].abs().sum() > 0

    # the uploaded winner is a start state: the next epoch needs no download
    controller.send("w0", "task", **task_fields("e0001-s000-a0", start=header["sha256"], epoch=1))
    wait_for(controller, "result")
    assert not [h for h in controller.received if h["type"] == "checkpointRequest"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None
    seen = worker.result
    assert seen[1][1] == 1  # start_epoch of the second task
    assert all(torch.equal(a, b) for a, b in zip(seen[1][2], restored[0].parameters()))


def test_start_state_is_downloaded_and_loaded(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    model, opt, scheduler = tiny_objects(seed=42)
    packed = pack_state(model, opt, scheduler, epoch=4)
    controller.send("w0", "task", **task_fields("e0004-s001-a0", start=packed.sha256, epoch=4))
    request, _ = controller.expect("checkpointRequest")
    assert request["sha256"] == packed.sha256 and "taskId" not in request
    controller.send("w0", "checkpoint", payload=[packed.data], reply_to=request["msgId"], sha256=packed.sha256,
                    sizeBytes=packed.size_bytes)
    result, _ = wait_for(controller, "result")
    assert result["ok"]
    # a second task from the same start: no second download
    controller.send("w0", "task", **task_fields("e0004-s002-a0", start=packed.sha256, epoch=4))
    wait_for(controller, "result")
    assert len([h for h in controller.received if h["type"] == "checkpointRequest"]) == 1
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    for task_id, start_epoch, params in worker.result:
        assert start_epoch == 4
        assert all(torch.equal(a, b) for a, b in zip(params, model.parameters())), task_id


def test_failed_download_fails_the_task_and_the_worker_goes_on(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    controller.send("w0", "task", **task_fields(start="a" * 64))
    request, _ = controller.expect("checkpointRequest")
    controller.send("w0", "reject", reason="unknown checkpoint", rejectedMsgId=request["msgId"])
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and "unknown checkpoint" in result["reason"] and result["reward"] is None
    # a checkpoint whose bytes do not match its sha256 is rejected and fails the task
    controller.send("w0", "task", **task_fields("e0000-s001-a0", start="b" * 64))
    request, _ = controller.expect("checkpointRequest")
    announce = controller.send("w0", "checkpoint", payload=[b"xyz"], reply_to=request["msgId"], sha256="b" * 64,
                               sizeBytes=3)
    abort, _ = controller.expect("checkpointAbort")
    assert "sha256" in abort["reason"] and abort["transferId"] == f"controller-t{announce.split('-')[1]}"
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and "sha256" in result["reason"]
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields("e0000-s002-a0", start=sha))
    result, _ = wait_for(controller, "result")
    assert result["ok"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None


def test_keep_false_releases_the_result(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    sha, _ = init(controller)
    for index in range(2):
        controller.send("w0", "task", **task_fields(f"e0000-s00{index}-a0", start=sha))
        wait_for(controller, "result")
        controller.send("w0", "keep", taskId=f"e0000-s00{index}-a0", keep=True)
    controller.send("w0", "keep", taskId="e0000-s000-a0", keep=False)  # kept earlier, then beaten
    request = controller.send("w0", "checkpointRequest", taskId="e0000-s000-a0")
    reject, _ = controller.expect("reject")
    assert reject["rejectedMsgId"] == request and "taskId" in reject["reason"]
    controller.send("w0", "checkpointRequest", taskId="e0000-s001-a0")
    header, payload = controller.expect("checkpoint")
    assert header["taskId"] == "e0000-s001-a0"
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_upload_while_the_training_thread_is_busy(controller, start_worker):
    worker = start_worker(train_body(sleep_s=1.5))
    controller.accept()
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields("e0000-s000-a0", start=sha))
    wait_for(controller, "result")
    controller.send("w0", "keep", taskId="e0000-s000-a0", keep=True)
    controller.send("w0", "task", **task_fields("e0000-s001-a0", start=sha))
    wait_for(controller, "progress")  # the training thread is in the second task now
    controller.send("w0", "checkpointRequest", taskId="e0000-s000-a0")
    header, _ = wait_for(controller, "checkpoint", timeout_s=1.0)  # well before the 1.5 s sleep ends
    assert header["taskId"] == "e0000-s000-a0"
    assert not [h for h in controller.received if h["type"] == "result" and h["taskId"] == "e0000-s001-a0"]
    wait_for(controller, "result")
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_heartbeats_flow_while_the_training_thread_sleeps(controller, start_worker):
    worker = start_worker(train_body(sleep_s=1.0))
    controller.accept(heartbeat_interval_ms=50)
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields(start=sha))
    wait_for(controller, "progress")
    before = controller.heartbeats.get("w0", 0)
    wait_for(controller, "result")
    assert controller.heartbeats["w0"] - before >= 10
    controller.send("w0", "shutdown", reason="done")
    worker.join()


@pytest.mark.parametrize(
    "frames, field",
    [
        ([b"\xff not json"], "header"),
        ([b'{"protocol": 1, "type": '], "header"),
        ([json.dumps({"protocol": 2, "type": "heartbeat", "msgId": "c-1", "runId": "run-test",
                      "sender": "controller"}).encode()], "protocol"),
        ([json.dumps({"protocol": 1, "type": "gossip", "msgId": "c-1", "runId": "run-test",
                      "sender": "controller"}).encode()], "type"),
        ([json.dumps({"protocol": 1, "type": "heartbeat", "msgId": "c-1", "runId": "other-run",
                      "sender": "controller"}).encode()], "runId"),
        ([json.dumps({"protocol": 1, "type": "heartbeat", "msgId": "c-1", "runId": "run-test",
                      "sender": "w7"}).encode()], "sender"),
        ([json.dumps({"protocol": 1, "type": "progress", "msgId": "c-1", "runId": "run-test", "sender": "controller",
                      "taskId": "t", "step": 1, "steps": 2, "loss": None, "samplesPerSec": None}).encode()], "type"),
        ([json.dumps({"protocol": 1, "type": "heartbeat", "msgId": "c-1", "runId": "run-test", "sender": "controller",
                      "pad": "x" * 70000}).encode()], "header"),
        ([json.dumps({"protocol": 1, "type": "heartbeat", "msgId": "c-1", "runId": "run-test",
                      "sender": "controller"}).encode(), b"stray payload"], "payload"),
    ],
    ids=["not-utf8", "truncated", "version", "unknown-type", "other-run", "sender", "wrong-direction", "oversized",
         "payload"],
)
def test_a_malformed_message_is_rejected_and_the_worker_goes_on(controller, start_worker, frames, field):
    worker = start_worker(train_body())
    controller.accept()
    controller.send_raw("w0", frames)
    reject, _ = controller.expect("reject")
    assert f"`{field}" in reject["reason"]
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields(start=sha))
    result, _ = wait_for(controller, "result")
    assert result["ok"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None


def test_failures_are_results_and_the_worker_stays_up(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields("boom-1", start=sha))
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and result["reason"] == "ValueError: boom" and result["reward"] is None
    controller.send("w0", "task", **task_fields("nan-1", start=sha))
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and result["reward"] is None and "nan" in result["reason"]
    controller.send("w0", "task", **task_fields("verbatim-1", start=sha))
    result, _ = wait_for(controller, "result")
    assert result["reason"] == "loss is NaN at step 2"
    for task_id in ("boom-1", "nan-1"):  # nothing was held for failed tasks
        controller.send("w0", "checkpointRequest", taskId=task_id)
        controller.expect("reject")
    controller.send("w0", "task", **task_fields("e0000-s000-a0", start=sha))
    result, _ = wait_for(controller, "result")
    assert result["ok"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_evaluate_task(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields("final-test-a0", start=sha, kind="evaluate", split="test"))
    result, _ = wait_for(controller, "result")
    assert result["ok"] and result["reward"] is None and result["metrics"] == {"top1": 0.25}
    assert "pack" not in result["timingsMs"]
    controller.send("w0", "checkpointRequest", taskId="final-test-a0")
    controller.expect("reject")
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_same_task_same_seed_same_state(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept()
    sha, _ = init(controller)
    shas = []
    for attempt in range(2):
        task_id = f"e0000-s000-a{attempt}"
        controller.send("w0", "task", **task_fields(task_id, start=sha, seed=77))
        wait_for(controller, "result")
        controller.send("w0", "keep", taskId=task_id, keep=True)
        controller.send("w0", "checkpointRequest", taskId=task_id)
        shas.append(controller.expect("checkpoint")[0]["sha256"])
    assert shas[0] == shas[1]
    controller.send("w0", "shutdown", reason="done")
    worker.join()


def test_the_session_ends_when_the_controller_goes_silent(controller, start_worker):
    worker = start_worker(train_body())
    controller.accept(heartbeat_interval_ms=50, heartbeat_timeout_ms=300)
    started = time.monotonic()
    worker.join(5)
    assert isinstance(worker.error, ControllerLost) and worker.error.exit_code == 4
    assert "silent" in str(worker.error) and time.monotonic() - started < 2.0


def test_no_welcome_means_controller_lost(controller):
    started = time.monotonic()
    with pytest.raises(ControllerLost, match="no welcome") as caught:
        connect("x", endpoint=controller.endpoint, worker_id="w0", run_id="run-test", device="cpu",
                startup_timeout_s=0.3, exit_on_lost=False)
    assert caught.value.exit_code == 3 and time.monotonic() - started < 2.0


def test_rejected_hello(controller, start_worker):
    worker = start_worker(train_body())
    _, hello, _ = controller.recv()
    controller.send("w0", "reject", reason="adapter mismatch", rejectedMsgId=hello["msgId"])
    worker.join(5)
    assert isinstance(worker.error, WorkerError) and "adapter mismatch" in str(worker.error)


def test_settings_come_from_the_environment(monkeypatch, controller):
    monkeypatch.setenv("AMLFS_CONNECT", controller.endpoint)
    monkeypatch.setenv("AMLFS_WORKER_ID", "w5")
    monkeypatch.setenv("AMLFS_RUN_ID", "run-test")
    monkeypatch.setenv("AMLFS_DEVICE", "cpu")
    from amlfs.worker.settings import resolve_settings

    settings = resolve_settings()
    assert (settings.endpoint, settings.worker_id, settings.run_id, str(settings.device)) == (
        controller.endpoint, "w5", "run-test", "cpu")
    monkeypatch.delenv("AMLFS_RUN_ID")
    with pytest.raises(WorkerError, match="AMLFS_RUN_ID"):
        resolve_settings()
    with pytest.raises(WorkerError, match="worker id"):
        resolve_settings(worker_id="w 0;rm", run_id="r")
    with pytest.raises(WorkerError, match="device"):
        resolve_settings(run_id="r", device="tpu")


def test_an_exception_outside_with_task_still_reports_the_task(controller, start_worker):
    def body(session):
        model, opt, scheduler = tiny_objects()
        session.attach(model=model, optimizer=opt, scheduler=scheduler)
        for task in session.tasks():
            raise KeyError("no such layer")

    worker = start_worker(body)
    controller.accept()
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields(start=sha))
    result, _ = wait_for(controller, "result")
    assert not result["ok"] and result["reason"] == "KeyError: 'no such layer'"
    worker.join()
    assert isinstance(worker.error, KeyError)


def test_leaving_the_loop_without_a_report_fails_the_task(controller, start_worker):
    def body(session):
        model, opt, scheduler = tiny_objects()
        session.attach(model=model, optimizer=opt, scheduler=scheduler)
        for task in session.tasks():
            if task.id == "e0000-s000-a0":
                continue  # no report: failed when the loop moves on
            break

    worker = start_worker(body)
    controller.accept()
    sha, _ = init(controller)
    controller.send("w0", "task", **task_fields("e0000-s000-a0", start=sha))
    result, _ = wait_for(controller, "result")
    assert result["reason"] == "the task ended without task.report() or task.fail()"
    controller.send("w0", "task", **task_fields("e0000-s001-a0", start=sha))
    result, _ = wait_for(controller, "result")
    assert result["taskId"] == "e0000-s001-a0" and result["reason"] == "the worker stopped before task.report()"
    worker.join()
    assert worker.error is None


def test_an_initial_state_that_cannot_be_built_is_rejected(controller, start_worker):
    def body(session):
        model, opt, scheduler = tiny_objects()

        def initialize(seed):
            raise RuntimeError(f"no weights for seed {seed}")

        session.attach(model=model, optimizer=opt, scheduler=scheduler, initialize=initialize)
        for task in session.tasks():
            task.report(reward=1.0)
        return "clean end"

    worker = start_worker(body)
    controller.accept()
    request = controller.send("w0", "initRequest", seed=4)
    reject, _ = controller.expect("reject")
    assert reject["rejectedMsgId"] == request and "no weights for seed 4" in reject["reason"]
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.result == "clean end"
