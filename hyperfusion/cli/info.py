"""``python -m hyperfusion info``: the registered models, their weights, the device."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.add_argument("--device", choices=("cpu", "cuda"), default=None)
    p.add_argument("--json", action="store_true")


def info(device: str | None) -> dict[str, Any]:
    """Every registered model with its shipped seeds and training data."""
    from hyperfusion.engine import Engine
    from hyperfusion.models.checkpoint import WEIGHTS_DIR, find_cards, read_card
    from hyperfusion.models.registry import MODEL_NAMES, REGISTRY

    engine = Engine(device=device)
    models = []
    for task, names in MODEL_NAMES.items():
        for name in names:
            cards = [read_card(p) for p in find_cards(WEIGHTS_DIR, task, name)]
            models.append(
                {
                    "task": task,
                    "model": name,
                    "label": REGISTRY[(task, name)].label,
                    "seeds": [c["seed"] for c in cards],
                    "trained": bool(cards),
                    "trained_on": cards[0]["trained_on"].get("description")
                    if cards
                    else "UNTRAINED placeholder (random weights)",
                }
            )
    return {
        "device": engine.device_label,
        "weights_dir": str(WEIGHTS_DIR),
        "models": models,
    }


def format_info(result: dict[str, Any]) -> str:
    """The model list as lines of text."""
    lines = [f"Device: {result['device']}", f"Weights: {result['weights_dir']}"]
    for m in result["models"]:
        seeds = ",".join(map(str, m["seeds"])) or "-"
        state = "trained" if m["trained"] else "UNTRAINED"
        lines.append(f"  {m['task']:<10} {m['model']:<13} {state:<9} seeds {seeds}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the model list (text or ``--json``)."""
    result = info(args.device)
    print(json.dumps(result, indent=2) if args.json else format_info(result))
    return 0
