"""The model card's descriptive parts: the cohort, the class proportions, the
training settings recorded in the checkpoint cards, the preprocessing contract for
uploads, and the card's fixed texts (data, intended use and limits)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hyperfusion.config import MRI_LIMITS, Grid
from hyperfusion.data import qc
from hyperfusion.data.contract import IMAGE_CONTRACT
from hyperfusion.evaluate.schema import Metrics
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.models.registry import model_label
from hyperfusion.synth.config import AD_FRAME, BRAIN_AGE_FRAME, POPULATION
from hyperfusion.tasks import AD, TASKS

COHORTS_DIR = WEIGHTS_DIR.parent / "cohorts"
_HIDDEN_KEYS = ("sha256", "path")  # card / cohort items too long or private to show


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


# Cohort keys as training and evaluation record them (flattened, ``_`` as spaces),
# in words and in the order shown.
COHORT_ITEMS: dict[str, str] = {
    "description": "Cohort",
    "synthetic": "Synthetic data",
    "n subjects": "Subjects",
    "n train": "Training subjects",
    "n val": "Validation subjects",
    "n test": "Test subjects",
    "cohort seed": "Generator seed",
    "split seed": "Split seed",
    "cohort": "Cohort folder",
}
_COHORT = COHORT_ITEMS["description"]
_YES_NO = {"True": "yes", "False": "no"}


def _cohort_rows(info: object) -> dict[str, str]:
    """One recorded cohort as ``{item in words: value}``: known keys by
    :data:`COHORT_ITEMS`, others capitalised (``"Splits / train / CN"``); hashes and
    paths left out, booleans as yes / no."""
    if isinstance(info, str):
        return {_COHORT: info}
    if not isinstance(info, Mapping):
        return {}
    rows: dict[str, str] = {}
    for key, value in _shown(_scalar_items(info)):
        words = COHORT_ITEMS.get(key) or key[:1].upper() + key[1:]
        rows.setdefault(words, _YES_NO.get(value, value))
    return rows


def _task_title(name: str) -> str:
    task = TASKS.get(name)
    return task.title if task else name


def cohort_table(
    metrics: Metrics | None, cards: Sequence[Mapping[str, Any]] = ()
) -> pd.DataFrame:
    """What the shipped models were trained on, in words: an ``item`` column
    (``"Training subjects"``...) and one column per task with a recorded cohort
    (the task's title; ``"—"`` where a task lacks an item).

    Sources, first wins per item: ``metrics.json``'s ``cohorts``, then the
    ``trained_on`` of the first *trained* card per task. Untrained placeholders
    record no cohort, so the table is empty (no rows) until a model has been
    trained.
    """
    per_task: dict[str, dict[str, str]] = {}

    def add(task: str, info: object) -> None:
        found = per_task.setdefault(task, {})
        for item, value in _cohort_rows(info).items():
            if item == _COHORT or value != found.get(_COHORT):  # no repeated text
                found.setdefault(item, value)

    for task, cohort in ({} if metrics is None else metrics.cohorts).items():
        add(task, cohort.to_json())
    seen: set[str] = set()
    for card in cards:
        task = str(card.get("task", ""))
        if task in seen or not card.get("trained"):
            continue
        seen.add(task)
        add(task, card.get("trained_on"))
    per_task = {t: rows for t, rows in per_task.items() if rows}
    known = list(COHORT_ITEMS.values())
    items = list(dict.fromkeys(i for rows in per_task.values() for i in rows))
    items = [i for i in known if i in items] + [i for i in items if i not in known]
    table = {"item": items}
    for task, rows in per_task.items():
        table[_task_title(task)] = [rows.get(i, "—") for i in items]
    return pd.DataFrame(table)


def cohort_note(metrics: Metrics | None) -> str | None:
    """The note ``metrics.json`` carries about its data (its ``label``), if any."""
    return None if metrics is None else metrics.label


def untrained_notice(untrained: Sequence[tuple[str, str]], n_models: int) -> str | None:
    """The warning while models run on untrained placeholder weights.

    Args:
        untrained: ``(task, name)`` of the untrained models among those shown.
        n_models: how many models are shown.

    Returns:
        ``None`` when every model is trained; one text when none is; otherwise the
        untrained models by name, grouped by task.

    >>> untrained_notice([], 2) is None
    True
    >>> untrained_notice([("brain-age", "hyperfusion")], 2)
    'Some models still run on untrained placeholder weights, so their predictions \
are meaningless: Brain age: HyperFusion.'
    """
    if not untrained:
        return None
    if len(untrained) >= n_models:
        return (
            "UNTRAINED weights: no trained checkpoints yet, so the models here run "
            "on untrained placeholder weights and every prediction is meaningless."
        )
    groups: dict[str, list[str]] = {}
    for task, name in untrained:
        groups.setdefault(task, []).append(model_label(task, name))
    listed = "; ".join(
        f"{_task_title(task)}: {', '.join(names)}" for task, names in groups.items()
    )
    return (
        "Some models still run on untrained placeholder weights, so their "
        f"predictions are meaningless: {listed}."
    )


def class_counts(
    cards: Sequence[Mapping[str, Any]], cohorts_dir: Path | None = None
) -> dict[str, float] | None:
    """Subjects per class in the cohort a classification model was trained on:
    the ``DX`` column of the cohort its card names, when that is on disk
    (``cohorts_dir``, default ``cohorts/``); None otherwise."""
    root = COHORTS_DIR if cohorts_dir is None else Path(cohorts_dir)
    for card in cards:
        task = TASKS.get(str(card.get("task")))
        trained_on = card.get("trained_on")
        name = trained_on.get("cohort") if isinstance(trained_on, Mapping) else None
        if task is None or not task.classes or not isinstance(name, str):
            continue
        csv = root / Path(name).name / "ehr.csv"
        if csv.is_file():
            try:
                dx = pd.read_csv(csv, usecols=["DX"])["DX"].value_counts()
            except (OSError, ValueError):
                return None
            return {c: float(dx.get(c, 0)) for c in task.classes}
    return None


def design_class_fractions() -> dict[str, float]:
    """The synthetic generator's target CN / MCI / AD fractions.

    >>> design_class_fractions()
    {'CN': 0.35, 'MCI': 0.48, 'AD': 0.17}
    """
    return dict(zip(AD.classes, POPULATION.dx_fractions, strict=True))


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
    """A card's training record, flattened (``train_config / lr`` -> ``lr``)."""
    training = card.get("training")
    if not isinstance(training, Mapping):
        return {}
    return {k.split(" / ")[-1]: v for k, v in _scalar_items(training)}


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


# Preprocessing contract ------------------------------------------------------------

CONTRACT_NOTE = f"both tasks' models read one image contract: {IMAGE_CONTRACT.sentence}"


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
            f"One image contract for both tasks: {IMAGE_CONTRACT.sentence}. The "
            "training cohorts and the examples are rendered under it; any other "
            "scan (a DICOM series, a raw T1 with skull in scanner space) is brought "
            "into it by the preprocessing pipeline (brain extraction, affine "
            "registration, bias correction where needed) before a model reads it.",
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


NOT_A_MEDICAL_DEVICE = (
    "#### :red[:material/block: Not a medical device]\n"
    "HyperFusion Studio is a research and teaching tool. Its models were trained on "
    "synthetic data only and must never be used to diagnose, screen or treat anyone."
)
DATA_DESCRIPTION = (
    "The shipped weights were trained on **synthetic** cohorts (no real patient "
    "data: ADNI and UK Biobank forbid redistribution), generated by "
    "`python -m hyperfusion.synth` from one population with a known causal model on "
    "nilearn's MNI152 templates. Age, sex, education and APOE4 drive amyloid; amyloid "
    "drives tau; an independent non-amyloid process adds neurodegeneration N; "
    "cognition C = N·(b + c·amyloid) − reserve(education) + noise sets CN / MCI / AD. "
    "The EHR is measured from these latent variables in ADNIMERGE units with "
    f"ADNI-like missingness in the AD cohort (CSF {AD_FRAME.p_missing_csf:.0%}, "
    f"amyloid PET {AD_FRAME.p_missing_av45:.0%}, FDG {AD_FRAME.p_missing_fdg:.0%}, "
    f"APOE4 {AD_FRAME.p_missing_apoe4:.0%}); the image shows sex-dependent ageing and, "
    "on top of it, N as medial-temporal atrophy and ventricle enlargement, which "
    "ageing mimics. So neither modality alone suffices, by construction. Both "
    f"cohorts come from the same population: the AD cohort is its members aged "
    f"{AD_FRAME.age_min:.0f}–{AD_FRAME.age_max:.0f}, the brain-age cohort its "
    f"healthy members aged {BRAIN_AGE_FRAME.age_min:.0f}–"
    f"{BRAIN_AGE_FRAME.age_max:.0f}, and every image follows one contract "
    f"({IMAGE_CONTRACT.sentence}): head sizes are equalised, as the registration "
    "does, so that the image does not reveal sex."
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
    "understates the true uncertainty; Grad-CAM maps put about chance of their mass "
    "in the true disease region although the model relies on it: the default map "
    "is the method that measured best on the validation split, and every map shows "
    "its measured quality (see the explanation maps table)."
)


__all__ = [
    "COHORTS_DIR",
    "DATA_DESCRIPTION",
    "INTENDED_USE",
    "NOT_A_MEDICAL_DEVICE",
    "COHORT_ITEMS",
    "RELIABILITY_HELP",
    "TRAINING_COLUMNS",
    "class_counts",
    "cohort_note",
    "cohort_table",
    "CONTRACT_NOTE",
    "contract_markdown",
    "design_class_fractions",
    "ensemble_cards",
    "preprocessing_contract",
    "training_table",
    "untrained_notice",
]
