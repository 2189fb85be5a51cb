"""Late fusion: a learned weighting of the image-only and tabular-only predictions."""

from __future__ import annotations

from types import MappingProxyType

import torch
from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.nets.resnet import ImageOnlyNet
from hyperfusion.models.tabular import TabularMLP


class LateFusionNet(FusionNet):
    """``logits = w_img · image_net(x) + w_tab · tabular_net(t)``, ``w = softmax(θ)``.

    The two branches never see each other's input; only their decisions are mixed.
    ``encode_image`` caches the image branch's features ``(B, 16f)``.
    """

    cam_layers = MappingProxyType(
        {m: f"image_net.{p}" for m, p in ImageOnlyNet.cam_layers.items()}
    )

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_net = ImageOnlyNet(cfg)
        self.tabular_net = TabularMLP(cfg)
        self.mix_logits = nn.Parameter(torch.zeros(2))

    def modality_weights(self) -> Tensor:
        """``(w_image, w_tabular)``, summing to 1."""
        return torch.softmax(self.mix_logits, dim=0)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return self.image_net.encode_image(image)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        w = self.modality_weights()
        image_logits = self.image_net.fuse(features, tabular)
        return w[0] * image_logits + w[1] * self.tabular_net.fuse((), tabular)
