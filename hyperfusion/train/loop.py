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


def _resume(
    model: nn.Module, optimizer: torch.optim.Optimizer, run_dir: Path | None
) -> tuple[FitState, dict[str, torch.Tensor]]:
    """The fit state and best weights of an interrupted run in ``run_dir`` (model and
    optimizer restored in place), or a fresh start."""
    last = None if run_dir is None else Path(run_dir) / LAST_FILE
    if last is None or not last.is_file():
        return FitState(), _state_copy(model)
    saved = torch.load(last, map_location="cpu", weights_only=False)
    model.load_state_dict(saved["model"])
    scales = [group["lr_scale"] for group in optimizer.param_groups]
    optimizer.load_state_dict(saved["optimizer"])
    # Saved states replace the groups' settings; the scales come from the code.
    for group, scale in zip(optimizer.param_groups, scales, strict=True):
        group["lr_scale"] = scale
    return FitState(**saved["state"]), load_best_state(Path(run_dir))


@dataclass
class _Epoch:
    """What one training epoch needs besides the model and the data."""

    task: Task
    device: torch.device
    net: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: nn.Module
    scaler: torch.amp.GradScaler
    sampler: DistributedSampler
    per_rank: int
    bar_total: int
    bar: tqdm | None = None


def _train_epoch(
    ctx: _Epoch, train: SplitData, epoch: int, seed: int, info: DistInfo
) -> float:
    """One pass over this rank's share of ``train``; returns the mean loss."""
    ctx.sampler.set_epoch(epoch)
    torch.manual_seed(seed * 1_000_003 + epoch * 101 + info.rank)
    hemis = np.random.default_rng([seed, epoch]).integers(0, 2, size=len(train))
    order = np.fromiter(iter(ctx.sampler), dtype=np.int64)
    ctx.net.train()
    total, count = 0.0, 0
    for b in range(0, len(order), ctx.per_rank):
        idx = order[b : b + ctx.per_rank]
        if len(idx) < 2:  # BatchNorm cannot train on one sample
            ctx.bar.update(1)
            continue
        image = image_batch(train, idx, info.device, hemis[idx])
        target = torch.from_numpy(train.targets[idx]).to(info.device)
        with autocast_for(info.device):  # mixed precision on CUDA only
            out = ctx.net(image, tabular_batch(train, idx, info.device))
            loss = ctx.loss_fn(ctx.task.loss_input(out), target)
        ctx.optimizer.zero_grad(set_to_none=True)
        ctx.scaler.scale(loss).backward()
        ctx.scaler.step(ctx.optimizer)
        ctx.scaler.update()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
        ctx.bar.update(1)
    return total / max(count, 1)


def _validate(
    ctx: _Epoch,
    model: nn.Module,
    val: SplitData,
    state: FitState,
    cfg: TrainConfig,
    epoch: int,
    loss: float,
    start: float,
) -> dict[str, torch.Tensor] | None:
    """Score epoch ``epoch`` (0-based, begun at ``start``) on ``val`` and update
    ``state`` (main rank only); returns the new best weights when this epoch is the
    best so far."""
    metrics = score(ctx.task, val, predict(model, val, ctx.device))
    value = ctx.task.selection_score(metrics)
    state.epoch = epoch + 1
    state.elapsed_s += time.perf_counter() - start
    best = None
    if state.best_score is None or value > state.best_score:
        state.best_score, state.best_epoch = value, state.epoch
        state.bad_epochs = 0
        state.best_metrics = metrics
        best = _state_copy(model)
    else:
        state.bad_epochs += 1
    state.finished = state.bad_epochs >= cfg.patience or state.epoch >= cfg.epochs
    state.history.append(
        {
            "epoch": epoch + 1,
            "train_loss": loss,
            "val": metrics,
            "seconds": time.perf_counter() - start,
        }
    )
    ctx.bar.set_postfix(
        loss=f"{loss:.3g}",
        val=f"{abs(value):.3f}",
        best=f"{abs(state.best_score):.3f}",
    )
    return best


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
    net = wrap_model(model, info)
    optimizer = torch.optim.Adam(
        param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    if run_dir is not None and info.is_main:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    state, best_state = _resume(model, optimizer, run_dir)
    if state.finished or state.epoch >= cfg.epochs:
        state.finished = True
        return best_state, state
    ctx = _context(get_task(task), net, optimizer, cfg, train, state, seed, info)
    ctx.bar = tqdm(
        total=ctx.bar_total,
        desc=desc,
        disable=not (progress and info.is_main),
        dynamic_ncols=True,
    )
    for epoch in range(state.epoch, cfg.epochs):
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(cfg, epoch) * group["lr_scale"]
        loss = _train_epoch(ctx, train, epoch, seed, info)
        if info.is_main:
            best = _validate(ctx, model, val, state, cfg, epoch, loss, start)
            if best is not None:
                best_state = best
                if run_dir is not None:
                    _save_atomic(best_state, Path(run_dir) / BEST_FILE)
            if run_dir is not None:
                _save_last(model, optimizer, state, Path(run_dir) / LAST_FILE)
        if broadcast_flag(info.is_main and state.finished, info):
            break
    ctx.bar.close()
    state.finished = True
    return best_state, state


def _context(
    task: Task,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    cfg: TrainConfig,
    train: SplitData,
    state: FitState,
    seed: int,
    info: DistInfo,
) -> _Epoch:
    """The loss, gradient scaler, sampler and progress-bar length of a fit."""
    device = info.device
    sampler = DistributedSampler(
        range(len(train)),  # type: ignore[arg-type]
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=True,
        seed=seed,
    )
    per_rank = max(2, cfg.batch_size // info.world_size)
    steps = math.ceil(len(sampler) / per_rank)
    return _Epoch(
        task=task,
        device=device,
        net=net,
        optimizer=optimizer,
        loss_fn=task.loss(cfg, device),
        scaler=torch.amp.GradScaler(device.type, enabled=device.type == "cuda"),
        sampler=sampler,
        per_rank=per_rank,
        bar_total=(cfg.epochs - state.epoch) * steps,
    )


def _save_last(
    model: nn.Module, optimizer: torch.optim.Optimizer, state: FitState, path: Path
) -> None:
    """The resumable state of the run after an epoch."""
    _save_atomic(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "state": asdict(state),
        },
        path,
    )


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
