"""The task header parsed once, the reward rule shared by the built-in worker and ``epochs``, and
the task errors that recipes and the worker share."""
import dataclasses

import pytest
import torch

from amlfs.baselines.recipe import NonFiniteLoss as RecipeNonFiniteLoss
from amlfs.task_errors import NonFiniteLoss, TaskFailed
from amlfs.training_task import TaskHeader
from amlfs.worker import TaskFailed as PublicTaskFailed
from amlfs.worker.errors import TaskFailed as ErrorsTaskFailed
from amlfs.worker.group import FollowerTask
from amlfs.worker.reward import DEFAULT_REWARD_METRIC, reward_metric, reward_of

WIRE = {"type": "task", "msgId": "c-7", "taskId": "e0002-s01-a0", "kind": "train", "epoch": 2, "sample": 1,
        "theta": [1, 0, 1, 0], "M": 1, "start": "a" * 64, "seed": 11, "split": "val"}


def test_the_header_is_parsed_once_with_the_loss_option_defaults_and_is_frozen():
    parsed = TaskHeader.from_wire(WIRE)
    assert parsed == TaskHeader(id="e0002-s01-a0", kind="train", epoch=2, sample=1, theta=(1.0, 0.0, 1.0, 0.0), M=1,
                                t_scale_grad="plain", tau_form="linear", start="a" * 64, seed=11, split="val")
    assert all(isinstance(v, float) for v in parsed.theta) and parsed.is_train
    assert TaskHeader.from_wire({**WIRE, "tScaleGrad": "full", "tauForm": "power"}).tau_form == "power"
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.seed = 3


def test_a_follower_task_reads_the_parsed_header_and_keeps_the_wire_header():
    task = FollowerTask(WIRE, 2)
    assert (task.id, task.epoch, task.M, task.seed, task.theta, task.start_epoch) == ("e0002-s01-a0", 2, 1, 11,
                                                                                       (1.0, 0.0, 1.0, 0.0), 2)
    assert task.header is WIRE and task.parsed == TaskHeader.from_wire(WIRE) and task.is_train
    assert torch.equal(torch.rand(3, generator=task.generator()), torch.rand(3, generator=torch.Generator().manual_seed(11)))
    assert task.progress(1, 2, 0.5, samples=4) is False
    with pytest.raises(AttributeError):
        task.seed = 3


def test_one_reward_rule_with_one_default():
    assert reward_metric({"reward": {"metric": "mAP"}}) == "mAP"
    assert reward_metric({"reward": {"metric": "mAP"}}, "rank1") == "mAP"
    assert reward_metric({}) == DEFAULT_REWARD_METRIC == "top1"
    assert reward_metric({}, "verificationAccuracy") == "verificationAccuracy"
    assert reward_of({"top1": 1, "loss": 2.5}, "top1") == 1.0
    with pytest.raises(TaskFailed, match=r"evaluate\(\) returned metrics \['loss', 'top5'\] without the reward "
                                         r"metric 'top1' \(`reward.metric` of the experiment\)"):
        reward_of({"top5": 0.9, "loss": 2.5}, "top1")


def test_the_task_errors_are_one_class_wherever_they_are_imported_from():
    assert PublicTaskFailed is ErrorsTaskFailed is TaskFailed
    assert RecipeNonFiniteLoss is NonFiniteLoss and issubclass(NonFiniteLoss, TaskFailed)
