"""Evaluate the shipped checkpoints on their held-out test split.

    python -m hyperfusion.evaluate --cohort DIR [--cohort DIR ...] [--weights weights/]
        [--out weights/metrics.json] [--results docs/RESULTS.md]

For every checkpoint of the cohort's task, the split is rebuilt from the seed in the
card (and checked against the card's hash of the test PTIDs), the test metrics are
recomputed from the float16 weights and compared with those stored at training time,
and the seeds of each model are aggregated as mean ± sd. For HyperFusion-AD the
Grad-CAM localisation is measured against the generator's ground truth: the share of
Grad-CAM mass inside the true disease-effect region, with the region's share of the
volume as chance. Exit codes: 0 on success, 2 on a user error (one line on stderr).

With ``--unseen`` the cohorts are new ones, generated with seeds no checkpoint saw:
every subject is a test subject, and the checks are whether HyperFusion still ranks
above the single modalities (``weights/metrics-unseen.json``,
``docs/RESULTS-unseen.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
import torch
from torch import nn

from hyperfusion.config import TASKS, TrainConfig
from hyperfusion.data.datasets import cohort_arrays, load_cohort, truth_arrays
from hyperfusion.errors import CohortError, HyperFusionError, WeightsError
from hyperfusion.explain.gradcam import CamMethod, cam_layer, gradcam_maps
from hyperfusion.models.checkpoint import WEIGHTS_DIR, find_cards, load_checkpoint
from hyperfusion.models.registry import MODEL_NAMES, get_spec
from hyperfusion.train.data import (
    SplitData,
    image_batch,
    predict,
    split_data,
    tabular_batch,
)
from hyperfusion.train.run import evaluate_checkpoint, prepare_cohort
from hyperfusion.train.splits import split_summary

REFERENCE_SUBJECTS = 4  # test subjects whose raw outputs metrics.json keeps
TRUTH_THRESHOLD = 0.1  # the disease region: truth > 10 % of the subject's maximum
GRADCAM_BATCH = 16
# Also measured, for comparison with the default (block 3, models.nets.resnet):
# block 4's output (2 x 2 x 2 voxels per hemisphere on the demo crop) and block 2's.
EXTRA_GRADCAM_LAYERS = ("trunk.cam_tap", "trunk.blocks.1")
LOC_KEYS = ("mass_inside", "chance", "chance_brain", "ratio", "ratio_brain")
RESULTS_FILE = Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md"
AD_COLUMNS = (
    ("balanced_accuracy", "Balanced accuracy"),
    ("macro_f1", "Macro F1"),
    ("macro_auc", "Macro AUC"),
    ("ece", "ECE"),
)
BRAIN_AGE_COLUMNS = (
    ("mae", "MAE (years)"),
    ("r2", "R²"),
    ("bias_slope", "Bias slope"),
    ("bias_corr", "Bias corr."),
)


def detect_task(df: pd.DataFrame) -> str:
    """The cohort's task: its README's, else AD when DX has two or more groups."""
    task = df.attrs.get("cohort", {}).get("task")
    if task in TASKS:
        return task
    return "ad" if df["DX"].dropna().nunique() >= 2 else "brain-age"


def _hemisphere_cams(
    model: nn.Module,
    data: SplitData,
    idx: np.ndarray,
    device: torch.device,
    layer: str | None = None,
    method: CamMethod = "gradcam",
) -> np.ndarray:
    """Maps ``(B, 2, X, Y, Z)`` of the true class, per hemisphere, ReLU after
    trilinear upsampling to the crop (``layer``: default the method's layer)."""
    target = torch.from_numpy(data.targets[idx]).to(device)
    tab = tabular_batch(data, idx, device)
    maps = []
    for hemi in (0, 1):
        image = image_batch(data, idx, device, hemi)
        cam = gradcam_maps(
            model, image, tab, target, layer=layer, relu=False, method=method
        )
        maps.append(torch.relu(cam).cpu().numpy())
    return np.stack(maps, axis=1)


def part_with_truth(
    df: pd.DataFrame,
    split: pd.Series,
    part: str,
    images: np.ndarray,
    preprocessor: Any,
    grid: Any,
    truth_of: Callable[[pd.DataFrame, Any], np.ndarray],
) -> tuple[SplitData, np.ndarray]:
    """One part of an AD split and its ground-truth maps (zero for CN subjects, who
    have no disease effect), the inputs of :func:`gradcam_localisation`.

    ``truth_of(rows, grid)`` returns the maps of the given MCI / AD rows (e.g.
    :func:`~hyperfusion.data.datasets.truth_arrays` with a cache).
    """
    mask = (split == part).to_numpy()
    rows = df[mask].reset_index(drop=True)
    data = split_data("ad", rows, images[mask], preprocessor)
    keep = data.targets > 0
    truth = np.zeros((len(rows), *images.shape[1:]), dtype=np.float16)
    truth[keep] = truth_of(rows[keep].reset_index(drop=True), grid)
    return data, truth


def gradcam_localisation(
    model: nn.Module,
    data: SplitData,
    truth: np.ndarray,
    device: torch.device,
    threshold: float = TRUTH_THRESHOLD,
    layer: str | None = None,
    method: CamMethod = "gradcam",
) -> dict[str, Any]:
    """Share of Grad-CAM (or HiResCAM) mass inside the true disease region, against
    chance.

    Explained: the true class of every MCI and AD subject of ``data`` (the disease
    effect exists only there). Per subject, the region is ``truth > threshold ·
    max(truth)`` on the crop (both hemispheres); the mass share is the Grad-CAM sum
    inside the region over the sum on both hemispheres, and chance is the region's
    share of the crop (``chance_brain``: of the brain voxels, a stricter baseline).

    Args:
        model: an AD network in eval mode.
        data: the split's inputs (images with both hemispheres).
        truth: :func:`~hyperfusion.data.datasets.truth_arrays` of the same rows.
        device: where the model is.
        threshold: the region threshold, a fraction of each subject's maximum.
        layer: the module explained (default: the method's layer of the model).
        method: ``"gradcam"`` or ``"hirescam"``.

    Returns:
        Means over subjects of ``mass_inside``, ``chance`` and ``chance_brain``,
        ``ratio`` (= mean mass / mean chance), and ``n`` subjects used.
    """
    model.eval()
    rows = np.flatnonzero(data.targets > 0)
    inside, chance, chance_brain = [], [], []
    for start in range(0, len(rows), GRADCAM_BATCH):
        idx = rows[start : start + GRADCAM_BATCH]
        cams = _hemisphere_cams(model, data, idx, device, layer, method)
        cams = cams.astype(np.float64)
        for cam, t, img in zip(cams, truth[idx], data.images[idx], strict=True):
            t = t.astype(np.float32)
            region = t > threshold * t.max()
            total = cam.sum()
            if not region.any() or total <= 0:
                continue
            brain = img != 0
            inside.append(float(cam[region].sum() / total))
            chance.append(float(region.mean()))
            chance_brain.append(float((region & brain).sum() / max(brain.sum(), 1)))
    if not inside:
        return {"n": 0}
    mass, base = float(np.mean(inside)), float(np.mean(chance))
    return {
        "mass_inside": round(mass, 6),
        "chance": round(base, 6),
        "chance_brain": round(float(np.mean(chance_brain)), 6),
        "ratio": round(mass / base, 4),
        "ratio_brain": round(mass / float(np.mean(chance_brain)), 4),
        "n": len(inside),
    }


class _CohortCache:
    """Cohort frames, splits and image arrays, loaded once per evaluation."""

    def __init__(self, cohort: Path, cache_dir: Path | None, progress: bool) -> None:
        self.cohort, self.cache_dir, self.progress = cohort, cache_dir, progress
        self._splits: dict[tuple[str, int], tuple[pd.DataFrame, pd.Series]] = {}
        self._arrays: dict[tuple[Any, ...], np.ndarray] = {}

    def split(self, task: str, seed: int) -> tuple[pd.DataFrame, pd.Series]:
        if (task, seed) not in self._splits:
            self._splits[(task, seed)] = prepare_cohort(task, self.cohort, seed)
        return self._splits[(task, seed)]

    def images(self, task: str, seed: int, grid: Any) -> np.ndarray:
        key = ("images", task, seed, grid)
        if key not in self._arrays:
            df, _ = self.split(task, seed)
            self._arrays[key] = cohort_arrays(
                df, task, grid, self.cache_dir, progress=self.progress
            )
        return self._arrays[key]

    def truth(self, df: pd.DataFrame, grid: Any) -> np.ndarray:
        key = ("truth", tuple(df["PTID"]), grid)
        if key not in self._arrays:
            self._arrays[key] = truth_arrays(
                df, grid, self.cache_dir, progress=self.progress
            )
        return self._arrays[key]


def evaluate_card(
    card_path: Path, cohorts: _CohortCache, gradcam: bool = True, unseen: bool = False
) -> dict[str, Any]:
    """Recompute one checkpoint's test metrics (and HyperFusion-AD's localisation).

    ``unseen``: the cohort is a new one (another generator seed), and every subject
    of it is the test set; the card's own test split is not rebuilt.
    """
    ckpt = load_checkpoint(card_path)
    card = ckpt.card
    task, name = card["task"], card["model"]
    trained_on = card.get("trained_on", {})
    seed = int(trained_on.get("split_seed", 0))
    df, split = cohorts.split(task, seed)
    if unseen:
        cohort_seed = df.attrs.get("cohort", {}).get("seed")
        if cohort_seed is not None and cohort_seed == trained_on.get("cohort_seed"):
            raise CohortError(
                f"{cohorts.cohort} has the seed {card_path.name} was trained on "
                f"({cohort_seed}); accepted: a cohort generated with another seed"
            )
        split = pd.Series("test", index=split.index)
    else:
        expected = trained_on.get("test_ptids_sha256")
        if split_summary(df, split, seed)["test_ptids_sha256"] != expected:
            raise CohortError(
                f"{card_path.name} was not trained on {cohorts.cohort}: its test "
                "split differs; accepted: the cohort the checkpoint was trained on "
                "(or --unseen for a cohort generated with a new seed)"
            )
    grid = ckpt.model.cfg.grid
    images = (
        cohorts.images(task, seed, grid) if get_spec(task, name).uses_image else None
    )
    test = evaluate_checkpoint(ckpt, df, split, images, parts=("test",))["test"]
    reference = None if unseen else _reference_outputs(ckpt, df, split, images)
    stored = card.get("metrics", {}).get("test")
    entry: dict[str, Any] = {
        "seed": card["seed"],
        "test": test,
        "val": card.get("metrics", {}).get("val"),
        "reproduced": None if unseen else stored == test,
        "epochs_run": card.get("training", {}).get("epochs_run"),
        "time_s": card.get("training", {}).get("time_s"),
    }
    if reference is not None:
        entry["reference_outputs"] = reference
    if gradcam and task == "ad" and name == "hyperfusion" and images is not None:
        data, truth = part_with_truth(
            df, split, "test", images, ckpt.preprocessor, grid, cohorts.truth
        )
        device = next(ckpt.model.parameters()).device
        model = ckpt.model
        entry["gradcam_layer"] = model.gradcam_layer
        entry["localisation"] = gradcam_localisation(model, data, truth, device)
        names = dict(model.named_modules())
        entry["localisation_extra"] = {
            layer: gradcam_localisation(model, data, truth, device, layer=layer)
            for layer in EXTRA_GRADCAM_LAYERS
            if layer in names and layer != model.gradcam_layer
        }
        hires = cam_layer(model, "hirescam")
        entry["hirescam_layer"] = hires
        entry["localisation_hirescam"] = {
            layer: gradcam_localisation(
                model, data, truth, device, layer=layer, method="hirescam"
            )
            for layer in dict.fromkeys((hires, model.gradcam_layer))
        }
    return entry


def _reference_outputs(
    ckpt: Any, df: pd.DataFrame, split: pd.Series, images: np.ndarray | None
) -> dict[str, Any]:
    """The outputs on the first test subjects (AD: logits; brain age: years), so a
    fast test can regenerate just those subjects and check the shipped weights."""
    task = ckpt.card["task"]
    rows = np.flatnonzero((split == "test").to_numpy())[:REFERENCE_SUBJECTS]
    part = df.iloc[rows].reset_index(drop=True)
    data = split_data(
        task, part, None if images is None else images[rows], ckpt.preprocessor
    )
    out = predict(ckpt.model, data, next(ckpt.model.parameters()).device)
    return {"ptids": list(part["PTID"]), "outputs": np.round(out, 5).tolist()}


def _mean_sd(values: list[float | None]) -> dict[str, float | int | None]:
    clean = [v for v in values if v is not None]
    if not clean:
        return {"mean": None, "sd": None, "n": 0}
    arr = np.asarray(clean, dtype=np.float64)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": round(float(arr.mean()), 6), "sd": round(sd, 6), "n": len(arr)}


def aggregate(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± sd over seeds of every numeric test metric (and the localisation)."""
    out: dict[str, Any] = {}
    keys = [k for k, v in entries[0]["test"].items() if not isinstance(v, list)]
    for key in keys:
        if key != "n":
            out[key] = _mean_sd([e["test"].get(key) for e in entries])
    out["training"] = {
        key: _mean_sd([e.get(key) for e in entries]) for key in ("epochs_run", "time_s")
    }
    loc = _aggregate_localisation([e.get("localisation", {}) for e in entries])
    if loc:
        out["localisation"] = loc
        out["gradcam_layer"] = entries[0].get("gradcam_layer")
        extra = {}
        for layer in entries[0].get("localisation_extra", {}):
            found = [e.get("localisation_extra", {}).get(layer, {}) for e in entries]
            extra[layer] = _aggregate_localisation(found)
        out["localisation_extra"] = extra
        out["hirescam_layer"] = entries[0].get("hirescam_layer")
        out["localisation_hirescam"] = {
            layer: _aggregate_localisation(
                [e.get("localisation_hirescam", {}).get(layer, {}) for e in entries]
            )
            for layer in entries[0].get("localisation_hirescam", {})
        }
    return out


def _aggregate_localisation(results: list[dict[str, Any]]) -> dict[str, Any]:
    used = [r for r in results if r.get("n")]
    if not used:
        return {}
    return {key: _mean_sd([r[key] for r in used]) for key in LOC_KEYS}


def acceptance(models: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, checked on the aggregated test metrics."""

    def mean(task: str, name: str, key: str) -> float | None:
        agg = models.get(task, {}).get(name, {}).get("aggregate", {})
        return agg.get(key, {}).get("mean")

    checks = []
    hf = mean("ad", "hyperfusion", "balanced_accuracy")
    for other in ("image-only", "tabular-only"):
        base = mean("ad", other, "balanced_accuracy")
        if hf is not None and base is not None:
            checks.append(
                {
                    "target": f"AD: HyperFusion balanced accuracy >= {other} "
                    "+ 5 points",
                    "value": round(100 * (hf - base), 2),
                    "unit": "points",
                    "passed": hf - base >= 0.05 - 1e-9,
                }
            )
    hf_mae = mean("brain-age", "hyperfusion", "mae")
    img_mae = mean("brain-age", "image-only", "mae")
    if hf_mae is not None and img_mae is not None:
        checks.append(
            {
                "target": "Brain age: HyperFusion MAE < image-only MAE",
                "value": round(img_mae - hf_mae, 4),
                "unit": "years better",
                "passed": hf_mae < img_mae,
            }
        )
    loc = models.get("ad", {}).get("hyperfusion", {}).get("aggregate", {})
    ratio = loc.get("localisation", {}).get("ratio", {}).get("mean")
    if ratio is not None:
        checks.append(
            {
                "target": "Grad-CAM mass inside the true region >= 2x chance",
                "value": ratio,
                "unit": "x chance",
                "passed": ratio >= 2.0,
            }
        )
    hires = loc.get("localisation_hirescam", {}).get(loc.get("hirescam_layer"), {})
    ratio = hires.get("ratio", {}).get("mean")
    if ratio is not None:
        checks.append(
            {
                "target": "HiResCAM (Grad-CAM with per-voxel weights, the app's "
                "alternative) mass inside the true region >= 2x chance",
                "value": ratio,
                "unit": "x chance",
                "passed": ratio >= 2.0,
            }
        )
    return checks


def ranking(models: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """On a new cohort: does HyperFusion still rank above each single modality?"""
    checks = []
    targets = {
        "ad": ("balanced_accuracy", ("image-only", "tabular-only"), 1.0),
        "brain-age": ("mae", ("image-only",), -1.0),
    }
    for task, (key, others, sign) in targets.items():
        stats = {
            name: entry["aggregate"].get(key, {}).get("mean")
            for name, entry in models.get(task, {}).items()
        }
        hf = stats.get("hyperfusion")
        for other in others:
            base = stats.get(other)
            if hf is None or base is None:
                continue
            checks.append(
                {
                    "target": f"{task}: HyperFusion ranks above {other} ({key})",
                    "value": round(
                        sign * (hf - base) * (100 if task == "ad" else 1), 2
                    ),
                    "unit": "points" if task == "ad" else "years better",
                    "passed": sign * (hf - base) > 0,
                }
            )
    return checks


def evaluate(
    weights_dir: Path,
    cohorts: list[Path],
    cache_dir: Path | None = None,
    gradcam: bool = True,
    progress: bool = True,
    unseen: bool = False,
) -> dict[str, Any]:
    """Evaluate every checkpoint in ``weights_dir`` whose task has a cohort.

    ``unseen``: the cohorts were generated with seeds the checkpoints never saw;
    every subject is a test subject and the acceptance checks become the ranking
    of HyperFusion against the single modalities.

    Returns:
        The content of ``metrics.json``: cohorts, per model per seed, aggregates and
        the acceptance checks.
    """
    by_task: dict[str, Path] = {}
    for cohort in cohorts:
        df = load_cohort(cohort)
        by_task[detect_task(df)] = Path(cohort)
    where = (
        "every subject of a synthetic cohort generated with a new seed"
        if unseen
        else "the held-out synthetic test split"
    )
    report: dict[str, Any] = {
        "label": f"SYNTHETIC data: metrics on {where}; they say nothing about "
        "performance on real patients.",
        "unseen": unseen,
        "cohorts": {},
        "gradcam": {
            "models": "ad/hyperfusion",
            "layer": "model.gradcam_layer (also: "
            + ", ".join(EXTRA_GRADCAM_LAYERS)
            + " for comparison); HiResCAM: model.hirescam_layer and the Grad-CAM "
            "layer",
            "subjects": "MCI and AD subjects of the "
            + ("whole new cohort" if unseen else "test split"),
            "target": "the true class",
            "region": f"ground-truth map > {TRUTH_THRESHOLD:g} x its maximum",
            "chance": "the region's share of the crop volume",
        },
        "models": {},
    }
    for task, cohort in by_task.items():
        cache = _CohortCache(cohort, cache_dir, progress)
        for name in MODEL_NAMES[task]:
            cards = find_cards(weights_dir, task, name)
            if not cards:
                continue
            entries = [evaluate_card(path, cache, gradcam, unseen) for path in cards]
            report["models"].setdefault(task, {})[name] = {
                "seeds": {str(e["seed"]): e for e in entries},
                "aggregate": aggregate(entries),
            }
            first = json.loads(cards[0].read_text())["trained_on"]
            if unseen:
                info = load_cohort(cohort).attrs.get("cohort", {})
                report["cohorts"][task] = {
                    "description": f"new synthetic cohort, seed {info.get('seed')}",
                    "synthetic": True,
                    "cohort_seed": info.get("seed"),
                    "n_subjects": info.get("n_subjects"),
                    "trained_on_cohort_seed": first.get("cohort_seed"),
                }
                continue
            report["cohorts"][task] = {
                k: first.get(k)
                for k in (
                    "description",
                    "synthetic",
                    "cohort_seed",
                    "n_subjects",
                    "split_seed",
                    "n_train",
                    "n_val",
                    "n_test",
                )
            }
    if not report["models"]:
        raise WeightsError(
            f"no trained checkpoints in {weights_dir} for the cohorts' tasks "
            f"({', '.join(by_task)}); accepted: a folder written by hyperfusion.train"
        )
    report["acceptance"] = (
        ranking(report["models"]) if unseen else acceptance(report["models"])
    )
    return report


def _fmt(stat: dict[str, Any] | None, digits: int = 3) -> str:
    if not stat or stat.get("mean") is None:
        return "–"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def results_markdown(report: dict[str, Any]) -> str:
    """``docs/RESULTS.md``: the metric tables and acceptance checks."""
    lines = [
        "# Results (SYNTHETIC data)",
        "",
        "Generated by `python -m hyperfusion.evaluate`; do not edit by hand.",
        "",
        f"> {report['label']}",
        "",
    ]
    for task, info in report["cohorts"].items():
        if report.get("unseen"):
            lines.append(
                f"- **{task}**: every subject ({info['n_subjects']}) of a synthetic "
                f"cohort generated with seed {info['cohort_seed']}, never seen in "
                f"training or model selection (trained on seed "
                f"{info['trained_on_cohort_seed']})."
            )
            continue
        lines.append(
            f"- **{task}**: {info['description']}; measured on the held-out test "
            f"split ({info['n_test']} subjects; split seed {info['split_seed']}, "
            f"train {info['n_train']} / val {info['n_val']}) of cohort seed "
            f"{info['cohort_seed']}."
        )
    lines.append("")
    tables = (
        ("ad", "CN / MCI / AD classification", AD_COLUMNS),
        ("brain-age", "Brain age", BRAIN_AGE_COLUMNS),
    )
    for task, title, columns in tables:
        models = report["models"].get(task)
        if not models:
            continue
        part = "whole new cohort" if report.get("unseen") else "test split"
        lines += [f"## {title}", "", f"Mean ± sd over training seeds ({part}).", ""]
        header = [
            "Model",
            "Seeds",
            *(label for _, label in columns),
            "Epochs",
            "Train time (min)",
        ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, entry in models.items():
            agg = entry["aggregate"]
            digits = 2 if task == "brain-age" else 3
            cells = [name, str(len(entry["seeds"]))]
            cells += [_fmt(agg.get(key), digits) for key, _ in columns]
            train = agg.get("training", {})
            minutes = train.get("time_s", {})
            if minutes.get("mean") is not None:
                minutes = {k: v / 60 for k, v in minutes.items() if k != "n"}
            cells += [_fmt(train.get("epochs_run"), 1), _fmt(minutes, 1)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    loc = report["models"].get("ad", {}).get("hyperfusion", {}).get("aggregate", {})
    if "localisation" in loc:
        g = report["gradcam"]
        layers = {
            f"Grad-CAM | `{loc.get('gradcam_layer')}` (the app's)": loc["localisation"]
        }
        for layer, stat in loc.get("localisation_extra", {}).items():
            layers[f"Grad-CAM | `{layer}` (comparison)"] = stat
        for layer, stat in loc.get("localisation_hirescam", {}).items():
            role = "the app's" if layer == loc.get("hirescam_layer") else "comparison"
            if stat:
                layers[f"HiResCAM | `{layer}` ({role})"] = stat
        lines += [
            "## Grad-CAM localisation (HyperFusion-AD)",
            "",
            f"Maps for {g['target']} of the {g['subjects']}, upsampled "
            "trilinearly to the hemisphere crop, ReLU; both hemispheres. Grad-CAM "
            "weighs channels by the gradient averaged over space; HiResCAM multiplies "
            "gradient and activation per voxel (Draelos & Carin 2020). Region: "
            f"{g['region']}, resampled to the crop. Mean ± sd over seeds of the "
            "per-subject means.",
            "",
            "| Method | Layer | Mass inside | Chance (crop) | Ratio | Chance (brain) "
            "| Ratio (brain) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, stat in layers.items():
            lines.append(
                f"| {label} | {_fmt(stat['mass_inside'])} | {_fmt(stat['chance'])} | "
                f"{_fmt(stat['ratio'], 2)} | {_fmt(stat['chance_brain'])} | "
                f"{_fmt(stat['ratio_brain'], 2)} |"
            )
        lines.append("")
    if report.get("acceptance"):
        lines += [
            "## Acceptance targets",
            "",
            "| Target | Value | Passed |",
            "|---|---|---|",
        ]
        for check in report["acceptance"]:
            mark = "yes" if check["passed"] else "**no**"
            lines.append(
                f"| {check['target']} | {check['value']} {check['unit']} | {mark} |"
            )
        lines.append("")
    return "\n".join(lines)


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = _OneLineParser(
        prog="python -m hyperfusion.evaluate",
        description="Recompute the shipped checkpoints' test metrics.",
    )
    p.add_argument(
        "--cohort",
        type=Path,
        action="append",
        required=True,
        help="cohort folder (repeat for the AD and brain-age cohorts)",
    )
    p.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--out", type=Path, help="default: WEIGHTS/metrics.json")
    p.add_argument(
        "--results",
        type=Path,
        help="markdown tables (default: "
        "docs/RESULTS.md for the shipped weights, else next to --out)",
    )
    p.add_argument("--cache-dir", type=Path, default=Path("runs") / "cache")
    p.add_argument("--no-gradcam", action="store_true")
    p.add_argument(
        "--unseen",
        action="store_true",
        help="the cohorts were generated with new seeds: test on every subject and "
        "check the ranking (default out: WEIGHTS/metrics-unseen.json)",
    )
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    torch.set_num_threads(TrainConfig().num_threads)
    stem = "metrics-unseen" if args.unseen else "metrics"
    out = args.out or args.weights / f"{stem}.json"
    results = args.results
    if results is None:
        same = args.weights.resolve() == WEIGHTS_DIR.resolve()
        name = "RESULTS-unseen.md" if args.unseen else "RESULTS.md"
        results = RESULTS_FILE.with_name(name) if same else out.with_name(name)
    try:
        report = evaluate(
            args.weights,
            args.cohort,
            args.cache_dir,
            gradcam=not args.no_gradcam,
            progress=not args.quiet,
            unseen=args.unseen,
        )
    except HyperFusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(results_markdown(report))
    for task, models in report["models"].items():
        for name, entry in models.items():
            bad = [s for s, e in entry["seeds"].items() if e["reproduced"] is False]
            if bad:
                print(
                    f"WARNING: {task}/{name} seeds {', '.join(bad)}: test metrics "
                    "differ from the card",
                    file=sys.stderr,
                )
    for check in report["acceptance"]:
        status = "PASS" if check["passed"] else "FAIL"
        print(f"{status} {check['target']}: {check['value']} {check['unit']}")
    print(f"wrote {out} and {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
