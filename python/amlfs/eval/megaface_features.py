"""MegaFace feature files: one OpenCV binary matrix per image, named by JSON list files.

Format, as read and written by the MegaFace devkit's ``matio.py`` (Kemelmacher-Shlizerman
et al., "The MegaFace Benchmark", CVPR 2016; devkit ``experiments/matio.py``, whose
``read_mat`` unpacks ``'iiii'``): a 16-byte header of four little-endian int32 -- ``rows``,
``cols``, ``stride`` (bytes per row, ``cols * itemsize``) and the OpenCV ``type``
(5 = ``CV_32F``, 6 = ``CV_64F``) -- then ``rows * stride`` bytes of row-major data. The devkit
writes a D-dimensional feature as a ``D x 1`` column (``rows = D``, ``cols = 1``, ``stride = 4``).
Note the header has four fields, not three: the ``stride`` sits between ``cols`` and ``type``.

List files (devkit ``templatelists/*.json``) hold ``{"path": [...]}`` with image paths
relative to the image root, e.g. ``"Aaron_Eckhart/Aaron_Eckhart_134.png"``; the feature of
an image is ``feature_root / (path + suffix)`` (``run_experiment.py``'s ``file_ending``,
e.g. ``"_cosface.bin"``). The identity of an image is the list's ``"id"`` entry when the list
has an ``"id"`` array, else the name of the folder holding the image.
"""
from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from amlfs.data.errors import DataError

PathLike = Union[str, os.PathLike]

_HEADER = struct.Struct("<4i")
CV_TYPES = {5: np.dtype("<f4"), 6: np.dtype("<f8")}  # CV_32F, CV_64F (single channel)


def read_cv_mat(path: PathLike) -> np.ndarray:
    """The ``[rows, cols]`` matrix stored in an OpenCV binary ``.bin`` file (format above)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"Cannot read feature file {path}: {err.strerror}") from err
    if len(data) < _HEADER.size:
        raise DataError(f"Feature file {path}: expected a 16-byte header (int32 rows, cols, stride, type), "
                        f"got a file of {len(data)} bytes")
    rows, cols, stride, cv_type = _HEADER.unpack_from(data)
    if cv_type not in CV_TYPES:
        raise DataError(f"Feature file {path}: expected OpenCV type 5 (CV_32F) or 6 (CV_64F), got {cv_type}")
    dtype = CV_TYPES[cv_type]
    if rows < 1 or cols < 1 or stride != cols * dtype.itemsize:
        raise DataError(f"Feature file {path}: expected rows >= 1, cols >= 1 and stride = cols * {dtype.itemsize}, "
                        f"got rows {rows}, cols {cols}, stride {stride}")
    expected = _HEADER.size + rows * stride
    if len(data) != expected:
        raise DataError(f"Feature file {path}: expected {expected} bytes for a {rows} x {cols} {dtype.name} "
                        f"matrix, got {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=_HEADER.size).reshape(rows, cols).astype(dtype.newbyteorder("="))


def read_feature_file(path: PathLike) -> np.ndarray:
    """One feature ``[D]`` (float32 or float64, as stored) from a devkit ``.bin`` file: a
    ``D x 1`` column or a ``1 x D`` row."""
    mat = read_cv_mat(path)
    if min(mat.shape) != 1:
        raise DataError(f"Feature file {path}: expected one feature (a D x 1 or 1 x D matrix), got "
                        f"{mat.shape[0]} x {mat.shape[1]}")
    return mat.reshape(-1)


def write_feature_file(path: PathLike, feature: np.ndarray) -> None:
    """Write ``feature [D]`` (float32 or float64) as the devkit does: a ``D x 1`` column.
    A 2-D array is written as that ``[rows, cols]`` matrix. Parent folders are created."""
    arr = np.asarray(feature)
    if arr.dtype not in (np.float32, np.float64) or arr.ndim not in (1, 2) or arr.size == 0:
        raise ValueError(f"Expected a non-empty float32/float64 feature [D] or matrix [rows, cols], got "
                         f"dtype {arr.dtype} shape {list(arr.shape)}")
    mat = arr.reshape(-1, 1) if arr.ndim == 1 else arr
    cv_type = 5 if arr.dtype == np.float32 else 6
    dtype = CV_TYPES[cv_type]
    header = _HEADER.pack(mat.shape[0], mat.shape[1], mat.shape[1] * dtype.itemsize, cv_type)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(header + np.ascontiguousarray(mat, dtype=dtype).tobytes())


@dataclass(frozen=True)
class FeatureList:
    """``features [N, D]`` in list order, the list's ``paths [N]`` and ``identities [N]``."""

    features: np.ndarray
    paths: List[str]
    identities: List[str]


def read_list_file(list_json: PathLike) -> Tuple[List[str], List[str]]:
    """``(paths, identities)`` of a devkit JSON list file: the ``"path"`` entries and, per entry,
    the ``"id"`` entry if the list has an ``"id"`` array, else the path's folder name."""
    return _read_list(list_json)


def _read_list(list_json: PathLike):
    try:
        content = json.loads(Path(list_json).read_text())
    except OSError as err:
        raise DataError(f"Cannot read feature list {list_json}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise DataError(f"Feature list {list_json}: invalid JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(content, dict) or not isinstance(content.get("path"), list):
        raise DataError(f"Feature list {list_json}: expected an object with a \"path\" array, got "
                        f"{type(content).__name__}{' with keys ' + str(sorted(content)) if isinstance(content, dict) else ''}")
    paths = content["path"]
    for i, p in enumerate(paths):
        if not isinstance(p, str) or not p:
            raise DataError(f"Feature list {list_json}: expected \"path\"[{i}] to be a non-empty string, got {p!r}")
    if "id" in content:
        ids = content["id"]
        if not isinstance(ids, list) or len(ids) != len(paths):
            raise DataError(f"Feature list {list_json}: expected \"id\" to be an array of {len(paths)} entries "
                            f"(one per path), got {type(ids).__name__} of {len(ids) if isinstance(ids, list) else '?'}")
        return paths, [str(i) for i in ids]
    identities = []
    for i, p in enumerate(paths):
        folder = PurePosixPath(p.replace("\\", "/")).parent.name
        if not folder:
            raise DataError(f"Feature list {list_json}: \"path\"[{i}] = {p!r} has no folder to take the identity "
                            "from (expected <identity>/<image>), and the list has no \"id\" array")
        identities.append(folder)
    return paths, identities


def _feature_path(feature_root: PathLike, path: str, suffix: str) -> Path:
    return Path(feature_root) / (path + suffix)


def read_feature_list(list_json: PathLike, feature_root: PathLike, suffix: str) -> FeatureList:
    """Read the feature of every image named in ``list_json``: ``features [N, D]`` (dtype as
    stored). Every file must hold a feature of the same dimension."""
    paths, identities = read_list_file(list_json)
    if not paths:
        raise DataError(f"Feature list {list_json}: the \"path\" array is empty")
    chunks = list(iter_feature_chunks(list_json, feature_root, suffix, chunk_size=len(paths)))
    return FeatureList(features=chunks[0], paths=paths, identities=identities)


def iter_feature_chunks(list_json: PathLike, feature_root: PathLike, suffix: str,
                        chunk_size: int = 65536, paths: Optional[Sequence[str]] = None) -> Iterator[np.ndarray]:
    """``[<= chunk_size, D]`` blocks of the features named in ``list_json`` (or ``paths``), in
    order, so a million distractors can be scored without holding them all at once."""
    if chunk_size < 1:
        raise ValueError(f"Expected `chunk_size` to be a positive integer, got {chunk_size}")
    if paths is None:
        paths = _read_list(list_json)[0]
    dim = None
    for start in range(0, len(paths), chunk_size):
        rows = []
        for p in paths[start:start + chunk_size]:
            path = _feature_path(feature_root, p, suffix)
            feature = read_feature_file(path)
            if dim is None:
                dim = feature.shape[0]
            elif feature.shape[0] != dim:
                raise DataError(f"Feature file {path}: expected dimension {dim} (as the first file of "
                                f"{list_json}), got {feature.shape[0]}")
            rows.append(feature)
        yield np.stack(rows)
