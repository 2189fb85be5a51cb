"""``docs/RESULTS.md``: the evaluation's tables and checks in Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from hyperfusion.evaluate.explanation_report import explanation_markdown
from hyperfusion.evaluate.localisation import EXPLAINED, EXTRA_GRADCAM_LAYERS
from hyperfusion.evaluate.schema import Cohort, LocalisationStats, Metrics, Stat
from hyperfusion.metrics import METRIC_LABELS
from hyperfusion.models.registry import MODEL_NAMES
from hyperfusion.tasks import TASKS, Task

RESULTS_FILE = Path(__file__).resolve().parents[2] / "docs" / "RESULTS.md"


def fmt_stat(stat: Stat | None, digits: int = 3, per: float = 1.0) -> str:
    """``"0.781 ± 0.011"``; both divided by ``per`` (60: seconds as minutes)."""
    if stat is None or stat.mean is None:
        return "–"
    return f"{stat.mean / per:.{digits}f} ± {stat.sd / per:.{digits}f}"


def in_order(names: Iterable[str], order: Sequence[str]) -> list[str]:
    """``names`` in the order of ``order``, others after them (so the tables are
    the same whether the report was just measured or read back from the file)."""
    names = list(names)
    return [n for n in order if n in names] + [n for n in names if n not in order]


def table_title(task: Task) -> str:
    """``"CN / MCI / AD classification"`` for a classification, else its title."""
    return f"{' / '.join(task.classes)} classification" if task.classes else task.title


def _cohort_line(name: str, info: Cohort, unseen: bool) -> str:
    if unseen:
        return (
            f"- **{name}**: every subject ({info.n_subjects}) of a synthetic "
            f"cohort generated with seed {info.cohort_seed}, never seen in "
            f"training or model selection (trained on seed "
            f"{info.trained_on_cohort_seed})."
        )
    return (
        f"- **{name}**: {info.description}; measured on the held-out test "
        f"split ({info.n_test} subjects; split seed {info.split_seed}, "
        f"train {info.n_train} / val {info.n_val}) of cohort seed "
        f"{info.cohort_seed}."
    )


def _model_tables(report: Metrics) -> list[str]:
    """One table per task: the reported metrics, epochs and training time."""
    lines: list[str] = []
    part = "whole new cohort" if report.unseen else "test split"
    for task in TASKS.values():
        models = report.task_models(task.name)
        if not models:
            continue
        lines += [
            f"## {table_title(task)}",
            "",
            f"Mean ± sd over training seeds ({part}).",
            "",
        ]
        labels = [METRIC_LABELS[m] for m in task.reported_metrics]
        header = ["Model", "Seeds", *labels, "Epochs", "Train time (min)"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in in_order(models, MODEL_NAMES[task.name]):
            entry = models[name]
            agg, digits = entry.aggregate, task.selection_digits
            cells = [name, str(len(entry.seeds))]
            stats = [agg.metrics.get(m) for m in task.reported_metrics]
            cells += [fmt_stat(stat, digits) for stat in stats]
            train = agg.training
            cells += [fmt_stat(train.epochs_run, 1), fmt_stat(train.time_s, 1, 60)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _localisation_table(report: Metrics) -> list[str]:
    """The localisation of every layer measured, if any."""
    task, name = EXPLAINED
    result = report.task_models(task).get(name)
    cams = None if result is None else result.aggregate.cams
    if cams is None:
        return []
    layers: dict[str, LocalisationStats] = {
        f"Grad-CAM | `{cams.gradcam_layer}` (the app's)": cams.localisation
    }
    extra, hires = cams.localisation_extra, cams.localisation_hirescam
    for layer in in_order(extra, EXTRA_GRADCAM_LAYERS):
        if stat := extra[layer]:
            layers[f"Grad-CAM | `{layer}` (comparison)"] = stat
    for layer in in_order(hires, (cams.hirescam_layer, cams.gradcam_layer)):
        role = "the app's" if layer == cams.hirescam_layer else "comparison"
        if stat := hires[layer]:
            layers[f"HiResCAM | `{layer}` ({role})"] = stat
    g = report.gradcam
    lines = [
        "## Grad-CAM localisation (HyperFusion-AD)",
        "",
        f"Maps for {g.target} of the {g.subjects}, upsampled "
        "trilinearly to the hemisphere crop, ReLU; both hemispheres. Grad-CAM "
        "weighs channels by the gradient averaged over space; HiResCAM multiplies "
        "gradient and activation per voxel (Draelos & Carin 2020). Region: "
        f"{g.region}, resampled to the crop. Mean ± sd over seeds of the "
        "per-subject means.",
        "",
        "| Method | Layer | Mass inside | Chance (crop) | Ratio | Chance (brain) "
        "| Ratio (brain) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, stat in layers.items():
        lines.append(
            f"| {label} | {fmt_stat(stat.mass_inside)} | {fmt_stat(stat.chance)} | "
            f"{fmt_stat(stat.ratio, 2)} | {fmt_stat(stat.chance_brain)} | "
            f"{fmt_stat(stat.ratio_brain, 2)} |"
        )
    lines.append("")
    return lines


def results_markdown(report: Metrics) -> str:
    """``docs/RESULTS.md``: the metric tables and acceptance checks."""
    lines = [
        "# Results (SYNTHETIC data)",
        "",
        "Generated by `python -m hyperfusion.evaluate`; do not edit by hand.",
        "",
        f"> {report.label}",
        "",
    ]
    for name in in_order(report.cohorts, tuple(TASKS)):
        lines.append(_cohort_line(name, report.cohorts[name], report.unseen))
    lines.append("")
    lines += _model_tables(report)
    lines += _localisation_table(report)
    lines += explanation_markdown(report.explanations)
    if report.acceptance:
        lines += [
            "## Acceptance targets",
            "",
            "| Target | Value | Passed |",
            "|---|---|---|",
        ]
        for check in report.acceptance:
            mark = "yes" if check.passed else "**no**"
            lines.append(f"| {check.target} | {check.value} {check.unit} | {mark} |")
        lines.append("")
    return "\n".join(lines)


__all__ = ["RESULTS_FILE", "fmt_stat", "in_order", "results_markdown", "table_title"]
