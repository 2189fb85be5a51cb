"""``python -m hyperfusion synth``: write a SYNTHETIC cohort (images, EHR, truth)."""

from __future__ import annotations

import argparse
import time

from hyperfusion.tasks import TASK_NAMES


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--task", required=True, choices=TASK_NAMES)
    p.add_argument("--n", required=True, type=_int, help="number of subjects")
    p.add_argument("--seed", type=_int, default=0)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--workers", type=_int, default=1, help="parallel processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate the cohort and print a summary line."""
    from hyperfusion.synth.cohort import generate_cohort

    start = time.perf_counter()
    ehr = generate_cohort(
        args.task,
        args.n,
        args.seed,
        args.out,
        progress=not args.quiet,
        overwrite=args.overwrite,
        workers=args.workers,
    )
    counts = ehr["DX"].value_counts().to_dict()
    print(
        f"wrote {len(ehr)} synthetic subjects to {args.out} "
        f"in {time.perf_counter() - start:.1f} s; DX {counts}"
    )
    return 0
