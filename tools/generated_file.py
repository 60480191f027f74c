"""The command line of a generator that writes one file from the Python side of the repository
(``tools/make_catalog.py``, ``tools/make_baselines_doc.py``): write it, or with ``--check`` fail
when the committed file differs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Tuple

ROOT = Path(__file__).resolve().parent.parent


def run(description: str, load: Callable[[], Tuple[str, str]], argv=None) -> int:
    """``load()`` (called with ``python/`` on the path) gives ``(relative path, text)``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail when the committed file differs")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "python"))
    relative, text = load()
    path = ROOT / relative
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{relative} is out of date: run `python {Path(sys.argv[0]).as_posix()}`", file=sys.stderr)
            return 1
        print(f"{relative}: up to date")
        return 0
    path.write_text(text)
    print(f"{relative}: written")
    return 0
