"""LFW reader (Huang et al., 2007): the image folders and the 10-fold ``pairs.txt`` of View 2.

``pairs.txt``, as distributed with LFW::

    10<TAB>300                      folds, pairs per class per fold
    Abel_Pacheco<TAB>1<TAB>4        300 matched pairs of fold 1: name, idx1, idx2
    ...
    Abdel_Madi_Shabneh<TAB>1<TAB>Dean_Barker<TAB>1    then 300 mismatched: name1, idx1, name2, idx2
    ...                             and so on for folds 2..10: 6,000 pairs in all

``idx`` is the 1-based image number: ``<lfw>/<Name>/<Name>_<idx:04d>.jpg``. Any header
(``F`` folds of ``P``) is accepted, as fixtures write small ones, but the body must hold
exactly ``F x 2P`` pair lines in that order; fields may be separated by tabs or spaces.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

from ..errors import DataError
from .folders import read_identity_folders, resolve_dataset_folder
from .images import FaceImages
from .layout import LFW_COUNTS, LFW_FOLDERS
from .pairs import FacePairs

#: Extensions tried, in order, for an image that ``pairs.txt`` references.
PAIR_IMAGE_EXTENSIONS = (".jpg", ".png")


def lfw_image_name(name: str, number: int, extension: str = ".jpg") -> str:
    """``<Name>_<number:04d><extension>``, LFW's file name for image ``number`` (1-based) of ``name``."""
    return f"{name}_{number:04d}{extension}"


def read_lfw(root: str, check_counts: bool = False) -> FaceImages:
    """All LFW images, people labelled ``0..N-1`` in sorted name order.

    ``root`` is the LFW folder or its parent (then ``lfw-112x96``, ``lfw-112X96`` or ``lfw``
    inside it); ``check_counts`` compares with the release (5,749 people, 13,233 images).
    """
    folder = resolve_dataset_folder(root, LFW_FOLDERS, "lfw")
    return read_identity_folders(folder, "lfw", LFW_COUNTS if check_counts else None)


def _positive(text: str, where: str, field: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{where}: expected `{field}` to be a positive integer, got {text!r}")
    return value


def read_lfw_pairs(pairs_txt: str, lfw_root: str) -> FacePairs:
    """Parse ``pairs_txt`` and resolve every image in ``lfw_root`` (the LFW folder or its parent).

    Returns :class:`FacePairs` in file order, folds ``0..F-1``. Errors name the file, the
    1-based line number and, for a missing image, the path looked for.
    """
    folder = resolve_dataset_folder(lfw_root, LFW_FOLDERS, "lfw")
    try:
        with open(pairs_txt, "r", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"lfw: cannot read the pairs file {pairs_txt!r} ({error})") from error
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{pairs_txt}: the file is empty (expected a header `folds<TAB>pairs_per_fold`, e.g. `10\\t300`)")
    header = lines[0].split()
    if len(header) != 2:
        raise DataError(f"{pairs_txt}, line 1: expected the header `folds<TAB>pairs_per_fold` (e.g. `10\\t300`), "
                        f"got {lines[0]!r}")
    folds = _positive(header[0], f"{pairs_txt}, line 1", "folds")
    per_fold = _positive(header[1], f"{pairs_txt}, line 1", "pairs_per_fold")
    body = lines[1:]
    if len(body) != folds * 2 * per_fold:
        raise DataError(f"{pairs_txt}: the header `{folds} {per_fold}` announces {folds * 2 * per_fold} pair lines "
                        f"({folds} folds x ({per_fold} matched + {per_fold} mismatched)), found {len(body)}")

    found: Dict[Tuple[str, int], str] = {}

    def image(name: str, number: int, where: str) -> str:
        key = (name, number)
        if key not in found:
            stem = os.path.join(folder, name, lfw_image_name(name, number, ""))
            path: Optional[str] = next((stem + ext for ext in PAIR_IMAGE_EXTENSIONS if os.path.isfile(stem + ext)), None)
            if path is None:
                raise DataError(f"{where}: missing image {stem}.jpg (or .png)")
            found[key] = path
        return found[key]

    path_a: List[str] = []
    path_b: List[str] = []
    same: List[bool] = []
    fold: List[int] = []
    for k, line in enumerate(body):
        where = f"{pairs_txt}, line {k + 2}"
        fold_index, position = divmod(k, 2 * per_fold)
        matched = position < per_fold
        fields = line.split()
        first = 2 + fold_index * 2 * per_fold
        context = (f"(fold {fold_index + 1} is lines {first}-{first + 2 * per_fold - 1}: {per_fold} matched "
                   f"then {per_fold} mismatched pairs)")
        if matched and len(fields) != 3:
            raise DataError(f"{where}: expected a matched pair `name idx1 idx2` {context}, got {line!r}")
        if not matched and len(fields) != 4:
            raise DataError(f"{where}: expected a mismatched pair `name1 idx1 name2 idx2` {context}, got {line!r}")
        if matched:
            name, a, b = fields
            refs = ((name, a, "idx1"), (name, b, "idx2"))
        else:
            refs = ((fields[0], fields[1], "idx1"), (fields[2], fields[3], "idx2"))
        paths = [image(name, _positive(number, where, field), where) for name, number, field in refs]
        path_a.append(paths[0])
        path_b.append(paths[1])
        same.append(matched)
        fold.append(fold_index)
    return FacePairs(tuple(path_a), tuple(path_b), tuple(same), tuple(fold), folds)
