"""``epochs(session, criterion, evaluate)`` against the fake controller: a script's epoch loop, driven."""
import pytest
import torch
from torch import nn

from amlfs import SearchSpace
from amlfs.worker.plugin import SearchedCrossEntropyLoss, epochs

M = 6
MARGIN = SearchSpace(M).cosine_margin(0.2).tolist()
EXPERIMENT = {"name": "loop-test", "seed": 0, "reward": {"metric": "top1"}}


def task(task_id, start, kind="train", epoch=0, theta=MARGIN, split="val"):
    return dict(taskId=task_id, kind=kind, epoch=epoch, sample=0, theta=theta, M=M, start=start, seed=11, split=split)


def script(record, evaluate):
    """An ordinary epoch loop over random data; records what each iteration saw."""

    def body(session):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        criterion = SearchedCrossEntropyLoss(model[2], M)
        session.attach(model, optimizer)
        for epoch in epochs(session, criterion, evaluate):
            losses = []
            for _ in range(3):
                x, y = torch.randn(5, 4), torch.randint(0, 3, (5,))
                loss = criterion(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            record.append({"epoch": epoch, "theta": criterion.theta.tolist(), "losses": losses})
        record.append({"closed": session._closed})

    return body


def results(controller, count):
    out = []
    while len(out) < count:
        _, header, _ = controller.recv(20)
        if header["type"] == "result":
            out.append(header)
    return out


def test_train_tasks_run_the_body_and_report_the_reward_evaluate_tasks_do_not(controller, start_worker):
    record, calls = [], []

    def evaluate(split):
        calls.append(split)
        return {"val": 0.75, "test": {"top1": 0.5, "loss": 1.25}}[split]

    worker = start_worker(script(record, evaluate))
    controller.accept(experiment=EXPERIMENT, heartbeat_timeout_ms=60_000)
    controller.send("w0", "initRequest", seed=0)
    start, _ = controller.expect("checkpoint", timeout_s=20)
    controller.send("w0", "task", **task("e0003-s000-a0", start["sha256"], epoch=3))
    controller.send("w0", "task", **task("final-test-a0", start["sha256"], kind="evaluate", split="test"))
    train, final = results(controller, 2)
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None, worker.error

    assert [r["epoch"] for r in record[:-1]] == [3]  # the evaluate task never entered the body
    assert record[0]["theta"] == pytest.approx(MARGIN)
    assert record[-1] == {"closed": True}
    assert calls == ["val", "test"]
    assert train["ok"] and train["reward"] == 0.75 and train["metrics"] == {"top1": 0.75}
    assert train["trainLoss"] == pytest.approx(sum(record[0]["losses"]) / 3, rel=1e-6)
    assert {"train", "eval", "pack", "load", "task"} <= set(train["timingsMs"])
    assert final["ok"] and final["reward"] == 0.5 and final["metrics"] == {"top1": 0.5, "loss": 1.25}


def test_a_missing_reward_metric_or_a_bad_theta_fails_the_task_and_the_loop_goes_on(controller, start_worker):
    record = []
    answers = iter([{"accuracy": 0.9}, "high", 0.25])
    worker = start_worker(script(record, lambda split: next(answers)))
    controller.accept(experiment=EXPERIMENT, heartbeat_timeout_ms=60_000)
    controller.send("w0", "initRequest", seed=0)
    start, _ = controller.expect("checkpoint", timeout_s=20)
    sha = start["sha256"]
    bad_theta = MARGIN[:5]  # not 4 M long
    for task_id, theta in [("e0000-s000-a0", MARGIN), ("e0000-s001-a0", bad_theta), ("e0000-s002-a0", MARGIN),
                           ("e0000-s003-a0", MARGIN)]:
        controller.send("w0", "task", **task(task_id, sha, theta=theta))
    got = results(controller, 4)
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None, worker.error

    assert [r["ok"] for r in got] == [False, False, False, True]
    assert "without the reward metric 'top1'" in got[0]["reason"]
    assert "Expected `theta` to have 4 M entries (M >= 1), got 5" in got[1]["reason"]
    assert "Expected evaluate() to return a number (top1)" in got[2]["reason"]
    assert got[3]["reward"] == 0.25
    assert len(record) == 4  # three bodies ran (not the one with a bad theta), then the session closed
