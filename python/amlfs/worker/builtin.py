"""The built-in worker: any registered baseline, driven through the public session API only.

It reads the experiment from ``welcome``, builds the baseline's recipe from the registry
(it never branches on which baseline), attaches model, optimizer and scheduler, and runs
the tasks: a train task sets ``theta`` on the searched loss, trains one epoch and reports
the validation reward; an evaluate task reports the metrics of its start state.

Exit status: 0 after ``shutdown``; 2 when the experiment cannot be built (unknown
baseline, missing data, bad options); 3 without ``welcome``; 4 when the controller went
silent; 130 on Ctrl-C; 1 on an unexpected error (a traceback).
"""
from __future__ import annotations

import logging
import os
import time
from typing import Dict, Optional, Sequence

from ..baselines import build_recipe
from ..baselines.errors import BaselineError
from ..checkpoint import CheckpointError
from ..data import DataError
from .. import SearchedSoftmaxLoss
from . import connect
from .cli import connect_kwargs, parse_worker_args
from .errors import ControllerLost, ShutdownRequested, TaskFailed, WorkerError
from .logs import configure_logging
from .settings import ENV_WORKER_ID

log = logging.getLogger("amlfs.worker")

#: Adapter name in ``hello``: the built-in worker runs whatever ``baseline.name`` the experiment names.
ADAPTER = "builtin"

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130

#: Errors that mean "this experiment cannot run here" (exit status 2), not a bug.
CONFIG_ERRORS = (BaselineError, DataError, CheckpointError, WorkerError)


def run(session) -> None:
    """Build the experiment's baseline and run tasks until ``shutdown``."""
    experiment = session.experiment
    recipe = build_recipe(experiment, session.device)
    sizes = recipe.dataset_sizes()
    log.info("baseline %s on %s: train %d, val %d, test %d", experiment["baseline"]["name"],
             experiment["dataset"]["kind"], sizes["train"], sizes["val"], sizes["test"])
    session.attach(model=recipe.model, optimizer=recipe.optimizer, scheduler=recipe.scheduler,
                   initialize=recipe.initialize)
    metric = (experiment.get("reward") or {}).get("metric", recipe.reward_metric)

    def reward(metrics: Dict[str, float]) -> float:
        if metric not in metrics:
            raise TaskFailed(f"`reward.metric` {metric!r} is not measured by this baseline "
                             f"(it measures {', '.join(sorted(metrics))})")
        return metrics[metric]

    losses: Dict[int, SearchedSoftmaxLoss] = {}  # by M
    for task in session.tasks():
        with task:
            if task.is_train:
                if task.M not in losses:
                    losses[task.M] = SearchedSoftmaxLoss(task.M).to(session.device)
                loss_fn = losses[task.M]
                loss_fn.set_theta(task.theta)
                stats = recipe.train_epoch(task, loss_fn)
                started = time.monotonic()
                metrics = recipe.evaluate(task.split)
                eval_ms = (time.monotonic() - started) * 1000.0
                task.report(reward=reward(metrics), metrics=metrics, train_loss=stats.mean_loss,
                            timings_ms={"train": stats.train_ms, "eval": eval_ms})
            else:
                started = time.monotonic()
                metrics = recipe.evaluate(task.split)
                task.report(reward=reward(metrics), metrics=metrics,
                            timings_ms={"eval": (time.monotonic() - started) * 1000.0})


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_worker_args(argv, description=__doc__.split("\n\n")[0])
    configure_logging(args.worker_id or os.environ.get(ENV_WORKER_ID) or "worker")
    try:
        with connect(adapter=ADAPTER, **connect_kwargs(args)) as session:
            run(session)
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
