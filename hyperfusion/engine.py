"""The engine: one object the CLI and every page call for predictions and explanations.

It loads each model's shipped ensemble (all training seeds) once, serialises model
calls behind one lock (Streamlit sessions are threads sharing it, and captum's hooks
must not see another session's forward pass), and caches per image everything the EHR
does not touch (``model.encode_image``), so that an EHR edit only re-runs ``fuse``
and a what-if sweep is one batched pass. No per-request state is stored on a model.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hyperfusion.config import Grid
from hyperfusion.data.ehr_parsing import canonical_field, parse_value, validate_ehr
from hyperfusion.data.ehr_schema import FIELD_BY_NAME, INPUT_FIELDS, EHRRecord
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.preprocess import PreprocessResult
from hyperfusion.data.qc import QCReport, quality_check
from hyperfusion.data.resampling import to_input_space
from hyperfusion.errors import HyperFusionError
from hyperfusion.explain.ensemble import Explainer, ExplanationMap, Net, Progress
from hyperfusion.explain.tabular import field_attributions, integrated_gradients
from hyperfusion.explain.weights import (
    HyperLayerView,
    channel_norm_sweep,
    hyper_layer_views,
)
from hyperfusion.lru import LRUStore
from hyperfusion.models.checkpoint import WEIGHTS_DIR, Checkpoint, load_checkpoints
from hyperfusion.models.device import autocast_for, describe_device, resolve_device
from hyperfusion.models.registry import MODEL_NAMES, get_spec
from hyperfusion.prediction import Prediction
from hyperfusion.tasks import AD, BRAIN_AGE, TASKS, Task, get_task, task_of_target

_FEATURE_CACHE_SIZE = 64
ImageSource = str | Path | bytes | nib.Nifti1Image | PreprocessResult


@dataclass(frozen=True)
class PreparedImage:
    """An input MRI checked and resampled once onto every task's grid.

    Attributes:
        key: content hash, the cache key for per-image features.
        source: the loaded image (RAS), kept for exports in its own space.
        qc: the quality check against the MNI152 template.
        views: per task name, the network's views of the image ``(V, X, Y, Z)``
            (AD: ``[right hemisphere, left mirrored onto right]``).
        grids: per task name, the grid the views live on.
        preprocessing: ``preprocess_scan``'s report and transform, if it made it.
    """

    key: str
    source: nib.Nifti1Image
    qc: QCReport
    views: Mapping[str, np.ndarray]
    grids: Mapping[str, Grid]
    preprocessing: PreprocessResult | None = None

    def grid(self, task: str | Task) -> Grid:
        """The grid of a task's input."""
        return self.grids[get_task(task).name]

    def volume(self, task: str | Task) -> np.ndarray:
        """A task's input as one ``(X, Y, Z)`` volume on its grid, for display."""
        task = get_task(task)
        return task.merge_views(self.views[task.name])


def _content_key(img: nib.Nifti1Image) -> str:
    digest = hashlib.sha1(np.ascontiguousarray(img.get_fdata(dtype=np.float32)))
    digest.update(np.asarray(img.affine, dtype=np.float64).tobytes())
    return digest.hexdigest()


class Engine:
    """Load, lock, predict, sweep and explain.

    Every public method validates the EHR it is given (the engine is the boundary
    between users and models); private methods take validated records.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        weights_dir: where the shipped checkpoints live.
    """

    def __init__(
        self, device: str | None = None, weights_dir: Path = WEIGHTS_DIR
    ) -> None:
        self.device = resolve_device(device)
        self.weights_dir = Path(weights_dir)
        self._lock = threading.RLock()
        self._checkpoints: dict[tuple[str, str], list[Checkpoint]] = {}
        self._features = LRUStore(_FEATURE_CACHE_SIZE)
        self._explainer = Explainer(self.weights_dir)

    # Models -----------------------------------------------------------------------

    @property
    def device_label(self) -> str:
        """``"CPU"`` or ``"GPU (name)"`` for badges."""
        return describe_device(self.device)

    def checkpoints(
        self, task: str | Task, name: str = "hyperfusion"
    ) -> list[Checkpoint]:
        """The ensemble of ``(task, name)`` (loaded on first use)."""
        task_name = get_task(task).name
        get_spec(task_name, name)
        key = (task_name, name)
        with self._lock:
            found = self._checkpoints.get(key)
        if found is None:  # read outside the lock: other requests need not wait
            loaded = load_checkpoints(task_name, name, self.device, self.weights_dir)
            with self._lock:
                found = self._checkpoints.setdefault(key, loaded)
        return found

    def is_trained(self, task: str | Task, name: str = "hyperfusion") -> bool:
        """Whether real trained weights (not the placeholder) back this model."""
        return all(c.trained for c in self.checkpoints(task, name))

    def grid(self, task: str | Task) -> Grid:
        """The input grid of a task's shipped models."""
        return self.checkpoints(task)[0].model.cfg.grid

    def reference_record(self, task: str | Task = AD) -> EHRRecord:
        """The training cohort's median patient (the untrained placeholder: schema
        mid-range values)."""
        card = self.checkpoints(task)[0].card
        if "reference_record" in card:
            return validate_ehr(card["reference_record"], require=False)
        record: dict[str, Any] = {}
        for f in INPUT_FIELDS:
            if f.kind == "category":
                record[f.name] = f.choices[0]
            else:
                mid = (f.low + f.high) / 2
                record[f.name] = round(mid) if f.integer else mid
        return validate_ehr(record, require=False)

    # Images -----------------------------------------------------------------------

    def prepare(self, source: ImageSource, qc: QCReport | None = None) -> PreparedImage:
        """Load, check and resample an MRI (or a ``preprocess_scan`` result) once;
        ``qc``: this very file's report, already computed (a bundled example's)."""
        pre = source if isinstance(source, PreprocessResult) else None
        img = load_mri(source if pre is None else pre.image)
        grids = {name: self.grid(task) for name, task in TASKS.items()}
        return PreparedImage(
            key=_content_key(img),
            source=img,
            qc=quality_check(img) if qc is None else qc,
            views={
                name: task.image_input(img, grids[name]) for name, task in TASKS.items()
            },
            grids=grids,
            preprocessing=pre,
        )

    def _image_tensor(self, image: PreparedImage, task: Task) -> Tensor:
        views = np.ascontiguousarray(image.views[task.name][:, None])
        return torch.from_numpy(views).to(self.device)

    def _image_features(
        self, image: PreparedImage | None, task: Task, name: str
    ) -> list[tuple[Tensor, ...]]:
        """Per-seed ``encode_image`` outputs, cached per image (:class:`LRUStore`:
        bounded, and dropped an hour after last use)."""
        if not get_spec(task.name, name).uses_image:
            return [() for _ in self.checkpoints(task, name)]
        if image is None:
            raise HyperFusionError(
                f"The {task.title} model '{name}' needs an MRI; load one first"
            )
        key = (image.key, task.name, name)
        with self._lock:
            feats = self._features.get(key)
            if feats is None:
                x = self._image_tensor(image, task)
                with torch.no_grad(), autocast_for(self.device):
                    models = self.checkpoints(task, name)
                    feats = [c.model.encode_image(x) for c in models]
                self._features.put(key, feats)
            return feats

    def _tabular_tensor(
        self, checkpoint: Checkpoint, task: Task, records: Sequence[EHRRecord]
    ) -> Tensor:
        tab = task.tabular(checkpoint.preprocessor, records)
        return torch.from_numpy(np.asarray(tab, dtype=np.float32)).to(self.device)

    # Prediction -------------------------------------------------------------------

    def _outputs(
        self,
        image: PreparedImage | None,
        records: Sequence[EHRRecord],
        task: Task,
        name: str,
    ) -> np.ndarray:
        """Per-seed outputs ``(S, K, C)`` for K validated records, one batched pass
        per seed: class probabilities (AD: logits averaged over the two
        hemispheres, then softmax) or values (brain age in years, C = 1)."""
        results = []
        with self._lock:
            features = self._image_features(image, task, name)
            for ckpt, feats in zip(self.checkpoints(task, name), features, strict=True):
                tab = self._tabular_tensor(ckpt, task, records)
                # inference mode: outputs only (the cached features stay usable
                # for the maps' gradients: they are made under no_grad)
                with torch.inference_mode(), autocast_for(self.device):
                    out = ckpt.model.fuse_records(feats, tab).float()
                results.append(task.read_output(out).cpu().numpy())
        return np.stack(results)

    def _brain_ages(
        self,
        image: PreparedImage | None,
        records: Sequence[EHRRecord],
        name: str,
    ) -> np.ndarray | None:
        """``(S, K)`` brain ages, or ``None`` when the model needs an absent image."""
        if image is None and get_spec(BRAIN_AGE.name, name).uses_image:
            return None
        return self._outputs(image, records, BRAIN_AGE, name)[..., 0]

    def predict(
        self,
        image: PreparedImage | None,
        record: Mapping[str, object],
        ad_model: str = "hyperfusion",
        brain_age_model: str = "hyperfusion",
    ) -> Prediction:
        """Brain age and CN / MCI / AD probabilities for one patient.

        ``image`` may be ``None`` only for models that use no image
        (``ad_model="tabular-only"``); brain age is then not predicted (NaN).
        """
        start = time.perf_counter()
        rec = validate_ehr(record, require=False)
        probs = self._outputs(image, [rec], AD, ad_model)[:, 0]
        ages = self._brain_ages(image, [rec], brain_age_model)
        ages = np.full(1, np.nan) if ages is None else ages[:, 0]
        latency = (time.perf_counter() - start) * 1000
        return Prediction(
            probabilities=dict(zip(AD.classes, probs.mean(0).tolist(), strict=True)),
            probabilities_sd=dict(zip(AD.classes, probs.std(0).tolist(), strict=True)),
            brain_age=float(ages.mean()),
            brain_age_sd=float(ages.std()),
            age=rec.get("AGE"),  # type: ignore[arg-type]
            ad_model=ad_model,
            brain_age_model=brain_age_model,
            n_seeds={AD.name: len(probs), BRAIN_AGE.name: len(ages)},
            trained=self.is_trained(AD, ad_model)
            and self.is_trained(BRAIN_AGE, brain_age_model),
            device=self.device_label,
            latency_ms=latency,
            qc_warnings=image.qc.warnings if image is not None else (),
            per_seed={"probabilities": probs.tolist(), "brain_age": ages.tolist()},
        )

    def _variants(
        self, record: Mapping[str, object], field_name: str, values: Sequence[object]
    ) -> tuple[EHRRecord, list[EHRRecord]]:
        """The validated record and one copy per value of one field: the record is
        validated once, then each value on its own (the rest cannot change)."""
        base = validate_ehr(record, require=False)
        name = canonical_field(field_name)  # an unknown field raises with a hint
        return base, [{**base, name: parse_value(name, v)} for v in values]

    def sweep(
        self,
        image: PreparedImage | None,
        record: Mapping[str, object],
        field_name: str,
        values: Sequence[object],
        ad_model: str = "hyperfusion",
        brain_age_model: str = "hyperfusion",
    ) -> pd.DataFrame:
        """Predictions as one field takes each of ``values`` (one batched pass).

        Returns:
            One row per value: ``value``, ``CN``, ``MCI``, ``AD`` (ensemble means),
            their ``*_sd``, ``brain_age`` and ``brain_age_sd``.
        """
        _, records = self._variants(record, field_name, values)
        df = self._class_sweep(image, records, values, ad_model)
        ages = self._brain_ages(image, records, brain_age_model)
        if ages is not None:
            df["brain_age"] = ages.mean(0)
            df["brain_age_sd"] = ages.std(0)
        return df

    def _class_sweep(
        self,
        image: PreparedImage | None,
        records: Sequence[EHRRecord],
        values: Sequence[object],
        ad_model: str,
    ) -> pd.DataFrame:
        """``value`` and the ensemble's class probabilities (means and ``*_sd``)."""
        probs = self._outputs(image, records, AD, ad_model)
        df = pd.DataFrame({"value": list(values)})
        for i, cls in enumerate(AD.classes):
            df[cls] = probs[:, :, i].mean(0)
            df[f"{cls}_sd"] = probs[:, :, i].std(0)
        return df

    def smallest_flip(
        self,
        image: PreparedImage | None,
        record: Mapping[str, object],
        field_name: str,
        ad_model: str = "hyperfusion",
        steps: int = 201,
    ) -> dict[str, Any] | None:
        """The value of one field closest to the current one that changes the
        predicted diagnosis, searched over the field's plausible range.

        Returns ``None`` when no value in range flips it, else ``{"value", "from",
        "to", "change"}``.
        """
        f = FIELD_BY_NAME[field_name]
        base = validate_ehr(record, require=False)
        probs = self._outputs(image, [base], AD, ad_model)[:, 0].mean(0)
        current = AD.classes[int(np.argmax(probs))]
        if f.kind == "category":
            candidates: list[object] = [c for c in f.choices if c != base[field_name]]
        else:
            grid = np.linspace(f.low, f.high, steps)
            candidates = sorted(
                set(np.round(grid).tolist() if f.integer else grid.tolist())
            )
        if not candidates:
            return None
        # The diagnosis alone decides a flip: no brain ages for the candidates.
        _, records = self._variants(base, field_name, candidates)
        df = self._class_sweep(image, records, candidates, ad_model)
        labels = df[list(AD.classes)].idxmax(axis=1)
        flips = df[labels != current].assign(to=labels[labels != current])
        if flips.empty:
            return None
        now = base[field_name]
        if f.kind == "category" or now is None:
            row, change = flips.iloc[0], None
        else:
            distance = (flips["value"].astype(float) - float(now)).abs()
            row = flips.loc[distance.idxmin()]
            change = float(row["value"]) - float(now)
        flip = {"value": row["value"], "from": current, "to": row["to"]}
        return {**flip, "change": change}

    # Explanations -----------------------------------------------------------------

    def explain(
        self,
        image: PreparedImage,
        record: Mapping[str, object],
        target: str,
        method: str | None = None,
        name: str = "hyperfusion",
        signed: bool | None = None,
        progress: Progress | None = None,
    ) -> ExplanationMap:
        """A map of a class or ``"brain-age"`` by ``method`` (default: the one chosen
        on validation), the ensemble's mean (:mod:`hyperfusion.explain.ensemble`)."""
        task = task_of_target(target)
        if not get_spec(task.name, name).uses_image:
            raise HyperFusionError(f"The {task.title} model '{name}' sees no image")
        rec = validate_ehr(record, require=False)
        method = method or self._explainer.default_method()
        with self._lock:
            ckpts = self.checkpoints(task, name)
            nets = [Net(c.model, self._tabular_tensor(c, task, [rec])) for c in ckpts]
            views, grid = self._image_tensor(image, task), image.grid(task)
            feats = self._image_features(image, task, name)
            key = (image.key, task.name, name)
            how = (key, grid, feats, signed, progress)
            return self._explainer.explain(nets, views, task, target, method, *how)

    def gradcam(
        self,
        image: PreparedImage,
        record: Mapping[str, object],
        target: str,
        relu: bool = True,
        method: str = "gradcam",
    ) -> np.ndarray:
        """:meth:`explain`'s map in [0, 1] (``relu=False``: signed, in [-1, 1])."""
        return self.explain(image, record, target, method, signed=not relu).scaled()

    def gradcam_in_input_space(
        self, image: PreparedImage, volume: np.ndarray, task: str | Task = AD
    ) -> nib.Nifti1Image:
        """A map on the uploaded (if preprocessed: original) scan's grid."""
        if image.preprocessing is not None:
            return image.preprocessing.to_input_space(volume, image.grid(task))
        return to_input_space(volume, image.grid(task), image.source)

    def ehr_attribution(
        self,
        image: PreparedImage | None,
        record: Mapping[str, object],
        target: str,
        name: str = "hyperfusion",
        reference: Mapping[str, object] | None = None,
        steps: int = 32,
    ) -> pd.DataFrame:
        """How each EHR field moved the prediction of ``target`` (a class: in its
        probability; ``"brain-age"``: in years) from the reference patient:
        Integrated Gradients averaged over the ensemble, as columns ``field``,
        ``label``, ``attribution``, largest effect first."""
        task = task_of_target(target)
        index = task.target_index(target)
        rec = validate_ehr(record, require=False)
        ref = validate_ehr(reference or self.reference_record(task), require=False)
        totals = None
        with self._lock:
            features = self._image_features(image, task, name)
            for ckpt, feats in zip(self.checkpoints(task, name), features, strict=True):
                tab, base = self._tabular_tensor(ckpt, task, [rec, ref])

                def forward(t: Tensor, ckpt=ckpt, feats=feats) -> Tensor:
                    out = ckpt.model.fuse_records(feats, t)
                    return task.read_output(out)[:, index]

                attr = integrated_gradients(forward, tab, base, steps)
                totals = attr if totals is None else totals + attr
        return field_attributions(totals / len(features), task.tabular_features)

    def hyper_weights(
        self,
        record: Mapping[str, object],
        task: str | Task = AD,
        reference: Mapping[str, object] | None = None,
        seed_index: int = 0,
    ) -> list[HyperLayerView]:
        """What HyperFusion's hypernetwork generated for this EHR vs the reference."""
        task = get_task(task)
        rec = validate_ehr(record, require=False)
        ref = validate_ehr(reference or self.reference_record(task), require=False)
        with self._lock:
            ckpt = self.checkpoints(task, "hyperfusion")[seed_index]
            tab, base = self._tabular_tensor(ckpt, task, [rec, ref])
            return hyper_layer_views(ckpt.model, tab, base)

    def tabular_vectors(
        self, records: Sequence[Mapping[str, object]], task: str | Task = AD
    ) -> np.ndarray:
        """The model-input vectors of records (first seed's preprocessing)."""
        task = get_task(task)
        recs = [validate_ehr(r, require=False) for r in records]
        return task.tabular(self.checkpoints(task)[0].preprocessor, recs)

    def channel_norms_sweep(
        self,
        record: Mapping[str, object],
        field_name: str,
        values: Sequence[object],
        task: str | Task = AD,
        layer: str | None = None,
        seed_index: int = 0,
    ) -> np.ndarray:
        """Per-output-channel norms of a hyper layer's W(t) as one field takes each
        of ``values`` (one batched generation).

        Args:
            layer: a hyper layer's name (default: the model's first hyper layer).

        Returns:
            ``(K, out)`` norms for the K values.
        """
        task = get_task(task)
        _, records = self._variants(record, field_name, values)
        with self._lock:
            ckpt = self.checkpoints(task, "hyperfusion")[seed_index]
            tab = self._tabular_tensor(ckpt, task, records)
            name = layer or next(iter(ckpt.model.hyper_modules()))
            return channel_norm_sweep(ckpt.model, tab, name)

    def model_names(self, task: str | Task) -> tuple[str, ...]:
        """Every registered model of a task."""
        return MODEL_NAMES[get_task(task).name]
