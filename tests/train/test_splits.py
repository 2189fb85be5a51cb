"""The stratified train/val/test split: proportions, determinism, stratification."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hyperfusion.train.splits import (
    ptid_hash,
    split_summary,
    strata,
    stratified_split,
    write_split,
)


@pytest.fixture
def cohort(rng) -> pd.DataFrame:
    n = 400
    return pd.DataFrame(
        {
            "PTID": [f"S{i:04d}" for i in range(n)],
            "AGE": rng.uniform(55, 95, n),
            "PTGENDER": rng.choice(["Female", "Male"], n),
            "DX": rng.choice(["CN", "MCI", "AD"], n, p=[0.35, 0.48, 0.17]),
        }
    )


def test_shares_are_70_15_15(cohort):
    counts = stratified_split(cohort).value_counts()
    assert counts.to_dict() == {"train": 280, "val": 60, "test": 60}


def test_every_stratum_is_divided_in_proportion(cohort):
    split = stratified_split(cohort)
    for _, group in split.groupby(strata(cohort)):
        n = len(group)
        for name, share in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
            assert abs((group == name).sum() - share * n) <= 1.5


def test_same_seed_same_split_and_row_order_does_not_matter(cohort):
    a = stratified_split(cohort, seed=0)
    shuffled = cohort.sample(frac=1, random_state=1)
    b = stratified_split(shuffled, seed=0)
    assert a.equals(b.loc[a.index])
    assert not a.equals(stratified_split(cohort, seed=1))


def test_the_summary_hashes_the_test_subjects(cohort):
    split = stratified_split(cohort)
    summary = split_summary(cohort, split, 0)
    assert summary["n_test"] == 60 and summary["split_seed"] == 0
    assert summary["test_ptids_sha256"] == ptid_hash(cohort["PTID"][split == "test"])
    assert ptid_hash(["a", "b"]) != ptid_hash(["a", "c"])


def test_the_assignment_is_written_sorted_by_ptid(cohort, tmp_path):
    split = stratified_split(cohort)
    path = write_split(tmp_path / "run" / "split.csv", cohort, split)
    table = pd.read_csv(path)
    assert list(table.columns) == ["PTID", "split", "stratum"]
    assert table["PTID"].is_monotonic_increasing
    assert set(table["split"]) == {"train", "val", "test"}


def test_brain_age_cohorts_without_dx_are_split_by_sex_and_age():
    df = pd.DataFrame(
        {"PTID": ["a", "b"], "AGE": [25.0, 81.0], "PTGENDER": ["Male", "Female"]}
    )
    assert strata(df).tolist() == ["NA|Male|20", "NA|Female|80"]
    assert np.array_equal(stratified_split(df).to_numpy(), ["train", "train"])
