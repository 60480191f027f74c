"""``docs/baselines.md``: every baseline's recipe values with their sources, from the option tables.

Each option of a baseline carries its default's source (:attr:`amlfs.options.Option.source`:
``repository@commit file:line``, a paper section, or ``ours: why``); a baseline with recipe
presets (``baseline.options.recipe``) lists each preset's values and their sources. The
``upstream`` adapters are listed with the repository and commit they drive and their module's
notes (read from the file, not imported: they import torchvision). Written by
``tools/make_baselines_doc.py``; ``make check-generated`` fails when it drifts.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, List

from .baselines import baseline_names, get_baseline
from .baselines.registry import BaselineSpec
from .upstream.adapters import ADAPTERS

DOC_FILE = "docs/baselines.md"
_UPSTREAM_DIR = Path(__file__).resolve().parent / "upstream"

INTRO = """# Baselines and their recipes

Generated from the option tables in `python/amlfs/` by `tools/make_baselines_doc.py` (do not
edit; `make test` fails when this page is out of date). Every value a recipe uses is a
`baseline.options` entry with a default and the source of that default: a repository at a
commit with its file and line, a paper section, or "ours" with the reason. Where a baseline has
recipe presets, `baseline.options.recipe` picks one (`upstream`: the authors' code, the default;
`paper`: where the paper and the code disagree) and any option given in the config wins over
both. `amlfs validate <config>` prints a config with every value filled in.

The `upstream` baseline runs the authors' own code through an adapter instead of a port; its
section at the end lists what each adapter drives and what it works around.
"""


def _value(value: Any) -> str:
    return "`" + json.dumps(value) + "`"


def _cell(text: str) -> str:
    return (text or "(no source given)").replace("|", "\\|").replace("\n", " ")


def _module_doc(obj: Any) -> str:
    import inspect

    module = inspect.getmodule(obj)
    return inspect.cleandoc(module.__doc__ or "") if module is not None else ""


def _first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n", 1)[0].split())


def _baseline_section(spec: BaselineSpec) -> List[str]:
    lines = [f"## `{spec.name}`", "", _first_paragraph(_module_doc(spec.build)), "",
             f"Datasets: {', '.join('`' + d + '`' for d in spec.datasets)}. "
             f"Reward metrics: {', '.join('`' + m + '`' for m in spec.recipe.reward_metrics)}.", ""]
    presets = spec.presets
    if presets is None:
        lines += ["| option | default | source |", "|---|---|---|"]
        for name, option in spec.options.items():
            lines.append(f"| `{name}` | {_value(option.default)} | {_cell(option.source)} |")
        return lines + [""] + _differences(spec)
    others = list(presets.overrides)
    header = ["option", f"`{presets.default}` (default)", "source", *[f"`{p}`" for p in others],
              *[f"`{p}` source" for p in others]]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, option in spec.options.items():
        row = [f"`{name}`", _value(option.default), _cell(option.source)]
        values, sources = [], []
        for preset in others:
            changed = presets.overrides[preset]
            values.append(_value(changed[name]) if name in changed else "same")
            sources.append(_cell(presets.sources.get(preset, {}).get(name, "")) if name in changed else "")
        lines.append("| " + " | ".join(row + values + sources) + " |")
    return lines + [""] + _differences(spec)


def _differences(spec: BaselineSpec) -> List[str]:
    """The module's ``DIFFERENCES`` (where the port still differs from the authors' code), as a list."""
    import inspect

    differences = getattr(inspect.getmodule(spec.build), "DIFFERENCES", ())
    if not differences:
        return []
    return ["Known differences from the authors' code (and, where said, the paper):", ""] + [
        f"- {text}" for text in differences] + [""]


def _adapter_doc(module: str) -> str:
    path = _UPSTREAM_DIR / f"{module}.py"
    if not path.is_file():
        return "(not built yet)"
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def _upstream_section() -> List[str]:
    lines = ["## Adapters of `upstream`", "",
             "`baseline: {\"name\": \"upstream\", \"options\": {\"adapter\": ..., \"repo\": <your checkout>}}`. "
             "`validate` checks the checkout's files and commit before any worker starts; the workers need the "
             "repository's imports (torchvision: `make upstream-venv`, then `AMLFS_PYTHON=.venv-upstream/bin/python`).",
             "", "| option | default | source |", "|---|---|---|"]
    for name, option in get_baseline("upstream").options.items():
        lines.append(f"| `{name}` | {_value(option.default)} | {_cell(option.source)} |")
    lines.append("")
    for name, adapter in ADAPTERS.items():
        repo = adapter.repo
        lines += [f"### `{name}`", "",
                  f"{repo.name} ({repo.url}), tested at `{repo.tested_commit}`; datasets "
                  f"{', '.join('`' + d + '`' for d in adapter.datasets)}; needs {', '.join(adapter.needs)}; "
                  f"imports {', '.join('`' + f + '`' for f in repo.files)}.", "",
                  _adapter_doc(adapter.module), ""]
    return lines


def render_baselines_doc() -> str:
    lines = [INTRO]
    for name in baseline_names():
        if name != "upstream":
            lines += _baseline_section(get_baseline(name))
    lines += _upstream_section()
    return "\n".join(lines).rstrip("\n") + "\n"
