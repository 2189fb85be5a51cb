"""The Explain page's maps: the method picker (the default first, each method with
its measured number), the quality table beside the map, the map drawn over the scan
at the scan's own resolution with the model's field of view outlined, and the
method's notes and NIfTI download."""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from hyperfusion.explain.methods import METHODS
from hyperfusion.tasks import task_of_target
from hyperfusion.ui import cached, outputs, state

# The quality table's columns (narrow: it sits beside the map) and their help.
_TABLE_COLUMNS = {
    "mass_ratio": ("× chance", "Share of the map's mass inside the true region, "
                   "over the region's share of the crop (1 = chance)"),
    "pointing_game": ("Pointing", "Share of subjects whose map peak lies within "
                      "one voxel of the true region"),
    "deletion_auc": ("Deletion", "P(true class) as the top-ranked voxels turn "
                     "healthy, area under the curve: lower is more faithful"),
    "random_deletion_auc": ("Random", "The same in a random order"),
    "randomisation_corr": ("Rand. r", "Rank correlation with the map of a network "
                           "re-initialised after the explained layer: near 0 "
                           "passes the sanity check (Adebayo et al. 2018)"),
    "latency_ms": ("ms", "One map of one image by the whole ensemble"),
}  # fmt: skip


def quality_block() -> Any:
    """``metrics.json``'s ``explanations`` block (None before evaluation)."""
    metrics = cached.shipped_metrics()
    return None if metrics is None else metrics.explanations


def _ratio(block: Any, method: str) -> float | None:
    found = None if block is None else block.methods.get(method)
    return None if found is None else found.stats.mass_ratio.mean


def method_picker(prefix: str, block: Any) -> tuple[str, bool]:
    """The map method, the default first and each with its measured mass in the
    true region (× chance), and the signed toggle; returns ``(method, signed)``."""
    from hyperfusion.evaluate.explanation_report import method_order

    order = method_order(block)
    if block is None or block.default_method is None:
        default = cached.default_map_method()
        order = [default, *(m for m in order if m != default)]

    def label(name: str) -> str:
        ratio = _ratio(block, name)
        mark = "" if METHODS[name].faithful else " (fails)"
        return METHODS[name].label + mark + (f" · {ratio:.1f}×" if ratio else "")

    method = st.segmented_control(
        "Map method",
        order,
        format_func=label,
        default=order[0],
        required=True,
        key=f"{prefix}_method",
        help="The first is the default, chosen on the validation split; the number "
        "is the map's mass inside the true disease region, as a multiple of chance, "
        "on the synthetic test split.",
    )
    signed = st.toggle(
        "Signed: also evidence against (blue)",
        key=f"{prefix}_signed",
        help="Regions that lowered the output, e.g. healthy hippocampal tissue "
        "counting against AD.",
    )
    return method, signed


def quality_panel(block: Any, method: str = "") -> None:
    """The measured quality of every method, the shown one (if any) marked."""
    from hyperfusion.evaluate.explanation_report import quality_table

    if block is None:
        st.info("Not measured yet: `python -m hyperfusion evaluate` measures them.")
        return
    table = quality_table(block)
    names = [
        f"{label} ({role})" if role != "faithful" else label
        for label, role in zip(table["label"], table["role"], strict=True)
    ]
    shown = table[list(_TABLE_COLUMNS)].rename(
        columns={k: v[0] for k, v in _TABLE_COLUMNS.items()}
    )
    shown.insert(0, "Method", names)
    if method:
        shown.insert(0, "", ["▶" if m == method else "" for m in table["method"]])
    config = {
        title: st.column_config.NumberColumn(
            title, help=text, format="%.0f" if key == "latency_ms" else "%.2f"
        )
        for key, (title, text) in _TABLE_COLUMNS.items()
    }
    st.dataframe(
        shown, hide_index=True, key=f"quality_{bool(method)}", column_config=config
    )
    st.caption(
        f"SYNTHETIC data: {block.protocol.get('subjects', '')}, HyperFusion-AD, "
        "mean over seeds (hover a column for its meaning; docs/RESULTS.md has the "
        "protocol and the choice on validation)."
    )


@st.cache_resource(max_entries=16, ttl=cached.CACHE_TTL_S, show_spinner=False)
def _scan(image_key: str, _image: Any) -> tuple[Any, Any, Any]:
    from hyperfusion.explain.display import display_image
    from hyperfusion.viz.slices import anatomy_uint8

    img = display_image(_image.source)
    grey = anatomy_uint8(img.get_fdata(dtype="float32"))
    grey.setflags(write=False)
    return img, grey, img.affine


@st.cache_resource(max_entries=32, ttl=cached.CACHE_TTL_S, show_spinner=False)
def _on_scan(map_key: str, image_key: str, _volume: Any, _grid: Any, _img: Any):
    from hyperfusion.explain.display import map_on_scan

    out = map_on_scan(_volume, _grid, _img)
    out.setflags(write=False)
    return out


def map_on_scan(found: Any) -> tuple[Any, Any, Any, Any]:
    """The current scan (uint8 grey, its affine), ``found``'s map on it and the
    model's field of view ``((x0, x1), (y0, y1), (z0, z1))`` in mm."""
    from hyperfusion.explain.display import grid_bounds

    image = cached.current_image()
    img, grey, affine = _scan(image.key, image)
    grid = image.grid(task_of_target(found.target))
    key = cached.array_key(found.volume)
    overlay = _on_scan(key, image.key, found.volume, grid, img)
    return grey, affine, overlay, grid_bounds(grid)


@st.fragment
def scan_viewer(found: Any, *, key: str, opacity: float, threshold: float) -> None:
    """``found`` over the scan at its own resolution: three planes with a slider
    each, the model's field of view outlined (solid where the plane cuts it), a
    colour bar in the map's units. ``threshold``: a share of the map's peak."""
    from hyperfusion.viz import slices

    grey, affine, overlay, bounds = map_on_scan(found)
    coords = slices.grid_coordinates(affine, grey.shape)
    columns = st.columns(slices.panel_widths(affine, grey.shape), gap="medium")
    cut = []
    for i, (col, plane) in enumerate(zip(columns, slices.PLANES, strict=True)):
        c, step = coords[i], float(affine[i][i])
        centre = sum(bounds[i]) / 2  # start inside the model's field of view
        start = float(min(max(centre, c[0]), c[-1]))
        mm = col.slider(
            f"{plane.capitalize()}: {slices.AXIS_NAMES[i]} (mm)",
            float(c[0]),
            float(c[-1]),
            float(c[int(round((start - float(c[0])) / step))]),
            step,
            format="%.1f",
            key=f"{key}_{plane}_{grey.shape}",
        )
        cut.append(int(round((mm - float(c[0])) / step)))
    peak = found.peak or 1.0
    title = f"{found.label}: {outputs.target_label(found.target)} · {found.units}"
    viewer = cached.slice_figure(
        grey,
        affine,
        tuple(cut),
        overlay,
        opacity=opacity,
        threshold=threshold * peak,
        diverging=found.signed,
        limit=peak,
        overlay_title=title,
        box=tuple((float(low), float(high)) for low, high in bounds),
    )
    st.html(viewer)
    st.caption(
        "The map is resampled from the model's grid onto the scan's own voxels "
        "(trilinear) and clipped to the brain; the green box is the model's field "
        "of view. Values at or below the threshold × the peak are hidden."
    )


def method_notes(found: Any) -> None:
    """What the method computes, what its map adds up to, occlusion's ranked
    patches, and the NIfTI download of the map in the input's own space."""
    spec = METHODS[found.method]
    note = "" if spec.faithful else " **Kept as the documented failure.**"
    st.markdown(f"**{spec.label}** ({spec.summary}). {spec.description}{note}")
    if not found.volume.any():
        st.info(f"This map is empty: {spec.label} found no positive evidence here.")
    if found.total is not None and not math.isnan(found.total):
        st.caption(
            f"The map adds up to {found.total:+.4f} ({found.units.split(' per')[0]}):"
            " the change of the output from the healthy reference brain."
        )
    if found.regions is not None:
        effect = f"effect ({found.units})"
        st.dataframe(
            found.regions.rename(columns={"effect": effect}),
            hide_index=True,
            key="explain_regions",
        )
    map_download(found)


def map_download(found: Any) -> None:
    """The map resampled into the input image's own space, as .nii.gz (made when
    the button is clicked)."""
    from hyperfusion import export

    engine, image = cached.get_engine(), cached.current_image()

    def make() -> bytes:
        task = task_of_target(found.target)
        img = engine.gradcam_in_input_space(image, found.volume, task)
        return export.explanation_nifti(img, found, "map.nii.gz")

    st.download_button(
        f"{found.label} {found.target} (NIfTI, input space)",
        make,
        file_name=f"{state.file_stem()}_{found.method}_{found.target}.nii.gz",
        mime="application/gzip",
        icon=":material/download:",
        on_click="ignore",
        key=f"download_{found.method}",
        help="The map resampled onto the uploaded image's voxel grid and affine "
        "(the original scan's, when it was preprocessed).",
    )


__all__ = [
    "map_download",
    "map_on_scan",
    "method_notes",
    "method_picker",
    "quality_block",
    "quality_panel",
    "scan_viewer",
]
