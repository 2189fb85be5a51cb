#!/usr/bin/env bash
# Train every shipped model (both tasks, seeds 0-2; resumable: rerun to continue),
# then evaluate them on the held-out synthetic test splits and on new cohorts.
# The cohorts are generated first when missing (one population: AD seed 1, brain
# age seed 2, as shipped; unseen AD seed 11, brain age seed 12). Pass
# --device cuda to train on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
synth() { [ -f "$3/ehr.csv" ] || "$PY" -m hyperfusion synth --task "$1" --n "$2" \
    --seed "$4" --out "$3" --workers 2 --overwrite; }
synth ad 1500 cohorts/ad 1
synth brain-age 800 cohorts/brain-age 2
start=$(date +%s)
# One process, two threads: two processes with one thread each (the tasks side by
# side) measured 2.5-3x slower per run on this 2-core CPU.
"$PY" -m hyperfusion train --all --cohort-ad cohorts/ad \
    --cohort-brain-age cohorts/brain-age --out weights/ --quiet "$@"
echo "training wall time $(( $(date +%s) - start )) s"
synth ad 400 cohorts/ad-unseen 11
synth brain-age 300 cohorts/brain-age-unseen 12
"$PY" -m hyperfusion evaluate --cohort cohorts/ad --cohort cohorts/brain-age \
    --weights weights/
"$PY" -m hyperfusion evaluate --unseen --cohort cohorts/ad-unseen \
    --cohort cohorts/brain-age-unseen --weights weights/
du -sh weights
