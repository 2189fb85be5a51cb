"""Late fusion: a learned weighting of the image-only and tabular-only predictions."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.resnet import GRADCAM_LAYER, HIRESCAM_LAYER, ImageOnlyNet
from hyperfusion.models.tabular import TabularMLP


class LateFusionNet(nn.Module):
    """``logits = w_img · image_net(x) + w_tab · tabular_net(t)``, ``w = softmax(θ)``.

    The two branches never see each other's input; only their decisions are mixed.
    """

    gradcam_layer = f"image_net.{GRADCAM_LAYER}"
    hirescam_layer = f"image_net.{HIRESCAM_LAYER}"

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
        return (self.image_net(image, None),)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        w = self.modality_weights()
        return w[0] * features[0] + w[1] * self.tabular_net(None, tabular)

    def forward(self, image: Tensor, tabular: Tensor) -> Tensor:
        return self.fuse(self.encode_image(image), tabular)

    def generated_weights(self, tabular: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        return {}
