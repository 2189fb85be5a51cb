"""What the hypernetwork generated: views of W(t), its parts and how it moves.

For a hyper layer, ``W(t) = A·e(t) + B``. The views separate the shared weight ``B``
(what every patient gets), the tabular-driven part ``W(t) - B`` and the difference
to a reference patient ``W(t) - W(t_ref)``, as 2D matrices (output x input) a heatmap
can show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class HyperLayerView:
    """One hyper layer's generated weights for a patient and a reference patient.

    Matrices are ``(out, in)`` (a 1x1x1 convolution's kernel is squeezed; larger
    kernels are flattened into the input axis).
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    shared: np.ndarray
    reference: np.ndarray
    embedding: np.ndarray
    reference_embedding: np.ndarray

    @property
    def offset(self) -> np.ndarray:
        """The tabular-driven part ``W(t) - B``."""
        return self.weight - self.shared

    @property
    def difference(self) -> np.ndarray:
        """``W(t) - W(t_ref)``: what this patient's EHR changed."""
        return self.weight - self.reference

    @property
    def channel_norms(self) -> np.ndarray:
        """L2 norm of each output channel's generated weights, ``(out,)``."""
        return np.linalg.norm(self.weight, axis=1)


def _matrix(w: Tensor) -> np.ndarray:
    return w.detach().reshape(w.shape[0], -1).cpu().numpy().astype(np.float32)


def hyper_layer_views(
    model: nn.Module, tabular: Tensor, reference: Tensor
) -> list[HyperLayerView]:
    """Views of every hyper layer of ``model`` for one patient ``(F,)`` vs a reference.

    Returns an empty list for models without hyper layers.
    """
    if not hasattr(model, "hyper_modules"):
        return []
    both = torch.stack([tabular, reference])
    with torch.no_grad():
        embeddings = model.layer_embeddings(both)
        views = []
        for name, module in model.hyper_modules().items():
            w, b = module.generate(embeddings[name])
            shared, _ = module.shared_weight()
            views.append(
                HyperLayerView(
                    name=name,
                    weight=_matrix(w[0]),
                    bias=b[0].cpu().numpy(),
                    shared=_matrix(shared),
                    reference=_matrix(w[1]),
                    embedding=embeddings[name][0].cpu().numpy(),
                    reference_embedding=embeddings[name][1].cpu().numpy(),
                )
            )
    return views


def channel_norm_sweep(model: nn.Module, tabular: Tensor, layer: str) -> np.ndarray:
    """Per-output-channel norms of ``layer``'s W(t) for each row of ``tabular``.

    Args:
        tabular: ``(K, F)``, e.g. one field swept over its range.

    Returns:
        ``(K, out)`` norms, from one batched generation.
    """
    with torch.no_grad():
        e = model.layer_embeddings(tabular)[layer]
        w, _ = model.hyper_modules()[layer].generate(e)
    return w.reshape(w.shape[0], w.shape[1], -1).norm(dim=2).cpu().numpy()
