"""Intermediate fusion by concatenation of pooled image features and the EHR vector."""

from __future__ import annotations

import torch
from torch import Tensor

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.nets.resnet import (
    RESNET_CAM_LAYERS,
    ClassifierHead,
    ResNetTrunk,
)


class ConcatNet(FusionNet):
    """``head([GAP(ResNet(x)), t])``: 16f pooled image features + F EHR values.

    ``encode_image`` gives the pooled features ``(B, 16f)``, all of the trunk.
    """

    cam_layers = RESNET_CAM_LAYERS

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = ResNetTrunk(cfg)
        self.head = ClassifierHead(cfg, self.trunk.out_features + cfg.n_tabular)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return (self.trunk(image),)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        return self.head(torch.cat([features[0], tabular], dim=1))
