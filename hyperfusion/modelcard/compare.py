"""Every model on one patient, side by side: the registry's catalogue, each model's
prediction, and how predictions move when EHR fields are unknown (the Fusion
strategies page's tables)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.models.registry import MODEL_NAMES, REGISTRY, model_label
from hyperfusion.tasks import AD, get_task


def model_catalogue(task: str = AD.name) -> pd.DataFrame:
    """Every registered model of a task: ``model``, ``label``, ``stage``,
    ``description``, ``uses image``, ``uses EHR``."""
    rows = []
    for name in MODEL_NAMES[task]:
        spec = REGISTRY[(task, name)]
        rows.append(
            {
                "model": name,
                "label": spec.label,
                "stage": spec.stage,
                "description": spec.description,
                "uses image": spec.uses_image,
                "uses EHR": spec.uses_tabular,
            }
        )
    return pd.DataFrame(rows)


def predictions_table(
    predictions: Mapping[str, Mapping[str, Any]], task: str = AD.name
) -> pd.DataFrame:
    """Several models' predictions for one patient, one row per model.

    Args:
        predictions: model name → ``Prediction.to_dict()``.

    Returns:
        Columns ``model``, ``label``, ``stage``, ``diagnosis``, ``CN``, ``MCI``,
        ``AD``, their ``*_sd`` (spread over the ensemble's seeds) and ``seeds``.
    """
    classes = get_task(task).classes
    rows = []
    for name, pred in predictions.items():
        spec = REGISTRY.get((task, name))
        row: dict[str, Any] = {
            "model": name,
            "label": model_label(task, name),
            "stage": spec.stage if spec else "",
            "diagnosis": pred.get("diagnosis")
            or max(pred["probabilities"], key=pred["probabilities"].get),
        }
        for cls in classes:
            row[cls] = float(pred["probabilities"][cls])
        for cls in classes:
            row[f"{cls}_sd"] = float(pred.get("probabilities_sd", {}).get(cls, 0.0))
        row["seeds"] = int((pred.get("ensemble_size") or {}).get(task, 1))
        rows.append(row)
    return pd.DataFrame(rows)


def missing_table(
    full: Mapping[str, Mapping[str, Any]], hidden: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """How each model's prediction moves when some EHR fields are set unknown.

    Args:
        full, hidden: model name → ``Prediction.to_dict()`` with the complete
            record and with the chosen fields set to ``None``.

    Returns:
        One row per model in both: ``label``, ``diagnosis`` (``"MCI → CN"`` when
        it changes), the hidden-record probabilities and ``*_sd``, ``shift`` (total
        variation distance between the two probability vectors, 0–1) and ``Δ sd``
        (the change of the ensemble's mean spread: positive = less certain).
    """
    a = predictions_table({k: full[k] for k in full if k in hidden})
    b = predictions_table({k: hidden[k] for k in full if k in hidden})
    if a.empty:
        return pd.DataFrame()
    classes = list(AD.classes)
    sd_cols = [f"{c}_sd" for c in classes]
    shift = 0.5 * np.abs(a[classes].to_numpy() - b[classes].to_numpy())
    out = pd.DataFrame({"label": a["label"]})
    out["diagnosis"] = [
        x if x == y else f"{x} → {y}"
        for x, y in zip(a["diagnosis"], b["diagnosis"], strict=True)
    ]
    for col in [*classes, *sd_cols]:
        out[col] = b[col]
    out["shift"] = shift.sum(axis=1)
    out["Δ sd"] = b[sd_cols].mean(axis=1) - a[sd_cols].mean(axis=1)
    return out


def with_unknown(record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """A copy of ``record`` with ``fields`` set to ``None`` (unknown).

    >>> with_unknown({"AGE": 70, "FDG": 1.2}, ["FDG"])
    {'AGE': 70, 'FDG': None}
    """
    return {**record, **dict.fromkeys(fields)}


__all__ = ["missing_table", "model_catalogue", "predictions_table", "with_unknown"]
