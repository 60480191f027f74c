"""docs/baselines.md: every recipe value has a source, and the page is what the tables say."""
from __future__ import annotations

import json

import pytest

from amlfs.baselines import baseline_names, get_baseline
from amlfs.recipe_docs import render_baselines_doc


@pytest.mark.parametrize("name", baseline_names())
def test_every_option_and_preset_value_names_its_source(name):
    spec = get_baseline(name)
    unsourced = [option for option, rule in spec.options.items() if not rule.source.strip()]
    assert unsourced == [], f"{name}: options without a source: {unsourced}"
    if spec.presets is not None:
        for preset, changed in spec.presets.overrides.items():
            missing = [o for o in changed if not spec.presets.sources.get(preset, {}).get(o, "").strip()]
            assert missing == [], f"{name}: preset {preset!r} changes {missing} without a source"


def test_the_page_lists_each_option_with_its_default_and_source():
    text = render_baselines_doc()
    for name in baseline_names():
        spec = get_baseline(name)
        if name == "upstream":
            assert "## Adapters of `upstream`" in text
            continue
        section = text.split(f"## `{name}`\n", 1)[1].split("\n## ", 1)[0]
        for option, rule in spec.options.items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{option}` |"))
            assert f"`{json.dumps(rule.default)}`" in row
            assert rule.source.replace("|", "\\|") in row
