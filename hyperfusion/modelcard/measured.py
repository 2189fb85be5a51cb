"""What evaluation measured (``weights/metrics.json``) as the model card's tables.

The file is read through :func:`hyperfusion.evaluate.schema.read_metrics`, which
knows its one layout: a missing file means nothing has been evaluated yet
(:func:`load_metrics` returns None and the pages show :data:`NO_METRICS`); a file
that does not follow the layout raises :class:`~hyperfusion.errors.WeightsError`
with one line naming the wrong key. The readers below take the parsed
:class:`~hyperfusion.evaluate.schema.Metrics` (or None) and return tables, or None
where a model has nothing recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.evaluate.localisation import EXPLAINED
from hyperfusion.evaluate.schema import Metrics, ModelResult, read_metrics
from hyperfusion.metrics import METRIC_LABELS
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.models.registry import MODEL_NAMES, model_label
from hyperfusion.tasks import AD, get_task

METRICS_PATH = WEIGHTS_DIR / "metrics.json"
NO_METRICS = (
    "Not measured yet: metrics appear once the trained models have been evaluated "
    "(`python -m hyperfusion.evaluate` writes them to `weights/metrics.json`)."
)


def load_metrics(path: Path | None = None) -> Metrics | None:
    """``metrics.json`` (default :data:`METRICS_PATH`, read at call time), or None
    when it does not exist yet.

    Raises:
        WeightsError: the file is unreadable or does not follow the layout.
    """
    return read_metrics(Path(path) if path is not None else METRICS_PATH)


def _models(metrics: Metrics | None, task: str) -> dict[str, ModelResult]:
    return {} if metrics is None else metrics.task_models(task)


def _ordered(names: Iterable[str], task: str) -> list[str]:
    known = [n for n in MODEL_NAMES[task] if n in names]
    return known + sorted(n for n in names if n not in MODEL_NAMES[task])


def metrics_table(metrics: Metrics | None, task: str) -> pd.DataFrame:
    """One row per model: ``model``, ``label``, ``n_seeds`` and, for each of the
    task's reported metrics, its mean and ``<metric>_sd`` (NaN when not measured)."""
    reported = get_task(task).reported_metrics
    entries = _models(metrics, task)
    rows = []
    for name in _ordered(entries, task):
        entry = entries[name]
        row: dict[str, Any] = {
            "model": name,
            "label": model_label(task, name),
            "n_seeds": len(entry.seeds),
        }
        for metric in reported:
            stat = entry.aggregate.metrics.get(metric)
            mean, sd = (None, None) if stat is None else (stat.mean, stat.sd)
            row[metric] = np.nan if mean is None else mean
            row[f"{metric}_sd"] = np.nan if sd is None else sd
        rows.append(row)
    columns = ["model", "label", "n_seeds"] + [
        c for m in reported for c in (m, f"{m}_sd")
    ]
    return pd.DataFrame(rows, columns=columns)


def format_metrics_table(table: pd.DataFrame, task: str) -> pd.DataFrame:
    """:func:`metrics_table` as text, ``"0.622 ± 0.013"`` per cell, for display."""
    spec = get_task(task)
    digits = spec.selection_digits
    out = pd.DataFrame({"model": table["label"]})
    out["seeds"] = [f"{n:.0f}" for n in table["n_seeds"]]
    for metric in spec.reported_metrics:
        cells = []
        for mean, sd in zip(table[metric], table[f"{metric}_sd"], strict=True):
            if pd.isna(mean):
                cells.append("—")
            elif pd.isna(sd):
                cells.append(f"{mean:.{digits}f}")
            else:
                cells.append(f"{mean:.{digits}f} ± {sd:.{digits}f}")
        out[METRIC_LABELS[metric]] = cells
    return out.reset_index(drop=True)


def confusion_matrix(
    metrics: Metrics | None, model: str, task: str = AD.name
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """A model's test confusion matrix pooled over its seeds (counts, rows true,
    columns predicted) and the class names, or None when none is recorded."""
    entry = _models(metrics, task).get(model)
    if entry is None:
        return None
    found = [s.test.confusion_matrix for s in entry.seeds.values()]
    found = [np.asarray(m, dtype=float) for m in found if m is not None]
    classes = get_task(task).classes
    if not found or any(m.shape != (len(classes),) * 2 for m in found):
        return None
    return np.sum(found, axis=0), classes


def reliability_bins(
    metrics: Metrics | None, model: str, task: str = AD.name
) -> pd.DataFrame | None:
    """A model's reliability-diagram bins, pooled over its seeds, as
    ``confidence``, ``accuracy`` and ``count`` columns, or None when none are
    recorded."""
    entry = _models(metrics, task).get(model)
    bins = None if entry is None else entry.aggregate.reliability
    if not bins:
        return None
    return pd.DataFrame(
        {
            "confidence": [b.confidence for b in bins],
            "accuracy": [b.accuracy for b in bins],
            "count": [b.count for b in bins],
        }
    )


def reliability_curves(
    metrics: Metrics | None, models: Iterable[str], task: str = AD.name
) -> dict[str, pd.DataFrame]:
    """Model label -> :func:`reliability_bins`, for the models that have bins."""
    curves = {}
    for name in models:
        bins = reliability_bins(metrics, name, task)
        if bins is not None:
            curves[model_label(task, name)] = bins
    return curves


def gradcam_localisation(
    metrics: Metrics | None, method: str = "gradcam"
) -> float | None:
    """HyperFusion-AD's measured map mass inside the true disease region at the app's
    layer, as a multiple of chance (mean over seeds), or None when not measured.

    Args:
        metrics: ``metrics.json``.
        method: ``"gradcam"`` or ``"hirescam"``.
    """
    task, name = EXPLAINED
    entry = _models(metrics, task).get(name)
    cams = None if entry is None else entry.aggregate.cams
    if cams is None:
        return None
    if method == "hirescam":
        stats = cams.localisation_hirescam.get(cams.hirescam_layer)
    else:
        stats = cams.localisation
    return None if stats is None else stats.ratio.mean


def acceptance_table(metrics: Metrics | None) -> pd.DataFrame:
    """The acceptance checks ``metrics.json`` records: ``target``, ``value``
    (with its unit) and ``passed`` (bool); empty when there are none."""
    rows = [
        {
            "target": check.target,
            "value": f"{check.value:g} {check.unit}".strip(),
            "passed": check.passed,
        }
        for check in (() if metrics is None else metrics.acceptance)
    ]
    return pd.DataFrame(rows, columns=["target", "value", "passed"])


def transfer_table(metrics: Metrics | None) -> pd.DataFrame:
    """The brain-age model on the AD cohort, one row per diagnosis: ``group``,
    ``subjects``, ``gap`` (mean ± sd, years) and, for CN, ``mae`` beside the model's
    own test MAE; empty before evaluation."""
    transfer = None if metrics is None else metrics.transfer
    if transfer is None:
        return pd.DataFrame(columns=["group", "subjects", "brain-age gap", "MAE"])
    own = transfer.brain_age_test_mae.mean
    rows = []
    for dx, gap in transfer.gap.items():
        mae = ""
        if dx == AD.classes[0] and transfer.cn_mae.mean is not None and own:
            mae = f"{transfer.cn_mae.mean:.2f} y (own test split: {own:.2f} y)"
        rows.append(
            {"group": dx, "subjects": gap.n, "brain-age gap": gap.text(), "MAE": mae}
        )
    return pd.DataFrame(rows, columns=["group", "subjects", "brain-age gap", "MAE"])


__all__ = [
    "METRICS_PATH",
    "NO_METRICS",
    "acceptance_table",
    "confusion_matrix",
    "format_metrics_table",
    "gradcam_localisation",
    "load_metrics",
    "metrics_table",
    "reliability_bins",
    "reliability_curves",
    "transfer_table",
]
