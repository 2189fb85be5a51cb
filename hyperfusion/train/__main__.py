"""``python -m hyperfusion.train ...`` (and ``torchrun -m hyperfusion.train ...``):
the same as ``python -m hyperfusion train``."""

from __future__ import annotations

import sys

from hyperfusion.cli import main

if __name__ == "__main__":
    sys.exit(main(command="train"))
