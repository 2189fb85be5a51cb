"""Attention-weighted fusion, the teaching baseline of the multimodal fusion guide.

Each modality ``i`` becomes a token ``M_i`` in a shared space: the pooled image
features and four EHR groups (demographics, genetics, CSF, PET). A score
``s_i = wᵀ tanh(W M_i + b)`` gives weights ``α = softmax(s)`` and the fused vector
``F = Σ α_i M_i`` goes to the classifier. ``α`` says how much each modality counted
for this patient.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hyperfusion.config import ResNetConfig
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.nets.resnet import (
    RESNET_CAM_LAYERS,
    ClassifierHead,
    ResNetTrunk,
)

# Names from hyperfusion.data.ehr_schema.AD_FEATURES, grouped into modality tokens.
EHR_GROUPS: dict[str, tuple[str, ...]] = {
    "demographics": ("AGE", "PTEDUCAT", "PTGENDER_Female", "PTGENDER_Male"),
    "genetics": ("APOE4", "APOE4_missing"),
    "CSF": ("ABETA", "PTAU", "TAU", "ABETA_missing", "PTAU_missing", "TAU_missing"),
    "PET": ("FDG", "AV45", "FDG_missing", "AV45_missing"),
}


class AttentionFusionNet(FusionNet):
    """Attention over an image token and four EHR tokens.

    Args:
        cfg: network configuration (``cfg.n_tabular`` must be 16).
        feature_names: the tabular vector's entries, in order.
        token_dim: size of the shared token space.

    ``encode_image`` gives the pooled features ``(B, 16f)``, all of the trunk.
    """

    cam_layers = RESNET_CAM_LAYERS

    def __init__(
        self,
        cfg: ResNetConfig,
        feature_names: tuple[str, ...] | None = None,
        token_dim: int = 32,
    ) -> None:
        super().__init__()
        if feature_names is None:
            from hyperfusion.data.ehr_schema import AD_FEATURES

            feature_names = AD_FEATURES
        self.cfg = cfg
        self.trunk = ResNetTrunk(cfg)
        self.image_proj = nn.Linear(self.trunk.out_features, token_dim)
        self.group_index = [
            [feature_names.index(n) for n in names] for names in EHR_GROUPS.values()
        ]
        self.group_proj = nn.ModuleList(
            nn.Linear(len(idx), token_dim) for idx in self.group_index
        )
        self.score_proj = nn.Linear(token_dim, token_dim)
        self.score_vec = nn.Linear(token_dim, 1, bias=False)
        self.head = ClassifierHead(cfg, token_dim)

    def tokens(self, pooled: Tensor, tabular: Tensor) -> Tensor:
        """Modality tokens ``(B, 5, token_dim)``: image first, then the EHR groups."""
        toks = [self.image_proj(pooled)]
        toks += [
            proj(tabular[:, idx])
            for proj, idx in zip(self.group_proj, self.group_index, strict=True)
        ]
        return torch.tanh(torch.stack(toks, dim=1))

    def _alpha(self, tokens: Tensor) -> Tensor:
        """Attention weights ``α`` of shape ``(B, 5)``, summing to 1 per sample."""
        scores = self.score_vec(torch.tanh(self.score_proj(tokens))).squeeze(-1)
        return torch.softmax(scores, dim=1)

    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        return (self.trunk(image),)

    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        tokens = self.tokens(features[0], tabular)
        alpha = self._alpha(tokens)
        return self.head((alpha.unsqueeze(-1) * tokens).sum(dim=1))
