"""``python -m hyperfusion.synth ...``: the same as ``python -m hyperfusion synth``."""

from __future__ import annotations

import sys

from hyperfusion.cli import main

if __name__ == "__main__":
    sys.exit(main(command="synth"))
