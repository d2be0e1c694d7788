"""The prepared accelerator job (experiments/accelerator.sh) end to end at tiny sizes on the CPU, from files staged by
experiments/stage_accelerator.py: the job a lent GPU runs must not first fail there."""
import json
import os
import subprocess
import sys

import pytest

from tests.tiny import ROOT

CELLS = "--cells=rp6/srtd,rp6/srtd_id"
# the drone's learning-run data at tiny sizes: staged with these, and the job's runs must ask for the same files
DATA = ["--config.base.data.episode_length=12", "--config.base.data.episodes_mr=2",
        "--config.base.data.episodes_rp=2", "--config.base.data.episodes_me=2", "--config.base.data.num_rungs=3",
        "--config.base.data.probe_episodes=1", "--config.base.data.num_workers=1",
        "--config.base.data.online_learner.rounds=2", "--config.base.data.online_learner.envs=3",
        "--config.base.data.online_learner.updates_per_round=5", "--config.base.data.online_learner.hidden=(8,)",
        "--config.base.data.online_learner.batch_size=8"]
SIZES = ["--config.num_seeds=2", "--config.base.encoder.skill_hidden=(16,16)",
         "--config.base.encoder.task_hidden=(16,)", "--config.base.encoder.batch_size=32",
         "--config.base.encoder.epochs=1", "--config.base.encoder.chunk_steps=10",
         "--config.base.rl.actor_hidden=(16,16)", "--config.base.rl.critic_hidden=(16,16)",
         "--config.base.rl.batch_size=32", "--config.base.rl.steps=20", "--config.base.rl.chunk_steps=10",
         "--config.base.eval.episodes_per_task=1", "--config.base.eval.imagination_starts=64"]
# the measurement's sections at the peer shape (the paper's shapes take minutes here), plus the drone simulator's
BENCH = ["--only=ceiling,td3bc,encoder,packing,drone", "--td3bc_shapes=peer", "--pack_shape=peer",
         "--pack_replicas=2", "--pack_seeds=1", "--pack_episodes=2,1", "--td3bc_steps=4", "--encoder_steps=1",
         "--repeats=1", "--pack_strategies=map", "--drone_envs=64"]


def _stage(tmp_path, out, *extra):
    cmd = [sys.executable, "-m", "experiments.stage_accelerator", "--config=configs/benchmark_drone.py:paper", CELLS,
           f"--out={out}", f"--config.base.data.data_dir={tmp_path / 'data' / 'drone'}", *DATA, *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))


def _files_under(folder) -> list:
    """The files below `folder`, as sorted paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_the_accelerator_job_runs_end_to_end_from_staged_files(tmp_path):
    accel, out = tmp_path / "accel", tmp_path / "out"
    # the data folder lies outside the working tree: its files still land in accel/data/drone, where the job looks
    staged = _stage(tmp_path, accel)
    assert staged.returncode == 0, staged.stderr[-3000:]
    assert f"(data_dir there: {accel / 'data' / 'drone'})" in staged.stdout
    files = _files_under(accel)
    made = [f for f in _files_under(tmp_path / "data") if not os.path.basename(f).startswith(".")]
    assert files and all(f.startswith("data/drone/") for f in files)
    assert set(files) <= {f"data/{f}" for f in made}
    # 6 tasks' RP datasets and the 6 learning runs that normalise the scores
    assert f"staged {len(files)} files" in staged.stdout and len(files) == 12
    too_big = _stage(tmp_path, tmp_path / "other", "--limit_mib=0.001")
    assert too_big.returncode != 0 and "over --limit_mib=0.001; stage fewer cells" in too_big.stderr
    assert not (tmp_path / "other").exists()  # refused before anything was copied

    # the job calls `python`: this interpreter's, as in the environment the README's commands set up
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path, JAX_PLATFORMS="cpu", OUT=str(out), RUNS=str(tmp_path / "runs"), ACCEL=str(accel),
               ACCEL_FLAGS=" ".join(BENCH), PAPER_FLAGS=" ".join(DATA + SIZES), BENCH_SECONDS="300",
               PAPER_SECONDS="300")
    job = subprocess.run(["bash", "experiments/accelerator.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert job.returncode == 0 and "stopped" not in job.stdout, job.stdout[-3000:] + job.stderr[-3000:]
    assert "accelerator job on cpu:" in job.stdout
    written = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert len(written) <= 8  # the most the device returns
    assert {"environment_cpu.txt", "packing_cpu.json", "packing_cpu_table.md", "drone_paper_cpu.log"} <= set(written)
    assert "jax" in (out / "environment_cpu.txt").read_text()

    res = json.loads((out / "packing_cpu.json").read_text())
    assert res["ceiling_gflops"] > 0 and [r["shape"] for r in res["td3bc"]] == ["peer"]
    assert all(0 < r["fraction_of_ceiling"] for r in res["td3bc"])
    assert res["encoder"]["updates_per_s"] > 0 and res["encoder"]["batch"] == 2048  # the paper's encoder shape
    assert [(r["part"], r["replicas"], r["cells"]) for r in res["packing"]] == [("td3bc", 2, 2), ("encoder", 2, 2)]
    assert all(r["packed_replica_updates_per_s"] > 0 and r["one_by_one_replica_updates_per_s"] > 0
               for r in res["packing"])
    assert res["paper_column"] == []  # the estimate is made from rows at the paper's shape only
    assert res["drone"]["num_envs"] == 64 and res["drone"]["env_steps_per_s"] > 0
    assert res["drone"]["behaviour_env_steps_per_s"] > 0
    assert "bench_throughput --only=ceiling,td3bc,encoder,packing" in res["meta"]["command"]
    table = (out / "packing_cpu_table.md").read_text()
    assert "TD3+BC peer" in table and "| >= 70% |" in table  # the peer shape's target fraction of the ceiling
    assert "drone simulator, 64 vmapped envs" in table
    assert "| packing td3bc peer 2 cells x 1 seed (map; datasets of 2/1 episodes): " in table

    # both cells at the paper's settings but for the sizes, on the staged files (no data made), in Table 2's layout
    results = json.loads((out / "drone_paper_cpu" / "results.json").read_text())
    assert sorted(r["cell"] for r in results["records"]) == ["rp6/srtd", "rp6/srtd_id"]
    assert all(r["num_seeds"] == 2 and r["device"] == "cpu (cpu) x1" for r in results["records"])
    assert _files_under(accel) == files  # none made
    assert (out / "drone_paper_cpu" / "table2.md").exists()


@pytest.mark.slow
def test_bad_measurement_flags_are_named():
    # in subprocesses: importing the command here would define its absl flags in the test process, where another
    # command's test defines flags of the same names
    cmd = [sys.executable, "-m", "experiments.bench_throughput"]
    bad = subprocess.run(cmd + ["--only=td3bc,typo"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown --only sections ['typo']" in bad.stderr
    bad = subprocess.run(cmd + ["--only=td3bc", "--td3bc_shapes=peer,papr"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown --td3bc_shapes ['papr']" in bad.stderr
