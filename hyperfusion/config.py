"""All configuration in one typed place.

Model grids, network sizes and training settings are frozen dataclasses. Each has a
``demo`` variant (trains on a 2-core CPU) and a ``paper`` variant (the resolution and
width of Duenias et al. 2025, for GPU users). Checkpoints store the config they were
trained with, so the loader rebuilds the exact network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

AD_CLASSES: tuple[str, str, str] = ("CN", "MCI", "AD")
# Training seeds of every shipped ensemble, and the seed of the train/val/test split.
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)
DEFAULT_SPLIT_SEED = 0


@dataclass(frozen=True)
class Grid:
    """A box in MNI152 (RAS, mm) space that a model sees.

    Attributes:
        shape: voxels along x (left to right), y (posterior to anterior), z (inferior to
            superior).
        voxel_mm: isotropic voxel size in millimetres.
        origin_mm: RAS coordinate (mm) of the centre of voxel (0, 0, 0).
    """

    shape: tuple[int, int, int]
    voxel_mm: float
    origin_mm: tuple[float, float, float]

    @property
    def affine(self) -> np.ndarray:
        """The 4x4 voxel-to-RAS affine of this grid."""
        aff = np.eye(4)
        aff[:3, :3] *= self.voxel_mm
        aff[:3, 3] = self.origin_mm
        return aff

    def hemisphere(self) -> Grid:
        """The right half of this grid (x >= midline), which the AD network sees."""
        if self.shape[0] % 2:
            raise ValueError("a grid split at the midline needs an even x size")
        half = self.shape[0] // 2
        origin = (self.origin_mm[0] + half * self.voxel_mm, *self.origin_mm[1:])
        return Grid((half, self.shape[1], self.shape[2]), self.voxel_mm, origin)


# Both hippocampi and temporal horns, with the lateral ventricles' bodies above them.
# The x range is symmetric about the midline (x = 0) so that the crop splits in halves.
AD_GRID_DEMO = Grid(shape=(48, 32, 24), voxel_mm=3.0, origin_mm=(-70.5, -70.5, -43.5))
AD_GRID_PAPER = Grid(shape=(128, 96, 64), voxel_mm=1.0, origin_mm=(-63.5, -71.5, -44.5))
# The whole brain.
BRAIN_AGE_GRID_DEMO = Grid(
    shape=(36, 46, 34), voxel_mm=4.0, origin_mm=(-70.0, -108.0, -52.0)
)
BRAIN_AGE_GRID_PAPER = Grid(
    shape=(90, 120, 99), voxel_mm=1.5, origin_mm=(-66.75, -110.25, -60.0)
)


@dataclass(frozen=True)
class MRILimits:
    """Bounds every input file is checked against before its voxels are read."""

    max_file_bytes: int = 512 * 1024**2
    max_decompressed_bytes: int = 1024**3
    max_dim: int = 1024
    max_voxels: int = 64 * 1024**2
    min_dim: int = 8


MRI_LIMITS = MRILimits()


@dataclass(frozen=True)
class ScanLimits:
    """Bounds of a DICOM upload (a zip, a folder or ``.dcm`` files), checked before
    anything is extracted or converted."""

    max_files: int = 5000
    max_bytes: int = 1024**3


SCAN_LIMITS = ScanLimits()


@dataclass(frozen=True)
class ResNetConfig:
    """Pre-activation 3D ResNet used by every AD model (paper: 16 initial features).

    ``block_strides`` sets the number of residual blocks (the paper's four) and
    ``block_dropout`` gives one rate per block. ``hyper_layers`` names the layers the
    hypernetwork generates (the paper's ablation): any of ``"block1.shortcut"`` ...
    ``"block{n}.shortcut"``, ``"fc1"``, ``"fc2"``. ``global_pool`` is ``"avg"`` (the
    paper's) or ``"max"`` (an experiment, docs/EXPERIMENTS.md).
    """

    grid: Grid = AD_GRID_DEMO
    init_features: int = 8
    block_strides: tuple[int, ...] = (1, 2, 2, 2)
    block_dropout: tuple[float, ...] = (0.1, 0.2, 0.2, 0.3)
    fc_hidden: int = 64
    head_dropout: tuple[float, float] = (0.6, 0.5)
    bn_momentum: float = 0.05
    n_tabular: int = 16
    embed_dim: int = 8
    hyper_layers: tuple[str, ...] = ("block4.shortcut",)
    n_classes: int = 3
    global_pool: str = "avg"

    def __post_init__(self) -> None:
        n = len(self.block_strides)
        if n < 1 or len(self.block_dropout) != n:
            raise ValueError(
                f"block_dropout has {len(self.block_dropout)} rates for {n} blocks; "
                "accepted: one rate per block (at least one block)"
            )
        known = {f"block{i}.shortcut" for i in range(1, n + 1)} | {"fc1", "fc2"}
        unknown = sorted(set(self.hyper_layers) - known)
        if unknown:
            raise ValueError(
                f"unknown hyper layer(s) {', '.join(unknown)}; accepted: "
                f"{', '.join(sorted(known))}"
            )
        if self.global_pool not in ("avg", "max"):
            raise ValueError(
                f"global_pool '{self.global_pool}' is not known; accepted: avg, max"
            )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of one hemisphere crop, the network's input."""
        return self.grid.hemisphere().shape


@dataclass(frozen=True)
class BrainAgeConfig:
    """VGG-style brain-age CNN with hyper FC layers conditioned on sex."""

    grid: Grid = BRAIN_AGE_GRID_DEMO
    channels: tuple[int, int, int] = (8, 16, 32)  # paper: (16, 32, 64)
    conv_padding: int = 1
    dropout: float = 0.2
    fc_sizes: tuple[int, ...] = (16, 32, 64, 1)
    n_tabular: int = 2
    hyper_fc: bool = True

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape of the whole-brain input."""
        return self.grid.shape


AD_DEMO = ResNetConfig()
AD_PAPER = ResNetConfig(grid=AD_GRID_PAPER, init_features=16)
BRAIN_AGE_DEMO = BrainAgeConfig()
BRAIN_AGE_PAPER = BrainAgeConfig(
    grid=BRAIN_AGE_GRID_PAPER, channels=(16, 32, 64), conv_padding=0
)
# The networks by resolution and task: "demo" (shipped, trains on a 2-core CPU) and
# "paper" (the paper's grids and widths, for GPU users).
NET_CONFIGS: dict[str, dict[str, ResNetConfig | BrainAgeConfig]] = {
    "demo": {"ad": AD_DEMO, "brain-age": BRAIN_AGE_DEMO},
    "paper": {"ad": AD_PAPER, "brain-age": BRAIN_AGE_PAPER},
}


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; the defaults are the demo's, the comments the paper's."""

    epochs: int = 30  # paper: ~250 (AD), ~60 (brain age)
    batch_size: int = 32  # paper: 32 (AD), 64 (brain age)
    lr: float = 1e-3  # paper: 1e-4 (AD), 1.5e-4 (brain age)
    weight_decay: float = 1e-5  # paper: 1e-5 (AD), 0.05 (brain age)
    patience: int = 8
    lr_schedule: str = "constant"  # or "cosine": lr·(1 + cos(π·epoch/epochs))/2
    # Learning-rate multiplier for a model's conditioning embeddings (its
    # ``conditioning_parameters()``), e.g. HyperFusion-BrainAge's sex embeddings.
    embedding_lr_scale: float = 1.0
    tabular_pretrain_epochs: int = 40
    seed: int = 0
    class_weights: tuple[float, float, float] = (1.1, 0.696, 1.4)
    num_threads: int = 2


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return asdict(cfg)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a (possibly nested) config dataclass from :func:`to_dict` output."""
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "grid":
            value = Grid(
                tuple(value["shape"]), value["voxel_mm"], tuple(value["origin_mm"])
            )
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


__all__ = [
    "AD_CLASSES",
    "AD_DEMO",
    "AD_PAPER",
    "BRAIN_AGE_DEMO",
    "BRAIN_AGE_PAPER",
    "DEFAULT_SEEDS",
    "DEFAULT_SPLIT_SEED",
    "BrainAgeConfig",
    "Grid",
    "MRILimits",
    "MRI_LIMITS",
    "NET_CONFIGS",
    "ResNetConfig",
    "SCAN_LIMITS",
    "ScanLimits",
    "TrainConfig",
    "from_dict",
    "to_dict",
]
