"""How far a finished run's final model moved from its untrained start, and whether it is still the start.

A search whose sampled losses all have a vanishing gradient "finishes" with the untrained
network. This measures, per run directory, ``||w_final - w_0|| / ||w_0||`` over the model's
tensors, where ``w_0`` is rebuilt from the run's frozen config exactly as its worker built it
(``Recipe.initialize(seed)``), and reports whether the final model equals ``w_0``.

    .venv/bin/python bench/weights_moved.py runs/a runs/b [--json]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from amlfs.baselines import build_recipe

MODEL_PREFIX = "model/"


def untrained_state(config: dict) -> dict:
    """``{name: tensor}`` of the model the run's workers built from its seed (CPU)."""
    recipe = build_recipe(config, torch.device("cpu"))
    recipe.initialize(int(config["seed"]))
    return {name: tensor.detach().clone() for name, tensor in recipe.model.state_dict().items()}


def weights_moved(run_dir: Path) -> dict:
    """``{run, relativeChange, identical, tensors}`` for one run directory."""
    config = json.loads((run_dir / "config.json").read_text())
    final = {k[len(MODEL_PREFIX):]: v for k, v in load_file(str(run_dir / "final" / "model.safetensors")).items()
             if k.startswith(MODEL_PREFIX)}
    start = untrained_state(config)
    if set(final) != set(start):
        raise SystemExit(f"{run_dir}: the final model's tensors ({len(final)}) are not the untrained model's ({len(start)})")
    diff = base = 0.0
    identical = True
    for name, w0 in start.items():
        if not w0.is_floating_point():
            continue
        w = final[name].to(w0.dtype)
        identical = identical and torch.equal(w, w0)
        diff += float((w - w0).double().pow(2).sum())
        base += float(w0.double().pow(2).sum())
    return {"run": str(run_dir), "relativeChange": math.sqrt(diff / base), "identical": identical, "tensors": len(start)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    args = parser.parse_args(argv)
    for run in args.runs:
        row = weights_moved(run)
        if args.json:
            print(json.dumps(row))
        else:
            same = "  IDENTICAL to the untrained model" if row["identical"] else ""
            print(f"{row['run']}: weights moved {100 * row['relativeChange']:.2f} %{same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
