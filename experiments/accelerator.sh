#!/usr/bin/env bash
# The prepared job for a lent accelerator: one call of at most 9 minutes (README, "Throughput").
#
# Here, before the call (the accelerator cannot reach the package registries; its image brings JAX with CUDA, flax,
# optax and orbax):
#   pip download --no-deps -d wheels ml-collections
# Then, through the device tool from the repository root, carrying the ignored wheels/ folder (carry=["wheels"]):
#   bash experiments/accelerator.sh
# It writes under $OUT (default results/accelerator), every file named after the card:
#   packing_<card>.json / _table.md   replica-updates/s at the paper's shapes for 1, 3 and 30 replicas, TD3+BC and
#                                     the encoders, packed (one program) against one replica after another
# Training Table 1's SRTD column packed at the paper's budget joins this job once the launcher trains packed
# groups (issue: whole sweeps in one program).
set -euo pipefail
out=${OUT:-results/accelerator}
mkdir -p "$out"
python -c "import ml_collections" 2>/dev/null || pip install --no-index --no-deps wheels/*.whl
card=$(python -c "import jax; print(jax.devices()[0].device_kind.replace(' ', '_'))")
echo "accelerator job on ${card}: $(date -u)"
timeout 480 python -m experiments.bench_throughput --only=ceiling,packing --pack_shape=paper \
    --pack_replicas=1,3,30 --pack_strategies=vmap --repeats=3 --td3bc_steps=100 --encoder_steps=5 \
    --out="$out/packing_${card}" ${ACCEL_FLAGS:-}  # ACCEL_FLAGS: overrides, e.g. tiny sizes to try it on a CPU
