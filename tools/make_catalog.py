#!/usr/bin/env python3
"""Write ``proto/catalog.json`` from the Python registries (see ``amlfs.catalog``).

    python tools/make_catalog.py           # rewrite the file
    python tools/make_catalog.py --check   # exit 1 when the committed file differs
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed file differs")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "python"))
    from amlfs.catalog import CATALOG_FILE, render_catalog

    path = ROOT / CATALOG_FILE
    text = render_catalog()
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{CATALOG_FILE} is out of date: run `python tools/make_catalog.py`", file=sys.stderr)
            return 1
        print(f"{CATALOG_FILE}: up to date")
        return 0
    path.write_text(text)
    print(f"{CATALOG_FILE}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
