"""Rendering one synthetic T1 volume on the 2 mm MNI152 grid, with its truth map.

Built on nilearn's offline MNI152 (ICBM 2009) T1, grey-matter and white-matter
templates and brain mask. Each output voxel ``x`` (MNI mm) samples the (atrophied)
template at a point reached by composing, from the scanner towards the template:

1. a rigid shift (scanner positioning, uniform +-2 mm per axis);
2. a global scale about the brain centre (head size; males ~4 % larger);
3. a random smooth displacement (individual anatomy; low-order cosine basis, ~2 mm);
4. atrophy, defined in template space:

   - lateral ventricles (age): the walls move outward by ``vent_mm`` per unit
     amplitude, along the gradient of the smoothed ventricle mask;
   - medial temporal lobe (age share + disease share + individual size): a radial
     contraction centred on each hippocampus (long axis tilted along the hippocampus)
     and entorhinal cortex; the ring around it, temporal horn included, widens;
   - grey-matter intensity loss: cortex (age) and medial temporal lobe (age +
     disease).

Scanner variation follows: a global intensity scale, a smooth multiplicative bias
field and Rician noise, inside the (warped) brain mask; outside is 0 (skull-stripped).
The truth map is the disease share alone: ``|u_disease| (mm) + truth_intensity_mm *
(fractional grey-matter loss from disease)`` at each output voxel.

All template-derived fields are computed once (:func:`load_anatomy`, memoised); one
subject costs one trilinear ``map_coordinates`` pass over the brain's neighbourhood
plus small passes over the ventricle and MTL boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi

from hyperfusion.synth.config import RenderConfig

VOXEL_MM = 2.0
# Centres (MNI mm), envelope sds along (long, short, short) axes (mm), tilt about x
# (radians; the hippocampus runs from posterior-superior to anterior-inferior) and
# relative strength of each medial-temporal contraction.
MTL_SITES: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = (
    ((26.0, -22.0, -14.0), (14.0, 8.0, 8.0)),
    ((-26.0, -22.0, -14.0), (14.0, 8.0, 8.0)),
    ((25.0, -8.0, -30.0), (8.0, 7.0, 7.0)),
    ((-25.0, -8.0, -30.0), (8.0, 7.0, 7.0)),
)
HIPPOCAMPUS_TILT = np.deg2rad(33.0)
BRAIN_CENTRE_MM = np.array([0.0, -18.0, 8.0])
SUPPORT_MARGIN_VOX = 7  # how far (voxels) the brain may move: shift + scale + warp


@dataclass(frozen=True)
class SubjectParams:
    """What one subject's image shows, in units of the render's unit effects.

    Attributes:
        male: sex (head size).
        mtl_amplitude: total medial-temporal atrophy (age + disease + individual).
        mtl_disease: the disease share of ``mtl_amplitude`` (what the truth map shows).
        vent_amplitude: ventricle enlargement and cortical grey-matter loss (age +
            individual).
    """

    male: bool
    mtl_amplitude: float
    mtl_disease: float
    vent_amplitude: float


@dataclass(frozen=True, eq=False)
class Anatomy:
    """Template-derived arrays shared by every subject (all on the 2 mm grid)."""

    affine: np.ndarray
    t1: np.ndarray  # skull-stripped template T1, float32
    mask: np.ndarray  # brain mask, float32 0/1
    cortex_gm: np.ndarray  # t1 * cortical GM weight (age intensity loss)
    mtl_gm: np.ndarray  # GM * MTL envelope (disease/age intensity loss fraction)
    vent_field: np.ndarray  # (3, X, Y, Z) unit outward ventricle displacement (mm)
    support: np.ndarray  # flat indices of output voxels that can be brain
    vent_box: tuple[slice, slice, slice]  # output box where the ventricle field acts
    mtl_box: tuple[slice, slice, slice]  # output box where the MTL effects act
    wm_level: float  # median template intensity in white matter

    @property
    def shape(self) -> tuple[int, int, int]:
        """The grid shape, (99, 117, 95)."""
        return self.t1.shape  # type: ignore[return-value]

    def axes_mm(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """MNI coordinates (mm) of the voxel centres along x, y and z."""
        return tuple(  # type: ignore[return-value]
            self.affine[d, 3] + VOXEL_MM * np.arange(self.shape[d]) for d in range(3)
        )


def _box(region: np.ndarray, margin: int) -> tuple[slice, slice, slice]:
    idx = np.nonzero(region)
    return tuple(  # type: ignore[return-value]
        slice(max(int(i.min()) - margin, 0), min(int(i.max()) + margin + 1, n))
        for i, n in zip(idx, region.shape, strict=True)
    )


def _grid_mm(affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    axes = [affine[d, 3] + VOXEL_MM * np.arange(shape[d]) for d in range(3)]
    return np.stack(np.meshgrid(*axes, indexing="ij")).astype(np.float32)


def _rotation() -> np.ndarray:
    """Rows: the hippocampus' long axis, then two short axes (x, and the third)."""
    c, s = np.cos(HIPPOCAMPUS_TILT), np.sin(HIPPOCAMPUS_TILT)
    return np.array([[0.0, c, -s], [1.0, 0.0, 0.0], [0.0, s, c]])


def mtl_displacement(points_mm: np.ndarray, strength: float) -> np.ndarray:
    """Radial MTL contraction ``u(x) = s (x - c) g(x)`` summed over the sites.

    Sampling the template at ``x + u(x)`` shrinks the structure at each centre by a
    factor ~``(1 + s)^3`` in volume and widens the ring around it.

    Args:
        points_mm: ``(3, ...)`` template-space points (MNI mm).
        strength: ``s``, the dilation at each centre.

    Returns:
        ``(3, ...)`` displacement in mm.
    """
    rot = _rotation()
    u = np.zeros_like(points_mm)
    for centre, sds in MTL_SITES:
        d = points_mm - np.asarray(centre, np.float32).reshape(3, *[1] * (u.ndim - 1))
        local = np.tensordot(rot, d, axes=1)
        q = sum((local[k] / sds[k]) ** 2 for k in range(3))
        u += strength * d * np.exp(-0.5 * q)
    return u


def mtl_envelope(points_mm: np.ndarray) -> np.ndarray:
    """The MTL sites' summed Gaussian envelopes (max ~1), shape ``points.shape[1:]``."""
    rot = _rotation()
    env = np.zeros(points_mm.shape[1:], np.float32)
    for centre, sds in MTL_SITES:
        d = points_mm - np.asarray(centre, np.float32).reshape(3, *[1] * (env.ndim))
        local = np.tensordot(rot, d, axes=1)
        env += np.exp(-0.5 * sum((local[k] / sds[k]) ** 2 for k in range(3)))
    return np.clip(env, 0.0, 1.0)


def _ventricles(
    gm: np.ndarray, wm: np.ndarray, mask: np.ndarray, pts: np.ndarray
) -> np.ndarray:
    """The lateral ventricles: the largest CSF component in the central box."""
    x, y, z = pts
    csf = (mask > 0) & (gm + wm < 0.5)
    box = (np.abs(x) < 30) & (y > -50) & (y < 35) & (z > -5) & (z < 35)
    lab, n = ndi.label(csf & box)
    sizes = ndi.sum_labels(np.ones_like(lab), lab, np.arange(1, n + 1))
    return lab == int(np.argmax(sizes)) + 1


@lru_cache(maxsize=1)
def load_anatomy() -> Anatomy:
    """Load the templates and derive every subject-independent field (memoised, ~5 s).

    Offline: uses ``nilearn.datasets.load_mni152_*`` at 2 mm.
    """
    from nilearn import datasets

    t1_img = datasets.load_mni152_template(resolution=2)
    affine = np.asarray(t1_img.affine, float)
    mask = datasets.load_mni152_brain_mask(resolution=2).get_fdata() > 0
    t1 = (t1_img.get_fdata() * mask).astype(np.float32)
    gm = datasets.load_mni152_gm_template(resolution=2).get_fdata().astype(np.float32)
    wm = datasets.load_mni152_wm_template(resolution=2).get_fdata().astype(np.float32)
    gm *= mask
    pts = _grid_mm(affine, t1.shape)

    depth = ndi.distance_transform_edt(mask) * VOXEL_MM
    cortex_w = np.clip((14.0 - depth) / 6.0, 0.0, 1.0).astype(np.float32)
    env = mtl_envelope(pts)
    vent = _ventricles(gm, wm, mask, pts)
    phi = ndi.gaussian_filter(vent.astype(np.float32), 1.5)
    grad = np.stack(np.gradient(phi))
    grad /= float(np.sqrt((grad**2).sum(0)).max())
    strong = np.sqrt((grad**2).sum(0)) > 0.02
    support = ndi.binary_dilation(mask, iterations=SUPPORT_MARGIN_VOX)
    return Anatomy(
        affine=affine,
        t1=t1,
        mask=mask.astype(np.float32),
        cortex_gm=t1 * gm * cortex_w,
        mtl_gm=gm * env,
        vent_field=grad.astype(np.float32),
        support=np.flatnonzero(support),
        vent_box=_box(strong, SUPPORT_MARGIN_VOX),
        mtl_box=_box(env > 0.01, SUPPORT_MARGIN_VOX),
        wm_level=float(np.median(t1[wm > 0.9])),
    )


def _cosine_basis(t: np.ndarray, lo: float, hi: float, order: int) -> np.ndarray:
    """``(len(t), order)`` cosines of 1..order half-periods over [lo, hi]."""
    u = (t - lo) / (hi - lo)
    return np.cos(np.pi * np.outer(u, np.arange(1, order + 1))).astype(np.float32)


def _legendre2(t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    u = 2.0 * (t - lo) / (hi - lo) - 1.0
    return np.stack([np.ones_like(u), u, 1.5 * u**2 - 0.5], axis=1).astype(np.float32)


def _separable(coef: np.ndarray, bases: list[np.ndarray]) -> np.ndarray:
    """``sum_ijk coef[..., i, j, k] bx[x, i] by[y, j] bz[z, k]`` (cheap tensordots)."""
    out = np.tensordot(coef, bases[2], axes=([-1], [1]))  # (..., i, j, z)
    out = np.tensordot(out, bases[1], axes=([-2], [1]))  # (..., i, z, y)
    out = np.tensordot(out, bases[0], axes=([-3], [1]))  # (..., z, y, x)
    return np.moveaxis(out, (-3, -1), (-1, -3))  # (..., x, y, z)


def _sample(vol: np.ndarray, pts_vox: np.ndarray) -> np.ndarray:
    return ndi.map_coordinates(vol, pts_vox, order=1, mode="constant", cval=0.0)


@dataclass(frozen=True)
class _Draws:
    """One subject's random head pose, warp and scanner settings."""

    scale: float
    shift: np.ndarray
    coef: np.ndarray
    gain: float
    bias: np.ndarray


def _draw(params: SubjectParams, rng: np.random.Generator, cfg: RenderConfig) -> _Draws:
    """The subject's draws, always in this order (the noise comes last, later)."""
    head_mean = cfg.head_scale_male if params.male else cfg.head_scale_female
    scale = head_mean + cfg.head_scale_sd * rng.standard_normal()
    shift = rng.uniform(-cfg.rigid_shift_mm, cfg.rigid_shift_mm, 3)
    k = np.arange(1, cfg.deform_order + 1, dtype=float)
    decay = 1.0 / np.sqrt(k[:, None, None] * k[None, :, None] * k[None, None, :])
    coef = rng.standard_normal((3, *decay.shape)) * cfg.deform_mm * decay
    gain = rng.uniform(*cfg.intensity_scale)
    bias = rng.normal(0.0, cfg.bias_sd, (3, 3, 3))
    bias[0, 0, 0] = 0.0
    return _Draws(scale, shift, coef, gain, bias)


def _template_positions(anat: Anatomy, draws: _Draws, cfg: RenderConfig) -> np.ndarray:
    """Output voxel -> template position (mm): shift, scale and the individual warp
    (separable, cheap); ``(3, X, Y, Z)`` float32."""
    lo = anat.affine[:3, 3]
    axes = anat.axes_mm()
    p2 = [
        BRAIN_CENTRE_MM[d]
        + (axes[d] + draws.shift[d] - BRAIN_CENTRE_MM[d]) / draws.scale
        for d in range(3)
    ]
    hi = lo + VOXEL_MM * (np.asarray(anat.shape) - 1)
    bases = [_cosine_basis(p2[d], lo[d], hi[d], cfg.deform_order) for d in range(3)]
    warp = _separable(draws.coef.astype(np.float32), bases)  # (3, X, Y, Z) mm
    return np.stack(np.meshgrid(*p2, indexing="ij")).astype(np.float32) + warp


def _atrophied_positions(
    anat: Anatomy, p3: np.ndarray, params: SubjectParams, cfg: RenderConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Atrophy in template space, evaluated in the boxes where it acts: the sampled
    positions in template voxels, and the disease part of the MTL displacement."""
    lo = anat.affine[:3, 3]
    s_total = cfg.mtl_dilation * params.mtl_amplitude
    s_dis = cfg.mtl_dilation * params.mtl_disease
    p4 = p3.copy()
    vb = (slice(None), *anat.vent_box)
    vent_vox = (p3[vb] - lo.reshape(3, 1, 1, 1)) / VOXEL_MM
    step = cfg.vent_mm * params.vent_amplitude
    for d in range(3):
        p4[vb][d] += step * _sample(anat.vent_field[d], vent_vox)
    mb = (slice(None), *anat.mtl_box)
    u_unit = mtl_displacement(p3[mb], 1.0)
    p4[mb] += s_total * u_unit
    return (p4 - lo.reshape(3, 1, 1, 1)) / VOXEL_MM, s_dis * u_unit


def _sample_atrophied(
    anat: Anatomy, p4_vox: np.ndarray, params: SubjectParams, cfg: RenderConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intensity atrophy on the template, then one sampling pass: the flat image,
    the indices of its brain voxels and the MTL grey-matter fraction there."""
    loss_mtl = cfg.mtl_intensity_loss * params.mtl_amplitude
    loss_ctx = cfg.cortex_intensity_loss * max(params.vent_amplitude, -0.5)
    src = anat.t1 - loss_ctx * anat.cortex_gm - loss_mtl * anat.t1 * anat.mtl_gm
    flat = p4_vox.reshape(3, -1)[:, anat.support]
    img = np.zeros(int(np.prod(anat.shape)), np.float32)
    inside = _sample(anat.mask, flat) >= 0.5
    idx = anat.support[inside]
    img[idx] = _sample(src, flat[:, inside])
    mb = (slice(None), *anat.mtl_box)
    box_shape = p4_vox[mb].shape[1:]
    fraction = _sample(anat.mtl_gm, p4_vox[mb].reshape(3, -1)).reshape(box_shape)
    return img, idx, fraction


def _scanner(
    anat: Anatomy,
    img: np.ndarray,
    idx: np.ndarray,
    draws: _Draws,
    rng: np.random.Generator,
    cfg: RenderConfig,
) -> None:
    """The scanner, in place on the brain voxels ``idx``: gain, bias field, Rician
    noise."""
    lo = anat.affine[:3, 3]
    axes = anat.axes_mm()
    hi = lo + VOXEL_MM * (np.asarray(anat.shape) - 1)
    pts_vox = np.unravel_index(idx, anat.shape)
    bias_bases = [_legendre2(axes[d], lo[d], hi[d]) for d in range(3)]
    log_bias = _separable(draws.bias.astype(np.float32), bias_bases)[pts_vox]
    sigma = cfg.noise_sd * anat.wm_level
    noise = rng.standard_normal((2, idx.size)).astype(np.float32) * sigma
    val = img[idx] * draws.gain * np.exp(log_bias)
    img[idx] = np.sqrt((val + noise[0]) ** 2 + noise[1] ** 2)


def render_subject(
    anat: Anatomy,
    params: SubjectParams,
    rng: np.random.Generator,
    cfg: RenderConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one subject's skull-stripped T1 and its disease truth map.

    Args:
        anat: from :func:`load_anatomy`.
        params: the subject's atrophy amplitudes and sex.
        rng: the subject's own generator (anatomy and scanner draws come from it, in a
            fixed order, so that changing ``params`` alone changes only the atrophy).
        cfg: rendering constants.

    Returns:
        ``(image, truth)``, both float32 of shape ``anat.shape`` (99, 117, 95):
        image intensities ~ template units (white matter ~0.87 before scanner scale),
        0 outside the brain; truth >= 0, the disease effect's magnitude.
    """
    draws = _draw(params, rng, cfg)  # every draw but the noise, in a fixed order
    p3 = _template_positions(anat, draws, cfg)
    p4_vox, u_dis = _atrophied_positions(anat, p3, params, cfg)
    img, idx, fraction = _sample_atrophied(anat, p4_vox, params, cfg)
    truth = np.zeros(anat.shape, np.float32)
    truth[anat.mtl_box] = np.sqrt((u_dis**2).sum(0)) + (
        cfg.truth_intensity_mm * cfg.mtl_intensity_loss * params.mtl_disease * fraction
    )
    brain = np.zeros(img.size, bool)
    brain[idx] = True
    truth = np.where(brain.reshape(anat.shape), truth, np.float32(0.0))
    _scanner(anat, img, idx, draws, rng, cfg)
    return img.reshape(anat.shape), truth


__all__ = [
    "MTL_SITES",
    "Anatomy",
    "SubjectParams",
    "load_anatomy",
    "mtl_displacement",
    "mtl_envelope",
    "render_subject",
]
