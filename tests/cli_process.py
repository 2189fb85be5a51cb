"""The CLI in a fresh process, with that process's own peak resident memory.

VmHWM starts afresh at exec, unlike ``ru_maxrss``, which keeps the forking pytest
process's peak. ``timeout`` only guards against a hang; how long a run takes is for
``python -m hyperfusion.bench``, not for a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PEAK_WRAPPER = """
import os, runpy, sys
sys.argv = ["hyperfusion", *sys.argv[1:]]
try:
    runpy.run_module("hyperfusion", run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM"))
    with open(os.environ["HF_PEAK_FILE"], "w") as out:
        out.write(peak.split()[1])
"""


def run_cli(
    *args: str,
    peak_file: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> tuple[int, str, str, float]:
    """Exit code, stdout, stderr and peak MiB of ``python -m hyperfusion ARGS``
    (``env``: variables added to the environment)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_WRAPPER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "HF_PEAK_FILE": str(peak_file)},
        timeout=timeout,
    )
    peak_mib = int(peak_file.read_text()) / 1024
    peak_file.unlink()
    return proc.returncode, proc.stdout, proc.stderr, peak_mib
