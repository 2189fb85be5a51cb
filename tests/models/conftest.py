"""Tiny network configurations shared by the model tests."""

from __future__ import annotations

import pytest
import torch

from hyperfusion.config import BrainAgeConfig, Grid, ResNetConfig

# Float32 rounds each operation to a relative 2^-24 (6e-8). Two runs that sum the same
# terms in another order (another batch size picks another convolution or matmul
# kernel) differ by about sqrt(n) roundings per reduction of n terms, relative to the
# sum of |terms|: the tiny nets' widest reduction (3x3x3 kernels over 64 channels,
# 1728 terms) gives ~2.5e-6, and the errors of successive layers mostly average out
# (measured: at most 6e-7 on the batch-vs-single-sample test). Logits are
# differences of such sums and can be near zero, so the tolerance is relative to the
# largest |value| of the tensor, not to each entry.
F32_RTOL = 1e-5

TINY_AD = ResNetConfig(
    grid=Grid((32, 16, 16), 3.0, (-46.5, -30.0, -30.0)), init_features=4
)
TINY_BRAIN_AGE = BrainAgeConfig(
    grid=Grid((16, 16, 16), 8.0, (-60.0, -60.0, -60.0)), channels=(4, 4, 8)
)


@pytest.fixture
def tiny_configs() -> dict[str, object]:
    return {"ad": TINY_AD, "brain-age": TINY_BRAIN_AGE}


def assert_close_f32(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """``actual`` equals ``expected`` up to float32 reordering noise (``F32_RTOL``)."""
    scale = float(expected.abs().max())
    torch.testing.assert_close(actual, expected, rtol=0.0, atol=F32_RTOL * scale)


def differs_f32(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b`` differ by more than float32 reordering noise."""
    scale = max(float(a.abs().max()), float(b.abs().max()))
    return float((a - b).abs().max()) > F32_RTOL * scale
