"""What the evaluation chose for the maps, read from ``weights/metrics.json``: the
default method (the best on the validation split by the rule the file states) and
the layer each layer role was measured at.

Before an evaluation has measured the methods (no ``explanations`` block, or no
file), the default is :data:`~hyperfusion.explain.methods.FALLBACK_DEFAULT` and each
layer the network's own (``model.cam_layers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from hyperfusion.explain.methods import FALLBACK_DEFAULT, METHODS

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class Choices:
    """The default method and layer role -> the layer measured for it."""

    default_method: str = FALLBACK_DEFAULT
    layers: Mapping[str, str] = field(default_factory=dict)
    measured: bool = False


@lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> Choices:
    from hyperfusion.evaluate.schema import read_metrics

    metrics = read_metrics(Path(path))
    block = None if metrics is None else metrics.explanations
    if block is None:
        return Choices()
    # A layer role is named after the method whose layer it is (HiResCAM's,
    # Grad-CAM's); the others explain the image or the pooled tensor.
    layers = {
        name: quality.layer
        for name, quality in block.methods.items()
        if METHODS[name].layer == name
    }
    return Choices(block.default_method or FALLBACK_DEFAULT, layers, True)


def measured_choices(weights_dir: Path) -> Choices:
    """The choices recorded in ``weights_dir/metrics.json`` (re-read when the file
    changes).

    Raises:
        WeightsError: the file does not follow the layout.
    """
    path = Path(weights_dir) / METRICS_FILE
    if not path.is_file():
        return Choices()
    return _read(str(path), path.stat().st_mtime)


def default_method(weights_dir: Path) -> str:
    """The name of the default map method."""
    return measured_choices(weights_dir).default_method


__all__ = ["Choices", "default_method", "measured_choices"]
