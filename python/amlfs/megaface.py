"""MegaFace-style identification with a trained ``cosface`` run: write features, then score rank-1.

    python -m amlfs.megaface extract RUN_DIR --list LIST.json --images ROOT --out FEATURES
        [--suffix _amlfs.bin] [--device cpu] [--batch-size 256]
    python -m amlfs.megaface rank1 --probes LIST.json --probe-features DIR
        --distractors LIST.json --distractor-features DIR [--suffix _amlfs.bin]
        [--metric cosine|euclidean] [--device cpu] [--chunk-size N]

``extract`` loads ``RUN_DIR/config.json`` and the final model (``RUN_DIR/final/model.safetensors``),
and writes one devkit ``.bin`` feature per image named in the devkit list file (``{"path": [...]}``,
paths relative to ``--images``) to ``FEATURES/<path><suffix>``: the network's embedding of the image
concatenated with that of its mirror, as the run's test evaluation (``flipTest``; the image alone
otherwise). ``rank1`` follows :mod:`amlfs.eval.face_identification` (FaceScrub-style probes, ``N``
distractors streamed in chunks) and prints its result as one JSON object. The MegaFace devkit's own
lists and feature names work unchanged (``--suffix`` is its ``file_ending``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import torch

from .baselines.cosface import trained_face_net
from .baselines.errors import BaselineError
from .baselines.face_recipe import face_descriptors
from .baselines.registry import baseline_options
from .checkpoint import CheckpointError, model_tensors
from .data import DataError
from .data.face import FaceImageDataset
from .eval import identification_rank1, iter_feature_chunks, read_feature_list, read_list_file, write_feature_file

FINAL_MODEL = Path("final") / "model.safetensors"


def extract(run_dir: str, list_json: str, images: str, out: str, suffix: str, device: str, batch_size: int,
            log=print) -> int:
    """Write the feature of every image of ``list_json``; returns the number written."""
    run = Path(run_dir)
    try:
        experiment = json.loads((run / "config.json").read_text())
        data = (run / FINAL_MODEL).read_bytes()
    except OSError as error:
        raise DataError(f"{run_dir}: not a finished run directory ({error.strerror}: {error.filename})") from error
    model = trained_face_net(experiment, model_tensors(data)).to(device)
    options = baseline_options("cosface", experiment["baseline"].get("options", {}))
    paths, _ = read_list_file(list_json)
    dataset = FaceImageDataset([str(Path(images) / p) for p in paths], None, options["heightPx"], options["widthPx"])
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size)
    started, written = time.monotonic(), 0
    for features in face_descriptors(model, loader, device, options["flipTest"]):
        for feature in features.cpu().numpy():
            write_feature_file(Path(out) / (paths[written] + suffix), feature)
            written += 1
        log(f"extract: {written}/{len(paths)} images ({written / max(time.monotonic() - started, 1e-9):.0f}/s)")
    return written


def rank1(probes: str, probe_features: str, distractors: str, distractor_features: str, suffix: str,
          metric: str, device: Optional[str], chunk_size: int) -> dict:
    """The rank-1 result of the probes against the distractors, as a JSON-ready dict."""
    probe = read_feature_list(probes, probe_features, suffix)
    chunks = iter_feature_chunks(distractors, distractor_features, suffix, chunk_size=chunk_size)
    result = identification_rank1(torch.from_numpy(probe.features), probe.identities,
                                  (torch.from_numpy(chunk) for chunk in chunks), metric=metric, device=device)
    return result.as_dict()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amlfs.megaface", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ex = commands.add_parser("extract", help="write devkit .bin features of a finished cosface run")
    ex.add_argument("run_dir")
    ex.add_argument("--list", required=True, help="devkit JSON list of images ({\"path\": [...]})")
    ex.add_argument("--images", required=True, help="folder the list's paths are relative to")
    ex.add_argument("--out", required=True, help="feature folder (mirrors the list's paths)")
    ex.add_argument("--suffix", default="_amlfs.bin")
    ex.add_argument("--device", default="cpu")
    ex.add_argument("--batch-size", type=int, default=256)
    r1 = commands.add_parser("rank1", help="rank-1 identification of probes against distractors")
    r1.add_argument("--probes", required=True)
    r1.add_argument("--probe-features", required=True)
    r1.add_argument("--distractors", required=True)
    r1.add_argument("--distractor-features", required=True)
    r1.add_argument("--suffix", default="_amlfs.bin")
    r1.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine")
    r1.add_argument("--device", default=None)
    r1.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args(argv)
    try:
        if args.command == "extract":
            extract(args.run_dir, args.list, args.images, args.out, args.suffix, args.device, args.batch_size,
                    log=lambda line: print(line, file=sys.stderr))
        else:
            print(json.dumps(rank1(args.probes, args.probe_features, args.distractors, args.distractor_features,
                                   args.suffix, args.metric, args.device, args.chunk_size)))
    except (BaselineError, CheckpointError, DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
