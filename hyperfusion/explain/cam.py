"""The CAM family from one forward and backward pass: a layer's activations ``A`` and
the output's gradient ``G`` with respect to them, combined four ways.

- Grad-CAM: ``sum_c mean(G_c) A_c`` (one weight per channel, the gradient averaged
  over space; Selvaraju et al. 2017);
- XGrad-CAM: ``sum_c w_c A_c``, ``w_c = sum(A_c G_c) / sum(A_c)`` (Fu et al. 2020);
- HiResCAM: ``sum_c A_c G_c`` per voxel (Draelos & Carin 2020);
- CAM: ``sum_c w_c A_c`` with ``w_c = sum(G_c)``, the gradient with respect to the
  pooled feature (Zhou et al. 2016), meant for the tensor feeding global average
  pooling, where ``G_c`` is the same at every voxel and the other three coincide
  with it (up to the pool's ``1/N``).

:func:`activations_and_gradients` runs the whole network from the image (the
evaluation, in batches). :class:`TrunkCache` serves the app: per image it keeps
``encode_image``'s autograd graph from the explained layer on, so an EHR edit runs
``fuse`` forward and backward (milliseconds) plus a backward through the few
image-only layers after the explained one, with the same result as a full pass.
The tests check all four against captum's ``LayerGradCam`` and
``LayerGradientXActivation`` and against hand-computed maps.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from hyperfusion.explain.gradcam import cam_layer

Combine = Callable[[Tensor, Tensor], Tensor]


def _spatial(t: Tensor) -> tuple[int, ...]:
    return tuple(range(2, t.dim()))


def _weighted(weights: Tensor, activation: Tensor) -> Tensor:
    return (weights * activation).sum(1)


def _gradcam(a: Tensor, g: Tensor) -> Tensor:
    return _weighted(g.mean(_spatial(g), keepdim=True), a)


def _xgradcam(a: Tensor, g: Tensor) -> Tensor:
    total = a.sum(_spatial(a), keepdim=True)
    share = a / torch.where(total.abs() > 0, total, torch.ones_like(total))
    return _weighted((share * g).sum(_spatial(g), keepdim=True), a)


def _hirescam(a: Tensor, g: Tensor) -> Tensor:
    return (a * g).sum(1)


def _cam(a: Tensor, g: Tensor) -> Tensor:
    return _weighted(g.sum(_spatial(g), keepdim=True), a)


COMBINE: Mapping[str, Combine] = {
    "gradcam": _gradcam,
    "xgradcam": _xgradcam,
    "hirescam": _hirescam,
    "cam": _cam,
}


def combine(method: str, activation: Tensor, gradient: Tensor) -> Tensor:
    """The signed map ``(B, *spatial)`` of ``activation`` and ``gradient``
    ``(B, C, *spatial)`` by a CAM-family method (a key of :data:`COMBINE`)."""
    return COMBINE[method](activation, gradient)


def pooled_layer(model: nn.Module) -> str:
    """The module whose output feeds global pooling: the net's ``cam_tap`` (the
    last feature map; the brain-age net flattens it into its regressor)."""
    taps = [name for name, _ in model.named_modules() if name.endswith("cam_tap")]
    if not taps:
        raise ValueError(f"{type(model).__name__} marks no last feature map (cam_tap)")
    return taps[-1]


def resolve_layer(
    model: nn.Module, role: str, chosen: Mapping[str, str] | None = None
) -> str:
    """The module a layer role names on ``model`` (``"input"`` for the image).

    ``chosen``: role -> layer chosen on the validation split (``metrics.json``),
    used when the model has that module.
    """
    if role == "input":
        return "input"
    if role == "pooled":
        return pooled_layer(model)
    picked = (chosen or {}).get(role)
    if picked and picked in dict(model.named_modules()):
        return picked
    return cam_layer(model, role)


def target_score(output: Tensor, target: int | Tensor) -> Tensor:
    """The explained output summed over the batch (``target``: one index, or one
    per row)."""
    index = torch.as_tensor(target, device=output.device).long()
    index = index.expand(output.shape[0]) if index.dim() == 0 else index
    return output.gather(1, index.view(-1, 1)).sum()


@contextmanager
def _captured(model: nn.Module, layers: Sequence[str]):
    """Forward hooks keeping each layer's output: ``{layer: output}``."""
    found: dict[str, Tensor] = {}
    handles = [
        model.get_submodule(name).register_forward_hook(
            lambda _m, _i, out, name=name: found.__setitem__(name, out)
        )
        for name in layers
    ]
    try:
        yield found
    finally:
        for h in handles:
            h.remove()


def activations_and_gradients(
    model: nn.Module,
    image: Tensor,
    tabular: Tensor,
    target: int | Tensor,
    layers: Sequence[str],
) -> dict[str, tuple[Tensor, Tensor]]:
    """``{layer: (A, G)}`` for output ``target`` of ``model(image, tabular)``, one
    pass from the image (``image (B, 1, X, Y, Z)``; detached results)."""
    with torch.enable_grad(), _captured(model, layers) as found:
        out = model(image.detach().requires_grad_(), tabular)
        missing = [name for name in layers if name not in found]
        if missing:
            raise ValueError(f"the forward pass never ran {', '.join(missing)}")
        acts = [found[name] for name in layers]
        grads = torch.autograd.grad(target_score(out, target), acts)
    return {
        name: (a.detach(), g.detach())
        for name, a, g in zip(layers, acts, grads, strict=True)
    }


def upsample(maps: Tensor, shape: Sequence[int]) -> Tensor:
    """``(B, *spatial)`` maps trilinearly to ``shape`` (the image's), detached."""
    from captum.attr import LayerAttribution  # captum takes ~0.45 s to import

    up = LayerAttribution.interpolate(
        maps.unsqueeze(1), tuple(shape), interpolate_mode="trilinear"
    )
    return up.detach()[:, 0]


class TrunkCache:
    """Per (image, network, layer): ``encode_image``'s features with their autograd
    graph back to the explained layer's activations, kept for EHR edits (LRU).

    Not thread-safe: the engine calls it under its lock.
    """

    def __init__(self, size: int = 12) -> None:
        self.size = size
        self._graphs: OrderedDict[tuple, tuple[tuple[Tensor, ...], Tensor]] = (
            OrderedDict()
        )

    def _graph(
        self, key: tuple, model: nn.Module, views: Tensor, layer: str
    ) -> tuple[tuple[Tensor, ...], Tensor]:
        if key in self._graphs:
            self._graphs.move_to_end(key)
            return self._graphs[key]
        with torch.enable_grad(), _captured(model, [layer]) as found:
            feats = tuple(model.encode_image(views))
        if layer not in found:
            raise ValueError(f"neither encode_image nor fuse runs {layer}")
        self._graphs[key] = (feats, found[layer])
        while len(self._graphs) > self.size:
            self._graphs.popitem(last=False)
        return self._graphs[key]

    def activation_gradient(
        self,
        key: tuple,
        model: nn.Module,
        views: Tensor,
        features: tuple[Tensor, ...],
        tabular: Tensor,
        target: int,
        layer: str,
    ) -> tuple[Tensor, Tensor]:
        """``(A, G)`` at ``layer`` for each view (``views (V, 1, X, Y, Z)``,
        ``tabular (V, F)``), from ``features`` = ``encode_image(views)``.

        A layer that ``fuse`` runs costs one ``fuse`` pass; one inside
        ``encode_image`` adds a backward through the graph cached under ``key``.
        """
        leaves = tuple(f.detach().float().requires_grad_() for f in features)
        with torch.enable_grad(), _captured(model, [layer]) as found:
            score = target_score(model.fuse(leaves, tabular), target)
            if layer in found:
                grad = torch.autograd.grad(score, found[layer])[0]
                return found[layer].detach(), grad.detach()
            grads = torch.autograd.grad(score, leaves, allow_unused=True)
        feats, act = self._graph((*key, layer), model, views, layer)
        pairs = [
            (f, torch.zeros_like(f) if g is None else g)
            for f, g in zip(feats, grads, strict=True)
            if f.requires_grad
        ]
        # J^T g as the gradient of the scalar sum(f * g): the same product, but
        # autograd's grad_outputs argument imports sympy on first use (~350 ms).
        with torch.enable_grad():
            surrogate = torch.stack([(f * g).sum() for f, g in pairs]).sum()
            grad = torch.autograd.grad(surrogate, act, retain_graph=True)[0]
        return act.detach(), grad.detach()


__all__ = [
    "COMBINE",
    "TrunkCache",
    "activations_and_gradients",
    "combine",
    "pooled_layer",
    "resolve_layer",
    "target_score",
    "upsample",
]
