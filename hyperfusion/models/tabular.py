"""The tabular-only MLP, whose first layers are HyperFusion-AD's embedding network."""

from __future__ import annotations

from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.base import FusionNet


def tabular_embedding(n_tabular: int, embed_dim: int) -> nn.Sequential:
    """Linear -> BatchNorm1d -> PReLU: the embedding ``e(t)`` of the paper."""
    return nn.Sequential(
        nn.Linear(n_tabular, embed_dim), nn.BatchNorm1d(embed_dim), nn.PReLU()
    )


class TabularMLP(FusionNet):
    """Tabular-only baseline (16 -> 8 -> 3). Sees no image, so it names no CAM layer
    and ``encode_image`` returns ``()``.

    Its ``embedding`` is pre-trained here and then loaded into HyperFusion-AD.
    """

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embedding = tabular_embedding(cfg.n_tabular, cfg.embed_dim)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(cfg.embed_dim, cfg.n_classes)

    def encode_image(self, image: Tensor | None) -> tuple[Tensor, ...]:
        return ()

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        return self.classifier(self.dropout(self.embedding(tabular)))
