#!/usr/bin/env bash
# The prepared job for a lent accelerator: one call of at most 9 minutes (README, "Throughput").
#
# Here, before the call (the accelerator cannot reach the package registries; its image brings JAX with CUDA, flax,
# optax and orbax):
#   pip download --no-deps -d wheels ml-collections
# Then, through the device tool from the repository root, carrying the ignored wheels/ folder (carry=["wheels"]):
#   bash experiments/accelerator.sh
# It writes under $OUT (default results/accelerator), every file named after the card:
#   environment_<card>.txt            Python, the card and the installed packages
#   packing_<card>.json / _table.md   replica-updates/s at the paper's shapes for 3 and 30 replicas (1 and 10 cells
#                                     of 3 seeds, as Table 1's column), TD3+BC and the encoders, packed in the
#                                     launcher's layout (one program) against the cells one after another; the
#                                     one-seed rates at the paper's shape are in the td3bc and encoder sections
# Training Table 1's SRTD column packed at the paper's budget (experiments.benchmark --pack) is not in this job yet:
# the device lacks Meta-World for the evaluation, and the column's datasets exceed what travels with the tree.
set -euo pipefail
out=${OUT:-results/accelerator}
mkdir -p "$out"
python -c "import ml_collections" 2>/dev/null || pip install --no-index --no-deps wheels/*.whl
card=$(python -c "import jax; print(jax.devices()[0].device_kind.replace(' ', '_'))")
echo "accelerator job on ${card}: $(date -u)"
# what the image brings, for the wheels a later job must carry (Meta-World and MuJoCo for Table 1's evaluation)
{ python -V; nvidia-smi -L 2>/dev/null || true; pip list 2>/dev/null; } > "$out/environment_${card}.txt"
timeout 480 python -m experiments.bench_throughput --only=ceiling,td3bc,encoder,packing --td3bc_shapes=paper \
    --pack_shape=paper --pack_replicas=3,30 --pack_seeds=3 --pack_strategies=vmap --repeats=3 --td3bc_steps=100 \
    --encoder_steps=5 --out="$out/packing_${card}" ${ACCEL_FLAGS:-}  # ACCEL_FLAGS: overrides, e.g. tiny sizes
