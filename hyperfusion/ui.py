"""Streamlit helpers shared by every page: the only module that imports streamlit.

Pages stay thin: they call these helpers for state, widgets and rendering, and the
engine for numbers. Session state holds plain data only:

- ``ehr``: the EHR record being edited (a plain dict: widget-keyed state is deleted
  when the user visits a page without that widget, so edits live here instead);
- ``subject``: the example PTID or ``"upload:<sha1>"`` of the current image;
- ``upload``: ``{"name", "data"}`` of an uploaded file, kept in memory only;
- ``ehr_version``: bumped on reset so the editor's widgets re-read the record.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import streamlit as st

from hyperfusion.data.ehr import FIELDS, EHRRecord, validate_ehr
from hyperfusion.data.examples import example_image_bytes, example_record, list_examples
from hyperfusion.errors import HyperFusionError
from hyperfusion.explain.gradcam import CAM_LABELS

LOG = logging.getLogger("hyperfusion.ui")
DISCLAIMER = (
    "Research and teaching tool, **not a medical device**. Predictions come from "
    "models trained on synthetic data and must not inform any clinical decision."
)


# Engine and images -----------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the models…")
def get_engine() -> Any:
    """The one engine shared by every session (models loaded once, calls locked)."""
    from hyperfusion.engine import Engine

    return Engine()


@st.cache_resource(max_entries=16, show_spinner="Checking and resampling the MRI…")
def _prepare(key: str, _data: bytes) -> Any:
    return get_engine().prepare(_data)


def upload_key(data: bytes) -> str:
    """The subject id of an uploaded file."""
    return "upload:" + hashlib.sha1(data).hexdigest()[:16]


def current_image() -> Any:
    """The current subject's :class:`~hyperfusion.engine.PreparedImage`.

    Raises :class:`HyperFusionError` when the image cannot be used.
    """
    init_state()
    subject = st.session_state["subject"]
    upload = st.session_state.get("upload")
    if upload is not None and subject == upload_key(upload["data"]):
        return _prepare(subject, upload["data"])
    return _prepare(subject, example_image_bytes(subject))


# State -----------------------------------------------------------------------------


def default_subject() -> str:
    """The first bundled example."""
    return str(list_examples()["PTID"].iloc[0])


def init_state() -> None:
    """Fill session state on first use: the first example and its record."""
    ss = st.session_state
    if "subject" not in ss:
        ss["subject"] = default_subject()
    if "ehr" not in ss:
        ss["ehr"] = example_record(ss["subject"])
        ss["ehr_origin"] = ss["subject"]
    ss.setdefault("ehr_version", 0)
    ss.setdefault("upload", None)


def current_ehr() -> EHRRecord:
    """A copy of the EHR record being edited."""
    init_state()
    return dict(st.session_state["ehr"])


def set_ehr(record: EHRRecord, origin: str | None = None) -> None:
    """Replace the edited record (e.g. reset) and refresh the editor's widgets."""
    st.session_state["ehr"] = validate_ehr(record, require=False)
    if origin is not None:
        st.session_state["ehr_origin"] = origin
    st.session_state["ehr_version"] = st.session_state.get("ehr_version", 0) + 1


def select_example(ptid: str, keep_ehr: bool = False) -> None:
    """Make an example the current subject; load its record unless ``keep_ehr``."""
    st.session_state["subject"] = ptid
    if not keep_ehr:
        set_ehr(example_record(ptid), origin=ptid)


def select_upload(name: str, data: bytes) -> None:
    """Make uploaded bytes the current image; the edited EHR is kept."""
    st.session_state["upload"] = {"name": name, "data": data}
    st.session_state["subject"] = upload_key(data)


def subject_label() -> str:
    """A human label for the current image."""
    init_state()
    subject = st.session_state["subject"]
    upload = st.session_state.get("upload")
    if upload is not None and subject == upload_key(upload["data"]):
        return f"Upload: {upload['name']}"
    return subject


# Widgets ---------------------------------------------------------------------------


def _widget_key(name: str, suffix: str = "") -> str:
    return f"ehr_{name}{suffix}_v{st.session_state.get('ehr_version', 0)}"


def _write_field(name: str) -> None:
    """on_change: copy one widget's value into the EHR dict, validating it."""
    ss = st.session_state
    unknown = ss.get(_widget_key(name, "_unknown"), False)
    value = None if unknown else ss.get(_widget_key(name))
    try:
        ss["ehr"] = validate_ehr({**ss["ehr"], name: value}, require=False)
        ss.pop("ehr_error", None)
    except HyperFusionError as exc:
        ss["ehr_error"] = str(exc)


def ehr_editor(columns: int = 2, show_context: bool = True) -> EHRRecord:
    """Edit every EHR field (unit, range, help, an 'unknown' toggle); returns the
    record. Values live in ``session_state['ehr']``, never only in widgets."""
    init_state()
    record = st.session_state["ehr"]
    fields = [f for f in FIELDS if show_context or f.role == "input"]
    cols = st.columns(columns)
    for i, field in enumerate(fields):
        with cols[i % columns]:
            _field_widget(field, record.get(field.name))
    if "ehr_error" in st.session_state:
        st.error(st.session_state["ehr_error"])
    return current_ehr()


def _field_widget(field: Any, value: Any) -> None:
    unknown = value is None
    _value_widget(
        field,
        value,
        key=_widget_key(field.name),
        on_change=_write_field,
        disabled=unknown and not field.required,
    )
    if not field.required:
        st.checkbox(
            "Unknown",
            value=unknown,
            key=_widget_key(field.name, "_unknown"),
            on_change=_write_field,
            args=(field.name,),
            help=f"{field.label} was not measured: the model imputes it and sees "
            "a missing-value flag.",
        )


def _value_widget(
    field: Any, value: Any, key: str, on_change: Any, disabled: bool = False
) -> None:
    """One field's value widget (selectbox or number input with unit and help);
    ``on_change(field.name)`` runs when the user edits it."""
    shown_unit = field.unit and field.unit.lower() not in field.label.lower()
    unit = f" ({field.unit})" if shown_unit else ""
    context = " — context only, not a model input" if field.role == "context" else ""
    help_text = f"{field.description} Accepted: {field.accepted}.{context}"
    common = {
        "key": key,
        "on_change": on_change,
        "args": (field.name,),
        "help": help_text,
        "disabled": disabled,
    }
    label = f"{field.label}{unit}"
    if field.kind == "category":
        options = list(field.choices)
        index = options.index(value) if value in options else 0
        st.selectbox(label, options, index=index, **common)
        return
    shown = value if value is not None else (field.low + field.high) / 2
    if field.integer:
        st.number_input(
            label,
            min_value=int(field.low),
            max_value=int(field.high),
            value=int(round(shown)),
            step=int(field.step or 1),
            **common,
        )
    else:
        st.number_input(
            label,
            min_value=float(field.low),
            max_value=float(field.high),
            value=float(shown),
            step=float(field.step or 0.1),
            format="%.2f" if (field.step or 1) < 1 else "%.0f",
            **common,
        )


# Page furniture --------------------------------------------------------------------


def page_header(
    title: str, caption: str | None = None, models_of: tuple[str, ...] = ()
) -> None:
    """Page config, title, optional caption, the disclaimer, the untrained-weights
    warning (for the HyperFusion models, or every model of the ``models_of``
    tasks) and the sidebar."""
    with contextlib.suppress(st.errors.StreamlitAPIException):
        st.set_page_config(page_title=f"{title} · HyperFusion Studio", layout="wide")
    init_state()
    st.title(title)
    if caption:
        st.caption(caption)
    disclaimer()
    untrained_banner(models_of)
    sidebar_summary()


def disclaimer() -> None:
    """The not-a-medical-device line every page shows."""
    st.info(DISCLAIMER, icon="ℹ️")


def untrained_banner(models_of: tuple[str, ...] = ()) -> None:
    """A loud warning while models run on untrained placeholder weights, naming
    them when only some do. Checks the HyperFusion AD and brain-age models, or
    every model of the ``models_of`` tasks."""
    from hyperfusion.modelcard.card import untrained_notice

    engine = get_engine()
    models = [(t, n) for t in models_of for n in engine.model_names(t)] or [
        ("ad", "hyperfusion"),
        ("brain-age", "hyperfusion"),
    ]
    untrained = [(t, n) for t, n in models if not _is_trained(engine, t, n)]
    notice = untrained_notice(untrained, len(models))
    if notice:
        st.warning(notice, icon="⚠️")


def _is_trained(engine: Any, task: str, name: str) -> bool:
    """Whether trained weights back a model; a checkpoint that cannot be read (yet:
    training may be writing it) counts as untrained, and the page shows its error
    where it uses the model."""
    try:
        return bool(engine.is_trained(task, name))
    except HyperFusionError:
        return False


@contextlib.contextmanager
def run_safely(what: str = "This section") -> Iterator[None]:
    """Show user errors as one line and unexpected ones without a traceback; the
    page keeps running and session state is untouched."""
    try:
        yield
    except HyperFusionError as exc:
        st.error(str(exc))
    except Exception as exc:  # never show a traceback to a user
        LOG.exception("%s failed", what)
        st.error(f"{what} could not be shown ({type(exc).__name__}); see the logs.")


class Timer:
    """Measures the latency shown in the device badge."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = (time.perf_counter() - self.start) * 1000
        st.session_state["last_latency_ms"] = self.ms


# Subject ---------------------------------------------------------------------------

UPLOAD_TYPES = ["nii", "gz"]  # Streamlit filters on the last suffix; load_mri judges


def _subject_options() -> list[str]:
    options = [str(p) for p in list_examples()["PTID"]]
    upload = st.session_state.get("upload")
    if upload is not None:
        options.append(upload_key(upload["data"]))
    return options


def _subject_name(option: str) -> str:
    if option.startswith("upload:"):
        upload = st.session_state.get("upload") or {}
        return f"Uploaded: {upload.get('name', 'file')}"
    row = list_examples().set_index("PTID").loc[option]
    dx = f" · {row['DX']}" if isinstance(row["DX"], str) else ""
    return f"{option}{dx}"


def _on_pick() -> None:
    choice = st.session_state["subject_pick"]
    if choice.startswith("upload:"):
        st.session_state["subject"] = choice
    else:
        select_example(choice)
    st.session_state.pop("upload_error", None)


def _on_upload() -> None:
    """Check an uploaded file before it replaces the current subject."""
    file = st.session_state.get("upload_widget")
    if file is None:
        return
    data = file.getvalue()
    try:
        _prepare(upload_key(data), data)
    except HyperFusionError as exc:
        st.session_state["upload_error"] = f"{file.name}: {exc}"
        return
    except Exception as exc:  # never a traceback
        LOG.exception("upload %s failed", file.name)
        st.session_state["upload_error"] = (
            f"{file.name} could not be read ({type(exc).__name__}); a single 3D T1 "
            "as NIfTI .nii or .nii.gz is accepted"
        )
        return
    st.session_state.pop("upload_error", None)
    select_upload(file.name, data)


def subject_picker() -> None:
    """Pick a bundled example (with its description) or upload a NIfTI.

    A file that cannot be used shows one error line; the previous subject and the
    EHR stay as they were. Uploads stay in memory.
    """
    init_state()
    ss = st.session_state
    options = _subject_options()
    if ss["subject"] in options:
        ss["subject_pick"] = ss["subject"]
    pick, upload = st.columns(2)
    pick.selectbox(
        "Example subject",
        options,
        format_func=_subject_name,
        key="subject_pick",
        on_change=_on_pick,
        help="Bundled examples come with their EHR; choosing one loads its record.",
    )
    subject = ss["subject"]
    if not subject.startswith("upload:"):
        pick.caption(str(list_examples().set_index("PTID").loc[subject, "description"]))
    upload.file_uploader(
        "…or upload a T1 MRI (NIfTI .nii / .nii.gz)",
        type=UPLOAD_TYPES,
        key="upload_widget",
        on_change=_on_upload,
        help="Skull-stripped and registered to MNI152, like the training data. "
        "The file stays in memory and is never written to disk. Your edited EHR "
        "is kept.",
    )
    if "upload_error" in ss:
        st.error(ss["upload_error"])


def qc_panel(qc: Any) -> None:
    """The quality-check verdict, its warnings and the key metrics."""
    m = qc.metrics
    if qc.ok:
        st.success("Quality check passed: looks like a skull-stripped T1 in MNI152.")
    for warning in qc.warnings:
        st.warning(f"Quality check: {warning}")
    if m:
        st.caption(
            f"Correlation with MNI152 {m.get('correlation', float('nan')):.2f} · "
            f"brain coverage {m.get('fov_coverage', float('nan')):.0%} · "
            f"signal outside brain {m.get('outside_brain_fraction', float('nan')):.0%}"
            f" · voxel ≤ {m.get('voxel_mm_max', float('nan')):.1f} mm · "
            f"obliquity {m.get('obliquity_deg', float('nan')):.1f}°"
        )


def _reset_ehr() -> None:
    origin = st.session_state.get("ehr_origin") or default_subject()
    set_ehr(example_record(origin), origin=origin)
    st.session_state.pop("ehr_error", None)


def reset_button() -> None:
    """'Reset to this subject's record' (the example whose record was loaded)."""
    origin = st.session_state.get("ehr_origin") or default_subject()
    st.button(
        "Reset to this subject's record",
        on_click=_reset_ehr,
        help=f"Reload the EHR of {origin}, undoing every edit.",
        icon=":material/restart_alt:",
    )


# Predictions -----------------------------------------------------------------------


def current_prediction() -> Any:
    """The engine's :class:`~hyperfusion.engine.Prediction` for the current subject
    and EHR (an edit re-runs only the EHR-dependent part of the models)."""
    with Timer():
        return get_engine().predict(current_image(), current_ehr())


_NO_SELECT = ["lasso2d", "select2d"]


def chart(fig: Any, key: str | None = None) -> None:
    """A plotly figure at full width, without plotly's logo."""
    st.plotly_chart(
        fig,
        width="stretch",
        key=key,
        config={"displaylogo": False, "modeBarButtonsToRemove": _NO_SELECT},
    )


def device_badge(prediction: Any) -> None:
    """Where the models ran and how long the last update took."""
    st.badge(
        f"{prediction.device} · model time {prediction.latency_ms:.1f} ms",
        icon=":material/speed:",
        color="gray",
        help="Device of the models and model time of the last update (the image "
        "features are cached, so an EHR edit re-runs only the fusion layers).",
    )


def prediction_summary(prediction: Any) -> None:
    """Brain age, its gap to the entered age, and the CN / MCI / AD chart."""
    from hyperfusion.viz.charts import probability_bars, spread_label

    n_ba = prediction.n_seeds.get("brain-age", 1)
    sd = prediction.brain_age_sd
    spread = f" Spread ± {sd:.1f} y over {n_ba} seeds." * (n_ba > 1)
    gap = prediction.brain_age_gap
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Brain age",
        f"{prediction.brain_age:.1f} y",
        help=f"Predicted from the MRI and sex.{spread}",
    )
    c2.metric(
        "Brain-age gap",
        "unknown" if gap is None else f"{gap:+.1f} y",
        help="Predicted brain age minus the entered age: positive means the brain "
        "looks older than the patient.",
    )
    top = prediction.diagnosis
    c3.metric(
        "Most likely",
        top,
        f"{prediction.probabilities[top]:.0%}",
        delta_color="off",
        delta_arrow="off",
    )
    n_ad = prediction.n_seeds.get("ad", 1)
    chart(
        probability_bars(prediction.probabilities, prediction.probabilities_sd, n_ad),
        key="probabilities",
    )
    st.caption(spread_label(n_ad))
    device_badge(prediction)


# Images and maps -------------------------------------------------------------------

VOLUME_LABELS = {"ad": "AD crop (hippocampi)", "brain-age": "Whole brain (brain age)"}


def task_volume(image: Any, task: str) -> tuple[Any, Any]:
    """The displayed volume and its affine: the AD crop or the brain-age grid."""
    if task == "ad":
        return image.ad_volume(), image.ad_grid.affine
    return image.brain_age, image.brain_age_grid.affine


def _ehr_key(record: EHRRecord, target: str) -> tuple:
    if target == "brain-age":  # the brain-age model sees sex only
        return (("PTGENDER", record.get("PTGENDER")),)
    return tuple(sorted(record.items()))


@st.cache_data(max_entries=128, show_spinner="Computing Grad-CAM…")
def _gradcam(
    subject: str,
    ehr_key: tuple,
    target: str,
    signed: bool,
    method: str,
    _engine: Any,
    _image: Any,
):
    return _engine.gradcam(
        _image, dict(ehr_key), target, relu=not signed, method=method
    )


@st.cache_data(max_entries=128, show_spinner="Attributing to the EHR…")
def _attribution(subject: str, ehr_key: tuple, target: str, _engine: Any, _image: Any):
    return _engine.ehr_attribution(_image, dict(ehr_key), target)


def gradcam_map(
    target: str,
    record: EHRRecord | None = None,
    signed: bool = False,
    method: str = "gradcam",
) -> Any:
    """Grad-CAM (or HiResCAM) of ``target`` (CN, MCI, AD or brain-age) on the task
    grid, in [0, 1] (``signed``: in [-1, 1], negative where a region lowered the
    output), cached per (subject, EHR, target, signed, method)."""
    rec = current_ehr() if record is None else validate_ehr(record, require=False)
    subject = st.session_state["subject"]
    key = _ehr_key(rec, target)
    return _gradcam(subject, key, target, signed, method, get_engine(), current_image())


def ehr_attribution(target: str) -> Any:
    """Integrated Gradients of ``target`` per EHR field, cached like Grad-CAM."""
    rec = current_ehr()
    subject = st.session_state["subject"]
    return _attribution(
        subject, _ehr_key(rec, target), target, get_engine(), current_image()
    )


def map_controls(key: str, threshold: float = 0.2) -> tuple[float, float]:
    """Opacity and threshold sliders side by side; returns ``(opacity, threshold)``."""
    c1, c2 = st.columns(2)
    opacity = c1.slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key=f"{key}_opacity")
    cut = c2.slider(
        "Map threshold",
        0.0,
        0.95,
        threshold,
        0.05,
        key=f"{key}_threshold",
        help="Map values at or below this (absolute value for differences) are hidden.",
    )
    return opacity, cut


def slice_viewer(
    volume: Any,
    affine: Any,
    overlay: Any = None,
    *,
    key: str,
    **figure_options: Any,
) -> None:
    """Sagittal, coronal and axial planes with a slider per plane (mm, RAS).

    ``figure_options`` go to :func:`hyperfusion.viz.slices.orthogonal_slices`
    (``threshold``, ``opacity``, ``diverging``, ``overlay_title``...).
    """
    from hyperfusion.viz import slices

    coords = slices.grid_coordinates(affine, volume.shape)
    columns = st.columns(slices.panel_widths(affine, volume.shape), gap="medium")
    cut = []
    for i, (col, plane) in enumerate(zip(columns, slices.PLANES, strict=True)):
        c, step = coords[i], float(affine[i][i])
        mm = col.slider(
            f"{plane.capitalize()} plane: {slices.AXIS_NAMES[i]} (mm)",
            float(c[0]),
            float(c[-1]),
            float(c[len(c) // 2]),
            step,
            format="%.1f",
            key=f"{key}_{plane}_{volume.shape}",
        )
        cut.append(int(round((mm - float(c[0])) / step)))
    fig = slices.orthogonal_slices(volume, affine, cut, overlay, **figure_options)
    chart(fig, key=f"{key}_fig")


def scenario_b(max_fields: int = 2) -> EHRRecord:
    """Edit one or two fields of a scenario B (the current EHR otherwise); returns
    B's record. The changed fields live in ``session_state['scenario_b']``."""
    from hyperfusion.data.ehr import FIELD_BY_NAME, INPUT_FIELDS

    ss = st.session_state
    base = current_ehr()
    if "scenario_b" not in ss:
        ss["scenario_b"] = {"APOE4": _contrast("APOE4", base.get("APOE4"))}
    overrides: dict[str, Any] = ss["scenario_b"]
    st.multiselect(
        "Fields that differ in scenario B",
        [f.name for f in INPUT_FIELDS],
        default=[n for n in overrides if n in FIELD_BY_NAME][:max_fields],
        max_selections=max_fields,
        format_func=lambda n: FIELD_BY_NAME[n].label,
        key="scenario_fields",
        on_change=_on_scenario_fields,
    )
    for col, name in zip(st.columns(max_fields), list(overrides), strict=False):
        with col:
            _value_widget(
                FIELD_BY_NAME[name],
                overrides[name],
                key=f"scenario_{name}",
                on_change=_write_scenario,
            )
    return validate_ehr({**base, **overrides}, require=False)


def _contrast(name: str, value: Any) -> Any:
    """A starting value for scenario B: the other sex, or the far end of the range."""
    from hyperfusion.data.ehr import FIELD_BY_NAME

    f = FIELD_BY_NAME[name]
    if f.kind == "category":
        return next((c for c in f.choices if c != value), f.choices[0])
    mid = (f.low + f.high) / 2
    return f.low if value is not None and value > mid else f.high


def _on_scenario_fields() -> None:
    ss = st.session_state
    chosen = ss.get("scenario_fields") or []
    old = ss.get("scenario_b", {})
    record = current_ehr()
    ss["scenario_b"] = {
        n: old[n] if n in old else _contrast(n, record.get(n)) for n in chosen
    }


def _write_scenario(name: str) -> None:
    ss = st.session_state
    ss["scenario_b"] = {**ss.get("scenario_b", {}), name: ss[f"scenario_{name}"]}


# Downloads -------------------------------------------------------------------------


def _file_stem() -> str:
    subject = st.session_state.get("subject", "subject").replace(":", "-")
    return f"hyperfusion_{subject}"


def prediction_downloads(prediction: Any) -> None:
    """JSON and CSV of the prediction with the EHR it was made from."""
    from hyperfusion import export

    ehr, subject = current_ehr(), subject_label()
    c1, c2 = st.columns(2)
    c1.download_button(
        "Prediction + EHR (JSON)",
        export.prediction_json(prediction, ehr, subject),
        file_name=f"{_file_stem()}_prediction.json",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
    )
    c2.download_button(
        "Prediction + EHR (CSV)",
        export.prediction_csv(prediction, ehr, subject),
        file_name=f"{_file_stem()}_prediction.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
    )


def map_method_controls(prefix: str) -> tuple[str, bool]:
    """The map method (Grad-CAM or HiResCAM) and the signed toggle, with the measured
    localisation of each beside them; returns ``(method, signed)``."""
    from hyperfusion.modelcard import measured

    m1, m2 = st.columns([2, 3], vertical_alignment="bottom")
    method = m1.segmented_control(
        "Map",
        list(CAM_LABELS),
        format_func=CAM_LABELS.get,
        default="gradcam",
        required=True,
        key=f"{prefix}_method",
        help="Grad-CAM weighs each feature channel by its gradient averaged over "
        "the whole crop (the paper's map). HiResCAM multiplies gradient and feature "
        "voxel by voxel, so it keeps where each feature counted.",
    )
    signed = m2.toggle(
        "Signed map: also show evidence against (blue)",
        key=f"{prefix}_signed",
        help="The plain map keeps only regions that raised the output. The signed "
        "map also shows, in blue, regions whose features lowered it, e.g. healthy "
        "hippocampal tissue counting against AD.",
    )
    metrics = measured.load_metrics()
    ratios = {m: measured.gradcam_localisation(metrics, m) for m in CAM_LABELS}
    if None not in ratios.values():
        st.caption(
            "Measured on the SYNTHETIC test split (HyperFusion-AD): the share of the "
            "map's mass inside the true disease region is "
            f"{ratios['gradcam']:.1f}× chance for Grad-CAM and "
            f"{ratios['hirescam']:.1f}× for HiResCAM. The model does use that region "
            "(docs/EXPERIMENTS.md); Grad-CAM's averaging hides it."
        )
    return method, signed


def gradcam_download(volume: Any, target: str, method: str = "gradcam") -> None:
    """The map resampled into the input image's own space, as .nii.gz (computed
    when the button is clicked)."""
    from hyperfusion import export

    engine, image = get_engine(), current_image()
    task = "brain-age" if target == "brain-age" else "ad"
    label = CAM_LABELS.get(method, method)

    def make() -> bytes:
        img = engine.gradcam_in_input_space(image, volume, task)
        return export.nifti_gz_bytes(img, f"HyperFusion {label} {target}")

    st.download_button(
        f"{label} {target} (NIfTI, input space)",
        make,
        file_name=f"{_file_stem()}_{method}_{target}.nii.gz",
        mime="application/gzip",
        icon=":material/download:",
        on_click="ignore",
        help="The map resampled onto the uploaded image's voxel grid and affine.",
    )


def record_table(record: EHRRecord) -> Any:
    """A record as a two-column table (field with unit, value; "unknown")."""
    import pandas as pd

    rows = [
        {
            "Field": f"{f.label} ({f.unit})" if f.unit else f.label,
            "Value": "unknown" if record.get(f.name) is None else str(record[f.name]),
        }
        for f in FIELDS
    ]
    return pd.DataFrame(rows)


# Sidebar ---------------------------------------------------------------------------


def sidebar_summary() -> None:
    """The current patient in the sidebar, on every page."""
    rec = st.session_state.get("ehr", {})
    age = rec.get("AGE")
    sex = rec.get("PTGENDER") or "sex unknown"
    with st.sidebar:
        st.markdown("**Current patient**")
        st.caption(
            f"{subject_label()}  \n{sex}, "
            f"{'age unknown' if age is None else f'{age:.0f} years'} · "
            f"{sum(v is None for v in rec.values())} fields unknown"
        )


# What-if / fusion / model card helpers ---------------------------------------------


def probability_table(table: Any, key: str, label: str = "model") -> None:
    """A table of class probabilities: CN / MCI / AD as bars in percent with one
    decimal (values ×100, so every row reads ``34.8%``, never ``34.77%`` beside
    ``36.1%``), their ``*_sd`` joined into one "sd" column in percent (a dash for
    a model with one seed), other float columns with 3 decimals, and the ``label``
    column titled ``label``."""
    classes = ("CN", "MCI", "AD")
    sds = [f"{c}_sd" for c in classes]
    table = table.copy()
    if set(sds) <= set(table.columns):
        spread = table[sds].apply(lambda r: " / ".join(f"{v:.1%}" for v in r), axis=1)
        if "seeds" in table.columns:  # one seed: no spread measured, not zero
            spread[table["seeds"] <= 1] = "— (one seed)"
        table = table.drop(columns=sds)
        table.insert(table.columns.get_loc("AD") + 1, "sd (CN / MCI / AD)", spread)
    shown = [c for c in classes if c in table.columns]
    table[shown] = table[shown].astype(float) * 100
    bars = {
        c: st.column_config.ProgressColumn(
            c, format="%.1f%%", min_value=0, max_value=100
        )
        for c in shown
    }
    numbers = {
        c: st.column_config.NumberColumn(format="%.3f")
        for c in table.columns
        if c not in bars and table[c].dtype.kind == "f"
    }
    config = {"label": label, **numbers, **bars}
    st.dataframe(table, hide_index=True, key=key, column_config=config)
