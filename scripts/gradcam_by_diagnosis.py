"""Grad-CAM and HiResCAM localisation of the shipped HyperFusion-AD, per diagnosis.

``hyperfusion.evaluate`` pools the MCI and AD subjects; this splits them, on the
validation split by default (it decides nothing, so the test split stays untouched).
Each method explains its app layer (the model's ``cam_layers``).

    python scripts/gradcam_by_diagnosis.py --cohort cohorts/ad --weights weights/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.datasets import cohort_arrays, truth_arrays
from hyperfusion.evaluate.localisation import gradcam_localisation, part_with_truth
from hyperfusion.models.checkpoint import load_checkpoint
from hyperfusion.train.run import prepare_cohort


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cohort", type=Path, required=True)
    p.add_argument("--weights", type=Path, default=Path("weights"))
    p.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    p.add_argument("--part", choices=("val", "test"), default="val")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, help="JSON of the results")
    args = p.parse_args()
    df, split = prepare_cohort("ad", args.cohort, 0)
    device = torch.device("cpu")
    ckpts = {
        seed: load_checkpoint(
            args.weights / "ad" / f"hyperfusion-seed{seed}.json", device="cpu"
        )
        for seed in args.seeds
    }
    grid = next(iter(ckpts.values())).model.cfg.grid  # the seeds share one network
    images = cohort_arrays(df, "ad", grid, args.cache_dir, progress=False)

    def truth_of(rows, grid):
        return truth_arrays(rows, grid, args.cache_dir, progress=False)

    results = []
    for seed, ckpt in ckpts.items():
        data, truth = part_with_truth(
            df, split, args.part, images, ckpt.preprocessor, grid, truth_of
        )
        for cls in (1, 2):  # MCI, AD: CN subjects have no disease effect
            only = truth.copy()
            only[data.targets != cls] = 0  # an empty region skips the subject
            n_class = int((data.targets == cls).sum())
            for method in ("gradcam", "hirescam"):
                res = gradcam_localisation(
                    ckpt.model, data, only, device, method=method
                )
                row = {"seed": seed, "dx": AD_CLASSES[cls], "method": method}
                row |= {"ratio": res.ratio, "n": res.n, "n_class": n_class}
                results.append(row)
                print(
                    f"seed {seed} {row['dx']:>3} {method:8}: {res.ratio:.2f}x "
                    f"chance ({res.n} of {n_class} subjects with a non-empty map)",
                    flush=True,
                )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
