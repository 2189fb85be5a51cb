"""Command line: train one model, or every model of both tasks.

    python -m hyperfusion.train --task ad|brain-age --model NAME --cohort DIR
        [--out weights/] [--seed K] [--epochs E] [--runs-dir runs/]
    python -m hyperfusion.train --all --cohort-ad DIR --cohort-brain-age DIR
        [--out weights/] [--seeds 0 1 2]
    ... --resolution paper   (the paper's grids and widths, for GPU users)
    torchrun --nproc_per_node=N -m hyperfusion.train ...   (DistributedDataParallel)

Rerunning the same command resumes an interrupted run and skips finished ones.
Exit codes: 0 on success, 2 on a user error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from hyperfusion.config import NET_CONFIGS, TASKS, TrainConfig
from hyperfusion.errors import HyperFusionError
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.train.distributed import init_distributed, shutdown
from hyperfusion.train.run import (
    DEFAULT_SEEDS,
    RunSpec,
    all_runs,
    default_train_config,
    is_finished,
    train_run,
)
from hyperfusion.train.splits import DEFAULT_SPLIT_SEED


class _OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = _OneLineParser(
        prog="python -m hyperfusion.train",
        description="Train HyperFusion and the baselines on a cohort folder.",
    )
    p.add_argument("--task", choices=TASKS)
    p.add_argument("--model", help="registry name, e.g. hyperfusion, image-only")
    p.add_argument("--cohort", type=Path, help="cohort folder (ehr.csv, images/)")
    p.add_argument("--all", action="store_true", help="every model, both tasks")
    p.add_argument("--cohort-ad", type=Path, help="AD cohort for --all")
    p.add_argument("--cohort-brain-age", type=Path, help="brain-age cohort for --all")
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="weights folder")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"))
    p.add_argument("--cache-dir", type=Path, help="default: RUNS_DIR/cache")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    p.add_argument("--split-seed", type=int, default=DEFAULT_SPLIT_SEED)
    p.add_argument("--epochs", type=int, help="default: AD 24, brain age 15")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", choices=("cpu", "cuda"))
    p.add_argument(
        "--resolution",
        choices=tuple(NET_CONFIGS),
        default="demo",
        help="demo (shipped; a 2-core CPU) or paper (the paper's grids and widths)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _overrides(args: argparse.Namespace, task: str, name: str) -> TrainConfig:
    cfg = default_train_config(task, name)
    changes = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("lr", args.lr),
        )
        if v is not None
    }
    for key, value in changes.items():
        if value <= 0:
            raise HyperFusionError(f"--{key.replace('_', '-')} must be positive")
    return replace(cfg, **changes)


def _spec(
    args: argparse.Namespace, task: str, name: str, cohort: Path, seed: int
) -> RunSpec:
    """One run with the command line's resolution, overrides, folders and device."""
    return RunSpec(
        task,
        name,
        cohort,
        seed=seed,
        net=NET_CONFIGS[args.resolution][task],
        train=_overrides(args, task, name),
        out=args.out,
        runs_dir=args.runs_dir,
        split_seed=args.split_seed,
        cache_dir=args.cache_dir,
        device=args.device,
        progress=not args.quiet,
    )


def _plan(args: argparse.Namespace) -> list[RunSpec]:
    if args.all:
        cohorts = {"ad": args.cohort_ad, "brain-age": args.cohort_brain_age}
        tasks = tuple(t for t in TASKS if cohorts[t] is not None)
        if not tasks:
            raise HyperFusionError(
                "--all needs --cohort-ad and/or --cohort-brain-age; accepted: "
                "cohort folders"
            )
        return [
            _spec(args, task, name, cohorts[task], seed)
            for task, name, seed in all_runs(tuple(args.seeds), tasks)
        ]
    missing = [f"--{k}" for k in ("task", "model", "cohort") if not getattr(args, k)]
    if missing:
        raise HyperFusionError(
            f"missing {', '.join(missing)}; accepted: --task, --model and --cohort, "
            "or --all with --cohort-ad/--cohort-brain-age"
        )
    return [_spec(args, args.task, args.model, args.cohort, args.seed)]


def _summary(card: dict) -> str:
    test = card["metrics"]["test"]
    if card["task"] == "ad":
        result = f"test balanced accuracy {test['balanced_accuracy']:.3f}"
    else:
        result = f"test MAE {test['mae']:.2f} years"
    t = card["training"]
    return (
        f"{card['task']}/{card['model']} seed {card['seed']}: {result} "
        f"({t['epochs_run']} epochs, best {t['best_epoch']}, {t['time_s']:.0f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    info = None
    try:
        specs = _plan(args)
        info = init_distributed(args.device)
        for spec in specs:
            if is_finished(spec):
                if info.is_main:
                    print(f"skip {spec.task}/{spec.name} seed {spec.seed}: finished")
                continue
            run_start = time.perf_counter()
            card = train_run(spec, info)
            if info.is_main and card is not None:
                wall = time.perf_counter() - run_start
                print(f"{_summary(card)}; wall {wall:.0f} s", flush=True)
    except HyperFusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if info is not None:
            shutdown(info)
    if info is not None and info.is_main:
        print(f"total wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
