"""The throughput changes keep results as they were: the static-phase TD3+BC chunk equals the lax.cond one, the
unrolled Threefry gives JAX's bits, reused evaluation environments replay fresh ones, evaluation in worker
processes replays the in-process loop; and the throughput
benchmark runs end to end at a tiny size, with its hand FLOP count matching XLA's cost analysis."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.benchmarks.mt10 import env as mw
from srtd_jax.core import chunks
from srtd_jax.data.windows import DeviceData
from srtd_jax.studies import flops
from tests.tiny import ROOT, learner

S, A, E, L = 5, 2, 6, 12


def _td3bc(policy_delay):
    lrn = learner(obs_dim=S, cond_dim=1, action_dim=A, actor_hidden=(8,), critic_hidden=(8,), learning_rate=1e-2,
                  tau=0.5, batch_size=8, policy_delay=policy_delay)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    return lrn.update, lambda: chunks.stack_states(lrn.init, keys), keys, lrn.sampler


def _data():
    rng = np.random.default_rng(0)
    f = lambda *s: jnp.asarray(rng.normal(size=s), jnp.float32)
    return DeviceData(f(E, L, S), jnp.tanh(f(E, L, A)), f(E, L), f(E, L, S), jnp.zeros((E, L)),
                      jnp.ones(E), jnp.zeros(E, jnp.int32))


@pytest.mark.slow
def test_static_phase_chunk_matches_the_cond_chunk():
    """update.period makes make_chunk run policy_delay updates per scan step with static phases; the same
    update without the attribute takes the per-step lax.cond. Aligned and unaligned starts both agree."""
    d = _data()
    cond = jnp.zeros((2, E, L + 1, 1))
    for delay, step0 in ((2, 0), (3, 3), (2, 1)):
        update, init, keys, sampler = _td3bc(delay)
        assert update.period == delay
        plain = lambda *args: update(*args)  # no `period`: the lax.cond path
        outs = [chunks.make_chunk(fn, sampler, 6, "vmap")(
            init(), keys, jnp.int32(step0), d, cond) for fn in (update, plain)]
        for a, b in zip(jax.tree.leaves(outs[0][:3]), jax.tree.leaves(outs[1][:3])):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        assert np.isfinite(outs[0][2]["actor_loss"]).all()  # the actor did move in the chunk


@pytest.mark.slow
def test_unrolled_threefry_gives_jax_default_bits():
    code = ("import jax, numpy as np; from srtd_jax.core import prng_lowering; "
            "k = jax.random.PRNGKey(3); "
            "f = jax.jit(lambda k: (jax.random.normal(k, (5, 3)), jax.random.randint(k, (7,), 0, 1000), "
            "jax.random.split(k, 3))); "
            "print(prng_lowering.use_unrolled_threefry()); print(repr([np.asarray(x).tolist() for x in f(k)]))")
    runs = {}
    for rolled in ("0", "1"):
        env = dict(os.environ, SRTD_JAX_ROLLED_THREEFRY=rolled, JAX_PLATFORMS="cpu")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout.splitlines()
        runs[rolled] = out
    assert runs["0"][0] == "True" and runs["1"][0] == "False"  # the switch did switch
    assert runs["0"][1] == runs["1"][1]


def test_reused_environment_replays_a_fresh_one():
    """An environment reused after an episode, and one built on a copy of an already parsed model
    (mw.models_parsed_once), step to the bits of a Meta-World environment parsed from its XML file."""
    actions = np.random.default_rng(0).uniform(-1, 1, (15, 4)).astype(np.float32)

    def episode(env, goal):
        return np.stack([env.reset(goal)] + [env.step(a)[0] for a in actions])

    def parsed_episode(task, goal):  # Meta-World's own environment, its model parsed from the XML file here
        env = mw.load_benchmark().train_classes[f"{task}-v3"]()
        env.set_task(mw.task_goals(task)[goal])
        obs = [env.reset()[0]] + [env.step(a)[0] for a in actions]
        return np.asarray(obs, np.float32)

    for task in mw.MT10_TASKS:
        reused = mw.MT10Env(task)
        episode(reused, 3)
        expected = parsed_episode(task, 7)
        np.testing.assert_array_equal(episode(reused, 7), expected)
        np.testing.assert_array_equal(episode(mw.MT10Env(task), 7), expected)  # a copy of the first parse


@pytest.mark.slow
def test_evaluation_in_worker_processes_replays_the_in_process_loop():
    """The evaluation grid stepped in 2 spawned processes sees exactly what it sees in this process: every
    observation and history the policy gets, over two episodes with different goals, and the success flags."""
    from srtd_jax.benchmarks.mt10 import evaluation
    from srtd_jax.data.windows import Normalizer
    seeds, tasks = 3, ("push", "window-open")  # blocks (0, 4, 3) and (2, 1, 5) of the seed-major grid

    def run(workers):
        seen = []

        def act(actor_params, cond_params, obs, history, task_ids):  # a policy that reacts to what it sees
            seen.append((obs.copy(), history.copy()))
            return np.tanh(obs[..., :4] * 3.0 + history[..., -1, :4] - 0.3 * np.arange(seeds)[:, None, None])

        success = evaluation.evaluate(act, None, None, num_seeds=seeds, normalizer=Normalizer(
            np.zeros(mw.OBS_DIM, np.float32), np.ones(mw.OBS_DIM, np.float32)), n=3, action_dim=mw.ACTION_DIM,
            episodes_per_task=2, episode_length=12, reward_type="relative", reward_scale=1.0, seed=5, tasks=tasks,
            env_workers=workers)
        return success, seen

    here, pooled = run(1), run(2)
    assert len(here[1]) == len(pooled[1]) == 24
    assert not np.array_equal(here[1][5][0][0], here[1][5][0][1])  # the seeds' trajectories differ
    np.testing.assert_array_equal(here[0], pooled[0])
    for (obs_a, hist_a), (obs_b, hist_b) in zip(here[1], pooled[1]):
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(hist_a, hist_b)
    assert not np.array_equal(here[1][0][0], here[1][12][0])  # the second episode has other goals
    pool = evaluation.vector_env.env_grid(tasks * seeds, 2)
    assert pool.workers == 2 and not pool.env.closed  # it did run in two processes, kept for the next call
    evaluation.vector_env.env_grid(("reach",), 1)
    assert pool.env.closed  # another grid replaced it: its processes are stopped


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*(error|exception).*:UserWarning")  # gymnasium logs the worker's traceback
def test_a_worker_error_reaches_the_caller_and_the_next_grid_is_fresh():
    from srtd_jax.benchmarks.mt10 import vector_env
    grid = vector_env.env_grid(("reach", "push"), 2)
    with pytest.raises(ValueError, match=r"actions of shape \(2, 3\) for 2 MT10 environments"):
        grid.step(np.zeros((2, 3)))
    with pytest.raises(IndexError):  # goal 99 of 50, raised inside a worker process
        grid.reset(np.array([0, 99]))
    assert grid.env.closed
    fresh = vector_env.env_grid(("reach", "push"), 2)
    assert fresh is not grid and fresh.workers == 2
    assert fresh.reset(np.array([0, 1])).shape == (2, mw.OBS_DIM)
    # each worker leads its own process group, so a signal to the launcher's group (`timeout`, Ctrl-C) leaves it to
    # finish the chunk in flight (runtime/termination.py)
    assert [os.getpgid(p.pid) for p in fresh.env.processes] == [p.pid for p in fresh.env.processes]
    fresh.close()


def test_environment_blocks_share_out_each_task():
    from srtd_jax.benchmarks.mt10.vector_env import block_positions
    grid = mw.MT10_TASKS * 3  # 3 seeds, seed-major
    blocks = block_positions(grid, 2)
    assert blocks.shape == (2, 15) and sorted(blocks.reshape(-1)) == list(range(30))
    for task in mw.MT10_TASKS:  # 3 copies of every task: 2 in one block, 1 in the other
        assert sorted(sum(grid[i] == task for i in b) for b in blocks) == [1, 2]
    assert block_positions(grid, 4).shape == (3, 10)  # 30 does not split into 4: the most blocks that fit
    assert block_positions(grid[:7], 2).shape == (1, 7)
    assert block_positions(grid, 1).shape == (1, 30)


def test_hand_flop_count_matches_xla_cost_analysis():
    """The hand count covers the matrix products; XLA's also counts elementwise work (Adam, activations), a
    few percent on top at these widths."""
    for hidden, batch in (((32, 32, 32), 16),):
        obs, act = 39 + 10, 4
        lrn = learner(obs_dim=39, cond_dim=10, action_dim=act, actor_hidden=hidden, critic_hidden=hidden,
                      batch_size=batch)
        # jitted: op by op, each primitive would compile a program of its own
        update, state = lrn.update, jax.jit(lrn.init)(jax.random.PRNGKey(0))
        rng = np.random.default_rng(0)
        f = lambda *s: jnp.asarray(rng.normal(size=s), jnp.float32)
        data = DeviceData(f(4, 10, 39), f(4, 10, act), f(4, 10), f(4, 10, 39), jnp.zeros((4, 10)), jnp.ones(4),
                          jnp.zeros(4, jnp.int32))
        batch_ = jax.jit(lrn.sampler)(data, jnp.zeros((4, 11, 10)), jax.random.PRNGKey(1))
        xla = np.mean([flops.compiled_flops(
            lambda s, b, p=p: update(s, b, jax.random.PRNGKey(0), p, phase=p), state, batch_) for p in (0, 1)])
        hand = flops.td3bc_flops_by_hand(obs, act, hidden, batch, 2)
        assert hand <= xla <= 1.25 * hand, (hidden, hand, xla)


@pytest.mark.slow
def test_packing_rows_name_the_cells_and_the_datasets_they_used(tmp_path):
    row = dict(part="td3bc", shape="peer", strategy="map", seeds_per_cell=3, cell_episodes=[300, 200, 100],
               packed_replica_updates_per_s=2.0, one_by_one_replica_updates_per_s=1.0, ratio=2.0)
    # Table 1's ten configurations at the paper's shape, 3 seeds: TD3+BC 3,000 packed and 300 one after another,
    # the encoders 300 and 30 replica-updates/s
    paper = [dict(row, shape="paper", replicas=30, cells=10, part=part, packed_replica_updates_per_s=packed,
                  one_by_one_replica_updates_per_s=alone) for part, packed, alone in (("td3bc", 3000.0, 300.0),
                                                                                      ("encoder", 300.0, 30.0))]
    res = {"meta": dict(command="c", machine="m", jax="j", device="d", date="t", repeats=1, backend="cpu"),
           "packing": [dict(row, replicas=3, cells=1), dict(row, replicas=30, cells=10),
                       dict(row, replicas=2, cells=2, seeds_per_cell=1)] + paper}
    (tmp_path / "res.json").write_text(json.dumps(res))
    # in a subprocess: importing the command here would define its absl flags in the test process
    code = ("import json, sys; import experiments.bench_throughput as b; res = json.load(open(sys.argv[1])); "
            "res['paper_column'] = b.paper_column(res['packing']); print(b.markdown(res))")
    table = subprocess.run([sys.executable, "-c", code, str(tmp_path / "res.json")], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout
    assert "| packing td3bc peer 1 cell x 3 seeds (map; dataset of 300 episodes): " in table
    assert "| packing td3bc peer 10 cells x 3 seeds (map; datasets of 300/200/100 episodes): " in table
    assert "| packing td3bc peer 2 cells x 1 seed (map; datasets of 300/200 episodes): " in table
    # the paper's budget: 300 encoder epochs at batch 2,048 (mr10's 300,000 transitions: 44,000 updates in chunks of
    # 100; 287,500 over the ten) and 1M TD3+BC steps. Packed: 44,000 x 30 / 300 = 4,400 s of encoders and
    # 1M x 30 / 3,000 = 10,000 s of TD3+BC; one after another: 287,500 x 3 / 30 + 10 x 1M x 3 / 300 = 128,750 s
    column = [line for line in table.splitlines() if line.startswith("| Table 1 column")]
    assert len(column) == 1 and "from the packing rows of 10 cells x 3 seeds (map)" in column[0]
    assert "encoders 44,000 steps for the longest cell (287,500 over the cells)" in column[0]
    assert "packed 4.0 h (encoders 73.3 min, TD3+BC 2.8 h), cells one after another 35.8 h" in column[0]
    assert "| 8.9 x |" in column[0]


@pytest.mark.slow
def test_cached_mt10_goals_equal_a_fresh_benchmark(tmp_path, monkeypatch):
    monkeypatch.setenv("SRTD_JAX_CACHE", str(tmp_path))
    mw.load_benchmark.cache_clear()
    try:
        built = mw.load_benchmark()  # no cache yet: builds and writes it
        assert os.path.exists(mw.tasks_cache_path())
        mw.load_benchmark.cache_clear()
        loaded = mw.load_benchmark()  # from the file
        with open(mw.tasks_cache_path(), "wb") as fh:
            fh.write(b"not a pickle")
        mw.load_benchmark.cache_clear()
        import metaworld
        calls = []

        class MT10:  # metaworld.MT10 as counted: the corrupt cache must be rebuilt (a real build: ~10 s)
            def __init__(self, seed):
                calls.append(seed)
                self.train_tasks = built.train_tasks
        monkeypatch.setattr(metaworld, "MT10", MT10)
        rebuilt = mw.load_benchmark()  # a corrupt cache is rebuilt ...
        assert calls == [0]
        mw.load_benchmark.cache_clear()
        assert mw.load_benchmark().train_tasks == rebuilt.train_tasks and calls == [0]  # ... and written again
    finally:
        mw.load_benchmark.cache_clear()
    fresh = [(t.env_name, t.data) for t in built.train_tasks]  # built by metaworld.MT10(seed=0) itself
    assert len(fresh) == 500 and len({name for name, _ in fresh}) == 10
    for bench in (loaded, rebuilt):
        assert [(t.env_name, t.data) for t in bench.train_tasks] == fresh
