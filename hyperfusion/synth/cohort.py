"""Writing a synthetic cohort in the ADNI-like layout the loaders read.

``DIR/ehr.csv`` (ADNIMERGE columns, empty cells missing), ``DIR/images/<PTID>.nii.gz``
(skull-stripped T1, 2 mm MNI152 grid, int16 with a 1/1000 scale slope),
``DIR/truth/<PTID>.nii.gz`` (float32 disease-effect magnitude, same grid),
``DIR/latent.csv`` (the generator's latent variables: never a model input) and
``DIR/README.txt`` (says the data are synthetic, with the seed).

Determinism: subject ``i`` draws everything (latent variables, EHR, anatomy, scanner)
from its own ``np.random.default_rng([seed, i])``, so the same seed gives byte-identical
files whatever ``n`` or the number of workers, and a cohort's first subjects equal a
smaller cohort's. The gzip streams carry ``mtime=0`` and no file name.
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from tqdm import tqdm

from hyperfusion.data.contract import IMAGE_CONTRACT
from hyperfusion.errors import CohortError, UnknownModelError
from hyperfusion.synth.anatomy import SubjectParams, load_anatomy, render_subject
from hyperfusion.synth.config import (
    AD_FRAME,
    BRAIN_AGE_FRAME,
    POPULATION,
    RENDER,
    CohortFrame,
    RenderConfig,
)
from hyperfusion.synth.latent import (
    EHR_COLUMNS,
    LATENT_COLUMNS,
    measure_ehr,
    sample_latent,
)
from hyperfusion.tasks import AD, BRAIN_AGE, get_task

# Per task: which members of the one population its cohort recruits.
FRAMES: dict[str, CohortFrame] = {AD.name: AD_FRAME, BRAIN_AGE.name: BRAIN_AGE_FRAME}

MAX_SUBJECTS = 100_000
_DESCRIP = b"SYNTHETIC hyperfusion.synth"


def ptid(i: int, n: int) -> str:
    """ADNI-like subject id of the ``i``-th subject (0-based) of ``n``.

    Example:
        >>> ptid(0, 1500)
        'SYN_0001'
    """
    return f"SYN_{i + 1:0{max(4, len(str(n)))}d}"


def nifti_gz_bytes(
    vol: np.ndarray, affine: np.ndarray, scale: float | None, compresslevel: int
) -> bytes:
    """Deterministic ``.nii.gz`` bytes of a volume (no timestamp, no file name).

    Args:
        vol: 3D float array.
        affine: its voxel-to-MNI affine.
        scale: store ``round(vol * scale)`` as int16 with slope ``1 / scale``;
            ``None`` stores float32.
        compresslevel: gzip level (1-9).
    """
    if scale is None:
        img = nib.Nifti1Image(vol.astype(np.float32), affine)
    else:
        data = np.clip(np.rint(vol * scale), -32768, 32767).astype(np.int16)
        img = nib.Nifti1Image(data, affine)
        img.header.set_slope_inter(1.0 / scale, 0.0)
    img.header.set_xyzt_units("mm")
    img.set_sform(affine, code=4)  # MNI152
    img.set_qform(affine, code=4)
    img.header["descrip"] = _DESCRIP
    return gzip.compress(img.to_bytes(), compresslevel=compresslevel, mtime=0)


def _params(row: pd.Series) -> SubjectParams:
    return SubjectParams(
        male=bool(row["male"]),
        mtl_amplitude=float(row["MTL_AMPLITUDE"]),
        mtl_disease=float(row["MTL_DISEASE"]),
        vent_amplitude=float(row["VENT_AMPLITUDE"]),
    )


def simulate_subject(
    task: str, seed: int, i: int, render: RenderConfig | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Everything about subject ``i`` of a cohort: ``(latent, ehr, image, truth)``.

    Both tasks' cohorts come from the one population (:data:`POPULATION`), each
    through its frame (:data:`FRAMES`), rendered under the one image contract
    (``render`` defaults to :data:`RENDER`: head sizes equalised, as after affine
    registration).

    ``latent`` and ``ehr`` are one-row frames (no PTID); image and truth are float32
    volumes on the 2 mm MNI grid.
    """
    rng = np.random.default_rng([seed, i])
    frame = FRAMES[task]
    latent = sample_latent(1, rng, POPULATION, frame)
    ehr = measure_ehr(latent, rng, POPULATION, frame)
    render = RENDER if render is None else render
    image, truth = render_subject(load_anatomy(), _params(latent.iloc[0]), rng, render)
    return latent, ehr, image, truth


def _write_subject(
    task: str, seed: int, i: int, n: int, out: Path
) -> tuple[dict, dict]:
    latent, ehr, image, truth = simulate_subject(task, seed, i)
    pid = ptid(i, n)
    affine = load_anatomy().affine
    level = RENDER.compresslevel
    (out / "images" / f"{pid}.nii.gz").write_bytes(
        nifti_gz_bytes(image, affine, RENDER.int16_scale, level)
    )
    (out / "truth" / f"{pid}.nii.gz").write_bytes(
        nifti_gz_bytes(np.round(truth, 3), affine, None, level)
    )
    return (
        {"PTID": pid, **ehr.iloc[0].to_dict()},
        {"PTID": pid, **latent.iloc[0].to_dict()},
    )


def _write_star(args: tuple[str, int, int, int, Path]) -> tuple[dict, dict]:
    return _write_subject(*args)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CohortError(f"--out {out} is a file; give a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise CohortError(
                f"--out {out} exists and is not empty; choose another directory "
                "or pass --overwrite"
            )
        for sub in ("images", "truth"):
            for f in (out / sub).glob("SYN_*.nii.gz"):
                f.unlink()


def _rows(
    task: str, n: int, seed: int, out: Path, workers: int, indices: Sequence[int]
) -> Iterator[tuple[dict, dict]]:
    jobs = [(task, seed, i, n, out) for i in indices]
    if workers <= 1:
        yield from map(_write_star, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_write_star, jobs, chunksize=4)


def generate_cohort(
    task: str,
    n: int,
    seed: int,
    out_dir: str | Path,
    progress: bool = True,
    overwrite: bool = False,
    workers: int = 1,
    indices: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Generate and write a synthetic cohort; return its EHR table.

    Args:
        task: ``"ad"`` (CN/MCI/AD, ages 55-90) or ``"brain-age"`` (healthy, 20-90).
        n: number of subjects, 1 to 100 000.
        seed: the cohort's seed (subject ``i`` uses ``default_rng([seed, i])``).
        out_dir: output directory; created, or must be empty unless ``overwrite``.
        progress: show a tqdm bar on stderr.
        overwrite: write into a non-empty directory (old subject files are removed).
        workers: processes rendering in parallel (same bytes for any number).
        indices: write only these subjects (0-based) of the ``n``, byte-identical to
            their files in the whole cohort (e.g. to re-check a few test subjects).

    Returns:
        The rows of ``ehr.csv`` (``PTID, AGE, PTGENDER, ..., MMSE, DX``; NaN missing).

    Raises:
        CohortError: bad task or ``n``, or a non-empty ``out_dir`` without overwrite.
    """
    try:
        get_task(task)
    except UnknownModelError as exc:
        raise CohortError(str(exc)) from exc
    if not isinstance(n, int | np.integer) or not 1 <= n <= MAX_SUBJECTS:
        raise CohortError(f"--n must be an integer from 1 to {MAX_SUBJECTS}, got {n}")
    chosen = list(range(int(n))) if indices is None else [int(i) for i in indices]
    if any(not 0 <= i < n for i in chosen):
        raise CohortError(f"subject indices must be from 0 to {n - 1}")
    out = Path(out_dir)
    _check_out(out, overwrite)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    load_anatomy()
    ehr_rows: list[dict] = []
    latent_rows: list[dict] = []
    bar = tqdm(
        total=len(chosen), disable=not progress, file=sys.stderr, desc=f"synth {task}"
    )
    rows = _rows(task, int(n), int(seed), out, max(1, workers), chosen)
    for ehr_row, latent_row in rows:
        ehr_rows.append(ehr_row)
        latent_rows.append(latent_row)
        bar.update(1)
    bar.close()
    ehr = pd.DataFrame(ehr_rows, columns=list(EHR_COLUMNS))
    for col in ("PTEDUCAT", "APOE4", "MMSE"):
        ehr[col] = ehr[col].astype("Int64")
    ehr.to_csv(out / "ehr.csv", index=False)
    pd.DataFrame(latent_rows, columns=list(LATENT_COLUMNS)).to_csv(
        out / "latent.csv", index=False
    )
    (out / "README.txt").write_text(
        f"SYNTHETIC data generated by hyperfusion.synth, seed {seed}\n"
        f"task: {task}; subjects: {n}"
        + (f" (written: {len(chosen)})" if indices is not None else "")
        + ". Not patient data: every subject, image and "
        "EHR value was simulated from a known causal model (latent.csv).\n"
        f"Images follow the image contract: {IMAGE_CONTRACT.sentence}.\n"
    )
    return ehr


__all__ = [
    "generate_cohort",
    "nifti_gz_bytes",
    "ptid",
    "simulate_subject",
]
