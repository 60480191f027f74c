"""The shipped experiment configs (configs/) are valid and buildable by the Python side."""
import json
from pathlib import Path

import pytest
import torch
from jsonschema import Draft202012Validator

from amlfs.baselines import build_recipe, get_baseline
from amlfs.baselines.registry import baseline_options
from amlfs.data import DatasetConfig

REPO = Path(__file__).resolve().parents[3]
CONFIGS = sorted((REPO / "configs").glob("*/*.json"))
SCHEMA = json.loads((REPO / "proto" / "experiment.schema.json").read_text())


def test_the_configs_are_there():
    names = {path.relative_to(REPO / "configs").as_posix() for path in CONFIGS}
    expected = {f"cifar10/resnet20-noise{r}-{m}.json" for r in (0, 10, 20) for m in ("baseline", "amlfs")}
    expected |= {f"reid/{b}-{d}.json" for b in ("spherereid", "sft", "mgn") for d in ("market1501", "duke")}
    ablations = ["fixed", "b4", "b8", "b16", "b32", "m3", "m6", "m10"]
    expected |= {f"ablations/spherereid-market1501-{a}.json" for a in ablations}
    expected |= {f"face/{row}-casia.json" for row in ("softmax", "sphereface", "cosface", "arcface", "amlfs",
                                                       "amlfs-cosface-init")}
    expected |= {f"many-class/cosine-mlp-{v}.json" for v in ("baseline", "fixed", "amlfs", "amlfs-cosface-init")}
    expected |= {f"upstream/{a}-{d}.json" for a in ("spherereid-coincheung", "mgn-seathiefwang")
                 for d in ("market1501", "duke")} | {"upstream/cosface-mugglewang-casia.json"}
    assert expected | {"demo/digits-amlfs.json", "demo/digits-baseline.json"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_is_valid(path):
    config = json.loads(path.read_text())
    Draft202012Validator(SCHEMA).validate(config)
    assert config["name"] == path.stem
    baseline = config["baseline"]
    baseline_options(baseline["name"], baseline.get("options", {}))
    dataset = DatasetConfig.from_section(config["dataset"])
    assert dataset.kind in get_baseline(baseline["name"]).datasets


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.parent.name == "demo"], ids=lambda p: p.name)
def test_demo_configs_build(path):
    recipe = build_recipe(json.loads(path.read_text()), torch.device("cpu"))
    assert int(recipe.data.noisy.sum()) == round(0.2 * recipe.dataset_sizes()["train"])
