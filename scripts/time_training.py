"""How long training every shipped model takes on this machine, measured quietly.

Training all 36 runs takes about two hours here, so this script does not rerun them:
it trains each model type for a few epochs into a scratch folder (on a machine with
nothing else running), takes the median seconds per epoch and the run's fixed cost
(loading, EHR pre-training, shipping and scoring: the wall time minus the epochs),
and prices each shipped run at ``fixed + epochs_run x per-epoch`` (``epochs_run``
from its card: early stopping makes runs differ). It also checks itself: the runs
named by ``--quiet-runs`` (``task/model-seedN``: shipped runs trained with the machine
otherwise idle, so their cards' times are fair) are priced and set beside their
cards' own times.

    python scripts/time_training.py [--epochs 3] [--json FILE] [--quiet-runs RUN ...]
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
    history = json.loads((scratch / "runs" / task / f"{name}-seed0" / "history.json")
                         .read_text())  # fmt: skip
    seconds = [e["seconds"] for e in history]
    return {
        "epoch_s": statistics.median(seconds),
        "fixed_s": wall - sum(seconds),
        "epochs_timed": len(seconds),
    }


def price(weights: Path, types: dict[str, dict[str, float]]) -> list[dict]:
    """Every shipped run priced from its card's epochs."""
    runs = []
    for card_file in sorted(weights.glob("*/*-seed*.json")):
        card = json.loads(card_file.read_text())
        task, name = card["task"], card["model"]
        t = types[f"{task}/{name}"]
        epochs = card["training"]["epochs_run"]
        runs.append({
            "run": f"{task}/{name}-seed{card['seed']}",
            "epochs_run": epochs,
            "priced_s": round(t["fixed_s"] + epochs * t["epoch_s"], 1),
            "card_s": card["training"]["time_s"],
        })  # fmt: skip
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--json", type=Path)
    p.add_argument("--weights", type=Path, default=REPO / "weights")
    p.add_argument("--quiet-runs", nargs="*", default=[])
    args = p.parse_args()
    types = {}
    with tempfile.TemporaryDirectory(prefix="hf-time-") as tmp:
        for task, names in MODEL_NAMES.items():
            for name in names:
                types[f"{task}/{name}"] = time_type(task, name, args.epochs, Path(tmp))
                print(f"{task}/{name}: {types[f'{task}/{name}']}", flush=True)
    runs = price(args.weights, types)
    quiet = [r for r in runs if r["run"] in set(args.quiet_runs)]
    report = {
        "types": types,
        "runs": runs,
        "priced_total_s": round(sum(r["priced_s"] for r in runs), 1),
        "cards_total_s": round(sum(r["card_s"] for r in runs), 1),
        "quiet_check": {
            "runs": len(quiet),
            "priced_s": round(sum(r["priced_s"] for r in quiet), 1),
            "card_s": round(sum(r["card_s"] for r in quiet), 1),
        },
    }
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
