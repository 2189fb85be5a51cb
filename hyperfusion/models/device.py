"""Device choice: CUDA when available, the CPU otherwise; one code path for both."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from hyperfusion.errors import HyperFusionError


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` picks CUDA if available, else the CPU; an unavailable CUDA is an error.

    >>> resolve_device("cpu").type
    'cpu'
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise HyperFusionError(
            f"Unknown device '{device}'; accepted: cpu or cuda"
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HyperFusionError(
            "CUDA was requested but no GPU is available here; accepted: --device cpu"
        )
    if dev.type not in ("cpu", "cuda"):
        raise HyperFusionError(f"Unknown device '{device}'; accepted: cpu or cuda")
    return dev


def describe_device(device: torch.device) -> str:
    """A short label for badges and logs, e.g. ``"GPU (NVIDIA H100)"`` or ``"CPU"``."""
    if device.type == "cuda":
        return f"GPU ({torch.cuda.get_device_name(device)})"
    return "CPU"


@contextlib.contextmanager
def autocast_for(device: torch.device) -> Iterator[None]:
    """Mixed precision (bfloat16/float16 autocast) on CUDA only; a no-op on the CPU."""
    if device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.float16):
            yield
    else:
        yield
