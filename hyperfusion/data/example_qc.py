"""The bundled examples' quality checks, computed once and shipped beside them.

Checking a scan compares it with nilearn's MNI152 template at 2 mm, which nilearn
resamples from its 1 mm file on first use: about 2 s of a cold start on a 2-core CPU,
spent only to show a verdict that never changes for a bundled file. So
``assets/examples/qc.json`` holds each example's report with the SHA-256 of the file
it was computed on; a report is used only while that digest still matches, else
the scan is checked afresh. ``python scripts/make_examples.py`` rewrites it (and
``--qc`` alone rewrites just the reports); a test recomputes every one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hyperfusion.data.examples import EXAMPLES_DIR, example_image_bytes, list_examples
from hyperfusion.data.qc import QCReport

QC_FILE = "qc.json"


def digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(data).hexdigest()


def _read(folder: Path) -> dict:
    path = Path(folder) / QC_FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def shipped_qc(ptid: str, data: bytes, folder: Path = EXAMPLES_DIR) -> QCReport | None:
    """The shipped report of example ``ptid`` if it was computed on exactly
    ``data``; ``None`` (check the scan) when absent or stale."""
    entry = _read(folder).get(ptid)
    if not entry or entry.get("sha256") != digest(data):
        return None
    return QCReport(
        ok=bool(entry["ok"]),
        warnings=tuple(entry["warnings"]),
        metrics={k: float(v) for k, v in entry["metrics"].items()},
    )


def write_qc(folder: Path = EXAMPLES_DIR) -> Path:
    """Check every bundled example and write the reports to ``folder/qc.json``."""
    from hyperfusion.data.nifti_io import load_mri
    from hyperfusion.data.qc import quality_check

    reports = {}
    for ptid in list_examples(folder)["PTID"]:
        data = example_image_bytes(ptid, folder)
        report = quality_check(load_mri(data))
        reports[ptid] = {
            "sha256": digest(data),
            "ok": report.ok,
            "warnings": list(report.warnings),
            "metrics": {k: float(v) for k, v in report.metrics.items()},
        }
    path = Path(folder) / QC_FILE
    path.write_text(json.dumps(reports, indent=1, sort_keys=True) + "\n", "utf-8")
    return path


__all__ = ["QC_FILE", "digest", "shipped_qc", "write_qc"]
