"""Write the bundled example subjects in ``assets/examples/`` (the app's defaults).

Six SYNTHETIC subjects from a cohort seed never used for training (seed 7): CN, MCI
and AD, both sexes, a spread of ages, and their quality checks (``qc.json``, see
:mod:`hyperfusion.data.example_qc`). Rerun: ``python scripts/make_examples.py``;
``--qc`` rewrites only the quality checks.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hyperfusion.data.example_qc import write_qc  # noqa: E402
from hyperfusion.data.examples import list_examples  # noqa: E402
from hyperfusion.synth import generate_cohort  # noqa: E402

SEED = 7
# (diagnosis, sex, target age); the first is the app's default subject.
WANTED = [("MCI", "Female", 74), ("CN", "Female", 66), ("CN", "Male", 82),
          ("MCI", "Male", 70), ("AD", "Female", 78), ("AD", "Male", 72)]  # fmt: skip
FIELDS = ["APOE4", "ABETA", "PTAU", "TAU", "FDG", "AV45"]


def main() -> None:
    out = ROOT / "assets" / "examples"
    with tempfile.TemporaryDirectory() as tmp:
        df = generate_cohort("ad", 80, SEED, Path(tmp) / "cohort", progress=False)
        rows = []
        for dx, sex, age in WANTED:
            pool = df[(df["DX"] == dx) & (df["PTGENDER"] == sex)]
            # Most measured fields first (a richer record to edit), then nearest age.
            score = pool[FIELDS].isna().sum(axis=1) * 100 + (pool["AGE"] - age).abs()
            rows.append(pool.loc[score.idxmin()])
        chosen = pd.DataFrame(rows)
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.nii.gz"):
            old.unlink()
        for ptid in chosen["PTID"]:
            shutil.copy(Path(tmp) / "cohort" / "images" / f"{ptid}.nii.gz", out)
    chosen["description"] = [
        f"SYNTHETIC {r.DX}, {r.PTGENDER.lower()}, {r.AGE:.0f} years"
        for r in chosen.itertuples()
    ]
    chosen.to_csv(out / "examples.csv", index=False)
    list_examples.cache_clear()
    print(chosen[["PTID", "DX", "PTGENDER", "AGE", "description"]].to_string())
    print(f"quality checks: {write_qc(out)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--qc"]:
        print(f"quality checks: {write_qc()}")
    else:
        main()
