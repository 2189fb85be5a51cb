#!/usr/bin/env bash
# The checks that need a GPU, as one script for a borrowed GPU machine. Arguments
# pick the parts (default: all): "tests" (pytest -m cuda), "gradcam" (the Grad-CAM
# resolution experiment on a fresh AD cohort, seed 1 as shipped), "brain-age" (the
# brain-age learning-rate sweep on a fresh brain-age cohort, seed 2 as shipped),
# "paper" (HyperFusion-AD's Grad-CAM localisation at the paper's resolution, on the
# AD cohort of "gradcam").
# Logs and JSON go to ${OUT:-gpu-out}. Wheels in .whl/ (packages that machine lacks)
# are installed to /tmp/site first.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
PARTS=${*:-tests gradcam brain-age paper}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD"
fi
PY=${PYTHON:-python3}
nvidia-smi -L | tee "$OUT/device.txt"
$PY -c "import torch, numpy, pandas, scipy, sklearn, nilearn; print('torch', torch.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, 'scipy', scipy.__version__, 'sklearn', sklearn.__version__, 'nilearn', nilearn.__version__)" | tee -a "$OUT/device.txt"
start=$(date +%s)
TESTS=
if [[ " $PARTS " == *" tests "* ]]; then  # in the background, beside the cohorts
  (timeout 240 $PY -m pytest -m cuda tests/test_cuda.py tests/train/test_train_cuda.py \
    -q -p no:cacheprovider > "$OUT/cuda_tests.log" 2>&1
   echo "rc=$?" >> "$OUT/cuda_tests.log") &
  TESTS=$!
fi
synth() {  # task n seed dir
  $PY -m hyperfusion.synth --task "$1" --n "$2" --seed "$3" --out "$4" \
    --workers 14 --quiet > "$OUT/synth-$1.log" 2>&1
  (cd "$4" && sha256sum ehr.csv images/SYN_0001.nii.gz) >> "$OUT/synth-$1.log"
}
if [[ " $PARTS " == *" gradcam "* ]]; then
  synth ad 1500 1 /tmp/cohorts/ad
  timeout "${EXP_TIMEOUT:-330}" $PY scripts/gradcam_resolution_experiment.py \
    --cohort /tmp/cohorts/ad --work /tmp/gradcam-exp --out "$OUT/gradcam_exp.json" \
    --device cuda --parallel "${PARALLEL:-9}" --threads 1 \
    --models ${MODELS:-hyperfusion image-only} 2>&1 | tee "$OUT/gradcam_exp.log"
fi
if [[ " $PARTS " == *" paper "* ]]; then
  [ -f /tmp/cohorts/ad/ehr.csv ] || synth ad 1500 1 /tmp/cohorts/ad
  timeout "${EXP_TIMEOUT:-330}" $PY scripts/gradcam_resolution_experiment.py \
    --cohort /tmp/cohorts/ad --work /tmp/gradcam-paper --out "$OUT/gradcam_paper.json" \
    --device cuda --parallel 3 --threads 2 --workers 14 --resolution paper \
    --variants strides-1222 --models hyperfusion 2>&1 | tee "$OUT/gradcam_paper.log"
fi
if [[ " $PARTS " == *" brain-age "* ]]; then
  synth brain-age 800 2 /tmp/cohorts/brain-age
  timeout "${EXP_TIMEOUT:-330}" $PY scripts/brain_age_lr_sweep.py \
    --cohort /tmp/cohorts/brain-age --work /tmp/ba-sweep --out "$OUT/ba_sweep.json" \
    --device cuda --parallel "${PARALLEL:-9}" --threads 1 \
    --models ${MODELS:-hyperfusion image-only concat} 2>&1 | tee "$OUT/ba_sweep.log"
fi
[ -n "$TESTS" ] && wait "$TESTS" && tail -5 "$OUT/cuda_tests.log"
echo "total_s=$(( $(date +%s) - start ))"
