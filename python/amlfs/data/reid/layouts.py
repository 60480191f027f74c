"""The official on-disk layouts of the person re-identification benchmarks.

Both benchmarks ship three folders of cropped pedestrians whose file names carry the
identity and the camera:

- Market-1501 (Zheng et al., ICCV 2015), ``Market-1501-v15.09.15/``:
  ``0002_c1s1_000451_03.jpg`` = pid ``0002``, camera ``c1`` (of 6), sequence ``s1``,
  frame ``000451``, box ``03``; pid ``-1`` marks junk, ``0000`` distractors.
- DukeMTMC-reID (Zheng et al., ICCV 2017), ``DukeMTMC-reID/``:
  ``0001_c2_f0046182.jpg`` = pid ``0001``, camera ``c2`` (of 8), frame ``0046182``.

The expected counts are those of the standard protocol once junk is dropped (as reported
by torchreid and fast-reid).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional, Pattern

from ..disk_layout import DiskLayout, Entry

TRAIN_FOLDER = "bounding_box_train"
QUERY_FOLDER = "query"
GALLERY_FOLDER = "bounding_box_test"
SPLIT_FOLDERS = (TRAIN_FOLDER, QUERY_FOLDER, GALLERY_FOLDER)


@dataclass(frozen=True)
class ExpectedCounts:
    """Image counts after junk is dropped, and the number of training identities."""

    train_images: int
    train_ids: int
    query_images: int
    gallery_images: int


@dataclass(frozen=True)
class ReidLayout:
    """How one benchmark names its folder and files.

    ``pattern`` must define the groups ``pid`` (``-1`` or digits) and ``cam`` (1-based).
    """

    name: str
    folder: str
    pattern: Pattern[str]
    pattern_text: str
    num_cameras: int
    expected: Optional[ExpectedCounts]

    @property
    def tree(self) -> str:
        """The layout in one line: ``Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test}``."""
        return f"{self.folder}/{{{','.join(SPLIT_FOLDERS)}}}"

    @property
    def disk(self) -> DiskLayout:
        """The folders the reader needs under ``dataset.root`` (the extracted folder or its parent)."""
        return DiskLayout(
            entries=tuple(Entry((name,), "directory") for name in SPLIT_FOLDERS),
            expected=f"the layout {self.tree}",
            fix=f"set `dataset.root` to the extracted {self.folder} folder (holding {', '.join(SPLIT_FOLDERS)}) "
                "or its parent",
            folder=self.folder,
        )


MARKET1501 = ReidLayout(
    name="market1501",
    folder="Market-1501-v15.09.15",
    pattern=re.compile(r"^(?P<pid>-1|\d{4})_c(?P<cam>\d)s\d+_\d{6}_\d{2}\.jpg$"),
    pattern_text="PPPP_cCsS_FFFFFF_BB.jpg (pid of 4 digits or -1, camera c1..c6, e.g. 0002_c1s1_000451_03.jpg)",
    num_cameras=6,
    expected=ExpectedCounts(train_images=12936, train_ids=751, query_images=3368, gallery_images=15913),
)

DUKEMTMC_REID = ReidLayout(
    name="dukemtmc-reid",
    folder="DukeMTMC-reID",
    pattern=re.compile(r"^(?P<pid>-1|\d{4})_c(?P<cam>\d)_f\d{7}\.jpg$"),
    pattern_text="PPPP_cC_fFFFFFFF.jpg (pid of 4 digits or -1, camera c1..c8, e.g. 0001_c2_f0046182.jpg)",
    num_cameras=8,
    expected=ExpectedCounts(train_images=16522, train_ids=702, query_images=2228, gallery_images=17661),
)

REID_LAYOUTS: Dict[str, ReidLayout] = {layout.name: layout for layout in (MARKET1501, DUKEMTMC_REID)}
