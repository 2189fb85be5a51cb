"""The brain-age model on the AD cohort: does it transfer, does its gap track disease?

The app feeds one scan to both tasks' models, so the brain-age model must read the
AD cohort's images as it reads its own: on the AD cohort's CN test subjects its MAE
should be close to its MAE on its own test split, and the brain-age gap (predicted
minus true age) should rise CN < MCI < AD. This module measures that for the fused
brain-age model (every training seed; the gap of the seeds' mean prediction, as the
Patient page shows it) and reads the bundled examples the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from hyperfusion.data.datasets import cohort_arrays
from hyperfusion.data.examples import EXAMPLES_DIR, list_examples
from hyperfusion.evaluate.records import Stat
from hyperfusion.evaluate.schema import Check, ModelResult
from hyperfusion.evaluate.summary import FUSED
from hyperfusion.evaluate.transfer_records import Example, Gap, Transfer
from hyperfusion.metrics import ROUND_DIGITS
from hyperfusion.models.checkpoint import Checkpoint, find_cards, load_checkpoint
from hyperfusion.tasks import AD, BRAIN_AGE
from hyperfusion.train.data import predict, split_data

if TYPE_CHECKING:  # scoring calls this module
    from hyperfusion.evaluate.scoring import CohortCache

MAX_MAE_RATIO = 1.25  # CN MAE on the AD cohort / MAE on the brain-age test split
MIN_AD_GAP_YEARS = 3.0  # AD's mean gap above CN's
MAX_EXAMPLE_GAP_MAES = 2.0  # a CN example's |gap| in units of the test MAE


def _ages(ckpt: Checkpoint, part: pd.DataFrame, cache: Path | None) -> np.ndarray:
    """The checkpoint's brain age (years) for each row of ``part``."""
    images = cohort_arrays(
        part, BRAIN_AGE.name, ckpt.model.cfg.grid, cache, progress=False
    )
    data = split_data(BRAIN_AGE, part, images, ckpt.preprocessor)
    return predict(ckpt.model, data, torch.device("cpu"))


def _round(x: float) -> float:
    return round(float(x), ROUND_DIGITS)


def _gaps(gap: np.ndarray, dx: np.ndarray) -> dict[str, Gap]:
    out = {}
    for label in AD.classes:
        values = gap[dx == label]
        if len(values):
            sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            out[label] = Gap(_round(values.mean()), _round(sd), len(values))
    return out


def _examples(ckpts: list[Checkpoint], folder: Path) -> dict[str, Example]:
    rows = list_examples(folder)
    paths = [folder / f"{p}.nii.gz" for p in rows["PTID"]]
    if not all(p.is_file() for p in paths):
        return {}
    part = rows.assign(image_path=[str(p) for p in paths]).reset_index(drop=True)
    ages = np.mean([_ages(c, part, None) for c in ckpts], axis=0)
    return {
        r.PTID: Example(str(r.DX), float(r.AGE), _round(a), _round(a - r.AGE))
        for r, a in zip(part.itertuples(), ages, strict=True)
    }


def measure_transfer(
    weights_dir: Path,
    ad_cohort: CohortCache,
    models: Mapping[str, Mapping[str, ModelResult]],
    unseen: bool,
    examples: Path = EXAMPLES_DIR,
) -> Transfer | None:
    """The fused brain-age model on the AD cohort's test subjects (every subject
    when ``unseen``) and on the bundled examples; None without its checkpoints or
    its own evaluation."""
    cards = find_cards(weights_dir, BRAIN_AGE.name, FUSED)
    own = models.get(BRAIN_AGE.name, {}).get(FUSED)
    ad_cards = find_cards(weights_dir, AD.name, FUSED)
    if not cards or own is None or not ad_cards:
        return None
    split_seed = int(load_checkpoint(ad_cards[0]).card["trained_on"]["split_seed"])
    df, split = ad_cohort.split(AD, split_seed)
    rows = df if unseen else df[(split == "test").to_numpy()]
    part = rows.reset_index(drop=True)
    ckpts = [load_checkpoint(c) for c in cards]
    per_seed = np.stack([_ages(c, part, ad_cohort.cache_dir) for c in ckpts])
    gaps = per_seed - part["AGE"].to_numpy()
    dx = part["DX"].to_numpy()
    cn = dx == AD.classes[0]
    which = "every subject" if unseen else "the held-out test split"
    return Transfer(
        model=FUSED,
        subjects=f"{which} of the AD cohort ({len(part)} subjects, {cn.sum()} CN)",
        cn_mae=Stat.over([float(np.abs(g[cn]).mean()) for g in gaps]),
        brain_age_test_mae=own.aggregate.metrics["mae"],
        gap=_gaps(gaps.mean(axis=0), dx),
        examples={} if unseen else _examples(ckpts, Path(examples)),
    )


def transfer_checks(t: Transfer) -> list[Check]:
    """The acceptance targets of the transfer (in the order the README lists them)."""
    checks = []
    ratio = t.mae_ratio()
    if ratio is not None:
        checks.append(
            Check(
                target=f"Brain age on the AD cohort's CN subjects: MAE <= "
                f"{MAX_MAE_RATIO:g} x its MAE on the brain-age test split",
                value=round(ratio, 3),
                unit="x own test MAE",
                passed=ratio <= MAX_MAE_RATIO,
            )
        )
    g = t.gap
    if all(label in g for label in AD.classes):
        cn, mci, ad = (g[label].mean for label in AD.classes)
        checks.append(
            Check(
                target=f"Brain-age gap rises CN < MCI < AD, AD >= CN + "
                f"{MIN_AD_GAP_YEARS:g} years",
                value=round(ad - cn, 2),
                unit="years AD above CN",
                passed=cn < mci < ad and ad - cn >= MIN_AD_GAP_YEARS,
            )
        )
    cn_examples = [e for e in t.examples.values() if e.dx == AD.classes[0]]
    if cn_examples and t.brain_age_test_mae.mean:
        worst = max(abs(e.gap) for e in cn_examples) / t.brain_age_test_mae.mean
        checks.append(
            Check(
                target=f"Every bundled CN example: |brain-age gap| <= "
                f"{MAX_EXAMPLE_GAP_MAES:g} x the brain-age test MAE",
                value=round(worst, 3),
                unit="x test MAE (largest)",
                passed=worst <= MAX_EXAMPLE_GAP_MAES,
            )
        )
    return checks


__all__ = ["measure_transfer", "transfer_checks"]
