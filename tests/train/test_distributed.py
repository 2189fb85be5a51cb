"""The training CLI under torchrun: two CPU processes with DistributedDataParallel."""

from __future__ import annotations

import pytest

from tests.train.tiny_cohort import run_train_cli


@pytest.mark.slow
def test_torchrun_with_two_cpu_processes_writes_a_checkpoint(tiny_ad_cohort, tmp_path):
    done, card = run_train_cli(
        tiny_ad_cohort, tmp_path, "cpu", processes=2, OMP_NUM_THREADS="1"
    )
    assert card["training"]["world_size"] == 2
    assert card["training"]["epochs_run"] == 2
    assert (tmp_path / "r" / "ad" / "hyperfusion-seed0" / "last.pt").is_file()
    assert done.stdout.count("test balanced accuracy") == 1  # rank 0 only
