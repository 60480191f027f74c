"""The built-in worker: any registered baseline, driven through the public session API only.

It reads the experiment from ``welcome``, builds the baseline's recipe from the registry
(it never branches on which baseline), attaches model, optimizer and scheduler, and runs
the tasks: a train task sets ``theta`` on the searched loss, trains one epoch and reports
the validation reward and how the loss acted on the epoch's examples (``lossStats``, none
for a recipe whose fixed head never calls the searched loss); an evaluate task reports
the metrics of its start state.

Started by ``torchrun`` (``WORLD_SIZE > 1``), the processes form one worker: rank 0 talks to
the controller and the others train each epoch with it (amlfs/worker/group.py).

Exit status: 0 after ``shutdown``; 2 when the experiment cannot be built (unknown
baseline, missing data, bad options), after telling the controller so (``fatal {kind:
"config"}``: the run stops, no retries); 3 without ``welcome``; 4 when the controller went
silent; 5 when rank 0 of a group failed in training, other than by ``TaskFailed``; 130 on
Ctrl-C; 1 on an unexpected error (a traceback).
"""
from __future__ import annotations

import logging
import os
import time
from typing import Dict, Optional, Sequence

import torch

from ..baselines import build_recipe
from ..baselines.errors import BaselineError
from ..checkpoint import CheckpointError
from ..data import DataError
from .. import SearchedSoftmaxLoss
from . import connect
from .cli import connect_kwargs, parse_worker_args
from .errors import ControllerLost, SessionClosed, ShutdownRequested, TaskFailed, WorkerError
from .group import Group, Leader, follow, group_from_env, join, leave, receive_experiment, sum_loss_stats
from .logs import configure_logging
from .reward import reward_metric, reward_of
from .settings import ENV_WORKER_ID

log = logging.getLogger("amlfs.worker")

#: Adapter name in ``hello``: the built-in worker runs whatever ``baseline.name`` the experiment names.
ADAPTER = "builtin"

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_GROUP_BROKEN = 5
EXIT_INTERRUPTED = 130

#: Errors that mean "this experiment cannot run here" (exit status 2), not a bug.
CONFIG_ERRORS = (BaselineError, DataError, CheckpointError, WorkerError)


def run(session, group: Optional[Group] = None) -> None:
    """Build the experiment's baseline and run tasks until ``shutdown``; with a ``group``, as its
    rank 0, training each epoch together with the followers.

    A config or data error (``CONFIG_ERRORS``) is reported to the controller with
    :meth:`Session.fail_config` before it is raised: the run stops there, without a retry."""
    try:
        _run(session, group)
    except CONFIG_ERRORS as error:
        if not isinstance(error, SessionClosed):
            session.fail_config(str(error) or type(error).__name__)
        raise


def _run(session, group: Optional[Group]) -> None:
    experiment = session.experiment
    if group is not None:
        Leader.send_experiment(group, experiment)
    recipe = build_recipe(experiment, session.device)
    sizes = recipe.dataset_sizes()
    log.info("baseline %s on %s: train %d, val %d, test %d", experiment["baseline"]["name"],
             experiment["dataset"]["kind"], sizes["train"], sizes["val"], sizes["test"])
    session.attach(model=recipe.model, optimizer=recipe.optimizer, scheduler=recipe.scheduler,
                   initialize=recipe.initialize)
    metric = reward_metric(experiment, recipe.reward_metric)
    leader = None if group is None else Leader(group, recipe.model, recipe.optimizer, recipe.scheduler)
    losses: Dict[int, SearchedSoftmaxLoss] = {}  # by M
    for task in session.tasks():
        with task:
            if task.is_train:
                loss_fn = loss_for_task(losses, task, session.device)
                if leader is None:
                    stats = recipe.train_epoch(task, loss_fn)
                else:
                    leader.start_train(task)
                    stats = _train_in_group(recipe, task, loss_fn)
                    sum_loss_stats(group, loss_fn.stats)  # with the followers' examples
                started = time.monotonic()
                metrics = recipe.evaluate(task.split)
                eval_ms = (time.monotonic() - started) * 1000.0
                task.report(reward=reward_of(metrics, metric), metrics=metrics, train_loss=stats.mean_loss,
                            timings_ms={"train": stats.train_ms, "eval": eval_ms},
                            loss_stats=loss_fn.stats.summary())
            else:
                started = time.monotonic()
                metrics = recipe.evaluate(task.split)
                task.report(reward=reward_of(metrics, metric), metrics=metrics,
                            timings_ms={"eval": (time.monotonic() - started) * 1000.0})
    if leader is not None:
        leader.shutdown()


def _train_in_group(recipe, task, loss_fn):
    """``recipe.train_epoch`` on rank 0. A :class:`TaskFailed` (a non-finite loss, all-reduced first;
    a batch smaller than the group) is raised by every rank at the same step, so the task fails
    and the group goes on; any other error may leave the followers inside a collective, so the
    process ends (``SystemExit``, which the task loop does not catch, after the session has
    failed the task) and torchrun stops the group."""
    try:
        return recipe.train_epoch(task, loss_fn)
    except TaskFailed:
        raise
    except Exception as error:
        log.exception("task %s: training in the group failed; ending the group", task.id)
        raise SystemExit(EXIT_GROUP_BROKEN) from error


def loss_for_task(losses: Dict[int, SearchedSoftmaxLoss], task, device) -> SearchedSoftmaxLoss:
    """The searched loss of a train task (one module per ``M``, kept in ``losses``): its ``theta``
    and loss options set from the task, its example count reset."""
    if task.M not in losses:
        losses[task.M] = SearchedSoftmaxLoss(task.M).to(device)
    loss_fn = losses[task.M]
    loss_fn.set_theta(task.theta)
    loss_fn.t_scale_grad = task.t_scale_grad
    loss_fn.tau_form = task.tau_form
    loss_fn.stats.reset()
    return loss_fn


def run_follower(args, group: Group) -> int:
    """A rank > 0: no controller; the experiment, tasks and start states come from rank 0."""
    threads = args.threads if args.threads is not None else os.environ.get("AMLFS_THREADS")
    if threads is not None:
        torch.set_num_threads(int(threads))
    experiment = receive_experiment(group)
    recipe = build_recipe(experiment, group.device)
    losses: Dict[int, SearchedSoftmaxLoss] = {}

    def train(task) -> None:
        loss_fn = loss_for_task(losses, task, group.device)
        recipe.train_epoch(task, loss_fn)
        sum_loss_stats(group, loss_fn.stats)  # the leader reports the group's count

    trained = follow(group, recipe.model, recipe.optimizer, recipe.scheduler, train)
    log.info("rank %d: shutdown after %d tasks", group.rank, trained)
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_worker_args(argv, description=__doc__.split("\n\n")[0])
    worker_id = args.worker_id or os.environ.get(ENV_WORKER_ID) or "worker"
    try:
        group = group_from_env(args.device)
    except WorkerError as error:
        configure_logging(worker_id)
        log.error("%s", error)
        return EXIT_CONFIG
    configure_logging(worker_id if group is None or group.is_leader else f"{worker_id}/rank{group.rank}")
    if group is None:
        return _serve(args, None)
    join(group)
    try:
        return _serve(args, group) if group.is_leader else _follow(args, group)
    finally:
        leave()


def _follow(args, group: Group) -> int:
    try:
        return run_follower(args, group)
    except CONFIG_ERRORS as error:
        log.error("%s", error)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _serve(args, group: Optional[Group]) -> int:
    kwargs = connect_kwargs(args)
    if group is not None:
        kwargs["device"] = str(group.device)
    try:
        with connect(adapter=ADAPTER, **kwargs) as session:
            run(session, group)
    except ControllerLost as error:
        return error.exit_code
    except ShutdownRequested:  # before welcome
        return EXIT_OK
    except CONFIG_ERRORS as error:
        log.error("%s", error)
        return EXIT_CONFIG
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group, workers included
        log.info("interrupted")
        return EXIT_INTERRUPTED
    log.info("shutdown complete")
    return EXIT_OK
