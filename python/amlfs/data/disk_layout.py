"""What ``dataset.root`` must hold on disk, as data: each reader declares its layout with the
constants it reads by, ``amlfs doctor`` words its fixes from it, and ``proto/catalog.json``
carries it to ``amlfs validate``, which checks a config's root before any worker starts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

KINDS = ("file", "directory")


@dataclass(frozen=True)
class Entry:
    """One thing under the dataset folder: any of ``names`` (paths relative to it, the preferred
    first), of ``kind`` ``"file"`` or ``"directory"``; not needed when one of ``unless_options``
    (baseline options naming the same data elsewhere) is set."""

    names: Tuple[str, ...]
    kind: str
    unless_options: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS or not self.names:
            raise ValueError(f"layout entry: expected names and a kind in {KINDS}, got {self.names!r}, {self.kind!r}")

    def describe(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"names": list(self.names), "kind": self.kind}
        if self.unless_options:
            out["unlessOptions"] = list(self.unless_options)
        return out


@dataclass(frozen=True)
class DiskLayout:
    """The dataset folder holds every entry. ``folder``: the name of the extracted archive, so that
    ``dataset.root`` may also be its parent (used when the first entry is not directly under
    ``root`` and ``root/<folder>`` is a directory, as the reader decides). ``expected``: the layout
    in words; ``fix``: what to set ``dataset.root`` to."""

    entries: Tuple[Entry, ...]
    expected: str
    fix: str
    folder: Optional[str] = None

    def describe(self) -> Dict[str, Any]:
        return {"folder": self.folder, "entries": [entry.describe() for entry in self.entries],
                "expected": self.expected, "fix": self.fix}
