"""``amlfs.doctor``: version comparison against hand-worked cases, the environment report
against what the interpreter itself says, and the dataset layout checks on fixture trees
written in the official layouts (good ones: no problem and the fixture's own counts;
broken ones: one problem naming the file or folder, with its fix)."""
from __future__ import annotations

import importlib.metadata
import json
import os
import sys

import pytest

from amlfs import doctor
from amlfs.data.reid.layouts import MARKET1501
from amlfs.fixtures.cifar10 import write_fixture as write_cifar10
from amlfs.fixtures.face import write_face_fixture
from amlfs.fixtures.reid import write_reid_fixture

PROBLEM_KEYS = {"check", "level", "problem", "fix"}


def only_problem(report, check=None):
    """The single problem of a report, checked for shape."""
    problems = report["problems"]
    assert len(problems) == 1, problems
    (found,) = problems
    assert set(found) == PROBLEM_KEYS and found["level"] in ("fail", "warn") and found["fix"]
    if check is not None:
        assert found["check"] == check
    return found


# ---------------------------------------------------------------------------- versions

@pytest.mark.parametrize("version, specifier, expected", [
    ("2.13.0+cpu", ">=2.1", True),
    ("2.0.9", ">=2.1", False),
    ("2.1", ">=2.1.0", True),   # missing parts count as zero
    ("1.24.0", ">1.24", False),
    ("27.3.0", ">=25,<28", True),
    ("28.0", ">=25,<28", False),
    ("4.3.5", "==4.3.5", True),
    ("4.3.5", "!=4.3.5", False),
    ("0.8.0rc1", "<=0.8", True),  # pre-release tags are ignored: release parts only
])
def test_satisfies_matches_hand_worked_cases(version, specifier, expected):
    assert doctor.satisfies(version, specifier) is expected


def test_bad_specifier_names_the_clause():
    with pytest.raises(ValueError, match="'~=1.2'"):
        doctor.satisfies("1.2", "~=1.2")


def test_environment_reports_what_the_interpreter_says():
    import torch
    import zmq

    report = doctor.check_environment()
    assert report["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert report["python"]["executable"] == sys.executable
    assert report["packages"]["amlfs"] == importlib.metadata.version("amlfs")
    assert report["packages"]["packages"]["numpy"] == importlib.metadata.version("numpy")
    assert report["torch"]["version"] == torch.__version__
    assert report["torch"]["deviceCount"] == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert report["zmq"] == {"pyzmq": zmq.pyzmq_version(), "libzmq": zmq.zmq_version(), "curve": zmq.has("curve")}
    with open(os.path.join(report["wire"]["protoDir"], "wire.schema.json"), encoding="utf-8") as handle:
        assert report["wire"]["protocol"] == json.load(handle)["x-protocol"]
    assert report["problems"] == []  # the test environment is the one `make setup` builds
    json.dumps(report)  # JSON-able, for pythonia


def test_missing_and_old_requirements_are_problems(monkeypatch):
    monkeypatch.setattr(doctor, "requirements", lambda dist="amlfs": [
        ("amlfs-no-such-package", ">=1", None), ("numpy", ">=999", None), ("scikit-learn", ">=999", "demo")])
    _, problems = doctor.check_packages()
    assert [(p["level"], p["problem"].split()[0]) for p in problems] == [
        ("fail", "amlfs-no-such-package>=1"), ("fail", "numpy"), ("warn", "scikit-learn")]
    assert "pip install 'amlfs-no-such-package>=1'" in problems[0]["fix"]
    assert "needed for the digits demo" in problems[2]["problem"]


def test_requirements_parse_extras():
    names = {name: (spec, extra) for name, spec, extra in doctor.requirements()}
    assert names["torch"] == (">=2.1", None)
    assert names["pytest"][1] == "test"


# ---------------------------------------------------------------------------- datasets

def reid_section(root, kind="market1501"):
    return {"kind": kind, "root": str(root)}


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A Market-1501 fixture inside its official folder name, and what the reader should find."""
    parent = tmp_path_factory.mktemp("reid")
    counts = write_reid_fixture(str(parent / MARKET1501.folder), "market", ids=3, per_id=4)
    return parent, counts


def test_reid_fixture_is_ok_when_not_strict(market):
    parent, counts = market
    report = doctor.check_dataset(reid_section(parent), {"strict": False})
    assert report["problems"] == []
    found = report["found"]
    assert found["folder"] == str(parent / MARKET1501.folder)  # the parent resolves to the official folder
    assert found["bounding_box_train"] == {"images": counts.train_images, "identities": 3}
    assert found["query"]["images"] == counts.query_images
    assert found["bounding_box_test"]["images"] == counts.gallery_images


def test_reid_fixture_fails_the_official_counts_by_default(market):
    parent, counts = market
    problems = doctor.check_dataset(reid_section(parent))["problems"]
    expected = MARKET1501.expected
    assert [p["problem"].split(": ")[1] for p in problems] == [
        f"{counts.train_images} training images in {parent / MARKET1501.folder}, the official release has "
        f"{expected.train_images} (junk excluded)",
        f"3 training identities in {parent / MARKET1501.folder}, the official release has {expected.train_ids} "
        "(junk excluded)",
        f"{counts.query_images} query images in {parent / MARKET1501.folder}, the official release has "
        f"{expected.query_images} (junk excluded)",
        f"{counts.gallery_images} gallery images in {parent / MARKET1501.folder}, the official release has "
        f"{expected.gallery_images} (junk excluded)",
    ]
    assert all("`baseline.options.strict` to false" in p["fix"] for p in problems)


def test_reid_missing_root(tmp_path):
    found = only_problem(doctor.check_dataset(reid_section(tmp_path / "nowhere")), "dataset.root")
    assert str(tmp_path / "nowhere") in found["problem"]
    assert "set `dataset.root`" in found["fix"]


def test_reid_missing_query_folder(tmp_path):
    write_reid_fixture(str(tmp_path), "market", ids=2, per_id=4)
    for name in os.listdir(tmp_path / "query"):
        os.remove(tmp_path / "query" / name)
    os.rmdir(tmp_path / "query")
    found = only_problem(doctor.check_dataset(reid_section(tmp_path), {"strict": False}), "dataset layout")
    assert found["problem"] == f"market1501: missing folder {tmp_path / 'query'}"
    assert str(tmp_path / "query") in found["fix"]


def test_reid_badly_named_file(tmp_path):
    write_reid_fixture(str(tmp_path), "market", ids=2, per_id=4)
    (tmp_path / "bounding_box_test" / "holiday.jpg").write_bytes(b"")
    (tmp_path / "bounding_box_test" / "Thumbs.db").write_bytes(b"")  # not a .jpg: ignored as by the reader
    found = only_problem(doctor.check_dataset(reid_section(tmp_path), {"strict": False}), "dataset layout")
    assert str(tmp_path / "bounding_box_test" / "holiday.jpg") in found["problem"]


def test_duke_tree_read_as_market_points_at_the_kind(tmp_path):
    write_reid_fixture(str(tmp_path), "duke", ids=2, per_id=4)
    problems = doctor.check_dataset(reid_section(tmp_path), {"strict": False})["problems"]
    assert len(problems) == 3  # every folder's names fail the Market pattern
    assert all("`dataset.kind`" in p["fix"] for p in problems)
    assert doctor.check_dataset(reid_section(tmp_path, "dukemtmc-reid"), {"strict": False})["problems"] == []


def test_cifar10_fixture_and_broken_files(tmp_path):
    write_cifar10(str(tmp_path / "cifar-10-batches-bin"), per_batch=3, test=2)
    report = doctor.check_dataset({"kind": "cifar10-bin", "root": str(tmp_path)})
    assert report["problems"] == []
    assert report["found"]["records"] == {**{f"data_batch_{i}.bin": 3 for i in range(1, 6)}, "test_batch.bin": 2}

    folder = tmp_path / "cifar-10-batches-bin"
    with open(folder / "data_batch_2.bin", "ab") as handle:
        handle.write(b"\x00" * 7)
    os.remove(folder / "test_batch.bin")
    problems = doctor.check_dataset({"kind": "cifar10-bin", "root": str(folder)})["problems"]
    assert [p["problem"] for p in problems] == [
        f"{folder / 'data_batch_2.bin'}: {3 * 3073 + 7} bytes is not a whole number of 3073-byte records",
        f"missing {folder / 'test_batch.bin'}",
    ]
    assert "binary version" in problems[1]["fix"]


@pytest.fixture()
def face_tree(tmp_path):
    counts = write_face_fixture(str(tmp_path), ids=3, per_id=2, lfw_names=4, folds=2, pairs_per_fold=2,
                                height_px=16, width_px=16)
    return tmp_path, counts


def test_face_fixture_is_ok(face_tree):
    root, counts = face_tree
    report = doctor.check_dataset({"kind": "casia-webface", "root": str(root)})
    assert report["problems"] == []
    assert report["found"] == {"casia": counts.casia_dir, "lfw": counts.lfw_dir, "pairsTxt": counts.pairs_txt,
                               "casiaIdentities": counts.casia_ids, "casiaImages": counts.casia_images,
                               "lfwPairs": counts.pairs, "lfwFolds": counts.folds}


def test_face_without_pairs_txt(face_tree):
    root, counts = face_tree
    os.remove(counts.pairs_txt)
    found = only_problem(doctor.check_dataset({"kind": "casia-webface", "root": str(root)}), "dataset.root")
    assert "no pairs.txt found" in found["problem"]
    assert "baseline.options.pairsTxt" in found["fix"]


def test_face_pairs_naming_a_missing_image(face_tree):
    root, counts = face_tree
    with open(counts.pairs_txt, encoding="utf-8") as handle:
        name = handle.read().splitlines()[1].split()[0]
    os.remove(os.path.join(counts.lfw_dir, name, f"{name}_0001.jpg"))
    os.remove(os.path.join(counts.lfw_dir, name, f"{name}_0002.jpg"))
    found = only_problem(doctor.check_dataset({"kind": "casia-webface", "root": str(root)}), "dataset layout")
    assert f"missing image {os.path.join(counts.lfw_dir, name, name)}_000" in found["problem"]


def test_face_official_counts_only_when_asked(face_tree):
    root, _ = face_tree
    found = only_problem(doctor.check_dataset({"kind": "casia-webface", "root": str(root)}, {"checkCounts": True}))
    assert "holds 3 identity folders, expected 10575" in found["problem"]


def test_digits_needs_scikit_learn(monkeypatch):
    assert doctor.check_dataset({"kind": "digits"})["problems"] == []
    real = doctor.importlib.util.find_spec
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    found = only_problem(doctor.check_dataset({"kind": "digits"}), "dataset")
    assert "scikit-learn" in found["fix"]


def test_synthetic_classes_reads_nothing():
    report = doctor.check_dataset({"kind": "synthetic-classes", "splits": {"splitSeed": 3}}, {"classes": 20})
    assert report["problems"] == [] and report["found"]["classes"] == 20 and report["found"]["trainPerClass"] == 24
    assert "splitSeed = 3" in report["found"]["source"]
    found = only_problem(doctor.check_dataset({"kind": "synthetic-classes", "root": "/data"}), "dataset.root")
    assert "reads nothing" in found["problem"]


def test_bad_sections():
    assert "`dataset.kind`: required field" in only_problem(doctor.check_dataset({}), "dataset")["problem"]
    assert "imagenet" in only_problem(doctor.check_dataset({"kind": "imagenet"}), "dataset.kind")["problem"]


def test_doctor_json_round_trip(market):
    parent, _ = market
    experiment = {"dataset": reid_section(parent), "baseline": {"name": "spherereid", "options": {"strict": False}}}
    report = json.loads(doctor.doctor_json(json.dumps(experiment)))
    assert set(report) == {"environment", "dataset"}
    assert report["dataset"]["problems"] == []
    assert set(json.loads(doctor.doctor_json())) == {"environment"}
