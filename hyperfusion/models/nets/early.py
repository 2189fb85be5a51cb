"""Early fusion: the tabular values enter as extra constant image channels."""

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


class EarlyFusionNet(nn.Module):
    """ResNet on ``1 + F`` channels: the MRI and one constant channel per EHR value.

    Nothing can be cached per image: the first convolution already mixes both.
    """

    gradcam_layer = GRADCAM_LAYER
    hirescam_layer = HIRESCAM_LAYER

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = ResNetTrunk(cfg, in_channels=1 + cfg.n_tabular)
        self.head = ClassifierHead(cfg, self.trunk.out_features)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return (image,)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        image = features[0]
        planes = tabular[:, :, None, None, None].expand(-1, -1, *image.shape[2:])
        return self.head(self.trunk(torch.cat([image, planes], dim=1)))

    def forward(self, image: Tensor, tabular: Tensor) -> Tensor:
        return self.fuse(self.encode_image(image), tabular)

    def generated_weights(self, tabular: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        return {}
