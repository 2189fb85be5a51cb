"""Maps of many subjects for the evaluation of the map methods, in batches, with one
seed's network; and that network with its layers after the explained one
re-initialised (the randomisation test of Adebayo et al. 2018).

A *candidate* is ``(method, layer)``: a method of
:data:`~hyperfusion.explain.methods.METHODS` at one module (``"input"`` for the
image). Maps are signed, in the network's views ``(B, V, X, Y, Z)``, for each
subject's own target; the same code as the app's (:mod:`hyperfusion.explain`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from hyperfusion.explain.cam import activations_and_gradients, combine, upsample
from hyperfusion.explain.ensemble import Net, view_output
from hyperfusion.explain.integrated import integrated_gradients, smoothgrad_ig
from hyperfusion.explain.methods import METHODS
from hyperfusion.explain.occlusion import occlusion
from hyperfusion.tasks import Task

Candidate = tuple[str, str]  # (method, layer)
IG_BATCH = 32  # images (of V views) per Integrated Gradients pass


def probabilities(model: nn.Module, task: Task) -> Callable[[Tensor, Tensor], Tensor]:
    """``f(x (k, V, X, Y, Z), tabular (k, F)) -> (k, C)``: the task's outputs of
    the views' mean logits (class probabilities, or years)."""

    def forward(x: Tensor, tabular: Tensor) -> Tensor:
        k, v = x.shape[:2]
        raw = model(x.reshape(k * v, 1, *x.shape[2:]), tabular.repeat_interleave(v, 0))
        return task.read_output(raw.view(k, v, -1).mean(1))

    return forward


def _cam_maps(
    model: nn.Module,
    views: Tensor,
    tabular: Tensor,
    targets: Tensor,
    candidates: Sequence[Candidate],
) -> dict[Candidate, np.ndarray]:
    b, v = views.shape[:2]
    flat = views.reshape(b * v, 1, *views.shape[2:])
    layers = list(dict.fromkeys(layer for _, layer in candidates))
    found = activations_and_gradients(
        model,
        flat,
        tabular.repeat_interleave(v, 0),
        targets.repeat_interleave(v),
        layers,
    )
    out = {}
    for method, layer in candidates:
        maps = upsample(combine(method, *found[layer]), flat.shape[2:])
        out[(method, layer)] = maps.view(b, v, *maps.shape[1:]).cpu().numpy()
    return out


def _ig_maps(model, task, views, tabular, targets, baseline, smooth: bool):
    forward = probabilities(model, task)
    if smooth:
        attr = smoothgrad_ig(forward, views, baseline, target=targets, args=(tabular,))
    else:
        attr = integrated_gradients(
            forward, views, baseline, target=targets, args=(tabular,), batch=IG_BATCH
        )
    return attr.values.cpu().numpy()


def _occlusion_maps(model, task, views, tabular, targets, baseline) -> np.ndarray:
    maps = []
    for i in range(views.shape[0]):
        net = Net(model, tabular[i : i + 1])
        forward = view_output(net, task, int(targets[i]), views[i].unsqueeze(1))
        found, _ = occlusion(forward, views[i], baseline)
        maps.append(found.cpu().numpy())
    return np.stack(maps)


def candidate_maps(
    model: nn.Module,
    task: Task,
    views: Tensor,
    tabular: Tensor,
    targets: Tensor,
    baseline: Tensor,
    candidates: Sequence[Candidate],
) -> dict[Candidate, np.ndarray]:
    """Signed maps ``(B, V, X, Y, Z)`` of each candidate for subjects ``views (B,
    V, X, Y, Z)``, ``tabular (B, F)`` and their ``targets (B,)``."""
    cams = [c for c in candidates if METHODS[c[0]].kind == "cam"]
    out = _cam_maps(model, views, tabular, targets, cams) if cams else {}
    for method, layer in candidates:
        spec = METHODS[method]
        if spec.kind == "ig":
            out[(method, layer)] = _ig_maps(
                model, task, views, tabular, targets, baseline, spec.smoothgrad
            )
        elif spec.kind == "occlusion":
            out[(method, layer)] = _occlusion_maps(
                model, task, views, tabular, targets, baseline
            )
    return out


def modules_after(model: nn.Module, layer: str, image: Tensor, tabular: Tensor):
    """The leaf modules with parameters or buffers that a forward pass runs after
    ``layer`` has produced its output (every one for ``"input"``), in order."""
    order: list[str] = []
    mark: list[int] = []
    leaves = [
        (name, m)
        for name, m in model.named_modules()
        if not list(m.children()) and (list(m.parameters()) or list(m.buffers()))
    ]
    handles = [
        m.register_forward_hook(lambda *_, name=name: order.append(name))
        for name, m in leaves
    ]
    if layer != "input":
        handles.append(
            model.get_submodule(layer).register_forward_hook(
                lambda *_: mark.append(len(order))
            )
        )
    try:
        with torch.no_grad():
            model(image, tabular)
    finally:
        for h in handles:
            h.remove()
    start = mark[0] if mark else 0
    return list(dict.fromkeys(order[start:]))


def randomised(
    model: nn.Module, layer: str, image: Tensor, tabular: Tensor, seed: int
) -> nn.Module:
    """A copy of ``model`` whose modules after ``layer`` are re-initialised (their
    own ``reset_parameters``; BatchNorm also forgets its running statistics),
    seeded: the same copy for the same ``seed``."""
    names = modules_after(model, layer, image, tabular)
    twin = copy.deepcopy(model).eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name in names:
            module = twin.get_submodule(name)
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return twin


__all__ = [
    "Candidate",
    "candidate_maps",
    "modules_after",
    "probabilities",
    "randomised",
]
