"""Early fusion: the tabular values enter as extra constant image channels."""

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


class EarlyFusionNet(FusionNet):
    """ResNet on ``1 + F`` channels: the MRI and one constant channel per EHR value.

    Nothing is worth caching per image: the first convolution already mixes both, so
    ``encode_image`` returns the image itself and ``fuse`` runs the whole network.
    """

    cam_layers = RESNET_CAM_LAYERS

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = ResNetTrunk(cfg, in_channels=1 + cfg.n_tabular)
        self.head = ClassifierHead(cfg, self.trunk.out_features)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        """``(image,)`` unchanged: no computation here is independent of the EHR."""
        return (image,)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        image = features[0]
        planes = tabular[:, :, None, None, None].expand(-1, -1, *image.shape[2:])
        return self.head(self.trunk(torch.cat([image, planes], dim=1)))
