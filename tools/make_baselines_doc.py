#!/usr/bin/env python3
"""Write ``docs/baselines.md`` from the baselines' option tables (see ``amlfs.recipe_docs``).

    python tools/make_baselines_doc.py           # rewrite the file
    python tools/make_baselines_doc.py --check   # exit 1 when the committed file differs
"""
from __future__ import annotations

import sys

from generated_file import run


def load():
    from amlfs.recipe_docs import DOC_FILE, render_baselines_doc

    return DOC_FILE, render_baselines_doc()


if __name__ == "__main__":
    sys.exit(run(__doc__.splitlines()[0], load))
