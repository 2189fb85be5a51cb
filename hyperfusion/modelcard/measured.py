"""What training measured: ``weights/metrics.json``, read defensively.

A missing file means "no trained weights yet" (:func:`load_metrics` returns
``None``); any part of the file may be missing or laid out differently, and the
readers return empty tables or ``None`` rather than fail.

The layout ``python -m hyperfusion.evaluate`` writes (every key optional)::

    {"label": "SYNTHETIC data: ...",
     "cohorts": {"ad": {"description": ..., "n_train": ..., "n_test": ...}, ...},
     "models": {"ad": {"<model>": {
         "aggregate": {"balanced_accuracy": {"mean": m, "sd": s, "n": 3}, ...},
         "seeds": {"0": {"test": {..., "confusion_matrix": [[...], ...]}}, ...}}},
                "brain-age": {...}},
     "acceptance": [{"target": ..., "value": ..., "unit": ..., "passed": ...}]}

Also read: task blocks at the top level (``{"ad": {"<model>": ...}}``), entries as
``{"mean": {metric: m}, "sd": {metric: s}}`` or plain ``{metric: m}``, a
``confusion_matrix`` and ``reliability`` bins per model, and a ``cohort`` block.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.config import AD_CLASSES
from hyperfusion.errors import WeightsError
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.models.registry import MODEL_NAMES, REGISTRY

METRICS_PATH = WEIGHTS_DIR / "metrics.json"
BRAIN_AGE = "brain-age"
# Metric keys as training writes them → column labels, per task.
METRIC_LABELS: dict[str, dict[str, str]] = {
    "ad": {
        "balanced_accuracy": "balanced accuracy",
        "macro_f1": "macro F1",
        "macro_auc": "macro AUROC",
        "ece": "ECE",
    },
    BRAIN_AGE: {
        "mae": "MAE (years)",
        "r2": "R²",
        "bias_slope": "bias (error slope vs age)",
        "mean_error": "mean error (years)",
    },
}
# Other names training may use for the same metric.
METRIC_ALIASES: dict[str, tuple[str, ...]] = {
    "bias_slope": ("bias",),
    "mean_error": ("bias_years", "mean_bias"),
    "macro_auc": ("macro_auroc", "auc"),
}
CHANCE_BALANCED_ACCURACY = 1 / 3
NO_METRICS = (
    "Not measured yet: metrics appear once the trained models have been evaluated "
    "(`python -m hyperfusion.evaluate` writes them to `weights/metrics.json`)."
)
_TASK_KEYS = {"ad": ("ad", "AD"), BRAIN_AGE: (BRAIN_AGE, "brain_age", "brainage")}
_SD_KEYS = ("sd", "std")
_CONFUSION_KEYS = ("confusion_matrix", "confusion")
_RELIABILITY_KEYS = ("reliability", "calibration", "reliability_bins")
_CONFIDENCE_KEYS = ("confidence", "mean_confidence", "mean_predicted", "prob_pred")
_ACCURACY_KEYS = ("accuracy", "observed", "fraction_positive", "prob_true")
_COUNT_KEYS = ("count", "counts", "n")


def load_metrics(path: Path | None = None) -> dict[str, Any] | None:
    """The parsed ``metrics.json`` (default :data:`METRICS_PATH`), or ``None`` when
    it does not exist yet.

    Raises:
        WeightsError: the file exists but is not a JSON object.
    """
    path = Path(path) if path is not None else METRICS_PATH
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path.name} is unreadable ({exc}); retrain") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"{path.name} holds {type(data).__name__}, not an object")
    return data


def task_metrics(
    metrics: Mapping[str, Any] | None, task: str
) -> dict[str, Mapping[str, Any]]:
    """Model name → that model's entry for one task (empty when absent).

    >>> task_metrics({"ad": {"film": {"mean": {}}}}, "ad")
    {'film': {'mean': {}}}
    """
    if not metrics:
        return {}
    nested = metrics.get("models")
    for key in _TASK_KEYS[task]:
        block = metrics.get(key)
        if not isinstance(block, Mapping) and isinstance(nested, Mapping):
            block = nested.get(key)
        if isinstance(block, Mapping):
            models = block.get("models", block)
            if isinstance(models, Mapping):
                return {k: v for k, v in models.items() if isinstance(v, Mapping)}
    return {}


def finite_number(value: object) -> float | None:
    """``value`` as a float if it is a finite real number (not a bool), else None.

    >>> finite_number(3), finite_number(True), finite_number(float("nan"))
    (3.0, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def metric_value(
    entry: Mapping[str, Any], metric: str
) -> tuple[float | None, float | None]:
    """``(mean, sd)`` of one metric in a model's entry, whichever layout it uses.

    >>> metric_value({"mean": {"mae": 4.0}, "sd": {"mae": 0.5}}, "mae")
    (4.0, 0.5)
    >>> metric_value({"mae": {"mean": 4.0, "std": 0.5}}, "mae")
    (4.0, 0.5)
    >>> metric_value({"mae": 4.0}, "r2")
    (None, None)
    """
    for name in (metric, *METRIC_ALIASES.get(metric, ())):
        mean, sd = _metric_value(entry, name)
        if mean is not None:
            return mean, sd
    return None, None


def _metric_value(
    entry: Mapping[str, Any], metric: str
) -> tuple[float | None, float | None]:
    aggregate = entry.get("aggregate")
    if isinstance(aggregate, Mapping) and metric in aggregate:
        entry = aggregate
    means = entry.get("mean")
    if isinstance(means, Mapping) and metric in means:
        sds = next(
            (entry[k] for k in _SD_KEYS if isinstance(entry.get(k), Mapping)), {}
        )
        return finite_number(means.get(metric)), finite_number(sds.get(metric))
    value = entry.get(metric)
    if isinstance(value, Mapping):
        sd = next((value[k] for k in _SD_KEYS if k in value), None)
        return finite_number(value.get("mean")), finite_number(sd)
    return finite_number(value), None


def _ordered(names: Iterable[str], task: str) -> list[str]:
    known = [n for n in MODEL_NAMES[task] if n in names]
    return known + sorted(n for n in names if n not in MODEL_NAMES[task])


def model_label(task: str, name: str) -> str:
    """The registry label of a model (its name if unregistered)."""
    spec = REGISTRY.get((task, name))
    return spec.label if spec else name


def metrics_table(metrics: Mapping[str, Any] | None, task: str) -> pd.DataFrame:
    """One row per model: ``model``, ``label``, ``n_seeds`` and, for each metric of
    :data:`METRIC_LABELS`, its mean and ``<metric>_sd`` (NaN when not measured)."""
    entries = task_metrics(metrics, task)
    rows = []
    for name in _ordered(entries, task):
        entry = entries[name]
        row: dict[str, Any] = {"model": name, "label": model_label(task, name)}
        runs = _runs(entry)
        row["n_seeds"] = finite_number(entry.get("n_seeds")) or (len(runs) or None)
        for metric in METRIC_LABELS[task]:
            mean, sd = metric_value(entry, metric)
            row[metric] = np.nan if mean is None else mean
            row[f"{metric}_sd"] = np.nan if sd is None else sd
        rows.append(row)
    columns = ["model", "label", "n_seeds"] + [
        c for m in METRIC_LABELS[task] for c in (m, f"{m}_sd")
    ]
    return pd.DataFrame(rows, columns=columns)


def format_metrics_table(table: pd.DataFrame, task: str) -> pd.DataFrame:
    """:func:`metrics_table` as text, ``"0.622 ± 0.013"`` per cell, for display."""
    out = pd.DataFrame({"model": table["label"]})
    if "n_seeds" in table:
        out["seeds"] = ["—" if pd.isna(n) else f"{n:.0f}" for n in table["n_seeds"]]
    digits = 2 if task == BRAIN_AGE else 3
    for metric, label in METRIC_LABELS[task].items():
        cells = []
        for mean, sd in zip(table[metric], table[f"{metric}_sd"], strict=True):
            if pd.isna(mean):
                cells.append("—")
            elif pd.isna(sd):
                cells.append(f"{mean:.{digits}f}")
            else:
                cells.append(f"{mean:.{digits}f} ± {sd:.{digits}f}")
        out[label] = cells
    return out.reset_index(drop=True)


_NESTED = ("ensemble", "test", "mean", "pooled")
_RUNS = ("seeds", "per_seed", "runs")


def _lookup(entry: object, keys: Sequence[str]) -> Any:
    """The first of ``keys`` in ``entry`` or in its ensemble / test / mean part."""
    if not isinstance(entry, Mapping):
        return None
    for part in (entry, *(entry.get(k) for k in _NESTED)):
        if isinstance(part, Mapping):
            for key in keys:
                if part.get(key) is not None:
                    return part[key]
    return None


def _runs(entry: Mapping[str, Any]) -> list[Any]:
    """Per-seed results of a model entry (a list, or a dict by seed)."""
    for key in _RUNS:
        runs = entry.get(key)
        if isinstance(runs, list):
            return runs
        if isinstance(runs, Mapping):
            return list(runs.values())
    return []


def confusion_matrix(
    metrics: Mapping[str, Any] | None, model: str, task: str = "ad"
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """A model's confusion matrix (counts, rows true, columns predicted) and class
    names, or ``None`` when ``metrics.json`` has none (or it is malformed)."""
    entry = task_metrics(metrics, task).get(model, {})
    raw = _lookup(entry, _CONFUSION_KEYS)
    if raw is None:  # per-seed matrices only: pool them
        runs = [_lookup(r, _CONFUSION_KEYS) for r in _runs(entry)]
        runs = [np.asarray(r, float) for r in runs if r is not None]
        if runs and all(r.shape == runs[0].shape for r in runs):
            raw = np.sum(runs, axis=0).tolist()
    classes: Sequence[str] = AD_CLASSES
    if isinstance(raw, Mapping):
        classes = raw.get("labels", raw.get("classes", AD_CLASSES))
        raw = raw.get("matrix", raw.get("counts"))
    try:
        matrix = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        return None
    k = len(classes)
    if matrix.shape != (k, k) or not np.isfinite(matrix).all():
        return None
    return matrix, tuple(str(c) for c in classes)


def reliability_bins(
    metrics: Mapping[str, Any] | None, model: str, task: str = "ad"
) -> pd.DataFrame | None:
    """A model's reliability-diagram bins as ``confidence``, ``accuracy`` and
    ``count`` columns (bins without subjects dropped), or ``None``."""
    entry = task_metrics(metrics, task).get(model, {})
    raw = _lookup(entry, _RELIABILITY_KEYS)
    if isinstance(raw, Mapping) and isinstance(raw.get("bins"), list):
        raw = raw["bins"]
    try:
        df = pd.DataFrame(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
    if df is None or df.empty:
        return None
    out = pd.DataFrame()
    for target, keys in (
        ("confidence", _CONFIDENCE_KEYS),
        ("accuracy", _ACCURACY_KEYS),
        ("count", _COUNT_KEYS),
    ):
        key = next((k for k in keys if k in df), None)
        if key is not None:
            out[target] = pd.to_numeric(df[key], errors="coerce")
    if not {"confidence", "accuracy"} <= set(out):
        return None
    if "count" in out:
        out = out[out["count"].fillna(0) > 0]
    out = out.dropna(subset=["confidence", "accuracy"])
    return out.reset_index(drop=True) if len(out) else None


def reliability_curves(
    metrics: Mapping[str, Any] | None, models: Iterable[str], task: str = "ad"
) -> dict[str, pd.DataFrame]:
    """Model label → :func:`reliability_bins`, for the models that have bins."""
    curves = {}
    for name in models:
        bins = reliability_bins(metrics, name, task)
        if bins is not None:
            curves[model_label(task, name)] = bins
    return curves


def gradcam_localisation(
    metrics: Mapping[str, Any] | None, method: str = "gradcam"
) -> float | None:
    """HyperFusion-AD's measured map mass inside the true disease region at the app's
    layer, as a multiple of chance (mean over seeds), or ``None`` when not measured.

    Args:
        metrics: ``metrics.json``.
        method: ``"gradcam"`` or ``"hirescam"``.
    """
    agg: object = metrics
    for key in ("models", "ad", "hyperfusion", "aggregate"):
        agg = agg.get(key) if isinstance(agg, Mapping) else None
    if not isinstance(agg, Mapping):
        return None
    if method == "hirescam":
        by_layer = agg.get("localisation_hirescam")
        layer = agg.get("hirescam_layer")
        loc = by_layer.get(layer) if isinstance(by_layer, Mapping) else None
    else:
        loc = agg.get("localisation")
    ratio = loc.get("ratio") if isinstance(loc, Mapping) else None
    return finite_number(ratio.get("mean") if isinstance(ratio, Mapping) else None)


def acceptance_table(metrics: Mapping[str, Any] | None) -> pd.DataFrame:
    """The acceptance checks ``metrics.json`` records: ``target``, ``value``
    (with its unit) and ``passed`` (bool); empty when there are none."""
    checks = (metrics or {}).get("acceptance")
    rows = []
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, Mapping) and "target" in check:
            value = check.get("value")
            unit = check.get("unit") or ""
            text = "—" if value is None else f"{value:g} {unit}".strip()
            rows.append(
                {
                    "target": str(check["target"]),
                    "value": text,
                    "passed": bool(check.get("passed")),
                }
            )
    return pd.DataFrame(rows, columns=["target", "value", "passed"])


__all__ = [
    "CHANCE_BALANCED_ACCURACY",
    "METRICS_PATH",
    "METRIC_ALIASES",
    "METRIC_LABELS",
    "NO_METRICS",
    "acceptance_table",
    "confusion_matrix",
    "finite_number",
    "format_metrics_table",
    "gradcam_localisation",
    "load_metrics",
    "metric_value",
    "metrics_table",
    "model_label",
    "reliability_bins",
    "reliability_curves",
    "task_metrics",
]
