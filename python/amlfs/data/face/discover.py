"""Where the face data lives: the convention for ``dataset.root`` (one directory string).

``dataset.root`` holds the training set, the test images and the test pairs side by side,
as the fixture writes them::

    <root>/CASIA-WebFace/         (or CASIA-WebFace-112x96, CASIA-WebFace-112X96)
    <root>/lfw/                   (or lfw-112x96, lfw-112X96)
    <root>/pairs.txt              (or <root>/<lfw folder>/pairs.txt)

Aligned folder names are preferred when several are present (order in :mod:`.layout`).
A baseline may override the LFW folder and the pairs file (e.g. an ``lfwRoot`` option);
``root`` may then be the CASIA folder itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from ..errors import DataError
from .layout import CASIA_FOLDERS, FACE_LAYOUT, LFW_FOLDERS, PAIRS_FILE


@dataclass(frozen=True)
class FaceRoots:
    """The CASIA-WebFace folder, the LFW folder and LFW's ``pairs.txt``."""

    casia: str
    lfw: str
    pairs_txt: str


def _first_folder(root: str, names) -> Optional[str]:
    return next((os.path.join(root, n) for n in names if os.path.isdir(os.path.join(root, n))), None)


def find_face_roots(root: str, lfw_root: Optional[str] = None, pairs_txt: Optional[str] = None) -> FaceRoots:
    """Resolve the convention above; ``lfw_root`` / ``pairs_txt`` override the LFW side."""
    convention = f"expected {FACE_LAYOUT.expected}"
    if not root or not os.path.isdir(root):
        raise DataError(f"`dataset.root`: {root!r} is not a directory ({convention})")
    casia = _first_folder(root, CASIA_FOLDERS)
    if casia is None:
        if lfw_root is None:
            raise DataError(f"`dataset.root`: {root} holds no CASIA-WebFace folder ({convention})")
        casia = root
    if lfw_root is not None:
        if not os.path.isdir(lfw_root):
            raise DataError(f"lfw root: {lfw_root!r} is not a directory (expected the LFW folder <Name>/<Name>_0001.jpg)")
        lfw = _first_folder(lfw_root, LFW_FOLDERS) or lfw_root
    else:
        found = _first_folder(root, LFW_FOLDERS)
        if found is None:
            raise DataError(f"`dataset.root`: {root} holds no LFW folder ({convention}); "
                            "or give the LFW folder explicitly")
        lfw = found
    if pairs_txt is None:
        candidates = [os.path.join(root, PAIRS_FILE), os.path.join(lfw, PAIRS_FILE)]
        if lfw_root is not None:
            candidates.insert(1, os.path.join(lfw_root, PAIRS_FILE))
        pairs_txt = next((c for c in candidates if os.path.isfile(c)), None)
        if pairs_txt is None:
            raise DataError(f"`dataset.root`: no {PAIRS_FILE} found (looked for {', '.join(candidates)})")
    elif not os.path.isfile(pairs_txt):
        raise DataError(f"lfw pairs: {pairs_txt!r} is not a file (expected LFW's {PAIRS_FILE})")
    return FaceRoots(casia=casia, lfw=lfw, pairs_txt=pairs_txt)
