"""The training CLI under torchrun: two CPU processes with DistributedDataParallel."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import REPO_ROOT
from tests.train.tiny_cohort import train_cli_command


@pytest.mark.slow
def test_torchrun_with_two_cpu_processes_writes_a_checkpoint(tiny_ad_cohort, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    cmd = train_cli_command(tiny_ad_cohort, tmp_path, "cpu", processes=2)
    done = subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads((tmp_path / "w" / "ad" / "hyperfusion-seed0.json").read_text())
    assert card["training"]["world_size"] == 2
    assert card["training"]["epochs_run"] == 2
    assert (tmp_path / "r" / "ad" / "hyperfusion-seed0" / "last.pt").is_file()
    assert done.stdout.count("test balanced accuracy") == 1  # rank 0 only
