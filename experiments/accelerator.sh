#!/usr/bin/env bash
# The prepared job for a lent accelerator: one call of at most 9 minutes (README, "Throughput").
#
# Here, before the call (the accelerator cannot reach the package registries; its image brings JAX with CUDA, flax,
# optax and orbax):
#   pip download --no-deps -d wheels ml-collections tensorboardX gymnasium farama-notifications cloudpickle
#   python -m experiments.stage_accelerator --config=configs/benchmark_drone.py:paper --cells='rp6/srtd,rp6/srtd_id'
# Then, through the device tool from the repository root, carrying the ignored folders (carry=["wheels", "accel"]):
#   bash experiments/accelerator.sh
# ($ACCEL names another folder of staged files; ACCEL_FLAGS and PAPER_FLAGS override sizes, e.g. to try the job on
# a CPU: tests/test_accelerator_job.py runs it at tiny sizes)
# It writes under $OUT (default results/accelerator), every file named after the card:
#   environment_<card>.txt            Python, the card and the installed packages
#   packing_<card>.json / _table.md   replica-updates/s at the paper's shapes for 30 and 3 replicas (10 and 1 cells
#                                     of 3 seeds, as Table 1's column), TD3+BC and the encoders, packed in the
#                                     launcher's layout (one program) against the cells one after another; the
#                                     one-seed rates at the paper's shape are in the td3bc and encoder sections.
#                                     From the 30-replica rows, Table 1's SRTD column at the paper's budget
#                                     (srtd_jax/studies/column_cost.py): its training time packed and one after
#                                     another, against the targets (15 minutes packed, 10x). Both files are
#                                     rewritten after every measurement, so a run cut short by BENCH_SECONDS keeps
#                                     what it measured; 30 replicas come first for that reason
#   drone_paper_<card>/, .log         the drone's rp6 SRTD and SRTD+ID (its encoders reused) at the paper's budget,
#                                     3 seeds, as far as PAPER_SECONDS allow: Table 2's layout for what finished
#                                     (timeout's SIGTERM saves the cell in flight, then the launcher writes the
#                                     tables), the progress lines (rates, time left) for what did not. The
#                                     workdirs go to $RUNS (default /tmp/accel_runs_<card>), outside $OUT: the
#                                     device returns at most 8 files, and these are the 8 (no embedding maps); a
#                                     rerun while the machine is still warm resumes them
# Table 1's SRTD column does not train in this job: the device lacks Meta-World for MT10's evaluation, whose wheel
# alone is 36.7 MB (its textures and scene meshes) and MuJoCo's 6.6 MB, and the column's datasets (about 160 MB;
# rp10's alone, compressed, about 20 MB) do not travel beside them within 64 MiB; the drone's rp6 files with its
# learning runs are 51 MiB.
set -euo pipefail
out=${OUT:-results/accelerator}
mkdir -p "$out"
# the wheels go to a folder of their own on PYTHONPATH, as the device's notes advise: the image's environment is
# left as it is, and a refused install stops the job here with pip's message
if ! python -c "import ml_collections, tensorboardX, gymnasium" 2>/dev/null; then
  python -m pip install -q --no-index --no-deps --no-compile --target /tmp/site wheels/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
card=$(python -c "import jax; print(jax.devices()[0].device_kind.replace(' ', '_'))")
echo "accelerator job on ${card}: $(date -u)"
# what the image brings, for the wheels a later job must carry (Meta-World and MuJoCo for Table 1's evaluation)
{ python -V; nvidia-smi -L 2>/dev/null || true; pip list 2>/dev/null; } > "$out/environment_${card}.txt"
timeout "${BENCH_SECONDS:-240}" python -m experiments.bench_throughput --only=ceiling,td3bc,encoder,packing \
    --td3bc_shapes=paper --pack_shape=paper --pack_replicas=30,3 --pack_seeds=3 --pack_strategies=vmap --repeats=3 \
    --td3bc_steps=100 --encoder_steps=5 --out="$out/packing_${card}" ${ACCEL_FLAGS:-} \
    || echo "bench_throughput stopped (exit $?)"  # ACCEL_FLAGS: overrides, e.g. tiny sizes to try it on a CPU
accel=${ACCEL:-accel}  # the staged files (stage_accelerator's --out)
if [ -d "$accel/data/drone" ]; then
  runs=${RUNS:-/tmp/accel_runs_${card}}
  sweep=(--config=configs/benchmark_drone.py:paper --config.reuse_encoders=true --noembeddings
         --config.base.data.data_dir="$accel/data/drone" --config.base.data.generate=false --config.workdir="$runs"
         --config.results_dir="$out/drone_paper_${card}")
  # SIGTERM at the time limit: the cell in flight ends its chunk and saves it, then the launcher writes the tables
  # of the cells that finished; -k: a stop that hangs is killed 30 s later (and leaves no tables)
  timeout -k 30 "${PAPER_SECONDS:-240}" python -m experiments.benchmark "${sweep[@]}" --cells='rp6/srtd,rp6/srtd_id' \
      ${PAPER_FLAGS:-} > "$out/drone_paper_${card}.log" 2>&1 \
      || echo "paper-budget cells stopped (exit $?); see $out/drone_paper_${card}.log"
  grep -v "^[IW][0-9]" "$out/drone_paper_${card}.log" | tail -5
else
  echo "no staged files in $accel/data/drone: the paper-budget cells do not run (stage them first, as above)"
fi
