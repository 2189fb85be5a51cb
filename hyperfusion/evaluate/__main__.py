"""``python -m hyperfusion.evaluate ...``: the same as ``python -m hyperfusion
evaluate``."""

from __future__ import annotations

import sys

from hyperfusion.cli import main

if __name__ == "__main__":
    sys.exit(main(command="evaluate"))
