"""The map methods' measured quality as rows (the Explain page's table) and as
Markdown (``docs/RESULTS.md``), read from ``metrics.json``'s ``explanations``.

Rows come in the order a user should meet them: the default method first, the other
faithful methods, then the documented failures.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from hyperfusion.evaluate.explanation_records import (
    QUALITY_KEYS,
    QUALITY_LABELS,
    Explanations,
    QualityStats,
)
from hyperfusion.evaluate.records import Stat
from hyperfusion.explain.methods import METHOD_NAMES, METHODS

DIGITS = {"mass_ratio": 2, "pointing_game": 2, "randomisation_corr": 2}


def method_order(block: Explanations | None) -> list[str]:
    """Every method: the default first, then the faithful ones, then the failures
    (registry order within each)."""
    default = None if block is None else block.default_method
    rest = [m for m in METHOD_NAMES if m != default]
    faithful = [m for m in rest if METHODS[m].faithful]
    return (
        ([default] if default else [])
        + faithful
        + [m for m in rest if not METHODS[m].faithful]
    )


def quality_table(block: Explanations | None) -> pd.DataFrame:
    """One row per method: ``method``, ``label``, ``role`` (default / faithful /
    documented failure), ``layer``, each quality key's mean and ``<key>_sd``, and
    ``latency_ms`` (NaN where not measured)."""
    rows = []
    for name in method_order(block):
        found = None if block is None else block.methods.get(name)
        spec = METHODS[name]
        role = "faithful" if spec.faithful else "documented failure"
        if block is not None and name == block.default_method:
            role = "default"
        row: dict[str, Any] = {
            "method": name,
            "label": spec.label,
            "role": role,
            "layer": None if found is None else found.layer,
        }
        for key in QUALITY_KEYS:
            stat = None if found is None else getattr(found.stats, key)
            row[key] = _value(stat, "mean")
            row[f"{key}_sd"] = _value(stat, "sd")
        row["latency_ms"] = _value(found, "latency_ms")
        rows.append(row)
    return pd.DataFrame(rows)


def _value(obj: Any, attr: str) -> float:
    value = None if obj is None else getattr(obj, attr)
    return float("nan") if value is None else float(value)


def _cell(stat: Stat, key: str) -> str:
    if stat.mean is None:
        return "–"
    digits = DIGITS.get(key, 3)
    return f"{stat.mean:.{digits}f} ± {stat.sd:.{digits}f}"


def _row(label: str, layer: str, stats: QualityStats, extra: list[str]) -> str:
    cells = [label, f"`{layer}`"] + [_cell(getattr(stats, k), k) for k in QUALITY_KEYS]
    return "| " + " | ".join(cells + extra) + " |"


def explanation_markdown(block: Explanations | None) -> list[str]:
    """The methods' table (test figures) and, when chosen, the validation
    candidates with the rule (empty without a block)."""
    if block is None:
        return []
    header = ["Method", "Layer", *(QUALITY_LABELS[k] for k in QUALITY_KEYS)]
    p = block.protocol
    lines = [
        "## Explanations: how far each map can be trusted (HyperFusion-AD)",
        "",
        f"{p.get('subjects', '')}; target: {p.get('target', '')}. Mean ± sd over "
        f"seeds. Mass ratio: {p.get('mass_ratio', '')}. Pointing game: "
        f"{p.get('pointing_game', '')}. Deletion: {p.get('deletion', '')} (lower "
        f"is better). Randomisation: {p.get('randomisation', '')} (near 0 passes "
        f"the sanity check). Latency: {p.get('latency', '')}. Baseline: "
        f"{p.get('baseline', '')}. {p.get('settings', '')}.",
        "",
        "| " + " | ".join([*header, "Latency (ms)", "Role"]) + " |",
        "|" + "---|" * (len(header) + 2),
    ]
    table = quality_table(block).set_index("method")
    for name in method_order(block):
        found = block.methods.get(name)
        if found is not None:
            latency = "–" if found.latency_ms is None else f"{found.latency_ms:.0f}"
            role = str(table.loc[name, "role"])
            lines.append(
                _row(METHODS[name].label, found.layer, found.stats, [latency, role])
            )
    lines.append("")
    if block.selection is not None:
        lines += _selection_markdown(block, header)
    return lines


def _selection_markdown(block: Explanations, header: list[str]) -> list[str]:
    s = block.selection
    lines = [
        f"Chosen on the {s.split} split ({s.subjects} MCI and AD subjects per "
        f"seed): **{block.default_method}** by the rule: {s.rule}. Best candidate "
        f"overall: {s.best_overall}.",
        "",
        "| " + " | ".join([*header, "Eligible"]) + " |",
        "|" + "---|" * (len(header) + 1),
    ]
    for method in [m for m in method_order(block) if m in s.candidates]:
        for layer, stats in sorted(s.candidates[method].items()):
            ok = "yes" if f"{method}@{layer}" in s.eligible else "no"
            lines.append(_row(METHODS[method].label, layer, stats, [ok]))
    lines.append("")
    return lines


__all__ = ["explanation_markdown", "method_order", "quality_table"]
