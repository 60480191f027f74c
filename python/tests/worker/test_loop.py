"""``epochs(session, criterion, evaluate)`` against the fake controller: a script's epoch loop, driven."""
import pytest
import torch
from torch import nn

from amlfs import SearchSpace, searched_softmax_terms
from amlfs.loss.stats import DEAD_FACTOR
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


def partly_dead_theta():
    """t dead (a_t = 0.005) on [-1/3, 0); tau floored below p = 0.25 on [1/6, 1/3) and nearly flat
    (c ~ 0.002) on [1/2, 2/3): a loss that trains some of 3 classes' examples and not others."""
    theta = SearchSpace(M).identity().tolist()
    theta[2] = 0.005
    theta[3 * M + 1] = -0.25
    theta[2 * M + 3], theta[3 * M + 3] = 0.001, 0.3
    return theta


def counting_script(theta, factors, evaluate):
    """An epoch loop over random data (float64) that also records, before each step, every
    example's ``(c, floored, a_t)`` from ``searched_softmax_terms`` on the head's cosines and
    scales computed here from its input, weight and bias."""

    def body(session):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).double()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        criterion = SearchedCrossEntropyLoss(model[2], M)
        session.attach(model, optimizer)
        for _ in epochs(session, criterion, evaluate):
            for _ in range(4):
                x, y = torch.randn(6, 4, dtype=torch.float64), torch.randint(0, 3, (6,))
                with torch.no_grad():  # [x, 1] . [W_j, b_j] = the logit, over the norms
                    features = torch.cat([model[1](model[0](x)), torch.ones(6, 1, dtype=torch.float64)], 1)
                    weight = torch.cat([model[2].weight, model[2].bias.unsqueeze(1)], 1)
                    scale = features.norm(dim=1, keepdim=True) * weight.norm(dim=1)
                    terms = searched_softmax_terms(features @ weight.t() / scale, y, theta, scale)
                factors.extend(zip(terms.log_tau.c.tolist(), terms.log_tau.floored.tolist(), terms.t_slope.tolist()))
                loss = criterion(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            evaluate.model, evaluate.criterion = model, criterion

    return body


def test_a_train_result_carries_the_loss_stats_of_its_epoch(controller, start_worker):
    theta, factors = partly_dead_theta(), []

    def evaluate(split):
        with torch.enable_grad():  # a loss with gradients here, after the epoch, is not part of its count
            evaluate.criterion(evaluate.model(torch.randn(5, 4, dtype=torch.float64)), torch.zeros(5, dtype=torch.long))
        return 0.5

    worker = start_worker(counting_script(theta, factors, evaluate))
    controller.accept(experiment=EXPERIMENT, heartbeat_timeout_ms=60_000)
    controller.send("w0", "initRequest", seed=0)
    start, _ = controller.expect("checkpoint", timeout_s=20)
    controller.send("w0", "task", **task("e0000-s000-a0", start["sha256"], theta=theta))
    controller.send("w0", "task", **task("e0000-s001-a0", start["sha256"], theta=MARGIN))
    controller.send("w0", "task", **task("final-test-a0", start["sha256"], kind="evaluate", split="test"))
    partly, margin, final = results(controller, 3)
    controller.send("w0", "shutdown", reason="done")
    worker.join()
    assert worker.error is None, worker.error

    first = factors[:24]  # the first task's 4 steps of 6 examples, counted here in a loop
    want = {
        "examples": 24,
        "flooredShare": sum(1 for _, floored, _ in first if floored) / 24,
        "deadShare": sum(1 for c, _, _ in first if c < DEAD_FACTOR) / 24,
        "meanC": sum(c for c, _, _ in first) / 24,
        "tDeadShare": sum(1 for _, _, slope in first if slope < DEAD_FACTOR) / 24,
        "meanTSlope": sum(slope for _, _, slope in first) / 24,
    }
    assert partly["ok"] and partly["lossStats"] == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert 0 < want["flooredShare"] < want["deadShare"] < 1 and 0 < want["tDeadShare"] < 1  # a mixed epoch
    # The count was reset for the next task: the margin's tau is the identity, c = 1 on every example.
    assert margin["lossStats"] == {"examples": 24, "flooredShare": 0.0, "deadShare": 0.0,
                                   "meanC": pytest.approx(1.0, rel=1e-12), "tDeadShare": 0.0, "meanTSlope": 1.0}
    assert "lossStats" not in final
