"""``python -m hyperfusion explain``: a map of one output for one MRI + EHR, written
as NIfTI in the input's own space.

python -m hyperfusion explain --mri PATH [--ehr FILE] [--set FIELD=VALUE ...]
    --target CN|MCI|AD|brain-age [--method NAME] [--signed] --out MAP.nii.gz

The method defaults to the one chosen on the validation split
(``weights/metrics.json``). ``--make-baseline --cohort DIR ...`` instead remakes the
healthy reference image of Integrated Gradients and occlusion from the cohorts'
training splits (``weights/healthy_baseline.safetensors``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hyperfusion.cli.predict import add_scan_arguments
from hyperfusion.errors import HyperFusionError
from hyperfusion.explain.methods import METHOD_NAMES
from hyperfusion.tasks import TASKS

TARGETS = tuple(t for task in TASKS.values() for t in task.targets)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    add_scan_arguments(p, required=False)  # --make-baseline needs no scan
    p.add_argument("--target", choices=TARGETS, help="the output to explain")
    p.add_argument(
        "--method",
        choices=METHOD_NAMES,
        help="map method (default: the one chosen on validation)",
    )
    p.add_argument("--signed", action="store_true", help="keep evidence against")
    p.add_argument("--out", type=Path, help="MAP.nii.gz (or .nii)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument(
        "--make-baseline",
        action="store_true",
        help="remake weights/healthy_baseline.safetensors from --cohort folders",
    )
    p.add_argument("--cohort", type=Path, action="append", default=[])
    p.add_argument("--weights", type=Path, default=None)
    p.add_argument("--cache-dir", type=Path, default=Path("runs") / "cache")


def _check(args: argparse.Namespace) -> None:
    missing = [f"--{n}" for n in ("mri", "target", "out") if not getattr(args, n)]
    if missing:
        raise HyperFusionError(
            f"explain needs {', '.join(missing)}; accepted: --mri PATH --target "
            f"{'|'.join(TARGETS)} --out MAP.nii.gz (or --make-baseline --cohort DIR)"
        )
    if not args.out.name.endswith((".nii", ".nii.gz")):
        raise HyperFusionError(
            f"{args.out} is not a NIfTI name; accepted: MAP.nii.gz or MAP.nii"
        )
    if not args.out.parent.is_dir():
        raise HyperFusionError(f"{args.out.parent} is not a folder; create it first")


def make_baseline(args: argparse.Namespace) -> int:
    """Write the healthy baseline from the cohorts' training splits."""
    from hyperfusion.data.datasets import load_cohort
    from hyperfusion.evaluate.scoring import detect_task
    from hyperfusion.explain.baseline import make_baseline as make
    from hyperfusion.models.checkpoint import WEIGHTS_DIR

    if not args.cohort:
        raise HyperFusionError("--make-baseline needs --cohort DIR (one per task)")
    cohorts = {detect_task(load_cohort(c)).name: c for c in args.cohort}
    path = make(cohorts, args.weights or WEIGHTS_DIR, args.cache_dir)
    print(f"wrote {path} ({', '.join(cohorts)})")
    return 0


def run(args: argparse.Namespace) -> int:
    """Explain and write the map; print what was written."""
    if args.make_baseline:
        return make_baseline(args)
    _check(args)
    from hyperfusion.cli.predict import read_ehr
    from hyperfusion.data.preprocess import preprocess_scan

    record = read_ehr(args.ehr, args.set)
    pre = preprocess_scan(
        args.mri,
        args.preprocess,
        bias_correction=args.bias_correction,
        device=args.device,
    )

    from hyperfusion.engine import Engine
    from hyperfusion.export import explanation_nifti
    from hyperfusion.tasks import task_of_target

    kwargs = {} if args.weights is None else {"weights_dir": args.weights}
    engine = Engine(device=args.device, **kwargs)
    image = engine.prepare(pre)

    def progress(share: float, text: str) -> None:
        if not args.quiet:
            print(f"{text} ({share:.0%})", file=sys.stderr)

    found = engine.explain(
        image, record, args.target, args.method, signed=args.signed, progress=progress
    )
    task = task_of_target(args.target)
    nifti = engine.gradcam_in_input_space(image, found.volume, task)
    args.out.write_bytes(explanation_nifti(nifti, found, args.out.name))
    print(
        f"{found.label} of {args.target} (layer {found.layer}; {found.units}; "
        f"peak {found.peak:.3g}) -> {args.out} {nifti.shape[:3]}"
    )
    if found.regions is not None:
        print(found.regions.head(5).to_string(index=False))
    return 0
