"""Data-parallel training under ``torchrun``: one code path for 1 or N processes.

``torchrun --nproc_per_node=N -m hyperfusion.train ...`` sets ``WORLD_SIZE``, ``RANK``
and ``LOCAL_RANK``; :func:`init_distributed` then joins the process group (gloo on
the CPU, nccl on GPUs). Without them the world is one process and every helper here
is a no-op. Only rank 0 writes files and shows progress bars.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from hyperfusion.models.device import resolve_device

# Rank 0 may decode a whole cohort while the others wait at a barrier.
PROCESS_GROUP_TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the (possibly one-process) world."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistInfo:
    """Join the process group when ``WORLD_SIZE`` > 1; pick this rank's device.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world <= 1:
        return DistInfo(device=dev)
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if dev.type == "cuda":
        dev = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=PROCESS_GROUP_TIMEOUT)
    return DistInfo(rank, world, local, dev)


def wrap_model(model: nn.Module, info: DistInfo) -> nn.Module:
    """``model`` in DistributedDataParallel when distributed, else itself."""
    if not info.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [info.device.index] if info.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op in one process)."""
    if info.distributed:
        if info.device.type == "cuda":
            dist.barrier(device_ids=[info.device.index])
        else:
            dist.barrier()


def broadcast_flag(flag: bool, info: DistInfo) -> bool:
    """Rank 0's ``flag`` on every rank (e.g. "stop early")."""
    if not info.distributed:
        return flag
    value = torch.tensor([int(flag)], device=info.device)
    dist.broadcast(value, src=0)
    return bool(value.item())


def shutdown(info: DistInfo) -> None:
    """Leave the process group (no-op in one process)."""
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


__all__ = [
    "DistInfo",
    "barrier",
    "broadcast_flag",
    "init_distributed",
    "shutdown",
    "wrap_model",
]
