"""Readers for the Market-1501 and DukeMTMC-reID folders.

``root`` is the dataset folder (``Market-1501-v15.09.15``, ``DukeMTMC-reID``) or its parent.
Only ``*.jpg`` files are read (the official archives also hold e.g. ``Thumbs.db``); every
``.jpg`` must match the layout's name pattern. Per the standard protocol:

- junk (pid ``-1``) is dropped everywhere;
- distractors (pid ``0``) stay in the gallery as negatives and are dropped from the
  training and query folders (they are not an identity);
- training identities are relabelled ``0..N-1`` in increasing order of original pid;
  query and gallery keep the original pids (the evaluation compares them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

from ..errors import DataError
from .images import DISTRACTOR_PID, JUNK_PID, ReidImages, ReidTrainSet, relabel
from .layouts import (
    DUKEMTMC_REID,
    GALLERY_FOLDER,
    MARKET1501,
    QUERY_FOLDER,
    REID_LAYOUTS,
    SPLIT_FOLDERS,
    TRAIN_FOLDER,
    ReidLayout,
)


@dataclass(frozen=True)
class ReidDataset:
    """A re-ID benchmark: relabelled training set, query and gallery (original pids)."""

    name: str
    root: str
    train: ReidTrainSet
    query: ReidImages
    gallery: ReidImages


def parse_name(file_name: str, layout: ReidLayout, folder: str) -> Tuple[int, int]:
    """``(pid, camid)`` of one file name; ``camid`` is 0-based. ``folder`` is named in errors."""
    match = layout.pattern.match(file_name)
    if match is None:
        raise DataError(f"{os.path.join(folder, file_name)}: the file name does not match the {layout.name} "
                        f"pattern {layout.pattern_text}")
    pid, cam = int(match.group("pid")), int(match.group("cam"))
    if not 1 <= cam <= layout.num_cameras:
        raise DataError(f"{os.path.join(folder, file_name)}: camera c{cam} is out of range; {layout.name} has "
                        f"cameras c1..c{layout.num_cameras}")
    return pid, cam - 1


def resolve_root(root: str, layout: ReidLayout) -> str:
    """The folder holding the three split folders: ``root`` or ``root/<official folder>``."""
    if not root or not os.path.isdir(root):
        raise DataError(f"{layout.name}: {root!r} is not a directory (expected {layout.disk.expected})")
    nested = os.path.join(root, layout.folder)
    if not os.path.isdir(os.path.join(root, TRAIN_FOLDER)) and os.path.isdir(nested):
        return nested
    return root


def read_folder(folder: str, layout: ReidLayout, keep_distractors: bool) -> ReidImages:
    """The images of one split folder, junk dropped, distractors kept only if ``keep_distractors``."""
    if not os.path.isdir(folder):
        raise DataError(f"{layout.name}: missing folder {folder} (expected {layout.disk.expected} with "
                        f"{layout.pattern_text} files)")
    paths: List[str] = []
    pids: List[int] = []
    camids: List[int] = []
    for file_name in sorted(os.listdir(folder)):
        if not file_name.endswith(".jpg"):
            continue
        pid, camid = parse_name(file_name, layout, folder)
        if pid == JUNK_PID or (pid == DISTRACTOR_PID and not keep_distractors):
            continue
        paths.append(os.path.join(folder, file_name))
        pids.append(pid)
        camids.append(camid)
    return ReidImages(tuple(paths), tuple(pids), tuple(camids))


def check_count(layout: ReidLayout, folder: str, what: str, expected: int, found: int) -> None:
    if expected != found:
        raise DataError(f"{layout.name}: {folder} holds {found} {what}, expected {expected} "
                        "(pass strict=False for a subset or a fixture)")


def read_reid(root: str, layout: Union[str, ReidLayout], strict: Optional[bool] = None) -> ReidDataset:
    """Read a benchmark in ``layout`` (a :class:`ReidLayout` or a name in ``REID_LAYOUTS``).

    ``strict`` checks the official counts (junk excluded); it defaults to True for the
    built-in layouts, which carry expected counts.
    """
    if isinstance(layout, str):
        if layout not in REID_LAYOUTS:
            raise DataError(f"Expected a re-ID layout in {sorted(REID_LAYOUTS)}, got {layout!r}")
        layout = REID_LAYOUTS[layout]
    if strict is None:
        strict = layout.expected is not None
    base = resolve_root(root, layout)
    folders = {name: os.path.join(base, name) for name in SPLIT_FOLDERS}
    train_images = read_folder(folders[TRAIN_FOLDER], layout, keep_distractors=False)
    query = read_folder(folders[QUERY_FOLDER], layout, keep_distractors=False)
    gallery = read_folder(folders[GALLERY_FOLDER], layout, keep_distractors=True)
    train = relabel(train_images)
    if strict:
        if layout.expected is None:
            raise DataError(f"{layout.name}: strict=True needs expected counts, and this layout has none")
        expected = layout.expected
        check_count(layout, folders[TRAIN_FOLDER], "images", expected.train_images, len(train))
        check_count(layout, folders[TRAIN_FOLDER], "identities", expected.train_ids, train.num_classes)
        check_count(layout, folders[QUERY_FOLDER], "images", expected.query_images, len(query))
        check_count(layout, folders[GALLERY_FOLDER], "images", expected.gallery_images, len(gallery))
    if len(train) == 0:
        raise DataError(f"{layout.name}: {folders[TRAIN_FOLDER]} holds no training image")
    return ReidDataset(layout.name, base, train, query, gallery)


def read_market1501(root: str, strict: bool = True) -> ReidDataset:
    """Market-1501 (``Market-1501-v15.09.15``); see :func:`read_reid`."""
    return read_reid(root, MARKET1501, strict)


def read_dukemtmc_reid(root: str, strict: bool = True) -> ReidDataset:
    """DukeMTMC-reID (``DukeMTMC-reID``); see :func:`read_reid`."""
    return read_reid(root, DUKEMTMC_REID, strict)
