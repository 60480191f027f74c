#!/usr/bin/env python3
"""Write ``docs/baselines.md`` from the baselines' option tables (see ``amlfs.recipe_docs``).

    python tools/make_baselines_doc.py           # rewrite the file
    python tools/make_baselines_doc.py --check   # exit 1 when the committed file differs
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
    from amlfs.recipe_docs import DOC_FILE, render_baselines_doc

    path = ROOT / DOC_FILE
    text = render_baselines_doc()
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{DOC_FILE} is out of date: run `python tools/make_baselines_doc.py`", file=sys.stderr)
            return 1
        print(f"{DOC_FILE}: up to date")
        return 0
    path.write_text(text)
    print(f"{DOC_FILE}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
