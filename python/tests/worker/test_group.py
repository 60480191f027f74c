"""A worker spread over a torchrun group (amlfs/worker/group.py, EpochLoop.shard/step).

The group test runs this file under ``torchrun --standalone --nproc-per-node=2`` (gloo on
CPU): rank 0 hands a start state to rank 1 the way the built-in worker does, both train two
tasks of small-cnn on digits together, and each rank writes its trained state. The reference
is one process training the same epochs on the same full batches: small-cnn has no batch
norm, so averaging the gradients of two shards weighted by their sizes is the full batch's
gradient and the weights agree to float tolerance.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from amlfs.baselines import build_recipe
from amlfs.baselines.recipe import EpochLoop, NonFiniteLoss
from amlfs.checkpoint import pack_state, unpack_state
from amlfs.checkpoint.state import model_tensors
from amlfs.loss import SearchedSoftmaxLoss
from amlfs.worker.errors import WorkerError
from amlfs.worker.group import (FollowerTask, Leader, end_process, follow, group_from_env, join, leave,
                                sum_loss_stats)

START_SEED = 7  # the handed-over start state: initialize(7), unlike the seed-0 model every rank builds
TASK_SEEDS = (11, 12)  # two tasks from the same start: the state crosses the group once
NAN_SEED = 13  # a third task whose loss is NaN on rank 1 only, at its third step
THETA = [1.0] * 6 + [-0.1] * 6 + [1.0] * 6 + [0.0] * 6  # a_t, b_t, a_tau, b_tau: a cosine margin of 0.1


def experiment():
    return {
        "name": "group", "seed": 0,
        "baseline": {"name": "small-cnn", "options": {"batchSize": 64}},
        "dataset": {"kind": "digits", "root": "", "splits": {"valFraction": 0.1, "splitSeed": 0}},
        "search": {"mode": "amlfs", "B": 2, "M": 6, "epochs": 4},
        "reward": {"metric": "top1"},
    }


def header(seed, start="s" * 64):
    return {"taskId": f"e0000-s{seed:02d}-a0", "kind": "train", "epoch": 0, "sample": 0, "theta": THETA, "M": 6,
            "start": start, "seed": seed, "split": "val"}


class LeaderTask(FollowerTask):
    """Rank 0's task: the follower's fields plus the progress reports, for the mean loss."""

    def __init__(self, *args):
        super().__init__(*args)
        self.reports = []

    def progress(self, step, steps, loss=None, *, samples=None):
        self.reports.append((step, loss, samples))
        return False


class NanOnRank1(torch.nn.Module):
    """The searched loss, NaN at the third step of rank 1 only."""

    def __init__(self, loss_fn, rank):
        super().__init__()
        self.loss_fn, self.rank, self.calls = loss_fn, rank, 0

    def forward(self, cosine, target, scale):
        self.calls += 1
        value = self.loss_fn(cosine, target, scale)
        return value * float("nan") if self.rank == 1 and self.calls == 3 else value


def rank_main(out: Path) -> None:
    """One rank of the group test (run by torchrun)."""
    torch.set_num_threads(1)
    group = group_from_env("cpu")
    join(group)
    recipe = build_recipe(experiment(), group.device)
    loss_fn = SearchedSoftmaxLoss(6)
    loss_fn.set_theta(THETA)
    nan_loss = NanOnRank1(loss_fn, group.rank)
    try:
        if group.is_leader:
            recipe.initialize(START_SEED)
            start = pack_state(recipe.model, recipe.optimizer, recipe.scheduler, epoch=0).data
            leader = Leader(group, recipe.model, recipe.optimizer, recipe.scheduler)
            losses, loss_stats = [], []
            for seed in TASK_SEEDS:
                unpack_state(start, recipe.model, recipe.optimizer, recipe.scheduler)  # what Session does
                task = LeaderTask(header(seed), 0)
                torch.manual_seed(seed)
                leader.start_train(task)
                loss_fn.stats.reset()
                losses.append(recipe.train_epoch(task, loss_fn).mean_loss)
                sum_loss_stats(group, loss_fn.stats)
                loss_stats.append(loss_fn.stats.summary())
                (out / f"rank0-task{seed}.safetensors").write_bytes(pack_state(recipe.model, epoch=1).data)
            task = LeaderTask(header(NAN_SEED), 0)
            leader.start_train(task)
            try:
                recipe.train_epoch(task, nan_loss)
                nan_error = None
            except NonFiniteLoss as error:
                nan_error = str(error)
            leader.shutdown()
            (out / "rank0.json").write_text(json.dumps({"losses": losses, "lossStats": loss_stats, "nan": nan_error}))
        else:
            def train(task):
                loss_fn.stats.reset()
                recipe.train_epoch(task, nan_loss if task.seed == NAN_SEED else loss_fn)
                sum_loss_stats(group, loss_fn.stats)  # not reached for the NaN task (TaskFailed)
                path = out / f"rank{group.rank}-task{task.seed}.safetensors"
                path.write_bytes(pack_state(recipe.model, epoch=1).data)

            trained = follow(group, recipe.model, recipe.optimizer, recipe.scheduler, train)
            (out / f"rank{group.rank}.json").write_text(json.dumps({"trained": trained}))
    finally:
        leave()


@pytest.fixture(scope="module")
def group_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("group")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc-per-node=2",
               __file__, str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-6000:]
    return out


def single_process(seed):
    """The reference: one process, the same start state and seed, full batches; its trained
    weights, EpochStats and the summary of its loss's LossStats."""
    recipe = build_recipe(experiment(), torch.device("cpu"))
    recipe.initialize(START_SEED)
    loss_fn = SearchedSoftmaxLoss(6)
    loss_fn.set_theta(THETA)
    task = LeaderTask(header(seed), 0)
    torch.manual_seed(seed)
    stats = recipe.train_epoch(task, loss_fn)
    return {k: v.clone() for k, v in recipe.model.state_dict().items()}, stats, loss_fn.stats.summary()


@pytest.mark.parametrize("seed", TASK_SEEDS)
def test_a_group_epoch_equals_one_process_on_full_batches(group_run, seed):
    torch.set_num_threads(1)
    ranks = [model_tensors((group_run / f"rank{r}-task{seed}.safetensors").read_bytes()) for r in (0, 1)]
    assert sorted(ranks[0]) == sorted(ranks[1])
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), f"{key} differs between the ranks"
    reference, stats, alone = single_process(seed)
    assert sorted(reference) == sorted(ranks[0])
    before = build_recipe(experiment(), torch.device("cpu"))
    before.initialize(START_SEED)
    for key, value in reference.items():
        assert not torch.allclose(before.model.state_dict()[key], value)  # training moved every tensor
        torch.testing.assert_close(ranks[0][key], value, rtol=1e-4, atol=1e-5, msg=f"{key}")
    leader = json.loads((group_run / "rank0.json").read_text())
    assert leader["losses"][TASK_SEEDS.index(seed)] == pytest.approx(stats.mean_loss, rel=1e-5)
    # The leader's count, summed over the ranks, is the one process's count over the full batches.
    group_stats = leader["lossStats"][TASK_SEEDS.index(seed)]
    assert group_stats["examples"] == alone["examples"] == stats.samples
    assert group_stats == pytest.approx(alone, rel=1e-9, abs=1e-12)


def test_a_nan_on_one_rank_fails_the_task_on_every_rank_at_the_same_step(group_run):
    # The loss is all-reduced before the check: rank 0 sees rank 1's NaN at step 3.
    assert json.loads((group_run / "rank0.json").read_text())["nan"] == "loss is NaN at step 3"


def test_the_follower_went_on_after_the_failed_task_and_stopped(group_run):
    assert json.loads((group_run / "rank1.json").read_text()) == {"trained": len(TASK_SEEDS) + 1}


def test_without_a_group_shard_is_the_whole_batch():
    loop = EpochLoop(LeaderTask(header(1), 0), torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), 1)
    x, y = torch.arange(10.0), torch.arange(10)
    sx, sy = loop.shard(x, y)
    assert sx is x and sy is y and (loop.world_size, loop.rank) == (1, 0)


def test_group_from_env():
    assert group_from_env("cpu", {}) is None and group_from_env("cpu", {"WORLD_SIZE": "1"}) is None
    group = group_from_env("cpu", {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
    assert (group.rank, group.world_size, group.local_rank, group.backend, str(group.device)) == (3, 4, 1, "gloo", "cpu")
    assert not group.is_leader
    gpu = group_from_env("cuda:2", {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
    assert (gpu.backend, str(gpu.device)) == ("nccl", "cuda:3")  # --device cuda:K: rank r on cuda:K+LOCAL_RANK
    with pytest.raises(WorkerError, match=r"RANK: expected an integer in \[0, 2\), got 2"):
        group_from_env("cpu", {"WORLD_SIZE": "2", "RANK": "2"})
    with pytest.raises(WorkerError, match="WORLD_SIZE: expected an integer, got 'two'"):
        group_from_env("cpu", {"WORLD_SIZE": "two"})
    with pytest.raises(WorkerError, match="RANK is not set"):
        group_from_env("cpu", {"WORLD_SIZE": "2"})
    with pytest.raises(WorkerError, match="Expected the device"):
        group_from_env("tpu", {"WORLD_SIZE": "2", "RANK": "0"})


if __name__ == "__main__":
    rank_main(Path(sys.argv[1]))
    end_process(0)
