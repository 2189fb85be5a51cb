"""``python -m hyperfusion``: see :mod:`hyperfusion.cli`."""

from __future__ import annotations

import sys

from hyperfusion.cli import main

if __name__ == "__main__":
    sys.exit(main())
