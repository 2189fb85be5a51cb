"""HyperFusion-AD: a ResNet whose chosen layers are generated from the EHR.

Duenias et al. (2025): the tabular vector enters only through the embedding ``e(t)``
(Linear 16 -> 8, BatchNorm, PReLU: the first layers of the pre-trained tabular MLP),
and a hypernetwork generates the weights of the layers named in
``cfg.hyper_layers``: by default only block 4's 1x1x1 shortcut convolution.
"""

from __future__ import annotations

from torch import Tensor

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.nets.resnet import (
    RESNET_CAM_LAYERS,
    ClassifierHead,
    ResNetTrunk,
)
from hyperfusion.models.tabular import tabular_embedding


class HyperFusionNet(FusionNet):
    """HyperFusion for CN / MCI / AD classification.

    Args:
        cfg: network configuration (``hyper_layers`` is the paper's ablation).
        embed_var: ``Var(e)`` for hyperfan-in initialisation of the generators.

    Shapes: ``image (B, 1, X, Y, Z)`` (one hemisphere), ``tabular (B, 16)`` ->
    ``logits (B, 3)``.
    """

    cam_layers = RESNET_CAM_LAYERS

    def __init__(self, cfg: ResNetConfig, embed_var: float = 1.0) -> None:
        super().__init__()
        if not cfg.hyper_layers:
            raise ValueError("HyperFusion needs at least one hyper layer")
        self.cfg = cfg
        self.embedding = tabular_embedding(cfg.n_tabular, cfg.embed_dim)
        hyper = cfg.hyper_layers
        self.trunk = ResNetTrunk(cfg, hyper_layers=hyper, embed_var=embed_var)
        self.head = ClassifierHead(cfg, self.trunk.out_features, hyper, embed_var)
        self._split = self.trunk.first_hyper_block()

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        """Everything the EHR cannot change, cached per image by the engine.

        With a generated shortcut in block k: the input of block k and block k's main
        path. With only hyper FC layers: the pooled features.
        """
        x = self.trunk.stem(image)
        if self._split is None:
            return (self.trunk.run_blocks(x, 0),)
        for block in self.trunk.blocks[: self._split]:
            x = block(x)
        return (x, self.trunk.blocks[self._split].main(x))

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        e = self.embedding(tabular)
        if self._split is None:
            return self.head(features[0], e)
        x, main = features
        x = main + self.trunk.blocks[self._split].shortcut(x, e)
        return self.head(self.trunk.run_blocks(x, self._split + 1, e), e)

    def fuse_records(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        """:meth:`FusionNet.fuse_records` without repeating the image's features per
        record: the embedding once per record, the generated shortcut by
        :meth:`PreActBlock.shortcut_shared`, and only then one row per (record,
        view). Equal to the generic path (``tests/models/test_nets.py``)."""
        if self._split is None or tabular.shape[0] == 1:  # one record: nothing shared
            return super().fuse_records(features, tabular)
        x, main = features
        k, v = tabular.shape[0], x.shape[0]
        e = self.embedding(tabular)
        skip = self.trunk.blocks[self._split].shortcut_shared(x, e)
        h = main.repeat(k, *([1] * (main.dim() - 1))) + skip
        per_view = e.repeat_interleave(v, dim=0)
        out = self.head(self.trunk.run_blocks(h, self._split + 1, per_view), per_view)
        return out.view(k, v, -1).mean(dim=1)

    def layer_embeddings(self, tabular: Tensor) -> dict[str, Tensor]:
        """The embedding ``e(t)`` each hyper layer receives (one shared here)."""
        e = self.embedding(tabular)
        return {name: e for name in self.hyper_modules()}
