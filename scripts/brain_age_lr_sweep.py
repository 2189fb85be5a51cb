"""Choose the brain-age learning rate on the validation split (never the test split).

Trains each brain-age model at each learning rate (cosine schedule, the task's other
defaults) for several seeds, in parallel processes, and prints the validation MAE
of every run and the mean per (model, lr). Runs on the CPU or a GPU.

    python scripts/brain_age_lr_sweep.py --cohort cohorts/brain-age \
        --work runs/ba-sweep --out ba-sweep.json --device cuda --parallel 9
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from experiment_pool import add_run_options, cache_dir, job_base, run_jobs

from hyperfusion.config import BRAIN_AGE_DEMO
from hyperfusion.data.datasets import cohort_arrays
from hyperfusion.train.run import (
    RunSpec,
    default_train_config,
    prepare_cohort,
    train_run,
)

TASK = "brain-age"


def run_one(job: dict) -> dict:
    """Train one run (resumable) and return its validation metrics."""
    torch.set_num_threads(job["threads"])
    cfg = replace(default_train_config(TASK, job["model"]), lr=job["lr"])
    spec = RunSpec(
        task=TASK,
        name=job["model"],
        seed=job["seed"],
        cohort=Path(job["cohort"]),
        out=Path(job["work"]) / f"lr{job['lr']:g}" / "weights",
        runs_dir=Path(job["work"]) / f"lr{job['lr']:g}" / "runs",
        train=cfg,
        cache_dir=Path(job["cache"]),
        device=job["device"],
        progress=False,
    )
    start = time.perf_counter()
    card = train_run(spec)
    return {
        **{k: job[k] for k in ("model", "lr", "seed")},
        "val": card["metrics"]["val"],
        "best_epoch": card["training"].get("best_epoch"),
        "train_s": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(p)
    p.add_argument("--lrs", nargs="+", type=float, default=[1e-3, 3e-4])
    p.add_argument("--models", nargs="+", default=["hyperfusion", "image-only"])
    args = p.parse_args()
    df, _ = prepare_cohort(TASK, args.cohort, 0)
    grid = BRAIN_AGE_DEMO.grid
    cohort_arrays(df, TASK, grid, cache_dir(args), workers=8, progress=False)
    jobs = [
        {"model": m, "lr": lr, "seed": s, **job_base(args)}
        for lr in args.lrs
        for m in args.models
        for s in args.seeds
    ]

    def describe(res: dict) -> str:
        return (
            f"{res['model']} lr {res['lr']:g} seed {res['seed']}: val MAE "
            f"{res['val']['mae']:.2f} (best epoch {res['best_epoch']}, "
            f"{res['train_s']} s)"
        )

    results = run_jobs(run_one, jobs, args.parallel, args.out, describe)
    for m in args.models:
        for lr in args.lrs:
            maes = [
                r["val"]["mae"] for r in results if (r["model"], r["lr"]) == (m, lr)
            ]
            if maes:
                print(
                    f"{m} lr {lr:g}: mean val MAE {np.mean(maes):.2f} ± "
                    f"{np.std(maes):.2f} over {len(maes)} seeds"
                )


if __name__ == "__main__":
    main()
