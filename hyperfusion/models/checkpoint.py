"""Checkpoints: safetensors weights plus a JSON card, verified by sha256.

A checkpoint is two files in ``weights/<task>/``: ``<name>-seed<k>.safetensors`` and
``<name>-seed<k>.json``. The card holds everything needed to rebuild the model from
the files alone: the task, the registry name, the network configuration, the EHR
preprocessing fitted on the training split, what it was trained on, its metrics and
the weights' sha256.

Until trained weights exist for a model, :func:`load_checkpoints` returns one
*untrained* placeholder (random weights, ``card["trained"] is False``) that every
caller must flag to the user.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from hyperfusion.config import (
    BrainAgeConfig,
    ResNetConfig,
    from_dict,
    to_dict,
)
from hyperfusion.data.contract import IMAGE_CONTRACT
from hyperfusion.data.ehr_preprocessing import EHRPreprocessor
from hyperfusion.data.ehr_schema import FIELDS
from hyperfusion.errors import WeightsError
from hyperfusion.models.device import resolve_device
from hyperfusion.models.registry import DEFAULT_CONFIGS, build_model, get_spec

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "weights"
CARD_FORMAT = 1
_CONFIG_CLASSES = {"ResNetConfig": ResNetConfig, "BrainAgeConfig": BrainAgeConfig}


@dataclass(frozen=True)
class Checkpoint:
    """A loaded model (eval mode) with its card and EHR preprocessing."""

    model: nn.Module
    card: dict[str, Any]
    preprocessor: EHRPreprocessor

    @property
    def trained(self) -> bool:
        return bool(self.card.get("trained", False))

    @property
    def seed(self) -> int:
        return int(self.card.get("seed", 0))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checkpoint_stem(weights_dir: Path, task: str, name: str, seed: int) -> Path:
    """``weights_dir/<task>/<name>-seed<seed>`` (no suffix)."""
    return Path(weights_dir) / task / f"{name}-seed{seed}"


def save_checkpoint(
    stem: Path,
    model: nn.Module,
    *,
    task: str,
    name: str,
    seed: int,
    preprocessor: EHRPreprocessor,
    trained_on: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    half: bool = True,
) -> dict[str, Any]:
    """Write ``stem.safetensors`` and ``stem.json``; return the card.

    Floating-point tensors are stored in float16 when ``half`` (the shipped weights'
    size budget); they are loaded back as float32.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if half and value.is_floating_point():
            value = value.to(torch.float16)
        tensors[key] = value
    weights_path = stem.with_suffix(".safetensors")
    save_file(tensors, str(weights_path))
    cfg = model.cfg
    card = {
        "format": CARD_FORMAT,
        "task": task,
        "model": name,
        "seed": seed,
        "trained": True,
        "config_class": type(cfg).__name__,
        "config": to_dict(cfg),
        "preprocessing": preprocessor.to_json(),
        "trained_on": trained_on,
        "image_contract": IMAGE_CONTRACT.sentence,
        "metrics": metrics or {},
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "weights_file": weights_path.name,
        "sha256": sha256_file(weights_path),
        **(extra or {}),
    }
    stem.with_suffix(".json").write_text(json.dumps(card, indent=2, sort_keys=True))
    return card


def read_card(path: Path) -> dict[str, Any]:
    """The JSON card of a checkpoint; :class:`WeightsError` if unreadable."""
    try:
        card = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise WeightsError(f"Cannot read checkpoint card {path}: {exc}") from exc
    if card.get("format") != CARD_FORMAT:
        raise WeightsError(
            f"Checkpoint card {path} has format {card.get('format')!r}; "
            f"this version reads format {CARD_FORMAT}"
        )
    return card


def load_checkpoint(
    card_path: Path, device: str | torch.device | None = None
) -> Checkpoint:
    """Rebuild a model from its card and verified weights, in eval mode."""
    card_path = Path(card_path)
    card = read_card(card_path)
    weights_path = card_path.with_name(card["weights_file"])
    if not weights_path.is_file():
        raise WeightsError(f"Weights file {weights_path} is missing")
    digest = sha256_file(weights_path)
    if digest != card["sha256"]:
        raise WeightsError(
            f"Weights file {weights_path.name} does not match its card's sha256; "
            "re-download or retrain it"
        )
    cfg = from_dict(_CONFIG_CLASSES[card["config_class"]], card["config"])
    # Built without memory and without its random initialisation (most of the
    # time of a load), then given the stored tensors themselves.
    with torch.device("meta"):
        model = build_model(card["task"], card["model"], cfg)
    state = {
        k: v.float() if v.is_floating_point() else v
        for k, v in load_file(str(weights_path)).items()
    }
    try:
        model.load_state_dict(state, assign=True)
    except RuntimeError as exc:
        raise WeightsError(
            f"Weights in {weights_path.name} do not fit the {card['model']} network "
            "described by its card"
        ) from exc
    missing = [
        n for n, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta
    ]
    if missing:
        raise WeightsError(
            f"Weights in {weights_path.name} lack {', '.join(missing[:3])} of the "
            f"{card['model']} network"
        )
    model.eval().to(resolve_device(device))
    return Checkpoint(model, card, EHRPreprocessor.from_json(card["preprocessing"]))


def find_cards(weights_dir: Path, task: str, name: str) -> list[Path]:
    """Cards of every shipped seed of ``(task, name)``, by seed."""
    get_spec(task, name)
    folder = Path(weights_dir) / task
    cards = sorted(folder.glob(f"{name}-seed*.json"))
    return sorted(cards, key=lambda p: int(p.stem.rsplit("seed", 1)[1]))


@lru_cache(maxsize=1)
def placeholder_preprocessor() -> EHRPreprocessor:
    """EHR preprocessing for untrained placeholders: fitted on uniform draws from the
    schema's plausible ranges (no cohort), so that inputs reach the network scaled."""
    rng = np.random.default_rng(0)
    rows = {}
    for field in FIELDS:
        if field.kind == "category":
            rows[field.name] = rng.choice(list(field.choices), size=200)
        elif field.integer:
            rows[field.name] = rng.integers(field.low, field.high + 1, size=200)
        else:
            rows[field.name] = rng.uniform(field.low, field.high, size=200)
    return EHRPreprocessor().fit(pd.DataFrame(rows))


def untrained_checkpoint(
    task: str, name: str, device: str | torch.device | None = None
) -> Checkpoint:
    """A clearly flagged placeholder: the registry's network with random weights."""
    get_spec(task, name)
    torch.manual_seed(0)
    model = build_model(task, name).eval().to(resolve_device(device))
    card = {
        "format": CARD_FORMAT,
        "task": task,
        "model": name,
        "seed": 0,
        "trained": False,
        "config_class": type(DEFAULT_CONFIGS[task]).__name__,
        "config": to_dict(DEFAULT_CONFIGS[task]),
        "trained_on": {"description": "UNTRAINED: random weights, no training data"},
        "metrics": {},
    }
    return Checkpoint(model, card, placeholder_preprocessor())


def load_checkpoints(
    task: str,
    name: str = "hyperfusion",
    device: str | torch.device | None = None,
    weights_dir: Path = WEIGHTS_DIR,
) -> list[Checkpoint]:
    """Every shipped seed of a model (its ensemble), or one untrained placeholder."""
    cards = find_cards(weights_dir, task, name)
    if not cards:
        return [untrained_checkpoint(task, name, device)]
    return [load_checkpoint(card, device) for card in cards]


def load_model(
    task: str,
    name: str = "hyperfusion",
    device: str | torch.device | None = None,
    seed: int | None = None,
    weights_dir: Path = WEIGHTS_DIR,
) -> nn.Module:
    """A shipped model in eval mode (the first seed unless ``seed`` is given).

    The returned module carries its card as ``model.card``; ``card["trained"]`` is
    False for the untrained placeholder.
    """
    checkpoints = load_checkpoints(task, name, device, weights_dir)
    if seed is not None:
        chosen = [c for c in checkpoints if c.seed == seed]
        if not chosen:
            seeds = ", ".join(str(c.seed) for c in checkpoints)
            raise WeightsError(
                f"No {task} '{name}' weights for seed {seed}; shipped seeds: {seeds}"
            )
        checkpoints = chosen
    model = checkpoints[0].model
    model.card = checkpoints[0].card
    return model
