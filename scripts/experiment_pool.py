"""What the experiment scripts share: their common options, and training runs in a
pool of processes whose results are printed and saved as each one finishes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options every experiment takes: cohort, folders, seeds and resources."""
    p.add_argument("--cohort", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--device", default=None)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)


def job_base(args: argparse.Namespace) -> dict:
    """The fields every job carries (JSON-ready, for spawned processes)."""
    return {
        "cohort": str(args.cohort),
        "work": str(args.work),
        "cache": str(cache_dir(args)),
        "device": args.device,
        "threads": args.threads,
    }


def cache_dir(args: argparse.Namespace) -> Path:
    """The preprocessed-image cache the runs share."""
    return args.work / "cache"


def run_jobs(
    run_one: Callable[[dict], dict],
    jobs: Iterable[dict],
    parallel: int,
    out: Path,
    describe: Callable[[dict], str],
) -> list[dict]:
    """Run ``run_one`` over ``jobs`` in spawned processes, in order; print each
    result's line and rewrite ``out`` (JSON) after each, so a stopped sweep keeps
    what finished."""
    results: list[dict] = []
    with ProcessPoolExecutor(parallel, mp_context=get_context("spawn")) as pool:
        for res in pool.map(run_one, jobs):
            results.append(res)
            print(describe(res), flush=True)
            out.write_text(json.dumps(results, indent=1))
    return results
