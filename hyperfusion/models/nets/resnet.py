"""The pre-activation 3D ResNet shared by every AD image model, and the image-only net.

Stem Conv3 + BN + ReLU + MaxPool 2, pre-activation blocks doubling the channels
(strides from the configuration; the paper's four, 1, 2, 2, 2), a final BN + ReLU,
global average pooling (max pooling as an option), and the head Dropout -> FC -> ReLU
-> Dropout -> FC (paper: 256 -> 64 -> 3 with 16 initial features).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.blocks import PreActBlock
from hyperfusion.models.layers import HyperLinear
from hyperfusion.models.nets.base import FusionNet

# Grad-CAM explains block 3's output, the input of HyperFusion's generated shortcut.
# On the demo crop block 4's map is only 2x2x2 per hemisphere; on the synthetic
# validation split (HyperFusion-AD seed 0) the Grad-CAM mass inside the true disease
# region was 0.95x chance at block 4, 1.35x at block 3 and 0.78x at block 2.
GRADCAM_LAYER = "trunk.blocks.2"
# HiResCAM explains block 2's output (6x8x6 per hemisphere on the demo crop), chosen on
# the synthetic validation split among blocks 2-4 (HyperFusion-AD seeds 0-2: mass
# inside the true disease region 3.8x, 3.5x, 4.2x chance at block 2; 2.2x at block 3).
HIRESCAM_LAYER = "trunk.blocks.1"
# The CAM layers of every net built on ``ResNetTrunk`` as ``self.trunk``.
RESNET_CAM_LAYERS: Mapping[str, str] = MappingProxyType(
    {"gradcam": GRADCAM_LAYER, "hirescam": HIRESCAM_LAYER}
)


def block_channels(cfg: ResNetConfig) -> list[int]:
    """Channels entering each block and leaving the last: ``[f, 2f, 4f, 8f, 16f]``
    for four blocks."""
    return [cfg.init_features * 2**i for i in range(len(cfg.block_strides) + 1)]


class ResNetTrunk(nn.Module):
    """Stem and the residual blocks; ``cam_tap`` marks the last feature map.

    Args:
        cfg: network configuration.
        in_channels: image channels (early fusion adds tabular channels).
        hyper_layers: entries ``"block{i}.shortcut"`` make that block's shortcut a
            hyper convolution (HyperFusion passes ``cfg.hyper_layers``).
        embed_var: ``Var(e)`` for hyperfan-in initialisation.
    """

    def __init__(
        self,
        cfg: ResNetConfig,
        in_channels: int = 1,
        hyper_layers: tuple[str, ...] = (),
        embed_var: float = 1.0,
    ) -> None:
        super().__init__()
        ch = block_channels(cfg)
        m = cfg.bn_momentum
        self.stem = nn.Sequential(
            nn.Conv3d(in_channels, ch[0], 3, padding=1, bias=False),
            nn.BatchNorm3d(ch[0], momentum=m),
            nn.ReLU(),
            nn.MaxPool3d(2),
        )
        self.blocks = nn.ModuleList(
            PreActBlock(
                ch[i],
                ch[i + 1],
                cfg.block_strides[i],
                cfg.block_dropout[i],
                m,
                hyper=f"block{i + 1}.shortcut" in hyper_layers,
                embed_dim=cfg.embed_dim,
                embed_var=embed_var,
                shortcut_name=f"block{i + 1}.shortcut",
            )
            for i in range(len(cfg.block_strides))
        )
        self.final = nn.Sequential(nn.BatchNorm3d(ch[-1], momentum=m), nn.ReLU())
        self.cam_tap = nn.Identity()
        pool = nn.AdaptiveMaxPool3d(1) if cfg.global_pool == "max" else None
        self.pool = nn.Sequential(pool or nn.AdaptiveAvgPool3d(1), nn.Flatten())
        self.out_features = ch[-1]

    def first_hyper_block(self) -> int | None:
        """Index of the first block with a generated shortcut, if any."""
        return next((i for i, b in enumerate(self.blocks) if b.hyper), None)

    def run_blocks(self, x: Tensor, start: int, e: Tensor | None = None) -> Tensor:
        """Blocks from ``start`` on, then the final norm, the Grad-CAM tap and
        pooling."""
        for block in self.blocks[start:]:
            x = block(x, e)
        return self.pool(self.cam_tap(self.final(x)))

    def forward(self, x: Tensor, e: Tensor | None = None) -> Tensor:
        return self.run_blocks(self.stem(x), 0, e)


class ClassifierHead(nn.Module):
    """Dropout -> FC1 -> ReLU -> Dropout -> FC2; either FC may be a hyper layer."""

    def __init__(
        self,
        cfg: ResNetConfig,
        in_features: int,
        hyper_layers: tuple[str, ...] = (),
        embed_var: float = 1.0,
    ) -> None:
        super().__init__()
        self.drop1 = nn.Dropout(cfg.head_dropout[0])
        self.drop2 = nn.Dropout(cfg.head_dropout[1])
        self.act = nn.ReLU()
        sizes = {
            "fc1": (in_features, cfg.fc_hidden),
            "fc2": (cfg.fc_hidden, cfg.n_classes),
        }
        for name, (n_in, n_out) in sizes.items():
            layer: nn.Module = (
                HyperLinear(n_in, n_out, cfg.embed_dim, embed_var, name=name)
                if name in hyper_layers
                else nn.Linear(n_in, n_out)
            )
            setattr(self, name, layer)

    def _call(self, layer: nn.Module, x: Tensor, e: Tensor | None) -> Tensor:
        return layer(x, e) if isinstance(layer, HyperLinear) else layer(x)

    def forward(self, x: Tensor, e: Tensor | None = None) -> Tensor:
        h = self.act(self._call(self.fc1, self.drop1(x), e))
        return self._call(self.fc2, self.drop2(h), e)


class ImageOnlyNet(FusionNet):
    """Image-only baseline: the ResNet without the EHR (``tabular`` is ignored).

    ``encode_image`` gives the pooled features ``(B, 16f)``; ``fuse`` is the head.
    """

    cam_layers = RESNET_CAM_LAYERS

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = ResNetTrunk(cfg)
        self.head = ClassifierHead(cfg, self.trunk.out_features)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return (self.trunk(image),)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        return self.head(features[0])
