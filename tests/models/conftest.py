"""Tiny network configurations shared by the model tests."""

from __future__ import annotations

import pytest

from hyperfusion.config import BrainAgeConfig, Grid, ResNetConfig

TINY_AD = ResNetConfig(
    grid=Grid((32, 16, 16), 3.0, (-46.5, -30.0, -30.0)), init_features=4
)
TINY_BRAIN_AGE = BrainAgeConfig(
    grid=Grid((16, 16, 16), 8.0, (-60.0, -60.0, -60.0)), channels=(4, 4, 8)
)


@pytest.fixture
def tiny_configs() -> dict[str, object]:
    return {"ad": TINY_AD, "brain-age": TINY_BRAIN_AGE}
