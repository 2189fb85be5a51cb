"""Any method of :data:`~hyperfusion.explain.methods.METHODS` for one image and EHR,
averaged over an ensemble: what :meth:`hyperfusion.engine.Engine.explain` serves.

CAM-family maps start from the engine's cached ``encode_image`` features (and
:class:`~hyperfusion.explain.cam.TrunkCache`): milliseconds per EHR edit.
Integrated Gradients and occlusion run the networks from the image (seconds) and
report their progress. Every map is the mean of the seeds' maps; reference-based
maps explain the ensemble's output (the mean of the seeds' probabilities, or years),
which is the same thing for these linear-in-the-function methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from hyperfusion.config import Grid
from hyperfusion.explain.baseline import healthy_baseline
from hyperfusion.explain.cam import TrunkCache, combine, resolve_layer, upsample
from hyperfusion.explain.integrated import integrated_gradients, smoothgrad_ig
from hyperfusion.explain.maps import ExplanationMap, peak_scaled
from hyperfusion.explain.methods import Method, get_method
from hyperfusion.explain.occlusion import occlusion, ranked_patches
from hyperfusion.explain.settings import measured_choices
from hyperfusion.tasks import Task

Progress = Callable[[float, str], None]
TOP_PATCHES = 10  # rows of occlusion's ranked table


@dataclass(frozen=True)
class Net:
    """One seed: its network (eval mode) and the EHR's model-input row ``(1, F)``."""

    model: nn.Module
    tabular: Tensor


def output_name(task: Task, target: str) -> str:
    """``"P(AD)"``, or ``"brain age (years)"``."""
    if target in task.classes:
        return f"P({target})"
    return f"{task.short_title.lower()} ({task.unit})"


def units(task: Task, target: str, method: Method) -> str:
    """What a value of a method's map means, for the colour bar."""
    if method.kind == "cam":
        return "relative evidence (peak = 1)"
    what = output_name(task, target)
    if method.kind == "ig":
        return f"Δ{what} per voxel"
    return f"Δ{what} when the patch turns healthy"


def seed_output(net: Net, task: Task, index: int) -> Callable[[Tensor], Tensor]:
    """One seed's explained output of images ``(n, V, X, Y, Z)``: the class
    probability of the views' mean logits, or years; ``(n,)``."""

    def forward(x: Tensor) -> Tensor:
        n, v = x.shape[:2]
        flat = x.reshape(n * v, 1, *x.shape[2:])
        raw = net.model(flat, net.tabular.expand(n * v, -1))
        return task.read_output(raw.view(n, v, -1).mean(1))[:, index]

    return forward


def view_output(net: Net, task: Task, index: int, views: Tensor):
    """One seed's explained output with view ``v`` replaced by each of a batch
    ``(k, X, Y, Z)``; the other views keep their logits."""
    with torch.no_grad():
        logits = net.model(views, net.tabular.expand(views.shape[0], -1))
    total, n_views = logits.sum(0), views.shape[0]

    def forward(v: int, x: Tensor) -> Tensor:
        raw = net.model(x.unsqueeze(1), net.tabular.expand(x.shape[0], -1))
        mean = (total - logits[v] + raw) / n_views
        return task.read_output(mean)[:, index]

    return forward


class Explainer:
    """The maps of one engine: the trunk cache, the healthy baseline and the layers
    chosen on validation (``weights_dir/metrics.json``, unless ``layers`` gives
    role -> layer)."""

    def __init__(
        self,
        weights_dir: Path,
        cache_size: int = 12,
        layers: Mapping[str, str] | None = None,
    ) -> None:
        self.weights_dir = Path(weights_dir)
        self.trunks = TrunkCache(cache_size)
        self._layers = layers

    def default_method(self) -> str:
        """The default map method (chosen on validation; ``metrics.json``)."""
        return measured_choices(self.weights_dir).default_method

    def layer(self, model: nn.Module, method: str) -> str:
        """The module a method explains on ``model``."""
        chosen = self._layers
        if chosen is None:
            chosen = measured_choices(self.weights_dir).layers
        return resolve_layer(model, get_method(method).layer, chosen)

    def baseline(self, task: Task, views: Tensor) -> Tensor:
        """The healthy image in the views' shape ``(V, X, Y, Z)``."""
        shape = (views.shape[0], *views.shape[2:])
        found = healthy_baseline(task, self.weights_dir, shape)
        return torch.from_numpy(np.array(found)).to(views.device)

    def _cam(self, nets, views, features, index, method, key) -> tuple[Tensor, str]:
        maps, layer = [], ""
        for i, (net, feats) in enumerate(zip(nets, features, strict=True)):
            layer = self.layer(net.model, method.name)
            tab = net.tabular.expand(views.shape[0], -1)
            a, g = self.trunks.activation_gradient(
                (*key, i), net.model, views, feats, tab, index, layer
            )
            maps.append(upsample(combine(method.name, a, g), views.shape[2:]))
        return torch.stack(maps).mean(0), layer

    def _ig(self, nets, views, task, index, method, progress) -> tuple[Tensor, float]:
        base, x = self.baseline(task, views), views[:, 0]
        maps, deltas = [], []
        for i, net in enumerate(nets):
            forward = seed_output(net, task, index)
            run = smoothgrad_ig if method.smoothgrad else integrated_gradients
            attr = run(forward, x, base)
            maps.append(attr.values)
            deltas.append(float(attr.delta.mean()))
            progress((i + 1) / len(nets), f"{method.label}: seed {i + 1}/{len(nets)}")
        return torch.stack(maps).mean(0), float(np.mean(deltas))

    def _occlusion(self, nets, views, task, index, progress):
        base, x = self.baseline(task, views), views[:, 0]
        maps, labels = [], None
        for i, net in enumerate(nets):
            forward = view_output(net, task, index, views)

            def report(share: float, i: int = i) -> None:
                progress((i + share) / len(nets), f"Occlusion: seed {i + 1}")

            found, labels = occlusion(forward, x, base, progress=report)
            maps.append(found)
        offset = np.arange(len(labels))[:, None, None, None] * (labels.max() + 1)
        return torch.stack(maps).mean(0), np.where(labels >= 0, labels + offset, -1)

    def explain(
        self,
        nets: Sequence[Net],
        views: Tensor,
        task: Task,
        target: str,
        method: str,
        key: tuple,
        grid: Grid,
        features: Sequence[tuple[Tensor, ...]] | None = None,
        signed: bool | None = None,
        progress: Progress | None = None,
    ) -> ExplanationMap:
        """The ensemble's map of ``target`` for ``views (V, 1, X, Y, Z)``.

        Args:
            key: what identifies the image and networks in the trunk cache.
            grid: the task's grid (views merged onto it).
            features: each seed's ``encode_image(views)`` (computed if None).
            signed: keep evidence against (default: the method's choice).
            progress: called with (share done, text) by the slow methods.
        """
        spec, index = get_method(method), task.target_index(target)
        signed = spec.signed if signed is None else signed
        report = progress or (lambda share, text: None)
        layer, total, regions = "input", None, None
        if spec.kind == "cam":
            if features is None:
                with torch.no_grad():
                    features = [n.model.encode_image(views) for n in nets]
            maps, layer = self._cam(nets, views, features, index, spec, key)
        elif spec.kind == "ig":
            maps, _ = self._ig(nets, views, task, index, spec, report)
        else:
            maps, labels = self._occlusion(nets, views, task, index, report)
        volume = task.merge_views(maps.float().cpu().numpy()).astype(np.float32)
        if spec.kind == "ig":
            total = float(volume.sum(dtype=np.float64))
        if spec.kind == "occlusion":
            regions = ranked_patches(
                volume, task.merge_views(labels), grid, TOP_PATCHES
            )
        volume = volume if signed else np.maximum(volume, 0)
        if spec.kind == "cam":
            volume = peak_scaled(volume)
        return ExplanationMap(
            method=spec.name,
            target=target,
            volume=np.ascontiguousarray(volume),
            units=units(task, target, spec),
            signed=signed,
            layer=layer,
            total=total,
            regions=regions,
        )


__all__ = [
    "ExplanationMap",
    "Explainer",
    "Net",
    "Progress",
    "output_name",
    "seed_output",
    "units",
    "view_output",
]
