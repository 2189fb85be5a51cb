"""HyperFusion Studio: hypernetwork fusion of brain MRI and EHR.

A research and teaching tool, not a medical device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

__version__ = "0.1.0"


def load_model(
    task: str, name: str = "hyperfusion", device: str | None = None
) -> nn.Module:
    """Load a shipped model in eval mode, with its weights (see models.checkpoint)."""
    from hyperfusion.models.checkpoint import load_model as _load

    return _load(task, name=name, device=device)


__all__ = ["__version__", "load_model"]
