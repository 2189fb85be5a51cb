"""The training CLI on a GPU: one process, mixed precision (skipped without CUDA)."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
import torch

from tests.conftest import REPO_ROOT
from tests.train.tiny_cohort import train_cli_command

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.mark.slow
def test_training_cli_on_cuda_with_mixed_precision(tiny_ad_cohort, tmp_path):
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    cmd = train_cli_command(tiny_ad_cohort, tmp_path, "cuda", processes=1)
    done = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads((tmp_path / "w" / "ad" / "hyperfusion-seed0.json").read_text())
    assert card["training"]["epochs_run"] == 2
    assert card["training"]["device"].startswith("cuda")
    history = json.loads(
        (tmp_path / "r" / "ad" / "hyperfusion-seed0" / "history.json").read_text()
    )
    assert all(np.isfinite(h["train_loss"]) for h in history)
