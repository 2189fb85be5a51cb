"""One registry of every model, by task and name; the CLI and the UI read the same.

Each entry carries what the teaching pages show: a label, the fusion stage and two
sentences on what the strategy does.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from hyperfusion.config import (
    NET_CONFIGS,
    BrainAgeConfig,
    ResNetConfig,
)
from hyperfusion.errors import UnknownModelError
from hyperfusion.models.nets.attention import AttentionFusionNet
from hyperfusion.models.nets.base import FusionNet
from hyperfusion.models.nets.brain_age import BrainAgeNet
from hyperfusion.models.nets.concat import ConcatNet
from hyperfusion.models.nets.early import EarlyFusionNet
from hyperfusion.models.nets.film import DAFTNet, FiLMNet
from hyperfusion.models.nets.hyperfusion_ad import HyperFusionNet
from hyperfusion.models.nets.late import LateFusionNet
from hyperfusion.models.nets.resnet import ImageOnlyNet
from hyperfusion.models.tabular import TabularMLP
from hyperfusion.tasks import TASK_NAMES


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry: how to build a model and how to explain it."""

    task: str
    name: str
    label: str
    stage: str
    description: str
    build: Callable[..., FusionNet]
    uses_image: bool = True
    uses_tabular: bool = True
    # Its ``embedding`` starts from a pre-trained tabular-only MLP's first layers.
    pretrained_embedding: bool = False


def _ad(cls: type[FusionNet]) -> Callable[..., FusionNet]:
    def build(cfg: ResNetConfig, embed_var: float = 1.0) -> FusionNet:
        if cls is HyperFusionNet:
            return HyperFusionNet(cfg, embed_var=embed_var)
        return cls(cfg)

    return build


def _brain_age(fusion: str) -> Callable[..., FusionNet]:
    def build(cfg: BrainAgeConfig, embed_var: float = 1.0) -> FusionNet:
        return BrainAgeNet(cfg, fusion=fusion)  # type: ignore[arg-type]

    return build


_SPECS = (
    ModelSpec(
        "ad",
        "hyperfusion",
        "HyperFusion",
        "hypernetwork",
        "The EHR does not enter the network as data: a hypernetwork turns it into the "
        "weights of block 4's shortcut convolution. Each patient gets an image network "
        "of their own, so the EHR decides how the MRI is read.",
        _ad(HyperFusionNet),
        pretrained_embedding=True,
    ),
    ModelSpec(
        "ad",
        "image-only",
        "Image only",
        "single modality",
        "The same 3D ResNet with no EHR at all. It shows what the MRI alone can tell, "
        "which here means it cannot tell ageing from disease.",
        _ad(ImageOnlyNet),
        uses_tabular=False,
    ),
    ModelSpec(
        "ad",
        "tabular-only",
        "EHR only",
        "single modality",
        "A small MLP (16 -> 8 -> 3) on the EHR vector, without the image. Its first "
        "layers are pre-trained here and become HyperFusion's embedding network.",
        _ad(TabularMLP),
        uses_image=False,
    ),
    ModelSpec(
        "ad",
        "early-fusion",
        "Early fusion",
        "early",
        "Each EHR value becomes a constant extra image channel, so the first "
        "convolution mixes both modalities. Simple, but it spends convolutions on "
        "channels that carry no spatial information.",
        _ad(EarlyFusionNet),
    ),
    ModelSpec(
        "ad",
        "late-fusion",
        "Late fusion",
        "late",
        "An image-only network and an EHR-only network each make a prediction, and a "
        "learned weight mixes their logits. The modalities never interact before "
        "the decision.",
        _ad(LateFusionNet),
    ),
    ModelSpec(
        "ad",
        "concat",
        "Concatenation",
        "intermediate",
        "The pooled image features and the EHR vector are concatenated before the "
        "classifier. The most common intermediate fusion: the EHR can shift the "
        "decision but cannot change which image features are computed.",
        _ad(ConcatNet),
    ),
    ModelSpec(
        "ad",
        "film",
        "FiLM",
        "intermediate (conditioning)",
        "An MLP on the EHR outputs a per-channel scale and shift for the feature maps "
        "entering block 4. The EHR re-weights image features, one number per channel.",
        _ad(FiLMNet),
    ),
    ModelSpec(
        "ad",
        "daft",
        "DAFT",
        "intermediate (conditioning)",
        "Like FiLM, but the scale and shift are computed from the EHR and the pooled "
        "image features together, through a 7-unit bottleneck (Wolf et al. 2022).",
        _ad(DAFTNet),
    ),
    ModelSpec(
        "ad",
        "attention",
        "Attention fusion",
        "intermediate (attention)",
        "The image and four EHR groups become tokens; a learned score weights them "
        "and their weighted sum is classified. The weights show which modality "
        "counted for this patient.",
        _ad(AttentionFusionNet),
    ),
    ModelSpec(
        "brain-age",
        "hyperfusion",
        "HyperFusion",
        "hypernetwork",
        "All four fully connected layers are generated from the sex one-hot, so the "
        "network learns one regressor per sex on shared image features.",
        _brain_age("hyper"),
    ),
    ModelSpec(
        "brain-age",
        "image-only",
        "Image only",
        "single modality",
        "The same CNN and regressor without sex. It must average over the sexes' "
        "different ageing patterns.",
        _brain_age("none"),
        uses_tabular=False,
    ),
    ModelSpec(
        "brain-age",
        "concat",
        "Concatenation",
        "intermediate",
        "The sex one-hot is concatenated to the features after the first fully "
        "connected layer: sex can shift the estimate but not reshape the regressor.",
        _brain_age("concat"),
    ),
)

REGISTRY: dict[tuple[str, str], ModelSpec] = {(s.task, s.name): s for s in _SPECS}
MODEL_NAMES: dict[str, tuple[str, ...]] = {
    task: tuple(s.name for s in _SPECS if s.task == task) for task in TASK_NAMES
}
DEFAULT_CONFIGS: dict[str, ResNetConfig | BrainAgeConfig] = NET_CONFIGS["demo"]


def _did_you_mean(value: str, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_task(task: str) -> str:
    """Return ``task`` if known, else raise :class:`UnknownModelError`."""
    if task not in TASK_NAMES:
        raise UnknownModelError(
            f"Unknown task '{task}'{_did_you_mean(task, TASK_NAMES)}; "
            f"accepted: {', '.join(TASK_NAMES)}"
        )
    return task


def get_spec(task: str, name: str) -> ModelSpec:
    """The registry entry for ``(task, name)``; a clear error names the options."""
    names = MODEL_NAMES[check_task(task)]
    if name not in names:
        raise UnknownModelError(
            f"Unknown {task} model '{name}'{_did_you_mean(name, names)}; "
            f"accepted: {', '.join(names)}"
        )
    return REGISTRY[(task, name)]


def model_label(task: str, name: str) -> str:
    """The registry label of a model (its name if unregistered).

    >>> model_label("ad", "tabular-only")
    'EHR only'
    """
    spec = REGISTRY.get((task, name))
    return spec.label if spec else name


def build_model(
    task: str,
    name: str,
    cfg: ResNetConfig | BrainAgeConfig | None = None,
    embed_var: float = 1.0,
) -> FusionNet:
    """Build an untrained model.

    >>> build_model("ad", "film").__class__.__name__
    'FiLMNet'
    """
    spec = get_spec(task, name)
    return spec.build(cfg or DEFAULT_CONFIGS[task], embed_var=embed_var)
