"""The contract every network of the registry follows: ``encode_image`` then ``fuse``.

A net is split where the EHR first enters. ``encode_image`` computes everything that
depends on the image alone, so the engine caches its output per image and an EHR edit
re-runs only ``fuse``. ``forward`` is defined here once as
``fuse(encode_image(image), tabular)`` and no subclass overrides it, so training,
Grad-CAM and the cached engine path run the same computation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from torch import Tensor, nn

from hyperfusion.models.layers import HyperLayer

NO_CAM_LAYERS: Mapping[str, str] = MappingProxyType({})


class FusionNet(nn.Module, ABC):
    """An image + EHR network: ``(image (B, 1, X, Y, Z), tabular (B, F))`` ->
    ``(B, C)`` logits (AD) or ``(B, 1)`` years (brain age).

    Attributes:
        cam_layers: CAM method (``"gradcam"``, ``"hirescam"``) -> path of the module
            it explains (for :meth:`torch.nn.Module.get_submodule`). A method left out
            falls back to the Grad-CAM layer; a net that sees no image names none.
    """

    cam_layers: ClassVar[Mapping[str, str]] = NO_CAM_LAYERS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in vars(cls):
            raise TypeError(
                f"{cls.__name__} overrides forward; implement encode_image and fuse "
                "instead, so that the engine's cached path stays the same computation"
            )

    @abstractmethod
    def encode_image(self, image: Tensor) -> tuple[Tensor, ...]:
        """The part of the network that depends on the image only, ``(B, 1, X, Y, Z)``.

        It must never depend on the EHR: the engine caches the tuple per image and
        reuses it for every EHR edit. A net that uses no image returns ``()``.
        """

    @abstractmethod
    def fuse(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        """The rest of the network: ``encode_image``'s tuple and ``tabular (B, F)``
        -> ``(B, C)`` logits or ``(B, 1)`` years.

        ``features`` may be a cached tuple shared between calls: never modify it (or
        its tensors) in place.
        """

    def forward(self, image: Tensor, tabular: Tensor) -> Tensor:
        return self.fuse(self.encode_image(image), tabular)

    def fuse_records(self, features: tuple[Tensor, ...], tabular: Tensor) -> Tensor:
        """:meth:`fuse` for K tabular rows ``(K, F)`` on one image's cached
        features ``(V, ...)``: each row meets all V views of the image (the AD
        model's two hemispheres) and its views' outputs are averaged: ``(K, C)``."""
        k = tabular.shape[0]
        n_views = features[0].shape[0] if features else 1
        if k == 1:  # an edit: the features as they are, no copies
            return self.fuse(features, tabular.expand(n_views, -1)).mean(0, True)
        repeated = tuple(f.repeat(k, *([1] * (f.dim() - 1))) for f in features)
        out = self.fuse(repeated, tabular.repeat_interleave(n_views, dim=0))
        return out.view(k, n_views, -1).mean(dim=1)

    def hyper_modules(self) -> dict[str, HyperLayer]:
        """The hypernetwork-generated layers, in module order; empty for other nets.

        Each is keyed by the name it was built with, the one ``cfg.hyper_layers``
        uses (``"block4.shortcut"``, ``"fc1"``), else by its module path.

        >>> from hyperfusion.models.registry import build_model
        >>> list(build_model("ad", "hyperfusion").hyper_modules())
        ['block4.shortcut']
        """
        return {
            module.name or path: module
            for path, module in self.named_modules()
            if isinstance(module, HyperLayer)
        }

    def layer_embeddings(self, tabular: Tensor) -> dict[str, Tensor]:
        """The embedding ``e(t)`` ``(B, d_k)`` each hyper layer receives, by the names
        of :meth:`hyper_modules`. A net with hyper layers must override this."""
        if self.hyper_modules():
            raise NotImplementedError(
                f"{type(self).__name__} has hyper layers: say which embedding each "
                "receives by overriding layer_embeddings"
            )
        return {}
