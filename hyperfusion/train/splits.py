"""Train / validation / test assignment, stratified and deterministic.

Subjects are grouped by diagnosis x sex x age band (10-year bands), and each group is
divided 70/15/15 in a seeded random order. The assignment depends only on the
subjects' PTIDs, DX, sex and age and on the seed, never on the CSV's row order, so the
evaluation CLI rebuilds the same test split from the card's split seed. The test split
is never used for training or model selection.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from hyperfusion.config import DEFAULT_SPLIT_SEED
from hyperfusion.errors import CohortError

SPLITS: tuple[str, str, str] = ("train", "val", "test")
FRACTIONS: tuple[float, float, float] = (0.70, 0.15, 0.15)
AGE_BAND_YEARS = 10
SPLIT_FILE = "split.csv"


def strata(df: pd.DataFrame, band_years: int = AGE_BAND_YEARS) -> pd.Series:
    """The stratum of each subject: ``"DX|sex|band"`` (``NA`` for unknown).

    >>> df = pd.DataFrame({"DX": ["AD", None], "PTGENDER": ["Male", "Female"],
    ...                    "AGE": [74.9, 61.0]})
    >>> strata(df).tolist()
    ['AD|Male|70', 'NA|Female|60']
    """
    dx = df["DX"].fillna("NA").astype(str) if "DX" in df else "NA"
    sex = df["PTGENDER"].fillna("NA").astype(str)
    band = (np.floor(df["AGE"].to_numpy(float) / band_years) * band_years).astype(int)
    return (
        pd.Series(dx, index=df.index)
        + "|"
        + sex
        + "|"
        + pd.Series(band, df.index).astype(str)
    )


def stratified_split(
    df: pd.DataFrame,
    seed: int = DEFAULT_SPLIT_SEED,
    fractions: tuple[float, float, float] = FRACTIONS,
) -> pd.Series:
    """Assign every subject to ``"train"``, ``"val"`` or ``"test"``.

    Subjects are ordered by stratum, randomly (``seed``) within a stratum, and dealt
    out along that order to whichever split is furthest below its share so far. So
    every stratum is divided in proportion (within one subject) and the totals match
    ``fractions`` (within one subject).

    Args:
        df: a cohort frame with PTID, AGE, PTGENDER and (optionally) DX.
        seed: the split seed.
        fractions: train, validation and test shares (summing to 1).

    Returns:
        A Series of split names indexed like ``df``.

    Example:
        >>> df = pd.DataFrame({"PTID": [f"S{i}" for i in range(20)],
        ...                    "AGE": [70.0] * 20, "PTGENDER": ["Male"] * 20})
        >>> stratified_split(df).value_counts().sort_index().to_dict()
        {'test': 3, 'train': 14, 'val': 3}
    """
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be three shares summing to 1: {fractions}")
    if df["PTID"].duplicated().any():
        raise CohortError("PTIDs repeat in the cohort; accepted: one row per subject")
    rng = np.random.default_rng(seed)
    keys = strata(df)
    by_ptid = df.assign(_stratum=keys).sort_values("PTID", kind="stable")
    order: list = []
    for _, group in sorted(by_ptid.groupby("_stratum", sort=False), key=lambda g: g[0]):
        order.extend(group.index[rng.permutation(len(group))])
    share = np.asarray(fractions, dtype=np.float64)
    counts = np.zeros(3)
    assigned: dict = {}
    for i, idx in enumerate(order):
        k = int(np.argmax((i + 1) * share - counts))
        counts[k] += 1
        assigned[idx] = SPLITS[k]
    return pd.Series([assigned[i] for i in df.index], index=df.index, name="split")


def ptid_hash(ptids: Iterable[str]) -> str:
    """sha256 of the sorted PTIDs, one per line: identifies a split's subjects.

    >>> ptid_hash(["b", "a"]) == ptid_hash(["a", "b"])
    True
    """
    text = "\n".join(sorted(str(p) for p in ptids))
    return hashlib.sha256(text.encode()).hexdigest()


def split_summary(df: pd.DataFrame, split: pd.Series, seed: int) -> dict:
    """The counts, seed and test-PTID hash recorded in a checkpoint card."""
    return {
        "split_seed": int(seed),
        "n_train": int((split == "train").sum()),
        "n_val": int((split == "val").sum()),
        "n_test": int((split == "test").sum()),
        "test_ptids_sha256": ptid_hash(df["PTID"][split == "test"]),
    }


def write_split(
    path: str | os.PathLike[str], df: pd.DataFrame, split: pd.Series
) -> Path:
    """Write ``PTID,split,stratum`` rows (sorted by PTID) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({"PTID": df["PTID"], "split": split, "stratum": strata(df)})
    table.sort_values("PTID").to_csv(path, index=False)
    return path


__all__ = [
    "AGE_BAND_YEARS",
    "FRACTIONS",
    "SPLITS",
    "SPLIT_FILE",
    "ptid_hash",
    "split_summary",
    "strata",
    "stratified_split",
    "write_split",
]
