"""The epoch loop: Adam, early stopping, model selection and resumable checkpoints.

After every epoch rank 0 writes ``<run_dir>/last.pt`` (model, optimizer, epoch, best
score, early-stopping counter, elapsed time) and, when validation improved,
``<run_dir>/best.pt``; rerunning resumes from them. Every random choice of an epoch
(the sampler's order, the AD hemisphere of each subject, dropout) is seeded from the
run seed and the epoch number, so a resumed run continues exactly as an uninterrupted
one would.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from hyperfusion.config import TrainConfig
from hyperfusion.models.device import autocast_for
from hyperfusion.tasks import Task, get_task
from hyperfusion.train.data import (
    SplitData,
    image_batch,
    predict,
    score,
    tabular_batch,
)
from hyperfusion.train.distributed import DistInfo, broadcast_flag, wrap_model

LAST_FILE = "last.pt"
BEST_FILE = "best.pt"


@dataclass
class FitState:
    """Progress of one run, saved in ``last.pt``.

    Attributes:
        epoch: epochs completed.
        best_score: best validation selection score (higher is better), if any.
        best_epoch: the epoch (1-based) that reached it.
        bad_epochs: epochs since the last improvement (early-stopping counter).
        elapsed_s: training wall time so far, over all sessions.
        finished: early stopping or the last epoch was reached.
        best_metrics: the validation metrics of the best epoch.
        history: one dict per epoch (train loss, validation metrics, seconds).
    """

    epoch: int = 0
    best_score: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    elapsed_s: float = 0.0
    finished: bool = False
    best_metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


def _save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def load_best_state(run_dir: Path) -> dict[str, torch.Tensor]:
    """The best model state saved by :func:`fit` in ``run_dir``."""
    return torch.load(Path(run_dir) / BEST_FILE, map_location="cpu")


def read_fit_state(run_dir: Path) -> FitState | None:
    """The :class:`FitState` in ``run_dir/last.pt``, or None when there is none."""
    path = Path(run_dir) / LAST_FILE
    if not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=False)
    return FitState(**saved["state"])


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Adam parameter groups: the model's conditioning embeddings (if it names any
    with ``conditioning_parameters()``) at ``cfg.embedding_lr_scale`` times the
    learning rate, everything else at 1x."""
    special = list(getattr(model, "conditioning_parameters", list)())
    ids = {id(p) for p in special}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": rest, "lr_scale": 1.0}]
    if special:
        groups.append({"params": special, "lr_scale": cfg.embedding_lr_scale})
    return groups


def epoch_lr(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (0-based); a pure function of it, so a resumed
    run continues the same schedule."""
    if cfg.lr_schedule == "constant":
        return cfg.lr
    if cfg.lr_schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(cfg.epochs, 1)))
    raise ValueError(
        f"unknown lr_schedule {cfg.lr_schedule!r}; accepted: 'constant', 'cosine'"
    )


def fit(
    model: nn.Module,
    task: str | Task,
    train: SplitData,
    val: SplitData,
    cfg: TrainConfig,
    *,
    seed: int,
    info: DistInfo | None = None,
    run_dir: Path | None = None,
    progress: bool = True,
    desc: str = "train",
) -> tuple[dict[str, torch.Tensor], FitState]:
    """Train ``model`` (already on ``info.device``) with early stopping.

    Args:
        model: the network; left holding the LAST epoch's weights.
        task: the task (or its name): its loss and its selection metric.
        train: the training split (AD: one random hemisphere per subject per epoch).
        val: the validation split (model selection, both hemispheres).
        cfg: epochs, batch size (global, over all ranks), lr, weight decay, patience.
        seed: the run seed; with the epoch number it seeds every random choice.
        info: the distributed world (default: one process on the CPU).
        run_dir: where ``last.pt`` / ``best.pt`` live; ``None`` keeps nothing on disk
            (used for the tabular pre-training).
        progress: show a tqdm bar (rank 0 only).
        desc: the bar's label.

    Returns:
        The best validation state (CPU tensors) and the final :class:`FitState`.
    """
    info = info or DistInfo()
    device = info.device
    net = wrap_model(model, info)
    optimizer = torch.optim.Adam(
        param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    state = FitState()
    best_state = _state_copy(model)
    last = None if run_dir is None else Path(run_dir) / LAST_FILE
    if last is not None and info.is_main:
        last.parent.mkdir(parents=True, exist_ok=True)
    if last is not None and last.is_file():
        saved = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        scales = [group["lr_scale"] for group in optimizer.param_groups]
        optimizer.load_state_dict(saved["optimizer"])
        # Saved states replace the groups' settings; the scales come from the code.
        for group, scale in zip(optimizer.param_groups, scales, strict=True):
            group["lr_scale"] = scale
        state = FitState(**saved["state"])
        best_state = load_best_state(Path(run_dir))
    if state.finished or state.epoch >= cfg.epochs:
        state.finished = True
        return best_state, state
    task = get_task(task)
    loss_fn = task.loss(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
    sampler = DistributedSampler(
        range(len(train)),  # type: ignore[arg-type]
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=True,
        seed=seed,
    )
    per_rank = max(2, cfg.batch_size // info.world_size)
    steps = math.ceil(len(sampler) / per_rank)
    bar = tqdm(
        total=(cfg.epochs - state.epoch) * steps,
        desc=desc,
        disable=not (progress and info.is_main),
        dynamic_ncols=True,
    )
    for epoch in range(state.epoch, cfg.epochs):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(cfg, epoch) * group["lr_scale"]
        sampler.set_epoch(epoch)
        torch.manual_seed(seed * 1_000_003 + epoch * 101 + info.rank)
        hemis = np.random.default_rng([seed, epoch]).integers(0, 2, size=len(train))
        order = np.fromiter(iter(sampler), dtype=np.int64)
        net.train()
        total, count = 0.0, 0
        for b in range(0, len(order), per_rank):
            idx = order[b : b + per_rank]
            if len(idx) < 2:  # BatchNorm cannot train on one sample
                bar.update(1)
                continue
            image = image_batch(train, idx, device, hemis[idx])
            target = torch.from_numpy(train.targets[idx]).to(device)
            with autocast_for(device):  # mixed precision on CUDA only
                out = net(image, tabular_batch(train, idx, device))
                loss = loss_fn(task.loss_input(out), target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            bar.update(1)
        stop = False
        if info.is_main:
            metrics = score(task, val, predict(model, val, device))
            value = task.selection_score(metrics)
            state.epoch = epoch + 1
            state.elapsed_s += time.perf_counter() - start
            if state.best_score is None or value > state.best_score:
                state.best_score, state.best_epoch = value, epoch + 1
                state.bad_epochs = 0
                state.best_metrics = metrics
                best_state = _state_copy(model)
                if run_dir is not None:
                    _save_atomic(best_state, Path(run_dir) / BEST_FILE)
            else:
                state.bad_epochs += 1
            stop = state.bad_epochs >= cfg.patience or state.epoch >= cfg.epochs
            state.finished = stop
            state.history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": total / max(count, 1),
                    "val": metrics,
                    "seconds": time.perf_counter() - start,
                }
            )
            bar.set_postfix(
                loss=f"{total / max(count, 1):.3g}",
                val=f"{abs(value):.3f}",
                best=f"{abs(state.best_score):.3f}",
            )
            if last is not None:
                _save_atomic(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "state": asdict(state),
                    },
                    last,
                )
        if broadcast_flag(stop, info):
            break
    bar.close()
    state.finished = True
    return best_state, state


__all__ = [
    "BEST_FILE",
    "LAST_FILE",
    "FitState",
    "epoch_lr",
    "param_groups",
    "fit",
    "load_best_state",
    "read_fit_state",
]
