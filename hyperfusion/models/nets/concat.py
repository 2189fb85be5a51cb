"""Intermediate fusion by concatenation of pooled image features and the EHR vector."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.resnet import (
    GRADCAM_LAYER,
    HIRESCAM_LAYER,
    ClassifierHead,
    ResNetTrunk,
)


class ConcatNet(nn.Module):
    """``head([GAP(ResNet(x)), t])``: 16f pooled image features + F EHR values."""

    gradcam_layer = GRADCAM_LAYER
    hirescam_layer = HIRESCAM_LAYER

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = ResNetTrunk(cfg)
        self.head = ClassifierHead(cfg, self.trunk.out_features + cfg.n_tabular)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return (self.trunk(image),)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        return self.head(torch.cat([features[0], tabular], dim=1))

    def forward(self, image: Tensor, tabular: Tensor) -> Tensor:
        return self.fuse(self.encode_image(image), tabular)

    def generated_weights(self, tabular: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        return {}
