"""``README.md``'s measured part ("Models and metrics"), written from
``weights/metrics.json`` and ``weights/metrics-unseen.json``.

The README carries the block between the lines :data:`BEGIN` and :data:`END`;
:func:`update_readme` rewrites only what lies between them, and
``python -m hyperfusion evaluate`` calls :func:`regenerate_readme` whenever it writes
the shipped metrics, so a retrain regenerates every figure instead of leaving
hand-edited ones behind. A block the file does not hold (explanations, transfer, the
unseen cohorts) is left out, not filled in.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path

from hyperfusion.evaluate.explanation_records import Explanations, MethodQuality
from hyperfusion.evaluate.markers import BEGIN, END, MEASURED, block_of, replace_block
from hyperfusion.evaluate.report import fmt_stat, in_order, table_title
from hyperfusion.evaluate.schema import Metrics, ModelResult, read_metrics
from hyperfusion.evaluate.summary import FUSED, ranking, single_modalities
from hyperfusion.evaluate.transfer_records import Transfer
from hyperfusion.explain.methods import METHODS
from hyperfusion.metrics import METRIC_LABELS
from hyperfusion.models.checkpoint import WEIGHTS_DIR
from hyperfusion.models.registry import MODEL_NAMES, model_label
from hyperfusion.tasks import AD, BRAIN_AGE, TASKS, Task

README_FILE = Path(__file__).resolve().parents[2] / "README.md"
HELD_OUT_FILE = WEIGHTS_DIR / "metrics.json"
UNSEEN_FILE = WEIGHTS_DIR / "metrics-unseen.json"
# The README's columns per task: (metric, shown with its sd); other tasks show
# their reported metrics.
COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    AD.name: (("balanced_accuracy", True), ("macro_auc", True)),
    BRAIN_AGE.name: (("mae", True), ("r2", False)),
}
# The methods quoted after the default one (names of ``METHODS``).
QUOTED_METHODS = ("ig", "occlusion", "gradcam")
WIDTH = 88  # the README's prose is wrapped at this width
# A line that Markdown would read as a new block (list item, heading, quote).
_BLOCK_START = re.compile(r"^\s*([-+*#>]|\d+[.)])(\s|$)")


def _wrap(line: str) -> list[str]:
    """A paragraph or list item as lines of at most :data:`WIDTH` characters,
    never starting a line that Markdown would read as a new block; a table row
    as it is.

    >>> _wrap("- pass: " + "word " * 20)[1]
    '  word word word word'
    """
    if line.startswith("|") or len(line) <= WIDTH:
        return [line]
    indent = "  " if line.startswith("- ") else ""
    lines = textwrap.wrap(
        line,
        WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if any(_BLOCK_START.match(rest) for rest in lines[1:]):
        return [line]
    return lines


def _num(value: float, digits: int, sign: bool = False) -> str:
    """``value`` to ``digits`` decimals, a true minus sign, never ``-0.0``.

    >>> _num(-0.004, 2), _num(-1.25, 1), _num(10.32, 1, sign=True)
    ('0.00', '−1.2', '+10.3')
    """
    text = f"{value:{'+' if sign else ''}.{digits}f}"
    if float(text) == 0.0:
        text = f"{0.0:.{digits}f}"
    return text.replace("-", "−")


def _and(parts: Sequence[str]) -> str:
    """``"a, b and c"``."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _seeds(models: Iterable[ModelResult | MethodQuality]) -> str:
    """``"3 seeds"`` (``"2–3 seeds"`` when the models differ)."""
    counts = sorted({len(r.seeds) for r in models})
    span = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"{span} seed{'' if counts[-1] == 1 else 's'}"


def _intro(m: Metrics) -> list[str]:
    """What was measured on which data, and how it is checked."""
    synthetic = "SYNTHETIC " if all(c.synthetic for c in m.cohorts.values()) else ""
    cohorts = "; ".join(
        f"{TASKS[name].short_title}: cohort seed {m.cohorts[name].cohort_seed}, "
        f"{m.cohorts[name].n_test} test subjects"
        for name in in_order(m.cohorts, tuple(TASKS))
    )
    seeds = [s for t in m.models.values() for r in t.values() for s in r.seeds.values()]
    differ = sum(s.reproduced is False for s in seeds)
    if differ:
        check = (
            f"{differ} of {len(seeds)} checkpoints' recomputed test metrics differ "
            "from their cards"
        )
    else:
        check = "Rerunning the command reproduces `weights/metrics.json` exactly"
    refs = {len(s.reference_outputs.ptids) for s in seeds if s.reference_outputs}
    if len(refs) == 1:
        check += (
            f", and `tests/test_shipped_weights.py` regenerates {refs.pop()} test "
            "subjects per task and checks the shipped checkpoints' outputs against it"
        )
    return [
        "`weights/` ships safetensors checkpoints (float16) with a JSON card each "
        "(network configuration, EHR preprocessing fitted on the training split, "
        "training data, metrics, sha256). All numbers below were measured by "
        "`python -m hyperfusion evaluate` on the **held-out test split of the "
        f"{synthetic}cohort** ({cohorts}). {check}. The full tables are in "
        "[docs/RESULTS.md](docs/RESULTS.md).",
        "",
        f"> {m.label}",
        "",
    ]


def _table(m: Metrics, task: Task) -> list[str]:
    """One task's models, one row each (empty when none was evaluated)."""
    models = m.task_models(task.name)
    if not models:
        return []
    default = tuple((key, True) for key in task.reported_metrics)
    columns = COLUMNS.get(task.name, default)
    title = f"{table_title(task)} (mean ± sd over {_seeds(models.values())})"
    head = [title, *(METRIC_LABELS[key] for key, _ in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    digits = task.selection_digits
    for name in in_order(models, MODEL_NAMES[task.name]):
        stats = models[name].aggregate.metrics
        cells = [model_label(task.name, name)]
        for key, with_sd in columns:
            stat = stats.get(key)
            plain = not with_sd and stat is not None and stat.mean is not None
            cells.append(_num(stat.mean, digits) if plain else fmt_stat(stat, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _mean(m: Metrics, task: Task, name: str) -> float | None:
    result = m.task_models(task.name).get(name)
    stat = (
        None if result is None else result.aggregate.metrics.get(task.selection_metric)
    )
    return None if stat is None else stat.mean


def _versus(m: Metrics, task: Task, names: Sequence[str]) -> str | None:
    """``"diagnosis balanced accuracy is 0.781 vs 0.678 for Image only (+10.3
    points)"``: HyperFusion's selection metric against ``names``' (None when
    neither side was evaluated)."""
    fused = _mean(m, task, FUSED)
    digits = task.selection_digits
    # A difference has as many decimals as the metric, less those the scale eats.
    margin_digits = max(digits - round(math.log10(task.improvement_scale)), 0)
    parts = []
    for name in names:
        base = _mean(m, task, name)
        if fused is None or base is None:
            continue
        better = (fused - base) if task.higher_is_better else (base - fused)
        margin = _num(better * task.improvement_scale, margin_digits, sign=True)
        parts.append(
            f"{_num(base, digits)} for {model_label(task.name, name)} "
            f"({margin} {task.improvement_unit})"
        )
    if not parts:
        return None
    return (
        f"{task.short_title.lower()} {task.selection_label} is "
        f"{_num(fused, digits)}{task.selection_unit} vs {_and(parts)}"
    )


def _fusion_others(m: Metrics, task: Task) -> list[str]:
    """The task's evaluated models other than HyperFusion and the single
    modalities, in registry order."""
    single = single_modalities(task)
    names = in_order(m.task_models(task.name), MODEL_NAMES[task.name])
    return [n for n in names if n != FUSED and n not in single]


def _margins(m: Metrics) -> list[str]:
    """HyperFusion against the single modalities, then the other fusions."""
    tasks = list(TASKS.values())
    single = [v for t in tasks if (v := _versus(m, t, single_modalities(t)))]
    others = [v for t in tasks if (v := _versus(m, t, _fusion_others(m, t)))]
    text = []
    if single:
        text.append(f"On this cohort HyperFusion's {'; its '.join(single)}.")
    if others:
        text.append(
            f"Against the other fusion strategies, its {'; its '.join(others)}."
        )
    return [" ".join(text), ""] if text else []


def _unseen(m: Metrics | None) -> list[str]:
    """The ranking on cohorts generated with new seeds (empty without them)."""
    if m is None:
        return []
    found = [v for t in TASKS.values() if (v := _versus(m, t, single_modalities(t)))]
    if not found:
        return []
    cohorts = "; ".join(
        f"{TASKS[name].short_title} seed {m.cohorts[name].cohort_seed}, "
        f"{m.cohorts[name].n_subjects} subjects, trained on seed "
        f"{m.cohorts[name].trained_on_cohort_seed}"
        for name in in_order(m.cohorts, tuple(TASKS))
    )
    checks = ranking(m.models)
    holds = bool(checks) and all(c.passed for c in checks)
    return [
        f"On cohorts generated with seeds never used before ({cohorts}; every "
        "subject a test subject, `evaluate --unseen`, "
        "[docs/RESULTS-unseen.md](docs/RESULTS-unseen.md)) the ranking "
        f"{'holds' if holds else 'does not hold'}: HyperFusion's "
        f"{'; its '.join(found)}.",
        "",
    ]


def _quality(found: MethodQuality) -> str:
    """``"3.9× chance, pointing game 0.95, deletion AUC 0.08 (random order
    0.53)"``: a method's figures, means over seeds."""
    s = found.stats
    parts = []
    if s.mass_ratio.mean is not None:
        parts.append(f"{_num(s.mass_ratio.mean, 1)}× chance")
    if s.pointing_game.mean is not None:
        parts.append(f"pointing game {_num(s.pointing_game.mean, 2)}")
    deletion, random = s.deletion_auc.mean, s.random_deletion_auc.mean
    if deletion is not None and random is not None:
        verdict = ", no better than random" if deletion >= random else ""
        parts.append(
            f"deletion AUC {_num(deletion, 2)} (random order {_num(random, 2)}"
            f"{verdict})"
        )
    return ", ".join(parts)


def _default_method(block: Explanations, name: str) -> str:
    """The default method's sentence: where it points, how it passes the checks."""
    found, spec = block.methods[name], METHODS[name]
    s = found.stats
    chosen = (
        f"the best on the {block.selection.split} split by its stated rule"
        if block.selection is not None
        else "the app's default"
    )
    figures = [f"{spec.label} at `{found.layer}`"]
    if s.mass_ratio.mean is not None:
        figures.append(f"{_num(s.mass_ratio.mean, 1)}× chance in the region")
    if s.pointing_game.mean is not None:
        share = _num(100 * s.pointing_game.mean, 0)
        figures.append(
            f"the map's peak within one voxel of it for {share} % of subjects"
        )
    deletion, random = s.deletion_auc.mean, s.random_deletion_auc.mean
    if deletion is not None and random is not None:
        figures.append(
            f"deletion AUC {_num(deletion, 2)} vs {_num(random, 2)} for a random order"
        )
    if s.randomisation_corr.mean is not None:
        figures.append(
            f"rank correlation {_num(s.randomisation_corr.mean, 2)} with the map of "
            f"a network re-initialised after `{found.layer}`"
        )
    sanity = s.randomisation_corr.mean is not None
    text = f"the default is {chosen}: **{', '.join(figures)}**"
    text += " (Adebayo et al.'s sanity check)" if sanity else ""
    if found.latency_ms is not None:
        cache = " from the cache" if spec.cached else ""
        text += f", {_num(found.latency_ms, 0)} ms per map{cache}"
    return text


def _explanations(block: Explanations | None) -> list[str]:
    """The map methods' paragraph (empty without the block or its default)."""
    if block is None or block.default_method not in block.methods:
        return []
    name = block.default_method
    seeds = _seeds([block.methods[name]])
    subjects = block.protocol.get("subjects", "the test subjects").split(";")[0]
    text = "Explanations: HyperFusion-AD relies on the medial temporal lobe"
    occlusion, gradcam = block.methods.get("occlusion"), block.methods.get("gradcam")
    if occlusion is not None and occlusion.stats.mass_ratio.mean is not None:
        ratio = _num(occlusion.stats.mass_ratio.mean, 1)
        text += (
            f" (occlusion, which replaces patches with a healthy average, puts "
            f"{ratio}× chance of the output's drop inside the true disease region)"
        )
    if gradcam is not None and gradcam.stats.mass_ratio.mean is not None:
        ratio = _num(gradcam.stats.mass_ratio.mean, 2)
        text += (
            f", yet plain **Grad-CAM puts {ratio}× chance of its mass in the true "
            "disease region**: averaging the gradient over space hides where tissue "
            "counts for or against a class"
        )
    text += (
        f". Every map method is measured by `evaluate` on the {subjects} "
        f"(HyperFusion-AD, {seeds}; [docs/RESULTS.md](docs/RESULTS.md), "
        f'"Explanations"), and {_default_method(block, name)}.'
    )
    others = [
        f"{METHODS[m].label}: {_quality(block.methods[m])}"
        for m in QUOTED_METHODS
        if m != name and m in block.methods
    ]
    if others:
        text += f" {'; '.join(others)}."
    text += (
        " Finer last maps, fewer blocks, max pooling and the paper's resolution did "
        "not make plain Grad-CAM localise. See [docs/EXPERIMENTS.md]"
        "(docs/EXPERIMENTS.md) for that diagnosis, the CUDA checks on an H200 and "
        "the other measured design choices."
    )
    return [text, ""]


def _minus(text: str) -> str:
    return text.replace("-", "−")


def _transfer(t: Transfer | None) -> list[str]:
    """The brain-age model on the AD cohort (empty when not measured)."""
    if t is None:
        return []
    text = (
        "**Brain-age transfer.** The app reads every scan with both tasks' models, "
        f"so the brain-age model ({model_label(BRAIN_AGE.name, t.model)}) must read "
        "the AD cohort's images as it reads its own. On the CN subjects of "
        f"{t.subjects} its MAE is {_minus(fmt_stat(t.cn_mae, 2))} years against "
        f"{_minus(fmt_stat(t.brain_age_test_mae, 2))} on its own test split"
    )
    if (ratio := t.mae_ratio()) is not None:
        text += f", {_num(ratio, 2)}× as large"
    gaps = [
        f"{dx} {_minus(t.gap[dx].text())} (n = {t.gap[dx].n})"
        for dx in in_order(t.gap, AD.classes)
    ]
    if gaps:
        text += (
            ". The brain-age gap (predicted minus true age, of the seeds' mean "
            f"prediction, mean ± sd) is {_and(gaps)}"
        )
    examples = [
        f"{ptid} ({e.dx}, {_num(e.age, 0)} y) {_num(e.gap, 1, sign=True)} y"
        for ptid, e in sorted(t.examples.items())
    ]
    if examples:
        text += f". The bundled examples' gaps: {_and(examples)}"
    return [text + ".", ""]


def _checks(m: Metrics) -> list[str]:
    """The acceptance checks the file records, each passed or failed."""
    if not m.acceptance:
        return []
    lines = ["Acceptance checks (`weights/metrics.json`):", ""]
    for c in m.acceptance:
        mark = "pass" if c.passed else "**FAIL**"
        lines.append(f"- {mark}: {c.target} ({_minus(f'{c.value:g}')} {c.unit})")
    return [*lines, ""]


def _training(m: Metrics) -> list[str]:
    """The training time behind the weights: the sum of every run's own time."""
    runs, seconds = 0, 0.0
    for models in m.models.values():
        for result in models.values():
            stat = result.aggregate.training.time_s
            if stat.mean is not None:
                runs += stat.n
                seconds += stat.mean * stat.n
    if not runs:
        return []
    return [
        f"Training: the {runs} runs behind these weights took "
        f"**{seconds / 60:.0f} minutes** in total (the sum of each run's own "
        "time, as its card records it; see Training below for the machine).",
        "",
    ]


def measured_block(held_out: Metrics, unseen: Metrics | None) -> str:
    """The README's measured part as Markdown: the cohorts, a table per task, the
    margins, the unseen cohorts, the explanations, the brain-age transfer and the
    acceptance checks, every figure read from the files' contents.

    Args:
        held_out: ``weights/metrics.json``.
        unseen: ``weights/metrics-unseen.json`` (None: not evaluated; its
            sentence is left out).
    """
    lines = _intro(held_out)
    for task in TASKS.values():
        lines += _table(held_out, task)
    lines += _margins(held_out)
    lines += _training(held_out)
    lines += _unseen(unseen)
    lines += _explanations(held_out.explanations)
    lines += _transfer(held_out.transfer)
    lines += _checks(held_out)
    wrapped = [part for line in lines for part in _wrap(line)]
    return "\n".join(wrapped).rstrip("\n") + "\n"


def update_readme(path: Path, held_out: Metrics, unseen: Metrics | None) -> bool:
    """Rewrite the measured block of the README at ``path`` (bytes outside the
    markers unchanged); True when it changed.

    Raises:
        MarkerError: the README lacks its marker lines.
    """
    return MEASURED.rewrite(path, measured_block(held_out, unseen))


def regenerate_readme(
    readme: Path = README_FILE,
    held_out: Path = HELD_OUT_FILE,
    unseen: Path = UNSEEN_FILE,
) -> bool:
    """:func:`update_readme` from the metrics files as they are on disk; False
    when unchanged or when ``held_out`` does not exist yet.

    Raises:
        WeightsError: a metrics file does not follow the layout.
        MarkerError: the README lacks its marker lines.
    """
    report = read_metrics(held_out)
    if report is None:
        return False
    return update_readme(readme, report, read_metrics(unseen))


__all__ = [
    "BEGIN",
    "END",
    "HELD_OUT_FILE",
    "README_FILE",
    "UNSEEN_FILE",
    "block_of",
    "measured_block",
    "regenerate_readme",
    "replace_block",
    "update_readme",
]
