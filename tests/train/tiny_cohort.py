"""Tiny hand-made cohorts in the ADNI-like layout, and tiny training configs.

Images are 6 mm volumes covering the MNI box: a textured ellipsoid "brain" with, for
MCI and AD subjects, a darker blob around the right and left hippocampi (whose
magnitude is the ground-truth map). Writing 16 subjects takes well under a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from hyperfusion.config import BrainAgeConfig, Grid, ResNetConfig, TrainConfig
from tests.conftest import REPO_ROOT

AFFINE_6MM = np.array(
    [[6.0, 0, 0, -96.0], [0, 6.0, 0, -132.0], [0, 0, 6.0, -78.0], [0, 0, 0, 1]]
)
SHAPE_6MM = (33, 39, 33)
# A symmetric 6 mm crop around the hippocampi (x centre 0) and a coarse whole brain.
TINY_AD = ResNetConfig(
    grid=Grid((16, 12, 12), 6.0, (-45.0, -60.0, -45.0)), init_features=4
)
TINY_BRAIN_AGE = BrainAgeConfig(
    grid=Grid((16, 16, 16), 8.0, (-60.0, -100.0, -50.0)), channels=(4, 4, 8)
)
TINY_TRAIN = TrainConfig(epochs=2, batch_size=4, patience=5, tabular_pretrain_epochs=2)
DX_CYCLE = ("CN", "MCI", "AD", "CN", "MCI", "CN", "AD", "MCI")


def _mm_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.indices(SHAPE_6MM).reshape(3, -1)
    xyz = AFFINE_6MM[:3, :3] @ idx + AFFINE_6MM[:3, 3:4]
    return tuple(c.reshape(SHAPE_6MM) for c in xyz)  # type: ignore[return-value]


def subject_volumes(
    rng: np.random.Generator, disease: float, age: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(image, truth)``: a brain shrinking with age, darkened where the disease is."""
    x, y, z = _mm_grid()
    scale = 1.0 - 0.002 * (age - 50)
    brain = (x / (70 * scale)) ** 2 + ((y + 18) / 95) ** 2 + ((z - 10) / 75) ** 2 < 1
    truth = np.zeros(SHAPE_6MM, dtype=np.float32)
    for cx in (-26.0, 26.0):
        d2 = ((x - cx) ** 2 + (y + 22) ** 2 + (z + 14) ** 2) / 12.0**2
        truth += disease * np.exp(-d2).astype(np.float32)
    noise = 10 * rng.standard_normal(SHAPE_6MM)
    image = (100 + noise - 40 * truth) * brain
    return image.astype(np.float32), (truth * brain).astype(np.float32)


def make_tiny_cohort(
    out: Path, n: int = 16, task: str = "ad", seed: int = 0, truth: bool = True
) -> Path:
    """Write ``out/ehr.csv``, ``out/images`` and (``truth``) ``out/truth``."""
    rng = np.random.default_rng(seed)
    (out / "images").mkdir(parents=True, exist_ok=True)
    if truth:
        (out / "truth").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        ptid = f"T_{i + 1:03d}"
        dx = DX_CYCLE[i % len(DX_CYCLE)] if task == "ad" else "CN"
        disease = {"CN": 0.0, "MCI": 0.5, "AD": 1.0}[dx]
        age = float(rng.uniform(60, 90) if task == "ad" else rng.uniform(20, 90))
        image, effect = subject_volumes(rng, disease, age)
        nib.save(nib.Nifti1Image(image, AFFINE_6MM), out / "images" / f"{ptid}.nii.gz")
        if truth:
            nib.save(
                nib.Nifti1Image(effect, AFFINE_6MM), out / "truth" / f"{ptid}.nii.gz"
            )
        rows.append(
            {
                "PTID": ptid,
                "AGE": round(age, 1),
                "PTGENDER": "Female" if i % 2 else "Male",
                "PTEDUCAT": int(rng.integers(8, 20)),
                "APOE4": "" if i % 5 == 0 else int(disease > 0) + int(i % 3 == 0),
                "ABETA": "" if i % 3 == 0 else round(1200 - 600 * disease, 1),
                "PTAU": round(20 + 20 * disease + rng.normal(0, 2), 2),
                "TAU": round(200 + 150 * disease, 1),
                "FDG": round(1.3 - 0.3 * disease, 4),
                "AV45": "" if i % 2 else round(1.0 + 0.4 * disease, 4),
                "MMSE": int(29 - 6 * disease),
                "DX": dx,
            }
        )
    pd.DataFrame(rows).to_csv(out / "ehr.csv", index=False)
    return out


def run_train_cli(
    cohort: Path, root: Path, device: str, processes: int = 1, **env: str
) -> tuple[subprocess.CompletedProcess, dict]:
    """Run a 2-epoch tiny HyperFusion-AD training in a subprocess on ``device``
    (under ``torch.distributed.run`` when ``processes`` > 1); return the finished
    process and the card it wrote. The repository is put first on ``PYTHONPATH``,
    keeping what was there (packages installed to a side folder)."""
    launcher = ["torch.distributed.run", "--standalone"]
    launcher += [f"--nproc_per_node={processes}", "-m"]
    cmd = [
        sys.executable,
        "-m",
        *(launcher if processes > 1 else []),
        "hyperfusion.train",
        *train_cli_args(
            cohort, root, "hyperfusion", 2, "--batch-size", "4", "--device", device
        ),
    ]
    path = [str(REPO_ROOT), os.environ.get("PYTHONPATH")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), **env}
    done = subprocess.run(
        cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads((root / "w" / "ad" / "hyperfusion-seed0.json").read_text())
    return done, card


def train_cli_args(
    cohort: Path, root: Path, model: str = "hyperfusion", epochs: int = 2, *extra: str
) -> list[str]:
    """``hyperfusion.train`` arguments for a tiny AD run writing under ``root``."""
    return [
        "--task",
        "ad",
        "--model",
        model,
        "--cohort",
        str(cohort),
        "--out",
        str(root / "w"),
        "--runs-dir",
        str(root / "r"),
        "--epochs",
        str(epochs),
        *extra,
        "--quiet",
    ]
