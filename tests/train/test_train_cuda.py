"""The training CLI on a GPU: one process, mixed precision (skipped without CUDA)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.train.tiny_cohort import run_train_cli

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.mark.slow
def test_training_cli_on_cuda_with_mixed_precision(tiny_ad_cohort, tmp_path):
    _, card = run_train_cli(tiny_ad_cohort, tmp_path, "cuda")
    assert card["training"]["epochs_run"] == 2
    assert card["training"]["device"].startswith("cuda")
    history = json.loads(
        (tmp_path / "r" / "ad" / "hyperfusion-seed0" / "history.json").read_text()
    )
    assert all(np.isfinite(h["train_loss"]) for h in history)
