"""``python -m hyperfusion train``: train one model, or every model of both tasks.

    python -m hyperfusion train --task ad|brain-age --model NAME --cohort DIR
        [--out weights/] [--seed K] [--epochs E] [--runs-dir runs/]
    python -m hyperfusion train --all --cohort-ad DIR --cohort-brain-age DIR
        [--out weights/] [--seeds 0 1 2]
    ... --resolution paper   (the paper's grids and widths, for GPU users)
    torchrun --nproc_per_node=N -m hyperfusion.train ...   (DistributedDataParallel)

Rerunning the same command resumes an interrupted run and skips finished ones.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from hyperfusion.config import (
    DEFAULT_SEEDS,
    DEFAULT_SPLIT_SEED,
    NET_CONFIGS,
    TrainConfig,
)
from hyperfusion.errors import HyperFusionError
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.tasks import AD, BRAIN_AGE, TASK_NAMES, get_task
from hyperfusion.train.distributed import init_distributed, shutdown
from hyperfusion.train.run import (
    RunSpec,
    all_runs,
    default_train_config,
    is_finished,
    train_run,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--task", choices=TASK_NAMES)
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
    p.add_argument(
        "--threads",
        type=int,
        help="CPU threads per process (default 2); e.g. 1 each for two processes "
        "training the two tasks side by side on a 2-core CPU",
    )
    p.add_argument("--device", choices=("cpu", "cuda"))
    p.add_argument(
        "--resolution",
        choices=tuple(NET_CONFIGS),
        default="demo",
        help="demo (shipped; a 2-core CPU) or paper (the paper's grids and widths)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _overrides(args: argparse.Namespace, task: str, name: str) -> TrainConfig:
    cfg = default_train_config(task, name)
    changes = {
        k: v
        for k, v in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("lr", args.lr),
            ("num_threads", args.threads),
        )
        if v is not None
    }
    for key, value in changes.items():
        if value <= 0:
            flag = "threads" if key == "num_threads" else key.replace("_", "-")
            raise HyperFusionError(f"--{flag} must be positive")
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
        cohorts = {AD.name: args.cohort_ad, BRAIN_AGE.name: args.cohort_brain_age}
        tasks = tuple(t for t in TASK_NAMES if cohorts[t] is not None)
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
    result = "test " + get_task(card["task"]).score_text(card["metrics"]["test"])
    t = card["training"]
    return (
        f"{card['task']}/{card['model']} seed {card['seed']}: {result} "
        f"({t['epochs_run']} epochs, best {t['best_epoch']}, {t['time_s']:.0f} s)"
    )


def run(args: argparse.Namespace) -> int:
    """Train every planned run that is not finished; return the exit status."""
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
    finally:
        if info is not None:
            shutdown(info)
    if info is not None and info.is_main:
        print(f"total wall time {time.perf_counter() - start:.0f} s")
    return 0
