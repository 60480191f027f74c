"""proto/catalog.json against the registries it is generated from, the option kinds against the
shared vectors, and each dataset layout against its reader on fixtures."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from dataclasses import replace

import pytest

from amlfs.baselines import baseline_names, get_baseline
from amlfs.baselines.errors import BaselineError
from amlfs.baselines.options import OPTION_KINDS, Option, parse_options
from amlfs.catalog import CATALOG_FILE, build_catalog, render_catalog
from amlfs.data.cifar10 import read_cifar10
from amlfs.data.errors import DataError
from amlfs.data.face import find_face_roots
from amlfs.data.reid import read_reid
from amlfs.doctor import DATASET_CHECKS
from amlfs.fixtures.cifar10 import write_fixture as write_cifar10
from amlfs.fixtures.face import write_face_fixture
from amlfs.fixtures.reid import write_reid_fixture

from .vectors import case_ids, load_vectors

ROOT = Path(__file__).resolve().parents[2]
CATALOG = build_catalog()
OPTION_CASES = load_vectors("options/kinds.json")["cases"]


def test_the_committed_catalog_is_what_the_registries_generate():
    assert (ROOT / CATALOG_FILE).read_text() == render_catalog(), "run `python tools/make_catalog.py`"


def test_every_registered_baseline_is_listed_with_its_datasets_and_recipe_metric():
    assert sorted(CATALOG["baselines"]) == baseline_names()
    for name, entry in CATALOG["baselines"].items():
        spec = get_baseline(name)
        assert entry["datasets"] == list(spec.datasets)
        assert entry["rewardMetric"] in entry["rewardMetrics"]
        assert set(entry["datasets"]) <= set(CATALOG["datasets"]), name


def test_the_dataset_kinds_are_those_doctor_can_check():
    # doctor's table of checks is written separately from the readers' registries
    assert sorted(CATALOG["datasets"]) == sorted(DATASET_CHECKS)
    built_in = sorted(kind for kind, entry in CATALOG["datasets"].items() if entry["builtIn"])
    assert built_in == ["digits", "synthetic-classes"]
    noisy = sorted(kind for kind, entry in CATALOG["datasets"].items() if entry["labelNoise"])
    assert noisy == ["cifar10-bin", "digits", "synthetic-classes"]
    assert CATALOG["datasets"]["market1501"]["rewardMetrics"] == ["mAP", "rank1"]


@pytest.mark.parametrize("name", baseline_names())
def test_each_option_table_round_trips_and_its_defaults_pass(name):
    spec = get_baseline(name)
    table = CATALOG["baselines"][name]["options"]
    assert sorted(table) == sorted(spec.options)
    required = {"adapter": "spherereid-coincheung"} if name == "upstream" else {}  # no default: a config names it
    for option, described in table.items():
        rule = Option(described["kind"], described["default"], described["expected"], tuple(described.get("choices", ())))
        assert rule == replace(spec.options[option], source="")  # sources are for docs/baselines.md only
        assert rule.accepts(described["default"]) != (option in required), f"{name}.{option}: default {described['default']!r}"
    assert set(parse_options(name, required, spec.options)) == set(table)
    first = sorted(table)[0]
    with pytest.raises(BaselineError, match=rf"`baseline.options.{first}x`: unknown option for {name}"):
        parse_options(name, {first + "x": 1}, spec.options)


def test_the_vectors_cover_every_kind():
    assert {case["kind"] for case in OPTION_CASES} == set(OPTION_KINDS)
    used = {o["kind"] for b in CATALOG["baselines"].values() for o in b["options"].values()}
    assert used <= set(OPTION_KINDS)


@pytest.mark.parametrize("case", OPTION_CASES, ids=case_ids(OPTION_CASES))
def test_option_kind_vectors(case):
    rule = Option(case["kind"], None, "", tuple(case.get("choices", ())))
    assert rule.accepts(case["value"]) is case["valid"]


def _present(base: Path, entry: dict) -> bool:
    test = os.path.isdir if entry["kind"] == "directory" else os.path.isfile
    return any(test(base / name) for name in entry["names"])


def _remove(base: Path, entry: dict) -> None:
    for name in entry["names"]:
        path = base / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _cifar10(out: Path) -> None:
    write_cifar10(str(out / "cifar-10-batches-bin"), per_batch=2)


def _market(out: Path) -> None:
    write_reid_fixture(str(out / "Market-1501-v15.09.15"), "market", ids=2, per_id=2)


def _face(out: Path) -> None:
    write_face_fixture(str(out), ids=2, per_id=2, lfw_names=4, folds=1, pairs_per_fold=1, height_px=16, width_px=16)


READERS = {
    "cifar10-bin": (_cifar10, read_cifar10),
    "market1501": (_market, lambda root: read_reid(root, "market1501", strict=False)),
    "casia-webface": (_face, find_face_roots),
}


@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_layout_entry_is_what_the_reader_needs(kind, tmp_path):
    """The fixture satisfies every entry (in root or its extracted folder) and the reader reads it;
    without any one entry the reader fails."""
    layout = CATALOG["datasets"][kind]["layout"]
    write, read = READERS[kind]
    for index, entry in enumerate(layout["entries"]):
        root = tmp_path / str(index)
        write(root)
        base = root / layout["folder"] if layout["folder"] else root
        assert all(_present(base, e) for e in layout["entries"])
        read(str(root))
        _remove(base, entry)
        with pytest.raises(DataError):
            read(str(root))
