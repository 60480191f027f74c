"""Command line of worker programs (docs/protocol.md, "Starting a worker"), shared with the test fixtures."""
from __future__ import annotations

import argparse
from typing import Optional, Sequence


def worker_parser(prog: str = "python -m amlfs.worker", description: Optional[str] = None) -> argparse.ArgumentParser:
    """``--connect ENDPOINT --worker-id ID --run-id RUN [--device auto|cpu|cuda:N] [--threads N] [--curve-keys FILE]``.

    Each value may instead come from ``AMLFS_CONNECT``, ``AMLFS_WORKER_ID``,
    ``AMLFS_RUN_ID``, ``AMLFS_DEVICE``, ``AMLFS_THREADS``, ``AMLFS_CURVE_KEYS``.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--connect", metavar="ENDPOINT", help="controller endpoint, e.g. tcp://127.0.0.1:5555 "
                        "(default: $AMLFS_CONNECT)")
    parser.add_argument("--worker-id", metavar="ID", help="stable worker id, also the ZeroMQ routing id "
                        "(default: $AMLFS_WORKER_ID)")
    parser.add_argument("--run-id", metavar="RUN", help="run id every message carries (default: $AMLFS_RUN_ID)")
    parser.add_argument("--device", help='"auto" (default), "cpu" or "cuda:N" (default: $AMLFS_DEVICE)')
    parser.add_argument("--threads", type=int, metavar="N", help="torch.set_num_threads (default: $AMLFS_THREADS)")
    parser.add_argument("--curve-keys", metavar="FILE", help="CURVE key file of this worker, owner-only "
                        "(default: $AMLFS_CURVE_KEYS; none: no CURVE)")
    return parser


def parse_worker_args(argv: Optional[Sequence[str]] = None, **parser_args) -> argparse.Namespace:
    return worker_parser(**parser_args).parse_args(argv)


def connect_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`amlfs.worker.connect` from parsed arguments."""
    return dict(endpoint=args.connect, worker_id=args.worker_id, run_id=args.run_id, device=args.device,
                threads=args.threads, curve_keys=args.curve_keys)
