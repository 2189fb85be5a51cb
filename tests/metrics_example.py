"""Small ``metrics.json`` contents in the one layout evaluation writes, for the
model card's and the pages' tests (built from the schema, never by hand)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from hyperfusion.evaluate.localisation import cam_protocol
from hyperfusion.evaluate.schema import (
    Aggregate,
    CamSummary,
    Check,
    Cohort,
    LocalisationStats,
    Metrics,
    ModelResult,
    ReliabilityBin,
    Scores,
    SeedResult,
    Stat,
    TrainingStats,
)

NOTHING = Stat(None, None, 0)
LABEL = "SYNTHETIC data: metrics on the held-out synthetic test split."


def cam_summary(gradcam_ratio: float, hirescam_ratio: float) -> CamSummary:
    """HyperFusion-AD's localisation over seeds: these ratios to chance at the
    app's Grad-CAM and HiResCAM layers (every other value 0.1)."""

    def stats(ratio: float) -> LocalisationStats:
        other = Stat(0.1, 0.01, 3)
        return LocalisationStats(other, other, other, Stat(ratio, 0.1, 3), other)

    return CamSummary(
        gradcam_layer="trunk.blocks.2",
        localisation=stats(gradcam_ratio),
        localisation_extra={},
        hirescam_layer="trunk.blocks.1",
        localisation_hirescam={"trunk.blocks.1": stats(hirescam_ratio)},
    )


def model_result(
    stats: Mapping[str, tuple[float, float]],
    n_seeds: int = 3,
    confusion: Sequence[Sequence[int]] | None = None,
    reliability: Sequence[tuple[float, float, int]] = (),
    cams: CamSummary | None = None,
) -> ModelResult:
    """A model with ``n_seeds`` seeds whose aggregate has ``stats`` (metric ->
    (mean, sd)); every seed has ``confusion`` as its test matrix; ``reliability``:
    pooled ``(confidence, accuracy, count)`` bins."""
    matrix = None if confusion is None else tuple(tuple(r) for r in confusion)
    values = {k: mean for k, (mean, _) in stats.items()}
    n = sum(map(sum, confusion)) if confusion else 10
    seeds = {
        str(s): SeedResult(s, Scores(values, n, matrix), None, True, 10, 60.0)
        for s in range(n_seeds)
    }
    bins = tuple(
        ReliabilityBin(round(c - 0.05, 6), round(c + 0.05, 6), c, a, k)
        for c, a, k in reliability
    )
    aggregate = Aggregate(
        {k: Stat(mean, sd, n_seeds) for k, (mean, sd) in stats.items()},
        TrainingStats(Stat(10.0, 0.0, n_seeds), Stat(60.0, 0.0, n_seeds)),
        reliability=bins or None,
        cams=cams,
    )
    return ModelResult(seeds, aggregate)


def example_metrics(
    models: Mapping[str, Mapping[str, ModelResult]],
    cohorts: Mapping[str, Cohort] | None = None,
    acceptance: Sequence[Check] = (),
) -> Metrics:
    """A held-out evaluation of ``models`` (task -> name -> result)."""
    return Metrics(
        label=LABEL,
        unseen=False,
        cohorts=dict(cohorts or {}),
        gradcam=cam_protocol(unseen=False),
        models={t: dict(m) for t, m in models.items()},
        acceptance=tuple(acceptance),
    )


def write_metrics(path: Path, metrics: Metrics) -> Path:
    """``metrics`` written as evaluation writes it; returns ``path``."""
    metrics.write(path)
    return path
