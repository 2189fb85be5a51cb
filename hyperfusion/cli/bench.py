"""``python -m hyperfusion bench``: latency and memory of the shipped models here."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--repeats", type=_positive, default=20, help="timed runs (20)")
    p.add_argument("--sweep-size", type=_positive, default=64, help="values (64)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)


def run(args: argparse.Namespace) -> int:
    """Run every stage, print the table and write ``--json``."""
    from hyperfusion.bench import BenchConfig, format_table
    from hyperfusion.bench import run as run_bench

    result = run_bench(BenchConfig(args.repeats, args.sweep_size, args.device))
    print(format_table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return 0
