"""Tiny cohorts shared by the training and evaluation tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.tiny_cohort import make_tiny_cohort


@pytest.fixture(scope="session")
def tiny_ad_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 AD-cohort subjects (CN/MCI/AD) with ground-truth maps; do not modify."""
    return make_tiny_cohort(tmp_path_factory.mktemp("cohort") / "ad", n=16)


@pytest.fixture(scope="session")
def tiny_brain_age_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 healthy subjects aged 20-90; do not modify."""
    return make_tiny_cohort(
        tmp_path_factory.mktemp("cohort") / "ba", n=14, task="brain-age", seed=1
    )
