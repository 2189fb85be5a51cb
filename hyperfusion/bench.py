"""Latency and memory of the shipped models, and of the app in Chromium:
``python -m hyperfusion.bench [--json FILE] [--repeats N] [--sweep-size K]
[--browser | --browser-only]``.

On the shipped HyperFusion ensembles and the first bundled example: model load; per
task the full forward and the cached-EHR edit (``fuse`` on cached ``encode_image``
features); ``Engine.predict`` on a new image and on an EHR edit; a what-if sweep, one
batched ``Engine.sweep`` against one uncached ``predict`` per value; Grad-CAM and
HiResCAM; every map method (CAM family from the cache, Integrated Gradients and
occlusion a full pass each); ``prepare`` of a new upload and QC of a 1 mm head;
peak resident memory.
Times are medians of ``--repeats`` runs after a warm-up (load, prepare and the
unbatched sweep, seconds each, run ``repeats // 5`` times);
ratios divide medians of the same run. Unit tests assert behaviour, never time.

Every figure is named with its unit: ``*_ms``, ``*_s``, ``*_ratio`` (``*_mib`` for
memory). ``--browser`` adds a Chromium run of the app (:mod:`hyperfusion.bench_browser`)
and its figures; the JSON's ``figures`` holds every figure of the run by name.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.examples import example_image_bytes, example_record, list_examples
from hyperfusion.data.nifti_io import load_mri
from hyperfusion.data.preprocess import preprocess_scan
from hyperfusion.data.qc import quality_check
from hyperfusion.data.templates import load_template
from hyperfusion.engine import Engine, PreparedImage
from hyperfusion.models.device import autocast_for, describe_device, resolve_device
from hyperfusion.tasks import TASK_NAMES, get_task

SCHEMA = "hyperfusion-bench"
SCHEMA_VERSION = 2  # 2: figures named with their unit, a flat "figures" block

MODEL = "hyperfusion"
SWEEP_FIELD = "AGE"


@dataclass(frozen=True)
class BenchConfig:
    """What to run. ``repeats`` timed runs per stage (after one warm-up), a sweep of
    ``sweep_size`` values, on ``device`` (``None``: CUDA when available)."""

    repeats: int = 20
    sweep_size: int = 64
    device: str | None = None

    @property
    def heavy_repeats(self) -> int:
        """Runs of the stages that take seconds each."""
        return max(1, self.repeats // 5)


@dataclass(frozen=True)
class Timing:
    """One stage's wall-clock times (ms) over ``runs`` runs."""

    median_ms: float
    min_ms: float
    max_ms: float
    runs: int


@dataclass(frozen=True)
class Ratio:
    """``value = timings[slow].median_ms / timings[fast].median_ms``."""

    value: float
    slow: str
    fast: str


@dataclass
class BenchResult:
    """Everything one run measured; ``to_json()`` is what ``--json`` writes."""

    machine: dict[str, Any]
    config: BenchConfig
    timings: dict[str, Timing] = field(default_factory=dict)
    ratios: dict[str, Ratio] = field(default_factory=dict)
    peak_rss_mib: float | None = None  # None: the engine stages did not run
    # The Chromium run of the app (``--browser``), as run_browser returns it.
    browser: dict[str, Any] | None = None

    def figures(self) -> dict[str, float]:
        """Every figure by name: timing medians, ratios, memory, browser figures."""
        figures: dict[str, float] = {k: t.median_ms for k, t in self.timings.items()}
        figures.update({k: r.value for k, r in self.ratios.items()})
        if self.peak_rss_mib is not None:
            figures["peak_rss_mib"] = self.peak_rss_mib
        if self.browser is not None:
            figures.update(self.browser["figures"])
        return figures

    def to_json(self) -> dict[str, Any]:
        report = {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "machine": self.machine,
            "config": dataclasses.asdict(self.config),
            "figures": self.figures(),
            "timings": {k: dataclasses.asdict(v) for k, v in self.timings.items()},
            "ratios": {k: dataclasses.asdict(v) for k, v in self.ratios.items()},
        }
        if self.peak_rss_mib is not None:
            report["memory"] = {"peak_rss_mib": self.peak_rss_mib}
        if self.browser is not None:
            report["browser"] = self.browser
        return report


@dataclass(frozen=True)
class _Setup:
    """What every stage works on."""

    engine: Engine
    image_bytes: bytes
    image: PreparedImage
    record: dict[str, Any]
    config: BenchConfig


def time_runs(fn: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    """Median, min and max of ``runs`` calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return Timing(statistics.median(times), min(times), max(times), runs)


def peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            line = next(s for s in status if s.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        import resource  # not on Windows

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def machine_info(device_label: str) -> dict[str, Any]:
    """Device, CPU model, core and thread counts, library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(s for s in info if s.startswith("model name")).split(":")[1]
    except (OSError, StopIteration):
        pass
    return {
        "device": device_label,
        "cpu": cpu.strip(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _fresh(image: PreparedImage) -> Callable[[], PreparedImage]:
    """New cache keys for the same image: each call misses the feature cache."""
    count = itertools.count()
    return lambda: dataclasses.replace(image, key=f"{image.key}-bench{next(count)}")


def _load(device: str | None) -> Engine:
    """A new engine with both tasks' shipped ensembles loaded."""
    engine = Engine(device=device)
    for task in TASK_NAMES:
        engine.checkpoints(task, MODEL)
    return engine


def _bench_inputs(setup: _Setup) -> dict[str, Timing]:
    """A new upload (``prepare``: load, QC, resampling); QC alone on a 1 mm head;
    the preprocessing pipeline with every step (deepbet, registration) on a 1 mm
    head, once and cold (a first raw upload; tens of seconds)."""
    head = load_mri(load_template(1))
    prepare = lambda: setup.engine.prepare(setup.image_bytes)  # noqa: E731
    full = lambda: preprocess_scan(head, "full", device=setup.config.device)  # noqa: E731
    return {
        "prepare_ms": time_runs(prepare, setup.config.heavy_repeats),
        "qc_1mm_head_ms": time_runs(lambda: quality_check(head), setup.config.repeats),
        "preprocess_1mm_full_ms": time_runs(full, 1, warmup=0),
    }


def _bench_task(setup: _Setup, task_name: str) -> dict[str, Timing]:
    """The ensemble's full forward, and the engine's edit path alone (``fuse_records``
    of one record on the cached image features)."""
    engine, task = setup.engine, get_task(task_name)
    device = engine.device
    x = torch.from_numpy(setup.image.views[task.name][:, None].copy()).to(device)
    record = validate_ehr(setup.record, require=False)
    models, rows = [], []
    for ckpt in engine.checkpoints(task.name, MODEL):
        tab = torch.from_numpy(task.tabular(ckpt.preprocessor, [record])).float()
        models.append(ckpt.model)
        rows.append(tab.to(device))
    tabs = [row.expand(x.shape[0], -1) for row in rows]
    with torch.no_grad(), autocast_for(device):
        feats = [m.encode_image(x) for m in models]

    def forward() -> None:
        with torch.no_grad(), autocast_for(device):
            for model, tab in zip(models, tabs, strict=True):
                model(x, tab)

    def edit() -> None:  # as Engine._outputs runs it
        with torch.inference_mode(), autocast_for(device):
            for model, row, f in zip(models, rows, feats, strict=True):
                model.fuse_records(f, row)

    runs, stem = setup.config.repeats, _stem(task.name)
    return {
        f"{stem}_forward_ms": time_runs(forward, runs),
        f"{stem}_edit_ms": time_runs(edit, runs),
    }


def _bench_predict(setup: _Setup) -> dict[str, Timing]:
    """``predict`` on an uncached image, and on a new EHR (the age walks over
    60..79 years) for the cached one."""
    engine, image, record = setup.engine, setup.image, setup.record
    fresh, count = _fresh(image), itertools.count()

    def edit() -> dict[str, Any]:
        return {**record, SWEEP_FIELD: 60 + next(count) % 20}

    engine.predict(image, record)  # caches the image features
    runs = setup.config.repeats
    new = time_runs(lambda: engine.predict(fresh(), record), runs)
    edited = time_runs(lambda: engine.predict(image, edit()), runs)
    return {"predict_new_image_ms": new, "predict_edit_ms": edited}


def _bench_sweep(setup: _Setup) -> dict[str, Timing]:
    """``sweep_size`` values of one field: one batched sweep on cached features
    against one full ``predict`` per value on an uncached image."""
    engine, image, record = setup.engine, setup.image, setup.record
    k = setup.config.sweep_size
    values = [40 + 60 * i // max(1, k - 1) for i in range(k)]  # ages 40..100
    fresh = _fresh(image)

    def separately() -> None:
        for value in values:
            engine.predict(fresh(), {**record, SWEEP_FIELD: value})

    batched = time_runs(
        lambda: engine.sweep(image, record, SWEEP_FIELD, values), setup.config.repeats
    )
    # Warm-up: one uncached predict (not a whole unbatched sweep).
    engine.predict(fresh(), record)
    full = time_runs(separately, setup.config.heavy_repeats, warmup=0)
    return {"sweep_batched_ms": batched, "sweep_full_forwards_ms": full}


def _bench_cams(setup: _Setup) -> dict[str, Timing]:
    """Grad-CAM and HiResCAM for the AD class and for brain age (whole ensemble)."""
    engine, image, record = setup.engine, setup.image, setup.record
    return {
        f"{m}_{_stem(t)}_ms": time_runs(
            lambda m=m, t=t: engine.gradcam(image, record, t, method=m),
            setup.config.repeats,
        )
        for m in ("gradcam", "hirescam")
        for t in ("AD", "brain-age")
    }


def _bench_maps(setup: _Setup) -> dict[str, Timing]:
    """Every map method of :mod:`hyperfusion.explain` for the AD class (the
    CAM family from the cached features, a warm call first; Integrated Gradients
    and occlusion a full pass each, ``repeats // 5`` runs) and the full-pass ones
    for brain age (whole ensemble, ``Engine.explain``)."""
    from hyperfusion.explain.methods import METHODS

    engine, image, record = setup.engine, setup.image, setup.record
    slow = [m for m, spec in METHODS.items() if not spec.cached]
    pairs = [(m, "AD") for m in METHODS] + [(m, "brain-age") for m in slow]
    return {
        f"map_{_stem(m)}_{_stem(t)}_ms": time_runs(
            lambda m=m, t=t: engine.explain(image, record, t, m),
            setup.config.heavy_repeats if m in slow else setup.config.repeats,
        )
        for m, t in pairs
    }


RATIOS = {
    "ad_edit_speedup_ratio": ("ad_forward_ms", "ad_edit_ms"),
    "brain_age_edit_speedup_ratio": ("brain_age_forward_ms", "brain_age_edit_ms"),
    "predict_edit_speedup_ratio": ("predict_new_image_ms", "predict_edit_ms"),
    "sweep_speedup_ratio": ("sweep_full_forwards_ms", "sweep_batched_ms"),
}


def _stem(name: str) -> str:
    """A task or target as a figure name's stem: ``"brain-age"`` → ``"brain_age"``."""
    return name.lower().replace("-", "_")


def _run_engine(config: BenchConfig, result: BenchResult) -> None:
    """Load the shipped models once (timed as ``load_first_ms``), then every
    engine stage, into ``result``."""
    start = time.perf_counter()
    engine = _load(config.device)
    first_ms = (time.perf_counter() - start) * 1000
    ptid = list_examples()["PTID"].iloc[0]
    data, record = example_image_bytes(ptid), dict(example_record(ptid))
    setup = _Setup(engine, data, engine.prepare(data), record, config)
    result.timings["load_first_ms"] = Timing(first_ms, first_ms, first_ms, 1)
    result.timings["load_ms"] = time_runs(
        lambda: _load(config.device), config.heavy_repeats
    )
    for task in TASK_NAMES:
        result.timings.update(_bench_task(setup, task))
    result.timings.update(_bench_inputs(setup))
    for stage in (_bench_predict, _bench_sweep, _bench_cams, _bench_maps):
        result.timings.update(stage(setup))
    for name, (slow, fast) in RATIOS.items():
        value = result.timings[slow].median_ms / result.timings[fast].median_ms
        result.ratios[name] = Ratio(value, slow, fast)
    result.peak_rss_mib = peak_rss_mib()


def run(config: BenchConfig, browser: Any = None, engine: bool = True) -> BenchResult:
    """The engine stages (unless ``engine`` is false) and, given a
    :class:`~hyperfusion.bench_browser.BrowserConfig`, the Chromium run."""
    device = describe_device(resolve_device(config.device))
    result = BenchResult(machine=machine_info(device), config=config)
    if engine:
        _run_engine(config, result)
    if browser is not None:
        from hyperfusion.bench_browser import run_browser

        result.browser = run_browser(browser)
    return result


def format_table(result: BenchResult) -> str:
    """The readable report printed to stdout."""
    m = result.machine
    lines = [
        f"{m['device']} | {m['cpu']} | {m['torch_threads']} torch threads | "
        f"torch {m['torch']}",
    ]
    if result.timings:
        lines.append(
            f"{'stage':<26}{'median ms':>12}{'min ms':>11}{'max ms':>11}{'runs':>6}"
        )
    for name, t in result.timings.items():
        lines.append(
            f"{name:<26}{t.median_ms:>12.2f}{t.min_ms:>11.2f}{t.max_ms:>11.2f}"
            f"{t.runs:>6}"
        )
    for name, r in result.ratios.items():
        lines.append(f"{name:<30}{r.value:>8.1f}  ({r.slow} / {r.fast})")
    if result.peak_rss_mib is not None:
        lines.append(f"{'peak_rss_mib':<30}{result.peak_rss_mib:>8.0f}")
    if result.browser is not None:
        from hyperfusion.bench_browser import format_browser_table

        lines += ["", "In Chromium:", format_browser_table(result.browser)]
    return "\n".join(lines)


if __name__ == "__main__":
    from hyperfusion.cli import main

    sys.exit(main(command="bench"))
