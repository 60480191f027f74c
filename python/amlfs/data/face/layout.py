"""The on-disk layouts of the face benchmarks used with CosFace (Wang et al., CVPR 2018).

- CASIA-WebFace (Yi et al., 2014, arXiv:1411.7923), training set: one folder per identity,
  named by a 7-digit id, holding that person's images, e.g. ``0000045/001.jpg``. The
  release has 10,575 identities and 494,414 images. Aligned 112 x 96 crops (the SphereFace /
  CosFace pre-processing) are usually distributed as ``CASIA-WebFace-112x96/`` (or
  ``-112X96``) with the same tree. Cleaned or re-aligned releases drop images whose
  landmarks were not found, so their image counts differ (and some drop identities):
  the counts are therefore checked only when asked.
- LFW (Huang et al., 2007), test set: ``lfw/<Name>/<Name>_0001.jpg`` (5,749 people,
  13,233 images; aligned copies e.g. ``lfw-112X96/``), plus ``pairs.txt``: the 6,000
  verification pairs of the "View 2" protocol in 10 folds (see :mod:`.lfw`).

Images are ``.jpg`` or ``.png`` (some aligned releases store PNG), case-insensitive.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ..disk_layout import DiskLayout, Entry

IMAGE_EXTENSIONS: Tuple[str, ...] = (".jpg", ".jpeg", ".png")

#: Folder names of CASIA-WebFace, aligned first: :func:`.discover.find_face_roots` takes the
#: first present, because the network wants aligned 112 x 96 faces.
CASIA_FOLDERS: Tuple[str, ...] = ("CASIA-WebFace-112x96", "CASIA-WebFace-112X96", "CASIA-WebFace")
#: Folder names of LFW, aligned first.
LFW_FOLDERS: Tuple[str, ...] = ("lfw-112x96", "lfw-112X96", "lfw")
PAIRS_FILE = "pairs.txt"

#: What :func:`.discover.find_face_roots` looks for under ``dataset.root``; the baseline options
#: ``lfwRoot`` / ``pairsTxt`` name the LFW side elsewhere (and with ``lfwRoot`` the root may be
#: the CASIA folder itself).
FACE_LAYOUT = DiskLayout(
    entries=(
        Entry(CASIA_FOLDERS, "directory", ("lfwRoot",)),
        Entry(LFW_FOLDERS, "directory", ("lfwRoot",)),
        Entry((PAIRS_FILE,) + tuple(f"{lfw}/{PAIRS_FILE}" for lfw in LFW_FOLDERS), "file", ("lfwRoot", "pairsTxt")),
    ),
    expected=f"<root>/{{{'|'.join(CASIA_FOLDERS)}}}, <root>/{{{'|'.join(LFW_FOLDERS)}}} and <root>/{PAIRS_FILE}",
    fix=f"set `dataset.root` to the folder holding {CASIA_FOLDERS[-1]}/ (or {CASIA_FOLDERS[0]}/), {LFW_FOLDERS[-1]}/ "
        f"(or {LFW_FOLDERS[0]}/) and {PAIRS_FILE}, or set `baseline.options.lfwRoot` / `baseline.options.pairsTxt`",
)

#: Input size of the 20-layer sphereface-style network of CosFace (height x width, px).
FACE_HEIGHT_PX = 112
FACE_WIDTH_PX = 96


@dataclass(frozen=True)
class ExpectedFaceCounts:
    """The counts of an official release: identities (folders) and images."""

    identities: int
    images: int


CASIA_WEBFACE_COUNTS = ExpectedFaceCounts(identities=10575, images=494414)
LFW_COUNTS = ExpectedFaceCounts(identities=5749, images=13233)
