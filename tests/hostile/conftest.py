"""Fixtures of the hostile-input tests: a sandbox whose file system is compared
before and after each case, and the one-line checks every refusal must pass."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.hostile.archives import ABSOLUTE_TARGET
from tests.hostile.corpus import Case


@dataclass
class Sandbox:
    """``root/in`` holds the inputs, ``root/tmp`` is every temporary folder's
    parent (``tempfile.tempdir``), ``root/cwd`` the working directory."""

    root: Path
    made: list[str] = field(default_factory=list)  # the product's temporary folders

    @property
    def inputs(self) -> Path:
        return self.root / "in"

    @property
    def temp(self) -> Path:
        return self.root / "tmp"

    @property
    def cwd(self) -> Path:
        return self.root / "cwd"

    def write(self, case: Case) -> Path:
        """The case's file, under its name, in ``inputs``."""
        path = self.inputs / case.filename
        path.write_bytes(case.data())
        return path

    def snapshot(self) -> dict[str, int]:
        """Every path under the root (and the corpus's absolute target) with its
        size: what a case may not change."""
        found = {
            str(p.relative_to(self.root)): p.lstat().st_size
            for p in self.root.rglob("*")
        }
        found["<absolute target exists>"] = int(os.path.lexists(ABSOLUTE_TARGET))
        return found

    def begin(self) -> dict[str, int]:
        """The file system before a case (the inputs written already)."""
        self.made.clear()
        return self.snapshot()

    def check(self, before: dict[str, int], case: Case) -> None:
        """Nothing changed since :meth:`begin`; an archive was unpacked in a
        temporary folder of the sandbox's, gone now; a NIfTI needed none."""
        assert self.snapshot() == before
        if case.archive:
            assert self.made, "an archive is unpacked in a temporary folder"
        else:
            assert self.made == [], "a NIfTI is read in memory"
        for folder in self.made:
            assert Path(folder).parent == self.temp and not os.path.exists(folder)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """A sandbox that is the working directory and the temporary folder's home,
    recording the temporary folders the product makes (``hyperfusion-*``)."""
    box = Sandbox(tmp_path)
    for folder in (box.inputs, box.temp, box.cwd):
        folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(box.temp))
    monkeypatch.chdir(box.cwd)
    mkdtemp = tempfile.mkdtemp

    def recorded(*args: object, **kwargs: object) -> str:
        made = mkdtemp(*args, **kwargs)
        if Path(made).name.startswith("hyperfusion-"):
            box.made.append(made)
        return made

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    return box


def assert_one_line(message: str, fragment: str) -> None:
    """A refusal: one line that names the problem (``fragment``), says what is
    accepted, and shows no traceback."""
    assert "\n" not in message.strip(), message
    assert fragment in message, (fragment, message)
    assert "accepted" in message, message
    assert "Traceback" not in message, message
