"""Evaluate the shipped checkpoints: ``python -m hyperfusion.evaluate``.

For every checkpoint of a cohort's task, the split is rebuilt from the seed in the
card (and checked against the card's hash of the test PTIDs), the test metrics are
recomputed from the float16 weights and compared with those stored at training time,
and the seeds of each model are aggregated as mean ± sd. For HyperFusion-AD the
Grad-CAM and HiResCAM localisation is measured against the generator's ground truth:
the share of the map's mass inside the true disease-effect region, with the region's
share of the volume as chance. With ``--unseen`` the cohorts are new ones, generated
with seeds no checkpoint saw: every subject is a test subject, and the checks are
whether HyperFusion still ranks above the single modalities
(``weights/metrics-unseen.json``, ``docs/RESULTS-unseen.md``).

- :mod:`~hyperfusion.evaluate.schema`: the layout of ``metrics.json``, typed; the
  model card reads the file through it.
- :mod:`~hyperfusion.evaluate.scoring`: one checkpoint on its test subjects, and
  :func:`~hyperfusion.evaluate.scoring.evaluate` over every checkpoint.
- :mod:`~hyperfusion.evaluate.summary`: a model over its seeds; the acceptance
  targets and the ranking.
- :mod:`~hyperfusion.evaluate.localisation`: Grad-CAM and HiResCAM against the
  true disease region.
- :mod:`~hyperfusion.evaluate.report`: ``docs/RESULTS.md``.
- :mod:`~hyperfusion.evaluate.readme`: README.md's measured block, regenerated
  whenever the shipped metrics are written.
- the command line is :mod:`hyperfusion.cli.evaluate` (``python -m hyperfusion
  evaluate``; ``python -m hyperfusion.evaluate`` runs the same).
"""
