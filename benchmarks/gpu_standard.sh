#!/usr/bin/env bash
# The validity `standard` profile on a GPU, once: tiles/s, epoch time and Dice per class.
#
# Meant for a lent NVIDIA H100/H200 machine (no registry, no internet; python3 there has a CUDA
# torch, numpy, pandas, pillow, pyyaml, rich, tifffile, scipy). Beforehand, HERE:
#     bash benchmarks/gpu_wheels.sh            # the missing wheels into .whl/ (git-ignored)
# then run this script there from the repository root with .whl carried, e.g. the device tool's
#     run(command="bash benchmarks/gpu_standard.sh", carry=[".whl"], timeout_s=540)
# Nothing is downloaded there: the batch is synthesised, the network randomly initialised.
# Budget, estimated from CPU measurements (not measured on a GPU): 4-6 minutes;
# a hard stop at 450 s keeps it inside one 10-minute call. Outputs go to $OUT when set
# (bench.log, bench-*.json, validity.json, gpu.txt), else to benchmarks/_data/gpu.
# PROFILE, DEVICE and SLIDES (default standard, cuda, 150) exist only to dry-run the script on a
# CPU; leave them unset on the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/benchmarks/_data/gpu}
WORK=${WORK:-/tmp/dqm-gpu}
mkdir -p "$OUT" "$WORK"
export PYTHONUNBUFFERED=1
t0=$(date +%s)
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
  export PYTHONPATH="$PWD:$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "no .whl/ folder: assuming monai, pydantic, shapely, openslide, orjson, imagecodecs are installed"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  nproc
  python3 -c "import sys, torch, monai; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'monai', monai.__version__)"
} 2>&1 | tee "$OUT/gpu.txt"
echo "setup: $(( $(date +%s) - t0 )) s"
status=0
timeout 450 python3 benchmarks/bench_validity.py --profile "${PROFILE:-standard}" --device "${DEVICE:-cuda}" \
  --slides "${SLIDES:-150}" --seed 3 --max-size 1536 --workers "$(nproc)" --no-clinical --out "$WORK/bench" \
  2>&1 | tee "$OUT/bench.log" || status=$?
cp "$WORK"/bench/bench-*.json "$OUT"/ 2>/dev/null || true
cp "$WORK"/bench/run-*/validity.json "$OUT"/validity.json 2>/dev/null || true
echo "total: $(( $(date +%s) - t0 )) s, exit status $status"
exit "$status"
