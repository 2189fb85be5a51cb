"""Training: splits, the epoch loop, metrics, data-parallel helpers and the CLI.

``python -m hyperfusion.train`` trains one model or (``--all``) every model; the
library entry point is :func:`hyperfusion.train.run.train_run` with a
:class:`~hyperfusion.train.run.RunSpec`.
"""

from __future__ import annotations
