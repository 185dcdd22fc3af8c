#!/usr/bin/env bash
# Run HERE (a machine with package-registry access), once, before benchmarks/gpu_standard.sh is
# sent to a GPU machine that cannot reach any registry. Downloads into .whl/ (git-ignored) the
# wheels that dqm's validity run needs and that the GPU image lacks (it has torch, numpy, pandas,
# pillow, pyyaml, rich, tifffile, scipy, jinja2): CPython 3.12, x86-64, no dependencies pulled.
# Versions are those this branch was tested with. About 40 MiB; the device call must carry .whl.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
rm -rf .whl && mkdir -p .whl
WHEELS=(
  monai==1.6.1
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  typing-extensions==4.16.0
  shapely==2.2.0
  openslide-python==1.4.7 openslide-bin==4.0.1.2
  orjson==3.13.0
  imagecodecs==2026.3.6
)
for w in "${WHEELS[@]}"; do
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$w"
done
ls -la .whl
du -sh .whl
