#!/usr/bin/env bash
# Train every shipped model (both tasks, seeds 0-2; resumable: rerun to continue),
# then evaluate them on the held-out synthetic test splits. About 2 hours on a
# 2-core CPU. The cohorts are generated first when missing (AD seed 1, brain age
# seed 2, as shipped).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p runs
[ -f cohorts/ad/ehr.csv ] || "$PY" -m hyperfusion.synth --task ad --n 1500 --seed 1 \
    --out cohorts/ad --workers 2
[ -f cohorts/brain-age/ehr.csv ] || "$PY" -m hyperfusion.synth --task brain-age \
    --n 800 --seed 2 --out cohorts/brain-age --workers 2
"$PY" -m hyperfusion.train --all --cohort-ad cohorts/ad \
    --cohort-brain-age cohorts/brain-age --out weights/ "$@"
"$PY" -m hyperfusion.evaluate --cohort cohorts/ad --cohort cohorts/brain-age \
    --weights weights/
du -sh weights
