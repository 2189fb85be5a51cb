"""Does a finer last feature map (or another change of the network) make
HyperFusion-AD's Grad-CAM find the disease?

Trains HyperFusion-AD (and optionally other AD models) with ResNet variants (block
strides, fewer blocks, max pooling: ``VARIANTS``) and measures, on the VALIDATION
split only, the balanced accuracy and the localisation (share of map mass inside the
true disease region over chance) at every block's output, for Grad-CAM and HiResCAM.
The test split is not touched: this chooses an architecture. Runs on the CPU or a
GPU, several runs in parallel processes.

    python scripts/gradcam_resolution_experiment.py --cohort cohorts/ad \
        --work runs/gradcam-exp --out gradcam-exp.json --device cuda --parallel 8

``--resolution paper`` trains at the paper's grid and widths (1 mm, 64x96x64 per
hemisphere, 16 initial features; last feature map 4x6x4) instead of the demo's.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch
from experiment_pool import add_run_options, cache_dir, job_base, run_jobs

from hyperfusion.config import NET_CONFIGS
from hyperfusion.data.datasets import cohort_arrays, truth_arrays
from hyperfusion.evaluate.localisation import gradcam_localisation, part_with_truth
from hyperfusion.models.checkpoint import load_checkpoint
from hyperfusion.train.run import (
    RunSpec,
    default_train_config,
    prepare_cohort,
    train_run,
)

VARIANTS: dict[str, dict] = {  # changes to the resolution's ResNetConfig
    "strides-1222": {},  # the paper's strides; last map 2x2x2 on the demo crop
    "strides-1221": {"block_strides": (1, 2, 2, 1)},  # last map 3x4x3
    "strides-1211": {"block_strides": (1, 2, 1, 1)},  # 6x8x6 (about 4x the compute)
    "blocks-3": {  # no block 4: last map 3x4x3 with a smaller receptive field
        "block_strides": (1, 2, 2),
        "block_dropout": (0.1, 0.2, 0.3),
        "hyper_layers": ("block3.shortcut",),
    },
    "blocks-2": {  # last map 6x8x6, receptive field 72 mm
        "block_strides": (1, 2),
        "block_dropout": (0.1, 0.3),
        "hyper_layers": ("block2.shortcut",),
    },
    "maxpool-1222": {"global_pool": "max"},
    "maxpool-1221": {"global_pool": "max", "block_strides": (1, 2, 2, 1)},
}
LAYERS = (
    "trunk.blocks.0",
    "trunk.blocks.1",
    "trunk.blocks.2",
    "trunk.blocks.3",
    "trunk.cam_tap",
)
METHODS = ("gradcam", "hirescam")


def result_key(method: str) -> str:
    """Where a method's ratios go in a result (``localisation`` for Grad-CAM, as in
    metrics.json)."""
    return "localisation" if method == "gradcam" else f"localisation_{method}"


def _val_inputs(cohort: Path, cache: Path, ckpt) -> tuple:
    df, split = prepare_cohort("ad", cohort, 0)
    grid = ckpt.model.cfg.grid
    images = cohort_arrays(df, "ad", grid, cache, progress=False)

    def truth_of(rows, grid):
        return truth_arrays(rows, grid, cache, progress=False)

    return part_with_truth(df, split, "val", images, ckpt.preprocessor, grid, truth_of)


def run_one(job: dict) -> dict:
    """Train one run (resumable) and measure it on the validation split."""
    torch.set_num_threads(job["threads"])
    base = NET_CONFIGS[job["resolution"]]["ad"]
    cfg = replace(base, **VARIANTS[job["variant"]])
    work = Path(job["work"]) / f"{job['resolution']}-{job['variant']}"
    spec = RunSpec(
        task="ad",
        name=job["model"],
        seed=job["seed"],
        cohort=Path(job["cohort"]),
        out=work / "weights",
        runs_dir=work / "runs",
        net=cfg,
        train=replace(
            default_train_config("ad", job["model"]),
            epochs=job["epochs"] or default_train_config("ad", job["model"]).epochs,
        ),
        cache_dir=Path(job["cache"]),
        device=job["device"],
        progress=False,
    )
    start = time.perf_counter()
    card = train_run(spec)
    ckpt = load_checkpoint(spec.stem.with_suffix(".json"), device=job["device"])
    out = {
        **{k: job[k] for k in ("resolution", "variant", "model", "seed")},
        "val": card["metrics"]["val"],
        "train_s": round(time.perf_counter() - start, 1),
    }
    if job["model"] != "tabular-only":
        data, truth = _val_inputs(Path(job["cohort"]), Path(job["cache"]), ckpt)
        device = next(ckpt.model.parameters()).device
        modules = dict(ckpt.model.named_modules())
        for method in METHODS:
            key = result_key(method)
            out[key] = {}
            for layer in (name for name in LAYERS if name in modules):
                try:
                    out[key][layer] = gradcam_localisation(
                        ckpt.model, data, truth, device, layer=layer, method=method
                    ).to_json()
                except AssertionError:  # captum: the forward never calls this module
                    continue
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(p)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS))
    p.add_argument("--models", nargs="+", default=["hyperfusion"])
    p.add_argument("--epochs", type=int, default=None, help="default: the task's")
    p.add_argument("--resolution", choices=tuple(NET_CONFIGS), default="demo")
    p.add_argument("--workers", type=int, default=8, help="image decoding processes")
    args = p.parse_args()
    cache = cache_dir(args)
    # Build the shared caches once, before parallel runs race to write them.
    df, split = prepare_cohort("ad", args.cohort, 0)
    grid = NET_CONFIGS[args.resolution]["ad"].grid
    cohort_arrays(df, "ad", grid, cache, workers=args.workers, progress=False)
    val = df[(split == "val").to_numpy()]
    truth_arrays(
        val[val["DX"] != "CN"].reset_index(drop=True),
        grid,
        cache,
        workers=args.workers,
        progress=False,
    )
    jobs = [
        {
            "resolution": args.resolution,
            "variant": v,
            "model": m,
            "seed": s,
            "epochs": args.epochs,
            **job_base(args),
        }
        for m in args.models
        for v in args.variants
        for s in args.seeds
    ]

    def describe(res: dict) -> str:
        ratios = " ".join(
            f"{method}:{layer}={v.get('ratio')}"
            for method in METHODS
            for layer, v in res.get(result_key(method), {}).items()
        )
        return (
            f"{res['resolution']} {res['variant']} {res['model']} seed "
            f"{res['seed']}: val bal.acc "
            f"{res['val']['balanced_accuracy']:.3f} ({res['train_s']} s) {ratios}"
        )

    run_jobs(run_one, jobs, args.parallel, args.out, describe)


if __name__ == "__main__":
    main()
