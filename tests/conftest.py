"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded random generator: the same numbers in every test."""
    return np.random.default_rng(0)


@pytest.fixture
def repo_root() -> Path:
    """The repository root (read from, never written to)."""
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _no_background_warm_up(request: pytest.FixtureRequest, monkeypatch) -> None:
    """The app's background warm-up (:mod:`hyperfusion.warmup`) is off in tests that
    count model calls or builder calls exactly; tests marked ``warm_up`` keep it."""
    if request.node.get_closest_marker("warm_up") is None:
        monkeypatch.setattr("hyperfusion.warmup.ENABLED", False)
