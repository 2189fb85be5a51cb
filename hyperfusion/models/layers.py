"""Hypernetwork layers: weights generated per sample from a tabular embedding.

Duenias et al. (2025), Eq. 1: a hyper layer's weight for a sample with tabular
embedding ``e(t)`` (``d_k`` values) is

    W(t) = A · e(t) + B,

a shared weight ``B`` plus a tabular-dependent offset of rank at most ``d_k``; the bias
is generated the same way. ``A`` and ``B`` are the weight and bias of one ``Linear``
generator. Initialisation is "hyperfan-in" (Chang et al., ICLR 2020):
``Var(A) = 1 / (fan_in · d_k · Var(e))`` with the generator biases at zero.

Each sample's own weights are applied in one batched operation (batched matmul or a
grouped convolution); a linear layer applies them without building them
(:meth:`HyperLinear.forward`). The reference implementation's per-sample 3D
convolution pairs sample ``i + 1``'s weights with sample ``i``'s input;
``tests/models/test_layers.py`` proves ours equals the per-sample loop.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _uniform_with_variance_(tensor: Tensor, variance: float) -> None:
    bound = math.sqrt(3.0 * variance)
    with torch.no_grad():
        tensor.uniform_(-bound, bound)


class HyperLayer(nn.Module):
    """Shared generator logic: ``W(t) = A·e(t) + B`` and ``b(t) = A_b·e(t) + B_b``.

    ``name`` is the layer's name in the configuration (``"block4.shortcut"``), which
    ``FusionNet.hyper_modules`` reports; it is not part of the state dict.
    """

    weight_shape: tuple[int, ...]

    def __init__(
        self,
        weight_shape: tuple[int, ...],
        embed_dim: int,
        embed_var: float,
        name: str = "",
    ) -> None:
        super().__init__()
        if embed_var <= 0:
            raise ValueError(f"embed_var must be positive, got {embed_var}")
        self.name = name
        self.weight_shape = tuple(weight_shape)
        self.embed_dim = embed_dim
        n_weights = math.prod(weight_shape)
        out = weight_shape[0]
        fan_in = math.prod(weight_shape[1:])
        self.weight_gen = nn.Linear(embed_dim, n_weights)
        self.bias_gen = nn.Linear(embed_dim, out)
        _uniform_with_variance_(
            self.weight_gen.weight, 1.0 / (fan_in * embed_dim * embed_var)
        )
        _uniform_with_variance_(self.bias_gen.weight, 1.0 / (embed_dim * embed_var))
        nn.init.zeros_(self.weight_gen.bias)
        nn.init.zeros_(self.bias_gen.bias)

    def generate(self, e: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample weights and biases for embeddings ``e`` of shape ``(B, d_k)``.

        Returns:
            ``(W, b)`` with shapes ``(B, *weight_shape)`` and ``(B, out)``.
        """
        w = self.weight_gen(e).view(e.shape[0], *self.weight_shape)
        return w, self.bias_gen(e)

    def shared_weight(self) -> tuple[Tensor, Tensor]:
        """The tabular-independent part ``(B, B_b)``: the weights for ``e = 0``."""
        return (
            self.weight_gen.bias.view(*self.weight_shape),
            self.bias_gen.bias,
        )


class HyperLinear(HyperLayer):
    """A linear layer whose weight and bias are generated per sample.

    Args:
        in_features: input size.
        out_features: output size.
        embed_dim: ``d_k``, the size of the tabular embedding ``e(t)``.
        embed_var: ``Var(e)`` over the training set, for hyperfan-in initialisation.
        name: the layer's configuration name (``"fc1"``).

    Shapes: ``x (B, in_features)``, ``e (B, d_k)`` -> ``(B, out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        embed_dim: int,
        embed_var: float = 1.0,
        name: str = "",
    ) -> None:
        super().__init__((out_features, in_features), embed_dim, embed_var, name)
        self.in_features = in_features
        self.out_features = out_features

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        """``W(t) x + b(t)``. Up to ``d_k + 1`` samples, each sample's ``W(t)`` is
        generated and applied (a batched matmul); beyond, the generated weights
        would outweigh ``A`` itself, so by Eq. 1 ``W(t) x = B x + sum_k e_k(t)
        (A_k x)`` (``A_k``: the generator's k-th column as an ``(out, in)``
        matrix) is two ordinary matmuls instead (a 64-value sweep of the
        brain-age head generated 10 MB of weights per seed)."""
        n, d_k = e.shape
        if n <= d_k + 1:
            w, b = self.generate(e)
            return torch.bmm(w, x.unsqueeze(-1)).squeeze(-1) + b
        a = self.weight_gen.weight.t().reshape(d_k * self.out_features, -1)
        shared = F.linear(x, self.weight_gen.bias.view(self.weight_shape))
        steered = F.linear(x, a).view(n, d_k, self.out_features)
        return shared + torch.bmm(e.unsqueeze(1), steered).squeeze(1) + self.bias_gen(e)


class HyperConv3d(HyperLayer):
    """A 3D convolution whose kernel and bias are generated per sample.

    All samples are convolved in one grouped convolution (one group per sample), or
    one batched matmul for 1x1x1 kernels.

    Shapes: ``x (B, C_in, D, H, W)``, ``e (B, d_k)`` -> ``(B, C_out, D', H', W')``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        embed_dim: int,
        embed_var: float = 1.0,
        stride: int = 1,
        padding: int = 0,
        name: str = "",
    ) -> None:
        k = kernel_size
        shape = (out_channels, in_channels, k, k, k)
        super().__init__(shape, embed_dim, embed_var, name)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        w, b = self.generate(e)
        n = x.shape[0]
        if self.kernel_size == 1 and self.padding == 0:
            s = self.stride
            xs = x[:, :, ::s, ::s, ::s]
            out = torch.bmm(
                w.flatten(1, -1).view(n, self.out_channels, -1), xs.flatten(2)
            )
            out = out.view(n, self.out_channels, *xs.shape[2:])
        else:
            out = F.conv3d(
                x.reshape(1, n * self.in_channels, *x.shape[2:]),
                w.reshape(n * self.out_channels, self.in_channels, *w.shape[3:]),
                stride=self.stride,
                padding=self.padding,
                groups=n,
            )
            out = out.view(n, self.out_channels, *out.shape[2:])
        return out + b.view(n, self.out_channels, 1, 1, 1)

    def forward_shared(self, x: Tensor, e: Tensor) -> Tensor:
        """:meth:`forward` for every one of K embeddings ``e (K, d_k)`` on the same
        V inputs ``x (V, C_in, ...)``: ``(K * V, C_out, ...)``, record-major (as
        ``x.repeat(K, ...)`` with ``e.repeat_interleave(V)``). A 1x1x1 kernel
        applies ``A_k`` and ``B`` to the V inputs once and mixes them by ``e``
        (Eq. 1), instead of generating K * V kernels: a what-if sweep of the AD
        model on one image."""
        k, v = e.shape[0], x.shape[0]
        if self.kernel_size != 1 or self.padding != 0:
            return self.forward(x.repeat(k, 1, 1, 1, 1), e.repeat_interleave(v, 0))
        s = self.stride
        xs = x[:, :, ::s, ::s, ::s]
        flat = xs.flatten(2)  # (V, C_in, P)
        shape = (self.out_channels, self.in_channels, self.embed_dim)
        steered = torch.einsum(
            "oik,vip->vkop", self.weight_gen.weight.view(shape), flat
        )
        shared = torch.einsum("oi,vip->vop", self.weight_gen.bias.view(shape[:2]), flat)
        out = torch.einsum("rk,vkop->rvop", e, steered) + shared
        out = out + self.bias_gen(e)[:, None, :, None]
        return out.reshape(k * v, self.out_channels, *xs.shape[2:])
