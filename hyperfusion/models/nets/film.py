"""FiLM (Perez et al. 2018) and DAFT (Wolf et al. 2022): the EHR scales and shifts
the feature maps entering the last residual block (block 4 in the paper).

FiLM's auxiliary network sees the EHR only; DAFT's sees the EHR and the globally
pooled feature map, through a bottleneck (7 units in the paper). Both output a
per-channel scale ``γ = 1 + Δγ`` and shift ``β``, so that an untrained modulator is the
identity.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.blocks import ModulatedPreActBlock
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.nets.resnet import (
    RESNET_CAM_LAYERS,
    ClassifierHead,
    ResNetTrunk,
    block_channels,
)


class _ModulatedResNet(FusionNet):
    """The ResNet with its last block replaced by a modulated block.

    ``encode_image`` runs up to the last block's input ``(B, 8f, ...)``, which the EHR
    cannot change; ``fuse`` modulates the last block and runs the head.
    """

    cam_layers = RESNET_CAM_LAYERS

    def __init__(self, cfg: ResNetConfig, modulator_in: int, hidden: int) -> None:
        super().__init__()
        self.cfg = cfg
        ch = block_channels(cfg)
        self.trunk = ResNetTrunk(cfg)
        self.trunk.blocks[-1] = ModulatedPreActBlock(
            ch[-2],
            ch[-1],
            cfg.block_strides[-1],
            cfg.block_dropout[-1],
            cfg.bn_momentum,
        )
        self.modulator = nn.Sequential(
            nn.Linear(modulator_in, hidden), nn.ReLU(), nn.Linear(hidden, 2 * ch[-2])
        )
        nn.init.zeros_(self.modulator[-1].weight)
        nn.init.zeros_(self.modulator[-1].bias)
        self.head = ClassifierHead(cfg, self.trunk.out_features)

    def modulator_input(self, x: Tensor, tabular: Tensor) -> Tensor:
        raise NotImplementedError

    def scale_shift(self, x: Tensor, tabular: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample, per-channel ``(γ, β)`` for the last block's input ``x``."""
        delta_gamma, beta = self.modulator(self.modulator_input(x, tabular)).chunk(2, 1)
        return 1.0 + delta_gamma, beta

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        x = self.trunk.stem(image)
        for block in self.trunk.blocks[:-1]:
            x = block(x)
        return (x,)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        x = features[0]
        gamma, beta = self.scale_shift(x, tabular)
        block = self.trunk.blocks[-1]
        x = block.forward_modulated(x, gamma, beta)
        return self.head(self.trunk.pool(self.trunk.cam_tap(self.trunk.final(x))))


class FiLMNet(_ModulatedResNet):
    """FiLM: ``(γ, β) = MLP(t)``."""

    def __init__(self, cfg: ResNetConfig, hidden: int = 16) -> None:
        super().__init__(cfg, cfg.n_tabular, hidden)

    def modulator_input(self, x: Tensor, tabular: Tensor) -> Tensor:
        return tabular


class DAFTNet(_ModulatedResNet):
    """DAFT: ``(γ, β) = MLP([GAP(x), t])`` through a 7-unit bottleneck."""

    def __init__(self, cfg: ResNetConfig, bottleneck: int = 7) -> None:
        super().__init__(cfg, block_channels(cfg)[-2] + cfg.n_tabular, bottleneck)

    def modulator_input(self, x: Tensor, tabular: Tensor) -> Tensor:
        return torch.cat([x.mean(dim=(2, 3, 4)), tabular], dim=1)
