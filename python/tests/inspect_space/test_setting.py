"""The config -> (classes, scale) table: the paper's configs, options that change them, errors naming the field."""
import json
from pathlib import Path

import pytest

from amlfs.baselines import BaselineError
from amlfs.inspect_space import InspectError, start_setting

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def config(path):
    return json.loads((CONFIGS / path).read_text())


@pytest.mark.parametrize("path, classes, scale", [
    ("face/amlfs-cosface-init-casia.json", 10_575, 30.0),
    ("face/amlfs-casia.json", 10_575, 30.0),
    ("reid/spherereid-market1501.json", 751, 14.0),
    ("reid/sft-duke.json", 702, 15.0),
    ("reid/mgn-market1501.json", 751, "linear"),
    ("cifar10/resnet20-noise20-amlfs.json", 10, "linear"),
    ("demo/digits-amlfs.json", 10, "linear"),
    ("many-class/cosine-mlp-amlfs.json", 1000, 30.0),
])
def test_the_shipped_configs(path, classes, scale):
    setting = start_setting(config(path))
    assert (setting.classes, setting.scale) == (classes, scale)


def experiment(baseline, options, kind):
    return {"baseline": {"name": baseline, "options": options}, "dataset": {"kind": kind}}


@pytest.mark.parametrize("baseline, options, kind, classes, scale", [
    ("spherereid", {"scale": 20}, "market1501", 751, 20.0),
    ("sft", {"scale": 8.5}, "dukemtmc-reid", 702, 8.5),
    ("cosine-mlp", {"scale": 16, "classes": 50}, "synthetic-classes", 50, 16.0),
    ("cosface", {"headOptions": {"scale": 64}}, "casia-webface", 10_575, 64.0),
    ("cosface", {"head": "cosface", "headOptions": {"scale": 40}}, "casia-webface", 10_575, 40.0),
    ("cosface", {"head": "softmax"}, "casia-webface", 10_575, "linear"),
    ("small-cnn", {"lr": 0.1}, "cifar10-bin", 10, "linear"),
])
def test_options_are_honoured(baseline, options, kind, classes, scale):
    setting = start_setting(experiment(baseline, options, kind))
    assert (setting.classes, setting.scale) == (classes, scale)


def test_where_each_came_from():
    setting = start_setting(config("face/amlfs-casia.json"))
    assert setting.classes_from == "dataset.kind casia-webface"
    assert setting.scale_from == "cosface head 'searched'"
    assert start_setting(config("cifar10/resnet20-noise20-amlfs.json")).scale_from == "resnet20, plain linear head"


def test_errors_name_the_field():
    with pytest.raises(BaselineError, match=r"`baseline.options.scale`: expected a positive number, got -1"):
        start_setting(experiment("spherereid", {"scale": -1}, "market1501"))
    with pytest.raises(BaselineError, match=r"`baseline.options.headOptions.scale`: expected a positive number, got 'big'"):
        start_setting(experiment("cosface", {"headOptions": {"scale": "big"}}, "casia-webface"))
    with pytest.raises(InspectError, match=r"`dataset.kind`: expected one of .*, got 'mnist'"):
        start_setting(experiment("small-cnn", {}, "mnist"))
    with pytest.raises(InspectError, match=r"`baseline.name`: expected one of .*, got 'vgg'"):
        start_setting(experiment("vgg", {}, "digits"))
