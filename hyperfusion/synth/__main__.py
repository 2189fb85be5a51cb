"""Command line: ``python -m hyperfusion.synth --task ad|brain-age --n N --seed S
--out DIR [--overwrite] [--workers W] [--quiet]``.

Exit codes: 0 on success, 2 on a user error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import NoReturn

from hyperfusion.errors import HyperFusionError
from hyperfusion.synth.cohort import TASKS, generate_cohort


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = _OneLineParser(
        prog="python -m hyperfusion.synth",
        description="Generate a SYNTHETIC cohort (images, EHR, ground truth).",
    )
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--n", required=True, type=_int, help="number of subjects")
    p.add_argument("--seed", type=_int, default=0)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--workers", type=_int, default=1, help="parallel processes")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        ehr = generate_cohort(
            args.task,
            args.n,
            args.seed,
            args.out,
            progress=not args.quiet,
            overwrite=args.overwrite,
            workers=args.workers,
        )
    except HyperFusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = ehr["DX"].value_counts().to_dict()
    print(
        f"wrote {len(ehr)} synthetic subjects to {args.out} "
        f"in {time.perf_counter() - start:.1f} s; DX {counts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
