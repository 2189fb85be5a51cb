"""Brain-age networks: a VGG-style 3D CNN with a fully connected regressor that is
plain (image-only), sees the sex one-hot concatenated (concat), or is generated from
it (HyperFusion-BrainAge).

HyperFusion-BrainAge (Duenias et al. 2025): all four FC layers are hyper layers, each
with its own embedding ``Linear(2 -> 1)`` of the one-hot ``[F, M]``, initialised to
weight 1 and bias 0 so that both sexes start with identical weights and diverge only
through training. In effect each layer learns one weight set per sex.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Literal

import torch
from torch import Tensor, nn

from hyperfusion.config import BrainAgeConfig
from hyperfusion.models.blocks import VGGBlock
from hyperfusion.models.layers import HyperLinear
from hyperfusion.models.nets.base import FusionNet

BrainAgeFusion = Literal["none", "concat", "hyper"]
# E[e²] of each layer's embedding at initialisation (weight 1, bias 0: e = 1 for both
# sexes), the scale hyperfan-in needs so that Var(W) = 1/fan_in at the start. The
# reference's 0.25 (the variance of a one-hot entry) made the first generated weights
# twice as large per layer, and validation MAE jumped between epochs.
SEX_EMBED_VAR = 1.0


def trunk_output_shape(cfg: BrainAgeConfig) -> tuple[int, int, int]:
    """Spatial shape after the three conv blocks."""
    shape = list(cfg.input_shape)
    for _ in cfg.channels:
        shape = [(s - 4 + 2 * 2 * cfg.conv_padding) // 2 for s in shape]
    return tuple(shape)  # type: ignore[return-value]


class BrainAgeNet(FusionNet):
    """Brain-age regressor ``(image (B,1,X,Y,Z), sex (B,2)) -> age (B,1)`` in years.

    ``encode_image`` gives the flattened trunk output ``(B, 64·7·11·8)`` at the
    paper's size; ``fuse`` is the regressor, the only part the sex reaches.

    Args:
        cfg: network configuration.
        fusion: ``"none"`` (image-only), ``"concat"`` (sex after FC1) or ``"hyper"``.
    """

    # Both methods explain the trunk's last map (HiResCAM falls back to it).
    cam_layers = MappingProxyType({"gradcam": "cam_tap"})

    def __init__(self, cfg: BrainAgeConfig, fusion: BrainAgeFusion = "hyper") -> None:
        super().__init__()
        self.cfg = cfg
        self.fusion = fusion
        chans = (1, *cfg.channels)
        self.features = nn.Sequential(
            *(VGGBlock(chans[i], chans[i + 1], cfg.conv_padding) for i in range(3))
        )
        self.cam_tap = nn.Identity()
        self.dropout = nn.Dropout3d(cfg.dropout)
        n_flat = cfg.channels[-1] * math.prod(trunk_output_shape(cfg))
        sizes = (n_flat, *cfg.fc_sizes)
        layers: list[nn.Module] = []
        self.embeddings = nn.ModuleList()
        for i in range(len(cfg.fc_sizes)):
            n_in = sizes[i] + (cfg.n_tabular if fusion == "concat" and i == 1 else 0)
            if fusion == "hyper":
                layers.append(
                    HyperLinear(n_in, sizes[i + 1], 1, SEX_EMBED_VAR, name=f"fc{i + 1}")
                )
                emb = nn.Linear(cfg.n_tabular, 1)
                nn.init.ones_(emb.weight)
                nn.init.zeros_(emb.bias)
                self.embeddings.append(emb)
            else:
                layers.append(nn.Linear(n_in, sizes[i + 1]))
        self.fc = nn.ModuleList(layers)
        self.act = nn.ReLU()
        # Mean training age, added to the output so the regressor starts near it.
        self.register_buffer("age_offset", torch.zeros(1))

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return (self.dropout(self.cam_tap(self.features(image))).flatten(1),)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        h = features[0]
        last = len(self.fc) - 1
        for i, layer in enumerate(self.fc):
            if self.fusion == "hyper":
                h = layer(h, self.embeddings[i](tabular))
            else:
                if self.fusion == "concat" and i == 1:
                    h = torch.cat([h, tabular], dim=1)
                h = layer(h)
            if i < last:
                h = self.act(h)
        return h + self.age_offset

    def conditioning_parameters(self) -> list[nn.Parameter]:
        """The sex embeddings' parameters: 3 per layer, which must move O(1) from
        their identical start for the sexes' weights to differ (trained faster)."""
        return list(self.embeddings.parameters())

    def layer_embeddings(self, tabular: Tensor) -> dict[str, Tensor]:
        """Each hyper FC layer's own 1-value embedding ``(B, 1)`` of the sex one-hot
        ``(B, 2)``, by name (``"fc1"``...); empty unless hyper."""
        return {
            name: self.embeddings[i](tabular)
            for i, name in enumerate(self.hyper_modules())
        }
