"""``amlfs doctor``, the Python side: the interpreter and package versions, torch and its
CUDA devices, ZeroMQ and CURVE, the wire protocol version this side reads, and whether a
config's dataset is in its expected on-disk layout (file names and sizes only, no image
is decoded).

Everything returns JSON-able dicts. The TypeScript side (``src/cli/doctor.ts``) calls
:func:`doctor_json` through pythonia; ``python -m amlfs.doctor [config.json]`` prints the
same JSON. A problem is ``{"check", "level", "problem", "fix"}``: ``level`` is ``"fail"``
(a run would fail) or ``"warn"``, and ``fix`` is a command to run or a setting to change.
"""
from __future__ import annotations

import functools
import importlib.metadata as metadata
import importlib.util
import json
import os
import platform
import re
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .data import cifar10
from .data.config import DatasetConfig
from .data.errors import DataError
from .data.face import find_face_roots, read_casia_webface, read_lfw_pairs
from .data.face.layout import FACE_LAYOUT, PAIRS_FILE
from .data.reid import DUKEMTMC_REID, MARKET1501, ReidLayout, relabel
from .data.reid.layouts import GALLERY_FOLDER, QUERY_FOLDER, SPLIT_FOLDERS, TRAIN_FOLDER
from .data.reid.reader import read_folder, resolve_root
from .data.synthetic_classes import SyntheticClassesSpec

SETUP_FIX = ("make setup in a checkout (or: .venv/bin/python -m pip install -e 'python[test,demo]'); elsewhere, "
             "pip install the amlfs wheel with its extras (docs/plug-in.md)")
#: Distributions reported (pip names); the required ones come from amlfs's own metadata.
DISTRIBUTIONS = ("torch", "numpy", "pyzmq", "safetensors", "jsonschema", "Pillow", "scikit-learn")
OPTIONAL_EXTRAS = {"demo": "digits demo", "test": "test suite"}

Problem = Dict[str, str]
Found = Dict[str, Any]


def problem(check: str, level: str, text: str, fix: str) -> Problem:
    if level not in ("fail", "warn"):
        raise ValueError(f"problem level: expected 'fail' or 'warn', got {level!r}")
    return {"check": check, "level": level, "problem": text, "fix": fix}


# ----------------------------------------------------------------------------- versions

def release(version: str) -> Tuple[int, ...]:
    """The leading numeric release of a version string: ``"2.13.0+cpu"`` -> ``(2, 13, 0)``."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    if match is None:
        raise ValueError(f"version: expected digits first, got {version!r}")
    return tuple(int(part) for part in match.group(0).split("."))


_COMPARE: Dict[str, Callable[[Tuple[int, ...], Tuple[int, ...]], bool]] = {
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def satisfies(version: str, specifier: str) -> bool:
    """Whether ``version`` meets a comma-separated specifier such as ``">=1.24,<3"`` (release parts only)."""
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = re.fullmatch(r"(>=|<=|==|!=|>|<)\s*([0-9][0-9.]*)", clause)
        if match is None:
            raise ValueError(f"version specifier: expected e.g. '>=1.2', got {clause!r}")
        have, want = release(version), release(match.group(2))
        width = max(len(have), len(want))  # so that 2.1 == 2.1.0
        have, want = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        if not _COMPARE[match.group(1)](have, want):
            return False
    return True


def requirements(dist: str = "amlfs") -> List[Tuple[str, str, Optional[str]]]:
    """``(name, specifier, extra or None)`` of each requirement of ``dist``'s installed metadata."""
    parsed = []
    for line in metadata.requires(dist) or []:
        requirement, _, marker = line.partition(";")
        match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*(.*)", requirement)
        if match is None:
            continue
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        parsed.append((match.group(1), match.group(2).strip(), extra.group(1) if extra else None))
    return parsed


def installed(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_packages() -> Tuple[Found, List[Problem]]:
    """amlfs's version and its requirements against the installed versions."""
    problems: List[Problem] = []
    own = installed("amlfs")
    found: Found = {"amlfs": own, "amlfsPath": os.path.dirname(os.path.abspath(__file__)),
                    "packages": {dist: installed(dist) for dist in DISTRIBUTIONS}}
    if own is None:
        problems.append(problem("python packages", "warn", "amlfs is importable (PYTHONPATH) but not installed in "
                                f"{sys.executable}, so its requirements cannot be checked", SETUP_FIX))
        return found, problems
    for name, specifier, extra in requirements():
        version = installed(name)
        found["packages"].setdefault(name, version)
        level = "fail" if extra is None else "warn"
        need = f" (needed for the {OPTIONAL_EXTRAS.get(extra, extra)})" if extra else ""
        if version is None:
            problems.append(problem("python packages", level, f"{name}{specifier} is not installed{need}",
                                    f"{sys.executable} -m pip install '{name}{specifier}' (or: {SETUP_FIX})"))
        elif specifier and not satisfies(version, specifier):
            problems.append(problem("python packages", level, f"{name} {version} is installed, amlfs needs "
                                    f"{name}{specifier}{need}",
                                    f"{sys.executable} -m pip install '{name}{specifier}'"))
    return found, problems


def check_torch() -> Tuple[Found, List[Problem]]:
    """torch's version, its CUDA build, and the CUDA devices it sees."""
    try:
        import torch
    except ImportError as error:
        return {"version": None}, [problem("torch", "fail", f"cannot import torch ({error})",
                                           f"{sys.executable} -m pip install torch==2.13.0 (CPU), or your CUDA build")]
    available = bool(torch.cuda.is_available())
    count = torch.cuda.device_count() if available else 0
    return {
        "version": torch.__version__,
        "cudaBuild": torch.version.cuda,
        "cudaAvailable": available,
        "deviceCount": count,
        "devices": [torch.cuda.get_device_name(i) for i in range(count)],
    }, []


def check_zmq() -> Tuple[Found, List[Problem]]:
    """pyzmq's version, the libzmq it bundles, and whether that libzmq has CURVE."""
    try:
        import zmq
    except ImportError as error:
        return {"pyzmq": None}, [problem("pyzmq", "fail", f"cannot import zmq ({error})",
                                         f"{sys.executable} -m pip install 'pyzmq>=25'")]
    curve = bool(zmq.has("curve"))
    problems = [] if curve else [problem(
        "pyzmq", "warn", f"libzmq {zmq.zmq_version()} of pyzmq has no CURVE: workers on other hosts cannot "
        "connect over encrypted TCP", f"{sys.executable} -m pip install --force-reinstall 'pyzmq>=25' "
        "(the PyPI wheels bundle a libzmq with CURVE; a source build needs libsodium)")]
    return {"pyzmq": zmq.pyzmq_version(), "libzmq": zmq.zmq_version(), "curve": curve}, problems


def check_protocol() -> Tuple[Found, List[Problem]]:
    """The wire protocol version in the ``wire.schema.json`` that workers validate against (``amlfs/_proto``)."""
    try:
        from .worker.wire import load_schema, proto_dir

        return {"protocol": load_schema()["x-protocol"], "protoDir": str(proto_dir())}, []
    except (OSError, KeyError, ValueError, ImportError) as error:
        return {"protocol": None}, [problem("wire protocol", "fail", f"cannot read the wire schema ({error})",
                                            "reinstall the amlfs package (its wheel ships amlfs/_proto/wire.schema.json; "
                                            "in a checkout python/amlfs/_proto links to proto/), or set AMLFS_PROTO_DIR "
                                            "to the folder that holds it")]


def check_environment() -> Dict[str, Any]:
    """Interpreter, packages, torch, ZeroMQ and protocol: ``{"python", "packages", ..., "problems"}``."""
    problems: List[Problem] = []
    report: Dict[str, Any] = {"python": {"version": platform.python_version(), "executable": sys.executable,
                                         "implementation": platform.python_implementation()}}
    for key, check in (("packages", check_packages), ("torch", check_torch), ("zmq", check_zmq),
                       ("wire", check_protocol)):
        found, more = check()
        report[key] = found
        problems.extend(more)
    report["problems"] = problems
    return report


# ------------------------------------------------------------------------------ datasets

def _check_digits(config: DatasetConfig, options: Mapping[str, Any]) -> Tuple[Found, List[Problem]]:
    if importlib.util.find_spec("sklearn") is None:
        return {}, [problem("dataset", "fail", "dataset `digits` reads scikit-learn's bundled digits, and "
                            "scikit-learn is not installed", f"{sys.executable} -m pip install 'scikit-learn>=1.3' "
                            f"(or: {SETUP_FIX})")]
    return {"source": "scikit-learn bundled digits (1,797 images)"}, []


def _check_synthetic_classes(config: DatasetConfig, options: Mapping[str, Any]) -> Tuple[Found, List[Problem]]:
    """Nothing to read: the sizes the baseline's options ask for (defaults as in ``cosine-mlp``)."""
    if config.root:
        return {}, [problem("dataset.root", "fail", f"synthetic-classes is generated and reads nothing, yet "
                            f"`dataset.root` is {config.root!r}", "remove `dataset.root` (or set it to \"\")")]
    spec = SyntheticClassesSpec()
    sizes = {"classes": options.get("classes", spec.classes), "inputDims": options.get("inputDims", spec.dims),
             "trainPerClass": options.get("trainPerClass", spec.train_per_class),
             "testPerClass": options.get("testPerClass", spec.test_per_class),
             "noiseStd": options.get("noiseStd", spec.noise_std)}
    return {"source": f"generated from dataset.splits.splitSeed = {config.split_seed}", **sizes}, []


def _check_cifar10(config: DatasetConfig, options: Mapping[str, Any]) -> Tuple[Found, List[Problem]]:
    source = cifar10.SOURCE
    try:
        folder = cifar10.resolve_root(config.root)
    except DataError as error:
        return {}, [problem("dataset.root", "fail", str(error), cifar10.LAYOUT.fix)]
    found: Found = {"folder": folder, "records": {}}
    problems: List[Problem] = []
    for name in cifar10.TRAIN_FILES + (cifar10.TEST_FILE,):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            problems.append(problem("dataset files", "fail", f"missing {path}",
                                    f"extract {source} so that {path} exists"))
            continue
        size = os.path.getsize(path)
        if size == 0 or size % cifar10.RECORD_BYTES:
            problems.append(problem("dataset files", "fail", f"{path}: {size} bytes is not a whole number of "
                                    f"{cifar10.RECORD_BYTES}-byte records", f"download {source} again and re-extract "
                                    "it (the python and matlab versions have other files)"))
            continue
        found["records"][name] = size // cifar10.RECORD_BYTES
    return found, problems


def _check_reid(layout: ReidLayout, config: DatasetConfig, options: Mapping[str, Any]) -> Tuple[Found, List[Problem]]:
    """The three split folders listed and every ``.jpg`` name parsed by the reader's own functions."""
    try:
        base = resolve_root(config.root, layout)
    except DataError as error:
        return {}, [problem("dataset.root", "fail", str(error), layout.disk.fix)]
    found: Found = {"folder": base}
    problems: List[Problem] = []
    lists = {}
    for name, keep_distractors in ((TRAIN_FOLDER, False), (QUERY_FOLDER, False), (GALLERY_FOLDER, True)):
        folder = os.path.join(base, name)
        if not os.path.isdir(folder):
            problems.append(problem("dataset layout", "fail", f"{layout.name}: missing folder {folder}",
                                    f"extract the official archive so that {folder} exists (layout {layout.tree}), "
                                    "or point `dataset.root` at the folder that holds it"))
            continue
        try:
            lists[name] = read_folder(folder, layout, keep_distractors)
        except DataError as error:
            problems.append(problem("dataset layout", "fail", str(error),
                                    f"move files not named {layout.pattern_text} out of {folder}, or check "
                                    "`dataset.kind` (market1501 and dukemtmc-reid name files differently)"))
            continue
        found[name] = {"images": len(lists[name]), "identities": len(set(lists[name].pids))}
    if TRAIN_FOLDER in lists and len(lists[TRAIN_FOLDER]) == 0:
        problems.append(problem("dataset layout", "fail", f"{layout.name}: {os.path.join(base, TRAIN_FOLDER)} "
                                "holds no training image", "extract the official archive again"))
    strict = options.get("strict", True)
    if strict and layout.expected is not None and len(lists) == len(SPLIT_FOLDERS):
        want = layout.expected
        got = {"training images": (len(lists[TRAIN_FOLDER]), want.train_images),
               "training identities": (relabel(lists[TRAIN_FOLDER]).num_classes, want.train_ids),
               "query images": (len(lists[QUERY_FOLDER]), want.query_images),
               "gallery images": (len(lists[GALLERY_FOLDER]), want.gallery_images)}
        for what, (count, official) in got.items():
            if count != official:
                problems.append(problem("dataset counts", "fail", f"{layout.name}: {count} {what} in {base}, the "
                                        f"official release has {official} (junk excluded)",
                                        "extract the official archive again, or set `baseline.options.strict` to "
                                        "false to train on a subset or a fixture"))
    return found, problems


def _check_face(config: DatasetConfig, options: Mapping[str, Any]) -> Tuple[Found, List[Problem]]:
    """CASIA-WebFace's identity folders listed and LFW's pairs.txt parsed (every image it names must exist)."""
    try:
        roots = find_face_roots(config.root, options.get("lfwRoot"), options.get("pairsTxt"))
    except DataError as error:
        return {}, [problem("dataset.root", "fail", str(error), FACE_LAYOUT.fix)]
    found: Found = {"casia": roots.casia, "lfw": roots.lfw, "pairsTxt": roots.pairs_txt}
    problems: List[Problem] = []
    try:
        casia = read_casia_webface(roots.casia, bool(options.get("checkCounts", False)))
        found["casiaIdentities"], found["casiaImages"] = casia.num_classes, len(casia)
    except DataError as error:
        problems.append(problem("dataset layout", "fail", str(error),
                                f"arrange {roots.casia} as <identity>/<image>.jpg (the CASIA-WebFace release), or "
                                "set `baseline.options.checkCounts` to false for an aligned or cleaned release"))
    try:
        pairs = read_lfw_pairs(roots.pairs_txt, roots.lfw)
        found["lfwPairs"], found["lfwFolds"] = len(pairs), pairs.num_folds
    except DataError as error:
        problems.append(problem("dataset layout", "fail", str(error),
                                f"use LFW's View 2 {PAIRS_FILE} with an LFW folder holding every image it names "
                                "(<Name>/<Name>_0001.jpg), or set `baseline.options.lfwRoot` / `pairsTxt`"))
    return found, problems


DatasetCheck = Callable[[DatasetConfig, Mapping[str, Any]], Tuple[Found, List[Problem]]]
DATASET_CHECKS: Dict[str, DatasetCheck] = {
    "digits": _check_digits,
    "synthetic-classes": _check_synthetic_classes,
    "cifar10-bin": _check_cifar10,
    "market1501": functools.partial(_check_reid, MARKET1501),
    "dukemtmc-reid": functools.partial(_check_reid, DUKEMTMC_REID),
    "casia-webface": _check_face,
}


def check_dataset(section: Mapping[str, Any], options: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Whether ``experiment["dataset"]`` is in its expected layout, without loading an image.

    ``options`` are the baseline's options that change what is read (``strict`` for re-ID,
    ``lfwRoot`` / ``pairsTxt`` / ``checkCounts`` for face). Returns ``{"kind", "root",
    "found", "problems"}``; ``found`` holds what was counted (files, identities, pairs).
    """
    try:
        config = DatasetConfig.from_section(section)
    except DataError as error:
        fix = "fix the `dataset` section (amlfs validate CONFIG)"
        return {"kind": None, "root": None, "found": {}, "problems": [problem("dataset", "fail", str(error), fix)]}
    check = DATASET_CHECKS.get(config.kind)
    if check is None:
        found: Found = {}
        problems = [problem("dataset.kind", "fail", f"no layout check for dataset kind {config.kind!r}",
                            f"set `dataset.kind` to one of {', '.join(sorted(DATASET_CHECKS))}")]
    else:
        found, problems = check(config, options or {})
    return {"kind": config.kind, "root": config.root, "found": found, "problems": problems}


def doctor(experiment: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``{"environment": ...}``, plus ``"dataset"`` when an experiment (the parsed config) is given."""
    report: Dict[str, Any] = {"environment": check_environment()}
    if experiment is not None:
        baseline = experiment.get("baseline") or {}
        report["dataset"] = check_dataset(experiment.get("dataset") or {}, baseline.get("options") or {})
    return report


def doctor_json(experiment_json: Optional[str] = None) -> str:
    """:func:`doctor` with the experiment as JSON text (or None), as JSON text: what pythonia moves best."""
    return json.dumps(doctor(json.loads(experiment_json) if experiment_json else None))


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    experiment = None
    if args:
        with open(args[0], encoding="utf-8") as handle:
            experiment = json.load(handle)
    print(json.dumps(doctor(experiment), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
