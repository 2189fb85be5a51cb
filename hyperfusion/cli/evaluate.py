"""``python -m hyperfusion evaluate``: recompute the shipped checkpoints' metrics.

python -m hyperfusion evaluate --cohort DIR [--cohort DIR ...] [--weights weights/]
    [--out weights/metrics.json] [--results docs/RESULTS.md] [--unseen]
    [--no-explanations]

Writing the shipped metrics (``weights/metrics.json`` or ``metrics-unseen.json``)
also regenerates README.md's measured block from both files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from hyperfusion.config import TrainConfig
from hyperfusion.evaluate.readme import (
    HELD_OUT_FILE,
    README_FILE,
    UNSEEN_FILE,
    regenerate_readme,
)
from hyperfusion.evaluate.report import RESULTS_FILE, results_markdown
from hyperfusion.evaluate.schema import Metrics
from hyperfusion.evaluate.scoring import evaluate
from hyperfusion.models.checkpoint import WEIGHTS_DIR


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument(
        "--cohort",
        type=Path,
        action="append",
        required=True,
        help="cohort folder (repeat for the AD and brain-age cohorts)",
    )
    p.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--out", type=Path, help="default: WEIGHTS/metrics.json")
    p.add_argument(
        "--results",
        type=Path,
        help="markdown tables (default: "
        "docs/RESULTS.md for the shipped weights, else next to --out)",
    )
    p.add_argument("--cache-dir", type=Path, default=Path("runs") / "cache")
    p.add_argument("--no-gradcam", action="store_true")
    p.add_argument(
        "--no-explanations",
        action="store_true",
        help="skip measuring every map method (the slow part: tens of minutes)",
    )
    p.add_argument(
        "--unseen",
        action="store_true",
        help="the cohorts were generated with new seeds: test on every subject and "
        "check the ranking (default out: WEIGHTS/metrics-unseen.json)",
    )
    p.add_argument("--quiet", action="store_true")


def _outputs(args: argparse.Namespace) -> tuple[Path, Path]:
    """Where ``metrics.json`` and the Markdown go."""
    stem = "metrics-unseen" if args.unseen else "metrics"
    out = args.out or args.weights / f"{stem}.json"
    if args.results is not None:
        return out, args.results
    same = args.weights.resolve() == WEIGHTS_DIR.resolve()
    name = "RESULTS-unseen.md" if args.unseen else "RESULTS.md"
    return out, RESULTS_FILE.with_name(name) if same else out.with_name(name)


def _print_summary(report: Metrics) -> None:
    """Seeds whose metrics differ from their cards (stderr), then the checks."""
    for task, models in report.models.items():
        for name, entry in models.items():
            bad = [s for s, e in entry.seeds.items() if e.reproduced is False]
            if bad:
                print(
                    f"WARNING: {task}/{name} seeds {', '.join(bad)}: test metrics "
                    "differ from the card",
                    file=sys.stderr,
                )
    for check in report.acceptance:
        status = "PASS" if check.passed else "FAIL"
        print(f"{status} {check.target}: {check.value} {check.unit}")


def _shipped(out: Path) -> bool:
    """Whether ``out`` is one of the shipped metrics files the README quotes."""
    return out.resolve() in (HELD_OUT_FILE.resolve(), UNSEEN_FILE.resolve())


def run(args: argparse.Namespace) -> int:
    """Evaluate, write ``metrics.json`` and the Markdown tables (and, for the
    shipped metrics, README.md's measured block), print the checks."""
    torch.set_num_threads(TrainConfig().num_threads)
    out, results = _outputs(args)
    report = evaluate(
        args.weights,
        args.cohort,
        args.cache_dir,
        gradcam=not args.no_gradcam,
        progress=not args.quiet,
        unseen=args.unseen,
        explanations=not args.no_explanations,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    report.write(out)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(results_markdown(report))
    _print_summary(report)
    print(f"wrote {out} and {results}")
    if _shipped(out) and regenerate_readme():
        print(f"regenerated the measured block of {README_FILE}")
    return 0
