"""The model card's content as data: measured metrics, cohort, training settings,
the preprocessing contract, and tables comparing every model on one patient.

Pure functions over ``weights/metrics.json`` (written by training), the checkpoint
cards and the registry; they return DataFrames and dicts for the Model card and
Fusion strategies pages. ``metrics.json`` is read defensively: any part may be
missing, and a missing file means "no trained weights yet".

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

from hyperfusion.config import AD_CLASSES, MRI_LIMITS, Grid
from hyperfusion.data import qc
from hyperfusion.errors import WeightsError
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.models.registry import MODEL_NAMES, REGISTRY
from hyperfusion.synth.config import AD_MODEL

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
    "No trained weights yet: metrics appear after training "
    "(training writes them to `weights/metrics.json`)."
)
_TASK_KEYS = {"ad": ("ad", "AD"), BRAIN_AGE: (BRAIN_AGE, "brain_age", "brainage")}
_SD_KEYS = ("sd", "std")
_CONFUSION_KEYS = ("confusion_matrix", "confusion")
_RELIABILITY_KEYS = ("reliability", "calibration", "reliability_bins")
_CONFIDENCE_KEYS = ("confidence", "mean_confidence", "mean_predicted", "prob_pred")
_ACCURACY_KEYS = ("accuracy", "observed", "fraction_positive", "prob_true")
_COUNT_KEYS = ("count", "counts", "n")
_SPLITS = ("train", "training", "val", "valid", "validation", "test")
_HIDDEN_KEYS = ("sha256", "path")  # card / cohort items too long or private to show
COHORTS_DIR = WEIGHTS_DIR.parent / "cohorts"


# metrics.json ----------------------------------------------------------------------


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


def _number(value: object) -> float | None:
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
        return _number(means.get(metric)), _number(sds.get(metric))
    value = entry.get(metric)
    if isinstance(value, Mapping):
        sd = next((value[k] for k in _SD_KEYS if k in value), None)
        return _number(value.get("mean")), _number(sd)
    return _number(value), None


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
        row["n_seeds"] = _number(entry.get("n_seeds")) or (len(runs) or None)
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


# Cohort and training ---------------------------------------------------------------


def _scalar_items(
    data: Mapping[str, Any], prefix: str = ""
) -> Iterable[tuple[str, str]]:
    """Flatten a nested dict into ``("a / b", "value")`` pairs of short values."""
    for key, value in data.items():
        name = f"{prefix}{str(key).replace('_', ' ')}"
        if isinstance(value, Mapping):
            yield from _scalar_items(value, f"{name} / ")
        elif isinstance(value, list | tuple):
            if len(value) <= 8 and all(
                not isinstance(v, Mapping | list) for v in value
            ):
                yield name, ", ".join(str(v) for v in value)
        elif value is not None:
            yield name, f"{value:.4g}" if isinstance(value, float) else str(value)


def _shown(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items if not any(h in k for h in _HIDDEN_KEYS)]


def cohort_table(
    metrics: Mapping[str, Any] | None, cards: Sequence[Mapping[str, Any]] = ()
) -> pd.DataFrame:
    """What the shipped models were trained on: ``item`` / ``value`` rows from
    ``metrics.json`` (``label``, ``cohort``, ``cohorts`` per task) and the cards'
    ``trained_on`` (first card per task); hashes and paths left out, repeated
    values dropped."""
    metrics = metrics or {}
    rows: list[tuple[str, str]] = []
    if isinstance(metrics.get("label"), str):
        rows.append(("note", metrics["label"]))
    cohort = metrics.get("cohort")
    if isinstance(cohort, Mapping):
        rows += _shown(_scalar_items(cohort))
    elif isinstance(cohort, str):
        rows.append(("description", cohort))
    per_task = metrics.get("cohorts")
    if isinstance(per_task, Mapping):
        for task, info in per_task.items():
            if isinstance(info, Mapping):
                rows += [(f"{task}: {k}", v) for k, v in _shown(_scalar_items(info))]
    seen_tasks: set[str] = set()
    for card in cards:
        task = str(card.get("task", ""))
        trained_on = card.get("trained_on")
        if task in seen_tasks or not isinstance(trained_on, Mapping):
            continue
        seen_tasks.add(task)
        rows += [(f"{task}: {k}", v) for k, v in _shown(_scalar_items(trained_on))]
    df = pd.DataFrame(rows, columns=["item", "value"])
    df = df.drop_duplicates(subset="item", keep="first")
    return df.drop_duplicates(subset="value", keep="first").reset_index(drop=True)


def _class_dicts(data: object, path: tuple[str, ...] = ()) -> Iterable[tuple]:
    if isinstance(data, Mapping):
        if set(AD_CLASSES) <= set(data) and all(
            _number(data[c]) is not None for c in AD_CLASSES
        ):
            yield path, {c: float(data[c]) for c in AD_CLASSES}
            return
        for key, value in data.items():
            yield from _class_dicts(value, (*path, str(key).lower()))


def class_counts(
    metrics: Mapping[str, Any] | None,
    cards: Sequence[Mapping[str, Any]] = (),
    cohorts_dir: Path | None = None,
) -> dict[str, float] | None:
    """Subjects per diagnosis in the AD cohort.

    From ``metrics.json``'s ``cohort`` / ``cohorts`` or the AD cards'
    ``trained_on`` (a ``{"CN": n, "MCI": n, "AD": n}`` dict anywhere inside;
    per-split dicts are summed), else from the ``DX`` column of the cohort the
    cards name, when it is on disk (``cohorts_dir``, default ``cohorts/``).
    ``None`` when nothing is recorded.
    """
    metrics = metrics or {}
    sources: list[object] = [metrics.get("cohort"), metrics.get("cohorts")]
    sources += [c.get("trained_on") for c in cards if c.get("task") == "ad"]
    for source in sources:
        found = list(_class_dicts(source))
        if not found:
            continue
        whole = [d for p, d in found if not any(s in _SPLITS for s in p)]
        if whole:
            return whole[0]
        total = dict.fromkeys(AD_CLASSES, 0.0)
        for _, counts in found:
            for c in AD_CLASSES:
                total[c] += counts[c]
        return total
    return _counts_on_disk(cards, COHORTS_DIR if cohorts_dir is None else cohorts_dir)


def _counts_on_disk(
    cards: Sequence[Mapping[str, Any]], root: Path
) -> dict[str, float] | None:
    for card in cards:
        trained_on = card.get("trained_on")
        name = trained_on.get("cohort") if isinstance(trained_on, Mapping) else None
        if card.get("task") != "ad" or not isinstance(name, str):
            continue
        csv = Path(root) / Path(name).name / "ehr.csv"
        if csv.is_file():
            try:
                dx = pd.read_csv(csv, usecols=["DX"])["DX"].value_counts()
            except (OSError, ValueError):
                return None
            return {c: float(dx.get(c, 0)) for c in AD_CLASSES}
    return None


def design_class_fractions() -> dict[str, float]:
    """The synthetic generator's target CN / MCI / AD fractions.

    >>> design_class_fractions()
    {'CN': 0.35, 'MCI': 0.48, 'AD': 0.17}
    """
    return dict(zip(AD_CLASSES, AD_MODEL.dx_fractions, strict=True))


_TRAINING_KEYS = ("training", "train_config", "train", "settings", "hyperparameters")
# Settings shown (flattened key → column), in order; others are left out when any
# of these is present.
TRAINING_COLUMNS: dict[str, str] = {
    "epochs": "max epochs",
    "epochs run": "epochs run",
    "best epoch": "best epoch",
    "batch size": "batch",
    "lr": "learning rate",
    "weight decay": "weight decay",
    "patience": "patience",
    "class weights": "class weights",
    "selection": "model selection",
    "device": "device",
    "time s": "time (s)",
}


def _settings(card: Mapping[str, Any]) -> dict[str, str]:
    """A card's training settings, flattened (``train_config / lr`` → ``lr``)."""
    places = [card, card.get("trained_on") or {}]
    for place in places:
        if not isinstance(place, Mapping):
            continue
        found = next(
            (place[k] for k in _TRAINING_KEYS if isinstance(place.get(k), Mapping)),
            None,
        )
        if found is not None:
            return {k.split(" / ")[-1]: v for k, v in _scalar_items(found)}
    return {}


def training_table(cards: Mapping[str, Sequence[Mapping[str, Any]]]) -> pd.DataFrame:
    """One row per model: trained or not, seeds, parameters, input grid and the
    training settings its cards record (:data:`TRAINING_COLUMNS`; values that
    differ between seeds are listed per seed).

    Args:
        cards: model label → the cards of its ensemble (one per seed).
    """
    rows = []
    for label, ensemble in cards.items():
        if not ensemble:
            continue
        card = ensemble[0]
        grid = (card.get("config") or {}).get("grid") or {}
        row: dict[str, Any] = {
            "model": label,
            "trained": "yes" if all(c.get("trained") for c in ensemble) else "NO",
            "seeds": ", ".join(str(c.get("seed", "?")) for c in ensemble),
            "parameters": f"{card['n_parameters']:,}"
            if "n_parameters" in card
            else "—",
            "input grid": _grid_text(grid),
        }
        settings = [_settings(c) for c in ensemble]
        keys = list(dict.fromkeys(k for s in settings for k in s))
        if any(k in TRAINING_COLUMNS for k in keys):
            keys = [k for k in TRAINING_COLUMNS if k in keys]
        for key in keys:
            values = list(dict.fromkeys(s.get(key, "—") for s in settings))
            row[TRAINING_COLUMNS.get(key, key)] = ", ".join(values)
        rows.append(row)
    return pd.DataFrame(rows).fillna("—") if rows else pd.DataFrame(columns=["model"])


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


def ensemble_cards(checkpoints: Sequence[Any]) -> list[dict[str, Any]]:
    """The cards of an ensemble's checkpoints, with ``n_parameters`` counted from
    the model where the card lacks it (untrained placeholders)."""
    cards = []
    for ckpt in checkpoints:
        card = dict(ckpt.card)
        if "n_parameters" not in card:
            card["n_parameters"] = sum(p.numel() for p in ckpt.model.parameters())
        cards.append(card)
    return cards


def _grid_text(grid: Mapping[str, Any]) -> str:
    shape, voxel = grid.get("shape"), grid.get("voxel_mm")
    if not shape or voxel is None:
        return "—"
    return f"{' × '.join(str(s) for s in shape)} at {voxel:g} mm"


# Models side by side ---------------------------------------------------------------


def model_catalogue(task: str = "ad") -> pd.DataFrame:
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
    predictions: Mapping[str, Mapping[str, Any]], task: str = "ad"
) -> pd.DataFrame:
    """Several models' predictions for one patient, one row per model.

    Args:
        predictions: model name → ``Prediction.to_dict()``.

    Returns:
        Columns ``model``, ``label``, ``stage``, ``diagnosis``, ``CN``, ``MCI``,
        ``AD``, their ``*_sd`` (spread over the ensemble's seeds) and ``seeds``.
    """
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
        for cls in AD_CLASSES:
            row[cls] = float(pred["probabilities"][cls])
        for cls in AD_CLASSES:
            row[f"{cls}_sd"] = float(pred.get("probabilities_sd", {}).get(cls, 0.0))
        row["seeds"] = int((pred.get("ensemble_size") or {}).get("ad", 1))
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
    sd_cols = [f"{c}_sd" for c in AD_CLASSES]
    shift = 0.5 * np.abs(
        a[list(AD_CLASSES)].to_numpy() - b[list(AD_CLASSES)].to_numpy()
    )
    out = pd.DataFrame({"label": a["label"]})
    out["diagnosis"] = [
        x if x == y else f"{x} → {y}"
        for x, y in zip(a["diagnosis"], b["diagnosis"], strict=True)
    ]
    for col in [*AD_CLASSES, *sd_cols]:
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


# Preprocessing contract ------------------------------------------------------------


def preprocessing_contract(ad_grid: Grid, brain_age_grid: Grid) -> pd.DataFrame:
    """What an uploaded MRI must be and what the app does to it (``step`` /
    ``contract`` rows), with the QC thresholds and model grids in force."""
    half = ad_grid.hemisphere()
    mb = MRI_LIMITS.max_file_bytes // 1024**2
    rows = [
        (
            "file",
            "One 3D T1-weighted volume, NIfTI-1 or NIfTI-2 (.nii or .nii.gz), at most "
            f"{mb} MB and {MRI_LIMITS.max_dim} voxels per side. Uploads stay in memory;"
            " header text fields are dropped.",
        ),
        (
            "space",
            "Skull-stripped and already registered to MNI152 (ICBM 2009, as "
            "nilearn ships it). The app reorients to RAS but does not skull-strip or "
            "register: resampling is not registration.",
        ),
        (
            "voxel size",
            f"Up to {qc.MAX_VOXEL_MM:g} mm (ideally 1 mm isotropic), at most "
            f"{qc.MAX_ANISOTROPY:g}× anisotropic, axes within "
            f"{qc.MAX_OBLIQUITY_DEG:g}° of the world axes.",
        ),
        (
            "quality check",
            "Compared with the MNI152 template: correlation inside the brain mask ≥ "
            f"{qc.MIN_CORRELATION:g}; at least {qc.MIN_FOV_COVERAGE:.0%} of the "
            f"template brain in the field of view; at most {qc.MAX_OUTSIDE_BRAIN:.0%}"
            " of the signal more than 6 mm outside the brain (skull-stripped); axes "
            "not permuted. A failed check is shown as a warning beside every "
            "prediction.",
        ),
        (
            "AD input",
            f"Linear resampling onto a {_grid_text(_grid_dict(ad_grid))} box around "
            "both hippocampi, split at the midline into two "
            f"{' × '.join(map(str, half.shape))} halves (the left mirrored); both "
            "halves are predicted and their logits averaged.",
        ),
        (
            "brain-age input",
            "Linear resampling of the whole brain onto a "
            f"{_grid_text(_grid_dict(brain_age_grid))} grid.",
        ),
        (
            "intensities",
            "Non-finite voxels become 0; each model input is z-scored over its "
            "non-zero (brain) voxels, background stays 0. Absolute intensity scale "
            "does not matter; skull, neck or background signal does.",
        ),
    ]
    return pd.DataFrame(rows, columns=["step", "contract"])


def contract_markdown(contract: pd.DataFrame) -> str:
    """:func:`preprocessing_contract` as a Markdown list (long text stays whole)."""
    return "\n".join(f"- **{r.step}**: {r.contract}" for r in contract.itertuples())


def _grid_dict(grid: Grid) -> dict[str, Any]:
    return {"shape": grid.shape, "voxel_mm": grid.voxel_mm}


DATA_DESCRIPTION = (
    "The shipped weights were trained on a **synthetic** cohort (no real patient "
    "data: ADNI and UK Biobank forbid redistribution), generated by "
    "`python -m hyperfusion.synth` from a known causal model on nilearn's MNI152 "
    "templates. Age, sex, education and APOE4 drive amyloid; amyloid drives tau; an "
    "independent non-amyloid process adds neurodegeneration N; cognition "
    "C = N·(b + c·amyloid) − reserve(education) + noise sets CN / MCI / AD. The EHR "
    "is measured from these latent variables in ADNIMERGE units with ADNI-like "
    "missingness (CSF 50 %, amyloid PET 50 %, FDG 40 %, APOE4 9 %); the image "
    "shows N as medial-temporal atrophy, which ageing mimics. So neither modality "
    "alone suffices, by construction. The brain-age cohort is healthy subjects aged "
    "20–90 with sex-dependent ageing."
)
RELIABILITY_HELP = (
    "**Reading the reliability diagram.** Test subjects are binned by the "
    "probability the model gave its predicted class (its confidence); each point "
    "is one bin, sized by its subjects. On the dashed diagonal the model is right "
    "as often as it claims; below it, overconfident. ECE in the table is the "
    "subjects-weighted mean distance from the diagonal."
)
INTENDED_USE = (
    "- **Intended use:** teaching and research: seeing how a hypernetwork and "
    "classic fusion strategies combine an MRI with EHR data, and exploring what-if "
    "changes.\n"
    "- **Not intended for:** diagnosis, prognosis, screening, triage or any decision "
    "about a person. The models have never seen a real patient.\n"
    "- **Limits:** synthetic anatomy and disease effects (hippocampal and "
    "ventricular change only); small demo networks at coarse resolution (CPU "
    "training); metrics are on a held-out part of the same synthetic cohort and do "
    "not transfer to real scans; inputs outside the preprocessing contract give "
    "meaningless numbers; ensemble spread is over training seeds only and "
    "understates the true uncertainty."
)


__all__ = [
    "CHANCE_BALANCED_ACCURACY",
    "COHORTS_DIR",
    "DATA_DESCRIPTION",
    "INTENDED_USE",
    "METRICS_PATH",
    "METRIC_LABELS",
    "NO_METRICS",
    "RELIABILITY_HELP",
    "TRAINING_COLUMNS",
    "acceptance_table",
    "class_counts",
    "cohort_table",
    "confusion_matrix",
    "contract_markdown",
    "design_class_fractions",
    "ensemble_cards",
    "format_metrics_table",
    "load_metrics",
    "metric_value",
    "metrics_table",
    "missing_table",
    "model_catalogue",
    "model_label",
    "predictions_table",
    "preprocessing_contract",
    "reliability_bins",
    "reliability_curves",
    "task_metrics",
    "training_table",
    "with_unknown",
]
