"""How long training every shipped model takes on this machine, measured quietly
(:mod:`hyperfusion.train.timing`): each model type trains a few epochs into a
scratch folder, then every shipped run is priced from its card's epochs.

    python scripts/time_training.py [--epochs 3] [--json FILE] [--readme]
        [--quiet-runs task/model-seedN ...] [--quiet-wall-s SECONDS]
        [--types-from FILE]

Run it with nothing else on the machine. ``--quiet-runs`` names shipped runs that
were trained with the machine otherwise idle (and ``--quiet-wall-s`` their wall time
together): their priced and measured times are set side by side. ``--readme``
rewrites README.md's training-time block from the result (needs ``--json``).
``--types-from`` reprices the shipped runs (after a retraining) from the per-type
timings of an earlier run of this script instead of timing them again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hyperfusion.models.registry import MODEL_NAMES  # noqa: E402
from hyperfusion.train import timing  # noqa: E402

COHORTS = {"ad": REPO / "cohorts" / "ad", "brain-age": REPO / "cohorts" / "brain-age"}


def time_type(task: str, name: str, epochs: int, scratch: Path) -> dict[str, float]:
    """Per-epoch seconds (median) and the fixed cost of one short run."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hyperfusion", "train", "--task", task, "--model",
         name, "--cohort", str(COHORTS[task]), "--seed", "0", "--epochs",
         str(epochs), "--out", str(scratch / "weights"), "--runs-dir",
         str(scratch / "runs"), "--cache-dir", str(REPO / "runs" / "cache"),
         "--quiet"],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - start
    run_dir = scratch / "runs" / task / f"{name}-seed0"
    seconds = [e["seconds"] for e in json.loads((run_dir / "history.json").read_text())]
    return {
        "epoch_s": statistics.median(seconds),
        "fixed_s": wall - sum(seconds),
        "epochs_timed": len(seconds),
    }


def time_all(epochs: int) -> dict[str, dict[str, float]]:
    """Every model type of every task, timed in one scratch folder."""
    types = {}
    with tempfile.TemporaryDirectory(prefix="hf-time-") as tmp:
        for task, names in MODEL_NAMES.items():
            for name in names:
                types[f"{task}/{name}"] = time_type(task, name, epochs, Path(tmp))
                print(f"{task}/{name}: {types[f'{task}/{name}']}", flush=True)
    return types


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--json", type=Path)
    p.add_argument("--readme", action="store_true")
    p.add_argument("--weights", type=Path, default=REPO / "weights")
    p.add_argument("--quiet-runs", nargs="*", default=[])
    p.add_argument("--quiet-wall-s", type=float)
    p.add_argument("--types-from", type=Path)
    args = p.parse_args()
    if args.readme and not args.json:
        p.error("--readme needs --json (the README links the file)")
    if args.types_from:
        types = json.loads(args.types_from.read_text())["types"]
    else:
        types = time_all(args.epochs)
    runs = timing.price_runs(timing.read_cards(args.weights), types)
    report = timing.timing_report(types, runs, args.quiet_runs, args.quiet_wall_s)
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.readme:
        source = args.json.resolve().relative_to(REPO).as_posix()
        timing.update_readme(report, source, REPO / "README.md")


if __name__ == "__main__":
    main()
