"""The image explanation methods, said once: name, label, what each computes, where it
looks and whether it can be trusted.

Every map of the app, the command line and ``python -m hyperfusion evaluate`` is made
by one of :data:`METHODS`; pages, tables and errors take names, labels and
descriptions from here. What each method measured (``weights/metrics.json`` ->
``explanations``) sits beside it on the Explain page.

Which layer a CAM-family method explains is a *role*:

- ``"hirescam"``: the layer chosen on the validation split for HiResCAM (recorded
  in ``metrics.json``; ``model.cam_layers["hirescam"]`` until it is);
- ``"gradcam"``: the paper's Grad-CAM layer (``model.cam_layers["gradcam"]``);
- ``"pooled"``: the tensor feeding global pooling (the net's ``cam_tap``, its last
  feature map), where Grad-CAM, HiResCAM and CAM coincide (Draelos & Carin 2020);
- ``"input"``: the image itself (gradient and perturbation methods).
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperfusion.errors import UnknownMethodError

LAYER_ROLES = ("hirescam", "gradcam", "pooled", "input")


@dataclass(frozen=True)
class Method:
    """One explanation method.

    Attributes:
        name: the key used everywhere (``metrics.json``, the CLI's ``--method``).
        label: what a user reads.
        kind: how it is computed: ``"cam"`` (activations and gradients at a layer),
            ``"ig"`` (Integrated Gradients on the image), ``"occlusion"``.
        layer: the layer role (module docstring).
        signed: the map keeps its sign by default (evidence against is negative).
        faithful: False for the documented failure (kept to be taught).
        cached: computed from the per-image cached trunk for each EHR edit
            (milliseconds); False: a full pass per map (seconds, with progress).
        summary: one line.
        description: what it computes and its source.
        smoothgrad: averaged over noisy copies of the image (SmoothGrad).
    """

    name: str
    label: str
    kind: str
    layer: str
    signed: bool
    faithful: bool
    cached: bool
    summary: str
    description: str
    smoothgrad: bool = False


_METHODS = (
    Method(
        "hirescam",
        "HiResCAM",
        "cam",
        "hirescam",
        signed=False,
        faithful=True,
        cached=True,
        summary="gradient × activation per voxel, summed over channels",
        description="HiResCAM (Draelos & Carin 2020) multiplies each feature by "
        "the gradient of the output at the same voxel, then sums the channels: "
        "where a feature counted, it counts. The layer is the one chosen on the "
        "validation split.",
    ),
    Method(
        "cam",
        "CAM",
        "cam",
        "pooled",
        signed=False,
        faithful=True,
        cached=True,
        summary="class activation map at the tensor feeding global pooling",
        description="CAM (Zhou et al. 2016) weighs the last feature map by the "
        "output's gradient with respect to each pooled feature. At that tensor "
        "Grad-CAM, HiResCAM and CAM are the same map; it is coarse (the last map "
        "is a few voxels wide).",
    ),
    Method(
        "ig",
        "Integrated Gradients",
        "ig",
        "input",
        signed=True,
        faithful=True,
        cached=False,
        summary="gradients along the path from a healthy brain to this one",
        description="Integrated Gradients (Sundararajan et al. 2017) from the "
        "cohort's mean healthy (CN) image, not from zeros (an empty brain looks "
        "like atrophy). The map sums to the change of the output between the "
        "healthy brain and this one.",
    ),
    Method(
        "ig-smoothgrad",
        "IG + SmoothGrad",
        "ig",
        "input",
        signed=True,
        faithful=True,
        cached=False,
        summary="Integrated Gradients averaged over noisy copies of the image",
        description="SmoothGrad (Smilkov et al. 2017) averages Integrated "
        "Gradients over copies of the image with Gaussian noise added, which "
        "removes speckle that follows the voxel grid rather than the anatomy.",
        smoothgrad=True,
    ),
    Method(
        "occlusion",
        "Occlusion",
        "occlusion",
        "input",
        signed=True,
        faithful=True,
        cached=False,
        summary="the change of the output when a patch becomes healthy tissue",
        description="Each patch of the image in turn is replaced by the same "
        "patch of the cohort's mean healthy (CN) image; the map is the drop of "
        "the output (ΔP, or years) it causes. The most direct test of what the "
        "model uses; coarse (one value per patch).",
    ),
    Method(
        "gradcam",
        "Grad-CAM",
        "cam",
        "gradcam",
        signed=False,
        faithful=False,
        cached=True,
        summary="the paper's map: channels weighed by their gradient averaged "
        "over space",
        description="Grad-CAM (Selvaraju et al. 2017) averages each channel's "
        "gradient over the whole crop before weighing it. Averaging signed "
        "gradients loses where a feature counted for or against the class, so "
        "on this network it highlights regions the model did not use (Draelos & "
        "Carin 2020). Kept as the documented failure.",
    ),
    Method(
        "xgradcam",
        "XGrad-CAM",
        "cam",
        "gradcam",
        signed=False,
        faithful=False,
        cached=True,
        summary="Grad-CAM with activation-weighted gradient averages",
        description="XGrad-CAM (Fu et al. 2020) weighs each channel by its "
        "gradient averaged over space with the channel's own activations as "
        "weights. Still one weight per channel, so it fails like Grad-CAM; kept "
        "as the documented failure.",
    ),
)
METHODS: dict[str, Method] = {m.name: m for m in _METHODS}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)
# Until metrics.json records the method chosen on validation.
FALLBACK_DEFAULT = "hirescam"


def get_method(name: str) -> Method:
    """The method called ``name``.

    Raises:
        UnknownMethodError: no such method (the message lists those offered).

    >>> get_method("hirescam").label
    'HiResCAM'
    """
    if name not in METHODS:
        raise UnknownMethodError(
            f"Unknown map method '{name}'; accepted: {', '.join(METHOD_NAMES)}"
        )
    return METHODS[name]


__all__ = [
    "FALLBACK_DEFAULT",
    "LAYER_ROLES",
    "METHODS",
    "METHOD_NAMES",
    "Method",
    "get_method",
]
