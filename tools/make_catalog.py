#!/usr/bin/env python3
"""Write ``proto/catalog.json`` from the Python registries (see ``amlfs.catalog``).

    python tools/make_catalog.py           # rewrite the file
    python tools/make_catalog.py --check   # exit 1 when the committed file differs
"""
from __future__ import annotations

import sys

from generated_file import run


def load():
    from amlfs.catalog import CATALOG_FILE, render_catalog

    return CATALOG_FILE, render_catalog()


if __name__ == "__main__":
    sys.exit(run(__doc__.splitlines()[0], load))
