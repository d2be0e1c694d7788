"""Throughput of every hot path as a ratio to a ceiling measured in the same process.

  python -m experiments.bench_throughput [--only=ceiling,td3bc,encoder,seeds,eval,datagen,drone]
                                         [--repeats=5] [--out=results/throughput]

Writes OUT.json (every measurement, the machine, JAX version, device, date and this command) and OUT_table.md (the
table with the targets of issue 7). Each timed part is compiled and warmed up first (the first call's time is
reported separately as compile) and its rate is the median of --repeats repeats. The sections:

  ceiling  float32 GFLOP/s of a jitted 1024^3 matrix product (and of chained 256^3 ones, the networks' size)
  td3bc    TD3+BC updates/s at the peer shape (obs 49, action 4, 2x256, batch 256, policy delay 2) and the paper's
           (3x256, batch 1280); FLOPs per update from XLA's cost analysis, checked against a hand count
  encoder  skill + task WAE updates/s at the paper's shapes (batch 2048)
  seeds    seed x updates/s of the peer-shape TD3+BC chunk for 1, 3, 8 seeds and each seed-axis strategy
  eval     env steps/s of the batched MT10 evaluation loop vs. the raw Meta-World step rate (random actions)
  datagen  MT10 dataset generation (all 10 tasks, one worker per core) env steps/s vs. the raw step rate x cores
  drone    vmapped drone simulator env steps/s at 1,024 environments (random actions; behaviour policy)
  methods  updates/s of the slow baselines' learners (PCGrad, SoftMod + CQL) as the MT10 sweep's cpu budget runs
           them (3 seeds, MT10 sizes), with XLA's FLOPs per update: what those sweep cells cost
  profile  (only when named) a jax.profiler trace of the peer-shape TD3+BC chunk, summed per XLA op kind into
           OUT_profile.md: where the step's time goes
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
import warnings

from absl import app, flags

from experiments import commands
from srtd_jax.core import atomic, chunks
from srtd_jax.data import samplers
from srtd_jax.studies import flops as flop_count
from srtd_jax.studies.sweep_report import counted

FLAGS = flags.FLAGS
SECTIONS = ("ceiling", "td3bc", "encoder", "seeds", "eval", "datagen", "drone", "methods", "packing", "profile")
flags.DEFINE_list("only", [s for s in SECTIONS if s != "profile"], f"Sections to run, from: {', '.join(SECTIONS)}.")
flags.DEFINE_integer("repeats", 5, "Timed repeats per measurement (the median is reported).")
flags.DEFINE_integer("td3bc_steps", 200, "TD3+BC updates per timed chunk at the peer shape (paper shape: 1/4).")
TD3BC_SHAPES = {"peer": ((256, 256), 256), "paper": ((256, 256, 256), 1280)}  # hidden layers, batch
flags.DEFINE_list("td3bc_shapes", list(TD3BC_SHAPES), f"TD3+BC shapes of the td3bc section: {', '.join(TD3BC_SHAPES)}.")
flags.DEFINE_integer("drone_envs", 1024, "Vmapped environments in the drone section.")
flags.DEFINE_integer("encoder_steps", 10, "Encoder updates per timed chunk.")
flags.DEFINE_list("seeds", ["1", "3", "8"], "Seed counts for the seeds section.")
flags.DEFINE_integer("eval_length", 100, "Steps per evaluation episode (eval section).")
flags.DEFINE_integer("datagen_episodes", 20, "Episodes per task generated (datagen section; all 10 tasks).")
flags.DEFINE_integer("datagen_length", 200, "Steps per generated episode.")
flags.DEFINE_integer("method_steps", 20, "Updates per timed chunk in the methods section.")
flags.DEFINE_list("pack_episodes", ["300", "200", "100"], "Packing section: episodes of 200 steps of the replicas' "
                  "datasets, cycled through (the sizes of MR, RP and ME rows).")
flags.DEFINE_list("pack_replicas", ["3", "9"], "Packing section: replica counts (cells x seeds).")
flags.DEFINE_integer("pack_seeds", 1, "Packing section: seeds per cell (a replica count must be a multiple). Cells "
                     "alone run their seeds as one program each; packed, all cells and seeds run as one program in the "
                     "launcher's layout (cells then seeds, each cell's dataset shared by its seeds).")
flags.DEFINE_enum("pack_shape", "peer", ["peer", "paper"], "Packing section: the learners' shape.")
flags.DEFINE_list("pack_parts", ["td3bc", "encoder"], "Packing section: learners measured (td3bc, encoder).")
flags.DEFINE_list("pack_strategies", ["map", "vmap"], "Packing section: seed-axis strategies measured.")
flags.DEFINE_string("out", "results/throughput", "Output path without extension.")

# Targets: ratios, so they hold on any machine; the paper-budget column's two hold on an accelerator (its training
# time packed, and its throughput gain from packing).
TARGETS = {"td3bc_peer_fraction": 0.70, "seeds3_ratio": 0.95, "eval_ratio": 0.8, "datagen_ratio": 0.8,
           "packing_ratio": 0.95, "column_minutes": 15.0, "column_speedup": 10.0}
OBS, ONE_HOT, ACT = 39, 10, 4


def _median_rate(fn, work: float, repeats: int) -> tuple[float, float]:
    """(work per second over the median of `repeats` timed calls, seconds of the first (compiling) call)."""
    import jax
    import numpy as np
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return work / float(np.median(times)), first


def _synthetic_data(num_episodes: int = 300, length: int = 200):
    import jax.numpy as jnp
    import numpy as np

    from srtd_jax.data.windows import DeviceData
    rng = np.random.default_rng(0)
    f = lambda *s: jnp.asarray(rng.normal(size=s), jnp.float32)
    return DeviceData(f(num_episodes, length, OBS), jnp.tanh(f(num_episodes, length, ACT)), f(num_episodes, length),
                      f(num_episodes, length, OBS), jnp.zeros((num_episodes, length)),
                      jnp.asarray(rng.random(num_episodes), jnp.float32), jnp.zeros(num_episodes, jnp.int32))


def _td3bc_setup(hidden, batch):
    """The launcher's TD3+BC learner (default settings, learning rate 3e-4) at a width and batch size."""
    from configs import default
    from srtd_jax.agents.learners import make_learner
    from srtd_jax.agents.methods import resolve
    cfg = default.get_config()
    cfg.rl.update(dict(actor_hidden=hidden, critic_hidden=hidden, learning_rate=3e-4, batch_size=batch))
    lrn = make_learner(resolve("td3bc"), cfg.rl, cfg.cql, obs_dim=OBS, cond_dim=ONE_HOT, action_dim=ACT,
                       task_ids=(0,), num_tasks=1, aug_count=0)
    return lrn.update, lrn.init, lrn.sampler


def _chunk_caller(update, sampler, init, steps, num_seeds, strategy, data, per_seed, cells: int = 0):
    """-> call() running the next `steps`-update make_chunk over `num_seeds` seeds (cells: `cells` x num_seeds
    states in the packed launcher's layout, `data` carrying the cells axis); returns its metrics."""
    import jax
    import jax.numpy as jnp

    chunk = chunks.make_chunk(update, sampler, steps, strategy, cells=bool(cells))
    keys = jax.random.split(jax.random.PRNGKey(1), max(cells, 1) * num_seeds)
    states = chunks.stack_states(init, jax.random.split(jax.random.PRNGKey(0), max(cells, 1) * num_seeds))
    if cells:
        keys, states = jax.tree.map(lambda x: x.reshape((cells, num_seeds) + x.shape[1:]), (keys, states))
    holder = {"states": states, "keys": keys, "step": 0}

    def call():
        out = chunk(holder["states"], holder["keys"], jnp.int32(holder["step"]), data, per_seed)
        holder["states"], holder["keys"], holder["step"] = out[0], out[1], holder["step"] + steps
        return out[2]

    return call


def _run_chunk(update, sampler, init, steps, num_seeds, strategy, data, per_seed, repeats):
    """seed x updates/s and first-call seconds of a make_chunk over `num_seeds` seeds."""
    call = _chunk_caller(update, sampler, init, steps, num_seeds, strategy, data, per_seed)
    return _median_rate(call, num_seeds * steps, repeats)


def _add_fraction(out, row: dict) -> dict:
    """row['fraction_of_ceiling'] = its GFLOP/s over this run's ceiling, when the ceiling section ran."""
    if "ceiling_gflops" in out:
        row["fraction_of_ceiling"] = row["gflops"] / out["ceiling_gflops"]
    return row


def section_ceiling(out, repeats):
    import jax
    import jax.numpy as jnp
    for n, chain in ((1024, 1), (256, 64)):  # 64 chained 256^3 products: one call would time the dispatch
        a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
        b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32) / n
        f = jax.jit(jnp.matmul) if chain == 1 else jax.jit(
            lambda a, b: jax.lax.fori_loop(0, chain, lambda i, x: x @ b, a))
        rate, first = _median_rate(lambda: f(a, b), chain * 2.0 * n ** 3 / 1e9, max(repeats, 20))
        out[f"matmul_{n}_gflops"] = rate
        print(f"[ceiling] {n}^3 float32 matmul: {rate:.1f} GFLOP/s", flush=True)
    out["ceiling_gflops"] = out["matmul_1024_gflops"]


def section_td3bc(out, repeats):
    import jax
    import jax.numpy as jnp

    from srtd_jax.core.seeds import AUTO_SEED_AXIS
    data = _synthetic_data()
    strategy = AUTO_SEED_AXIS.get(jax.default_backend(), "map")
    rows = []
    for name in FLAGS.td3bc_shapes:
        hidden, batch = TD3BC_SHAPES[name]
        steps = FLAGS.td3bc_steps if name == "peer" else max(FLAGS.td3bc_steps // 4, 2)
        update, init, sampler = _td3bc_setup(hidden, batch)
        cond = jnp.zeros((1, data.obs.shape[0], data.obs.shape[1] + 1, ONE_HOT))
        rate, first = _run_chunk(update, sampler, init, steps, 1, strategy, data, cond, repeats)
        state = init(jax.random.PRNGKey(0))
        batch_ = sampler(data, cond[0], jax.random.PRNGKey(1))
        by_phase = [flop_count.compiled_flops(lambda s, b, p=p: update(s, b, jax.random.PRNGKey(0), p, phase=p), state, batch_)
                    for p in range(update.period)]
        flops = sum(by_phase) / len(by_phase)
        hand = flop_count.td3bc_flops_by_hand(OBS + ONE_HOT, ACT, hidden, batch, update.period)
        row = _add_fraction(out, dict(shape=name, hidden=list(hidden), batch=batch, strategy=strategy,
                                      updates_per_s=rate, compile_s=first, flops_per_update=flops,
                                      flops_by_hand=hand, gflops=rate * flops / 1e9))
        rows.append(row)
        print(f"[td3bc] {name}: {rate:.1f} updates/s, {flops / 1e6:.1f} MFLOP/update (hand {hand / 1e6:.1f}), "
              f"{row['gflops']:.1f} GFLOP/s" + (f" = {row['fraction_of_ceiling']:.0%} of the ceiling"
                                               if "fraction_of_ceiling" in row else ""), flush=True)
    out["td3bc"] = rows


def section_encoder(out, repeats):
    import jax

    from configs import paper
    from srtd_jax.agents.methods import resolve
    from srtd_jax.core.seeds import AUTO_SEED_AXIS
    from srtd_jax.runtime.encoder_phase import encoder_parts
    e = paper.get_config().encoder
    _, update, init = encoder_parts(e, resolve("srtd"), OBS, ACT)
    sampler = samplers.window_sampler(e.batch_size, e.n)
    data = _synthetic_data()
    strategy = AUTO_SEED_AXIS.get(jax.default_backend(), "map")
    rate, first = _run_chunk(update, sampler, init, FLAGS.encoder_steps, 1, strategy, data, None, repeats)
    state = init(jax.random.PRNGKey(0))
    batch = sampler(data, None, jax.random.PRNGKey(1))
    flops = flop_count.compiled_flops(lambda s, b: update(s, b, jax.random.PRNGKey(0), 0), state, batch)
    row = _add_fraction(out, dict(batch=e.batch_size, skill_hidden=list(e.skill_hidden),
                                  task_hidden=list(e.task_hidden), n=e.n, strategy=strategy, updates_per_s=rate,
                                  compile_s=first, flops_per_update=flops, gflops=rate * flops / 1e9))
    out["encoder"] = row
    print(f"[encoder] {rate:.2f} updates/s, {flops / 1e9:.2f} GFLOP/update, {row['gflops']:.1f} GFLOP/s", flush=True)


def section_seeds(out, repeats):
    import jax.numpy as jnp
    data = _synthetic_data()
    update, init, sampler = _td3bc_setup((256, 256), 256)
    rows = []
    for strategy in ("vmap", "map"):
        single = None
        for n in map(int, FLAGS.seeds):
            cond = jnp.zeros((n, data.obs.shape[0], data.obs.shape[1] + 1, ONE_HOT))
            rate, first = _run_chunk(update, sampler, init, FLAGS.td3bc_steps, n, strategy, data, cond, repeats)
            single = rate if n == 1 else single
            rows.append(dict(strategy=strategy, seeds=n, seed_updates_per_s=rate, compile_s=first,
                             ratio_to_one_seed=rate / single if single else None))
            print(f"[seeds] {strategy} x{n}: {rate:.1f} seed-updates/s", flush=True)
    out["seeds"] = rows


def _packing_learner(part: str, shape: str):
    """(update, init, sampler, per_seed(replicas, episodes, length)) of the TD3+BC learner or the SRTD encoders at a
    shape: 'peer' (TD3+BC 2 x 256 at batch 256; encoders of the cpu budget at batch 256) or 'paper'."""
    import jax.numpy as jnp

    from configs import paper
    from srtd_jax.agents.methods import resolve
    from srtd_jax.runtime.encoder_phase import encoder_parts
    if part == "td3bc":
        update, init, sampler = _td3bc_setup(*TD3BC_SHAPES[shape])
        return update, init, sampler, lambda r, e, length: jnp.zeros((r, e, length + 1, ONE_HOT))
    e = paper.get_config().encoder
    if shape == "peer":
        e.skill_hidden, e.task_hidden, e.batch_size = (128,) * 3, (128,) * 2, 256
    _, update, init = encoder_parts(e, resolve("srtd"), OBS, ACT)
    return update, init, samplers.window_sampler(e.batch_size, e.n), lambda r, e_, length: None


def section_packing(out, repeats, save=None):
    """Replica-updates/s of cells trained one after another (one chunk per cell over its --pack_seeds seeds, on its
    own dataset) against one packed chunk over all cells and seeds in the launcher's layout (datasets padded to the
    largest, srtd_jax/data/packing.py, srtd_jax/run_packed.py), for the TD3+BC learner and the encoders, per replica
    count and seed-axis strategy. The cells' datasets cycle through --pack_episodes (episodes of 200 steps), as a
    table's rows differ in size. Rows come in the order of --pack_replicas, each for every learner and strategy,
    and save(), if given, runs after every row: a run cut short keeps the first replica count of both learners."""
    from srtd_jax.data import packing
    sizes = [int(n) for n in FLAGS.pack_episodes]
    parts = {n: _synthetic_data(n) for n in sorted(set(sizes))}
    length = parts[sizes[0]].obs.shape[1]
    seeds = FLAGS.pack_seeds
    bad = [r for r in map(int, FLAGS.pack_replicas) if r % seeds]
    if bad:
        raise ValueError(f"--pack_replicas {bad} are not multiples of --pack_seeds={seeds}")
    learners = {part: _packing_learner(part, FLAGS.pack_shape) for part in FLAGS.pack_parts}
    alone = {}  # (part, strategy) -> one single-cell chunk per dataset size, compiled once, called once per cell
    rows = out["packing"] = []
    for replicas in map(int, FLAGS.pack_replicas):
        cells = replicas // seeds
        data = [parts[sizes[i % len(sizes)]] for i in range(cells)]
        for part, (update, init, sampler, per_seed) in learners.items():
            steps = FLAGS.td3bc_steps if part == "td3bc" else FLAGS.encoder_steps
            for strategy in FLAGS.pack_strategies:
                if (part, strategy) not in alone:
                    alone[part, strategy] = {
                        n: _chunk_caller(update, sampler, init, steps, seeds, strategy, d, per_seed(seeds, n, length))
                        for n, d in parts.items()}
                calls = [alone[part, strategy][sizes[i % len(sizes)]] for i in range(cells)]
                one_by_one, first = _median_rate(lambda: [c() for c in calls], replicas * steps, repeats)
                cond = per_seed(replicas, max(sizes), length)
                cond = None if cond is None else cond.reshape((cells, seeds) + cond.shape[1:])
                packed_call = _chunk_caller(update, sampler, init, steps, seeds, strategy, packing.pack(data), cond,
                                            cells=cells)
                packed, packed_first = _median_rate(packed_call, replicas * steps, repeats)
                rows.append(dict(part=part, shape=FLAGS.pack_shape, replicas=replicas, cells=cells,
                                 seeds_per_cell=seeds, strategy=strategy, cell_episodes=sizes,
                                 one_by_one_replica_updates_per_s=one_by_one, packed_replica_updates_per_s=packed,
                                 ratio=packed / one_by_one, compile_s=first, packed_compile_s=packed_first))
                layout = f"{counted(cells, 'cell')} x {counted(seeds, 'seed')}"
                print(f"[packing] {part} {FLAGS.pack_shape} x{replicas} ({layout}) "
                      f"{strategy}: cells one after another {one_by_one:.1f}, packed {packed:.1f} replica-updates/s "
                      f"({packed / one_by_one:.2f}x)", flush=True)
                if save:
                    save()


def _raw_env_rate(length: int, repeats: int) -> float:
    """Meta-World steps/s with random actions, one environment per MT10 task, each reset then stepped."""
    import numpy as np

    from srtd_jax.benchmarks.mt10.env import MT10_TASKS, MT10Env
    envs = [MT10Env(t) for t in MT10_TASKS]
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (length, ACT)).astype(np.float32)

    def run():
        for i, env in enumerate(envs):
            env.reset(i)
            for a in actions:
                env.step(a)
    return _median_rate(run, len(envs) * length, repeats)[0]


def section_eval(out, repeats):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from srtd_jax.agents import conditioning
    from srtd_jax.benchmarks.mt10 import evaluation
    from srtd_jax.core.networks import make_actor_critic
    from srtd_jax.data.windows import Normalizer
    warnings.filterwarnings("ignore", message="Constant.*may be too high")
    length, seeds, n = FLAGS.eval_length, 3, 4
    raw = _raw_env_rate(length, repeats)
    nets = make_actor_critic(ACT, (256, 256), (256, 256))
    params = jax.vmap(lambda k: nets.actor.init(k, jnp.zeros((1, OBS + ONE_HOT))))(
        jax.random.split(jax.random.PRNGKey(0), seeds))
    one_hot = lambda cond_params, history, task_ids: jax.nn.one_hot(task_ids, ONE_HOT)
    act = conditioning.make_policy(nets.actor.apply, one_hot)
    norm = Normalizer(np.zeros(OBS, np.float32), np.ones(OBS, np.float32))
    workers = os.cpu_count() or 1
    loop = lambda policy, actor_params, cond_params, env_workers: lambda: evaluation.evaluate(
        policy, actor_params, cond_params, num_seeds=seeds, normalizer=norm, n=n, action_dim=ACT,
        episodes_per_task=1, episode_length=length, reward_type="relative", reward_scale=1.0, seed=0,
        env_workers=env_workers)
    steps = seeds * 10 * length
    rate, first = _median_rate(loop(act, params, jnp.zeros(seeds), workers), steps, repeats)
    one_rate, _ = _median_rate(loop(act, params, jnp.zeros(seeds), 1), steps, repeats)
    # The same loops with random NumPy actions: what the loop and the 30 environments cost without the policy.
    rng = np.random.default_rng(0)
    random_act = lambda *_: rng.uniform(-1, 1, (seeds, 10, ACT)).astype(np.float32)
    loop_rate, _ = _median_rate(loop(random_act, None, None, workers), steps, repeats)
    one_loop_rate, _ = _median_rate(loop(random_act, None, None, 1), steps, repeats)
    out["eval"] = dict(seeds=seeds, tasks=10, episode_length=length, env_workers=workers, env_steps_per_s=rate,
                       raw_env_steps_per_s=raw, ratio=rate / raw, first_call_s=first,
                       no_policy_env_steps_per_s=loop_rate, no_policy_ratio=loop_rate / raw,
                       in_process_env_steps_per_s=one_rate, in_process_ratio=one_rate / raw,
                       in_process_no_policy_env_steps_per_s=one_loop_rate, in_process_no_policy_ratio=one_loop_rate / raw)
    print(f"[eval] {rate:.0f} env steps/s in the evaluation loop with {workers} env worker(s), raw {raw:.0f} -> "
          f"{rate / raw:.2f}; random actions instead of the policy {loop_rate / raw:.2f}; in this process "
          f"{one_rate / raw:.2f} ({one_loop_rate / raw:.2f} with random actions)", flush=True)


def section_datagen(out, repeats):
    from srtd_jax.benchmarks.mt10 import generate as gen
    from srtd_jax.benchmarks.mt10.env import MT10_TASKS
    from srtd_jax.data import dataset as ds
    cores = os.cpu_count() or 1
    raw = out.get("eval", {}).get("raw_env_steps_per_s") or _raw_env_rate(FLAGS.datagen_length, repeats)
    tasks = MT10_TASKS
    settings = gen.GenerationSettings(episode_length=FLAGS.datagen_length,
                                      episodes=(("MR", FLAGS.datagen_episodes), ("RP", 2), ("ME", 2)),
                                      num_rungs=6, probe_episodes=2)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = gen.ensure_datasets({t: "MR" for t in tasks}, settings, tmp, num_workers=cores)
        seconds = time.perf_counter() - t0
        probes = 0
        for task, path in paths.items():
            _, meta = ds.load(path)
            probes += len(meta["probe_success"]) * settings.probe_episodes * settings.episode_length
    stored = len(tasks) * FLAGS.datagen_episodes * FLAGS.datagen_length
    rate = (stored + probes) / seconds
    workers = min(cores, len(tasks))
    out["datagen"] = dict(tasks=list(tasks), workers=workers, stored_transitions=stored, probe_steps=probes,
                          seconds=seconds, env_steps_per_s=rate, stored_per_s=stored / seconds,
                          raw_env_steps_per_s=raw, ratio=rate / (raw * workers))
    print(f"[datagen] {rate:.0f} env steps/s with {workers} workers ({stored / seconds:.0f} stored transitions/s), "
          f"raw {raw:.0f} x {workers} -> {rate / (raw * workers):.2f}", flush=True)


def section_drone(out, repeats, num_envs: int | None = None, length: int = 100):
    """Built-in drone simulator: env steps/s of `num_envs` vmapped environments (all six tasks) over a jitted
    lax.scan of `length` steps with random actions (lidar and observation included), and the same with the
    navigation-function behaviour policy (the dataset generator's rollouts)."""
    import jax
    import jax.numpy as jnp

    from srtd_jax.benchmarks.drone import generate, maps, sim
    num_envs = num_envs or FLAGS.drone_envs
    m = sim.map_arrays()
    tasks = jnp.arange(num_envs, dtype=jnp.int32) % len(maps.DRONE_TASKS)
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)

    @jax.jit
    def random_rollout(keys):
        states = jax.vmap(lambda k, t: sim.reset(k, t, m))(keys, tasks)

        def body(states, k):
            actions = jax.random.uniform(k, (num_envs, sim.ACTION_DIM), minval=-1.0, maxval=1.0)
            states, reward, _, _ = jax.vmap(lambda s, a: sim.step(s, a, m))(states, actions)
            obs = jax.vmap(lambda s: sim.observe(s, m))(states)
            return states, reward.sum() + obs.sum()
        return jax.lax.scan(body, states, jax.random.split(keys[0], length))[1]

    rate, first = _median_rate(lambda: random_rollout(keys), num_envs * length, repeats)
    quality = jnp.full(num_envs, 0.5)
    behaviour, first_b = _median_rate(
        lambda: generate.rollouts(keys, tasks, quality, length=length, noise=0.3)["reward"],
        num_envs * length, repeats)
    out["drone"] = dict(measured=True, num_envs=num_envs, length=length, env_steps_per_s=rate,
                        behaviour_env_steps_per_s=behaviour, compile_s=first, behaviour_compile_s=first_b)
    print(f"[drone] {num_envs} envs: {rate:.0f} env steps/s (random actions), {behaviour:.0f} with the behaviour "
          f"policy (first calls {first:.1f}s / {first_b:.1f}s)", flush=True)


def section_methods(out, repeats):
    """The learners of PCGrad and SoftMod + CQL with the configs of the MT10 sweep's cpu-budget cells (one-hot
    task conditioning, 10 tasks, task-stratified batches), 3 seeds: seed-batch updates/s and FLOPs per update."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from configs import benchmark_mt10
    from srtd_jax.agents.learners import make_learner
    from srtd_jax.agents.methods import resolve
    from srtd_jax.core.seeds import AUTO_SEED_AXIS
    from srtd_jax.studies import sweep
    data = _synthetic_data()
    data = data._replace(task_ids=jnp.arange(data.obs.shape[0], dtype=jnp.int32) % ONE_HOT)
    bcfg = benchmark_mt10.get_config("cpu")
    strategy = AUTO_SEED_AXIS.get(jax.default_backend(), "map")
    rows = []
    for method in ("pcgrad", "softmod"):
        cfg = sweep.cell_config(bcfg, sweep.Cell("mr10", method, ()))
        learner = make_learner(resolve(cfg.method, cfg.rl.learner, cfg.rl.network), cfg.rl, cfg.cql, obs_dim=OBS, cond_dim=ONE_HOT, action_dim=ACT,
                               task_ids=np.asarray(data.task_ids), num_tasks=ONE_HOT, aug_count=0)
        one_hot = jax.nn.one_hot(data.task_ids, ONE_HOT)[:, None, :]
        cond = jnp.broadcast_to(one_hot, (cfg.num_seeds, data.obs.shape[0], data.obs.shape[1] + 1, ONE_HOT))
        seed_rate, first = _run_chunk(learner.update, learner.sampler, learner.init, FLAGS.method_steps,
                                      cfg.num_seeds, strategy, data, cond, repeats)
        state = learner.init(jax.random.PRNGKey(0))
        batch = learner.sampler(data, cond[0], jax.random.PRNGKey(1))
        flops = flop_count.compiled_flops(lambda s, b: learner.update(s, b, jax.random.PRNGKey(0), 1), state, batch)
        rate = seed_rate / cfg.num_seeds
        row = _add_fraction(out, dict(method=method, seeds=cfg.num_seeds, strategy=strategy,
                                      batch=cfg.rl.batch_size, steps_per_cell=cfg.rl.steps, updates_per_s=rate,
                                      compile_s=first, flops_per_update=flops,
                                      gflops=seed_rate * flops / 1e9, hours_per_cell=cfg.rl.steps / rate / 3600))
        rows.append(row)
        print(f"[methods] {method}: {rate:.2f} updates/s of {cfg.num_seeds} seeds, {flops / 1e9:.2f} GFLOP per "
              f"seed-update, {row['gflops']:.1f} GFLOP/s; {row['hours_per_cell']:.1f} h of RL steps per sweep cell",
              flush=True)
    out["methods"] = rows


def section_profile(out, repeats):
    import collections
    import glob
    import re

    import jax
    import jax.numpy as jnp
    data = _synthetic_data()
    update, init, sampler = _td3bc_setup((256, 256), 256)
    steps = FLAGS.td3bc_steps
    cond = jnp.zeros((1, data.obs.shape[0], data.obs.shape[1] + 1, ONE_HOT))
    call = _chunk_caller(update, sampler, init, steps, 1, "map", data, cond)
    jax.block_until_ready(call())  # compile outside the trace
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with jax.profiler.trace(tmp):
            for _ in range(repeats):
                jax.block_until_ready(call())
        wall = time.perf_counter() - t0
        space = jax.profiler.ProfileData.from_file(sorted(glob.glob(f"{tmp}/**/*.xplane.pb", recursive=True))[-1])
        per_kind, calls, busy = collections.Counter(), collections.Counter(), 0.0
        for plane in space.planes:
            for line in plane.lines:
                if "XLAEigen" not in line.name:  # the compute threads
                    continue
                for ev in line.events:
                    if ev.name == "ThunkExecutor::Execute":
                        busy += ev.duration_ns
                        continue
                    kind = re.sub(r"[._]\d+$", "", ev.name)
                    per_kind[kind] += ev.duration_ns
                    calls[kind] += 1
    n = repeats * steps
    out["profile"] = dict(updates=n, wall_ms_per_update=wall * 1e3 / n, busy_ms_per_update=busy / 1e6 / n,
                          kinds={k: dict(ms_per_update=v / 1e6 / n, calls_per_update=calls[k] / n)
                                 for k, v in per_kind.most_common(20)})
    print(f"[profile] {wall * 1e3 / n:.2f} ms/update under the profiler", flush=True)


def profile_markdown(p: dict) -> str:
    lines = [f"Peer-shape TD3+BC chunk under jax.profiler ({p['updates']} updates; the profiler slows it down): "
             f"{p['wall_ms_per_update']:.2f} ms wall per update, {p['busy_ms_per_update']:.2f} ms of thunk "
             "execution summed over the compute threads.", "",
             "| XLA op kind | ms per update (all threads) | calls per update |", "|---|---|---|"]
    lines += [f"| {k} | {v['ms_per_update']:.3f} | {v['calls_per_update']:.1f} |" for k, v in p["kinds"].items()]
    return "\n".join(lines) + "\n"


def _fmt(x, spec):
    return format(x, spec) if isinstance(x, (int, float)) else "n/a"


def markdown(res: dict) -> str:
    m = res["meta"]
    lines = [f"Made by: `{m['command']}` on {m['machine']}, JAX {m['jax']} ({m['device']}), {m['date']}.", "",
             f"Rates are medians of {m['repeats']} timed repeats after a first (compiling) call; fractions are of "
             "the 1024^3 float32 matmul ceiling measured in the same process. FLOPs per update are XLA's cost "
             "analysis of the compiled update (hand count of the matrix products beside it).", "",
             "| measurement | value | target | met |", "|---|---|---|---|"]
    verdict = lambda ok: "yes" if ok else "**no**"
    if "ceiling_gflops" in res:
        lines.append(f"| matmul ceiling 1024^3 | {res['ceiling_gflops']:.1f} GFLOP/s | | |")
        lines.append(f"| matmul 256^3, chained (the networks' size) | {res['matmul_256_gflops']:.1f} GFLOP/s | | |")
    for r in res.get("td3bc", []):
        frac = r.get("fraction_of_ceiling")
        target = TARGETS["td3bc_peer_fraction"] if r["shape"] == "peer" else None
        lines.append(f"| TD3+BC {r['shape']} ({'x'.join(map(str, r['hidden']))}, batch {r['batch']}): "
                     f"{r['updates_per_s']:.1f} updates/s x {r['flops_per_update'] / 1e6:.0f} MFLOP "
                     f"(hand {r['flops_by_hand'] / 1e6:.0f}), compile {r['compile_s']:.1f} s | "
                     f"{_fmt(frac, '.0%')} of ceiling | {'>= 70%' if target else ''} | "
                     f"{verdict(frac is not None and frac >= target) if target else ''} |")
    if "encoder" in res:
        r = res["encoder"]
        lines.append(f"| encoder paper shape (batch {r['batch']}): {r['updates_per_s']:.2f} updates/s x "
                     f"{r['flops_per_update'] / 1e9:.2f} GFLOP | {_fmt(r.get('fraction_of_ceiling'), '.0%')} of "
                     "ceiling | | |")
    for r in res.get("seeds", []):
        ratio = r["ratio_to_one_seed"]
        target = r["seeds"] == 3
        lines.append(f"| seeds x{r['seeds']} {r['strategy']}: {r['seed_updates_per_s']:.1f} seed-updates/s | "
                     f"{ratio:.2f} x one seed | {'>= 0.95' if target else ''} | "
                     f"{verdict(ratio >= TARGETS['seeds3_ratio']) if target else ''} |")
    if "eval" in res:
        r = res["eval"]
        lines.append(f"| MT10 evaluation loop, {r['env_workers']} env worker process(es): {r['env_steps_per_s']:.0f} "
                     f"env steps/s (raw {r['raw_env_steps_per_s']:.0f}) | {r['ratio']:.2f} x raw | >= 0.8 | "
                     f"{verdict(r['ratio'] >= TARGETS['eval_ratio'])} |")
        for key, what in (("no_policy", "the same, random actions instead of the policy"),
                          ("in_process", "the loop with the 30 envs stepped in turn in this process"),
                          ("in_process_no_policy", "the same, random actions instead of the policy")):
            lines.append(f"| {what}: {r[key + '_env_steps_per_s']:.0f} env steps/s | {r[key + '_ratio']:.2f} x raw | | |")
    if "datagen" in res:
        r = res["datagen"]
        lines.append(f"| dataset generation, {r['workers']} workers: {r['env_steps_per_s']:.0f} env steps/s "
                     f"({r['stored_per_s']:.0f} stored transitions/s) | {r['ratio']:.2f} x raw x workers | >= 0.8 | "
                     f"{verdict(r['ratio'] >= TARGETS['datagen_ratio'])} |")
    if "drone" in res:
        r = res["drone"]
        lines.append(f"| drone simulator, {r['num_envs']} vmapped envs: {r['env_steps_per_s']:.0f} env steps/s "
                     f"(random actions), {r['behaviour_env_steps_per_s']:.0f} with the behaviour policy | | | |")
    for r in res.get("methods", []):
        lines.append(f"| {r['method']} learner (MT10 sweep cpu cell, {r['seeds']} seeds, batch {r['batch']}): "
                     f"{r['updates_per_s']:.2f} updates/s x {r['flops_per_update'] / 1e9:.2f} GFLOP per seed, "
                     f"{r['hours_per_cell']:.1f} h for {r['steps_per_cell']} steps | "
                     f"{_fmt(r.get('fraction_of_ceiling'), '.0%')} of ceiling | | |")
    for r in res.get("packing", []):
        # the target: on CPU, its strategy (map) keeps 0.95 x; on accelerators packing is to multiply the rate
        packs = r["cells"] > 1 if "seeds_per_cell" in r else r["replicas"] > 1
        met = res["meta"]["backend"] == "cpu" and r["strategy"] == "map" and packs
        if "seeds_per_cell" in r:  # the cells cycle through the dataset sizes: fewer cells than sizes use the first
            layout = f"{counted(r['cells'], 'cell')} x {counted(r['seeds_per_cell'], 'seed')}"
            episodes = r["cell_episodes"][:r["cells"]]
        else:  # records made before the launcher's layout: `cells` held the sizes the replicas cycled through
            layout, episodes = f"{r['replicas']} replicas", r["cells"]
        data = (f"dataset of {counted(episodes[0], 'episode')}" if len(episodes) == 1
                else f"datasets of {'/'.join(map(str, episodes))} episodes")
        lines.append(f"| packing {r['part']} {r['shape']} {layout} ({r['strategy']}; {data}): "
                     f"{r['packed_replica_updates_per_s']:.1f} replica-updates/s packed, "
                     f"{r['one_by_one_replica_updates_per_s']:.1f} cells one after another | "
                     f"{r['ratio']:.2f} x | {'>= 0.95' if met else ''} | "
                     f"{verdict(r['ratio'] >= TARGETS['packing_ratio']) if met else ''} |")
    for c in res.get("paper_column", []):
        on_accelerator = res["meta"]["backend"] != "cpu"
        minutes, speedup = c["packed_s"] / 60, c["speedup"]
        steps = c["encoder_steps"].values()
        ok = minutes <= TARGETS["column_minutes"] and speedup >= TARGETS["column_speedup"]
        layout = f"{counted(c['cells'], 'cell')} x {counted(c['seeds'], 'seed')}"
        lines.append(f"| Table 1 column at the paper's budget, from the packing rows of {layout} "
                     f"({c['strategy']}): encoders {max(steps):,} steps for the longest cell "
                     f"({sum(steps):,} over the cells), TD3+BC {c['rl_steps']:,} steps per cell; packed "
                     f"{_minutes(c['packed_s'])} (encoders {_minutes(c['packed_encoder_s'])}, TD3+BC "
                     f"{_minutes(c['packed_rl_s'])}), cells one after another {_minutes(c['one_by_one_s'])}; "
                     "evaluation and compilation not counted | "
                     f"{speedup:.1f} x | packed <= {TARGETS['column_minutes']:g} min and >= "
                     f"{TARGETS['column_speedup']:g} x (accelerators) | {verdict(ok) if on_accelerator else ''} |")
    return "\n".join(lines) + "\n"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 6000 else f"{seconds / 3600:.1f} h"


def check_flags(only, td3bc_shapes) -> None:
    """Refuses unknown section and shape names (app.UsageError naming them and the valid ones)."""
    for flag, given, valid in (("only", only, SECTIONS), ("td3bc_shapes", td3bc_shapes, TD3BC_SHAPES)):
        unknown = sorted(set(given) - set(valid))
        if unknown:
            raise app.UsageError(f"unknown --{flag} {'sections ' if flag == 'only' else ''}{unknown}; "
                                 f"valid: {', '.join(valid)}")


def main(argv):
    del argv
    check_flags(FLAGS.only, FLAGS.td3bc_shapes)
    import jax
    command = commands.this_command()
    meta = dict(command=command.strip(), backend=jax.default_backend(), device=str(jax.devices()[0]),
                jax=jax.__version__, machine=f"{platform.machine()}, {os.cpu_count()} cores",
                date=time.strftime("%Y-%m-%d"), repeats=FLAGS.repeats, targets=TARGETS)
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    res, table = {}, ""
    save = lambda: write(res, meta)
    for name in SECTIONS:
        if name in FLAGS.only:
            section = globals()[f"section_{name}"]
            if name == "packing":
                section(res, FLAGS.repeats, save=save)
            else:
                section(res, FLAGS.repeats)
            table = save()  # after every section: a run stopped by a time limit (the accelerator job's) keeps it
    if "profile" in res:
        atomic.write_text(FLAGS.out + "_profile.md", f"Made by: `{meta['command']}`, {meta['date']}.\n\n"
                          + profile_markdown(res["profile"]))
    print(table)


def write(res: dict, meta: dict) -> str:
    """Writes OUT.json and OUT_table.md of what has been measured so far, with the paper-budget column estimate once
    the packing section has rows for it; returns the table."""
    res = {**res, "meta": meta}
    if res.get("packing"):
        res["paper_column"] = paper_column(res["packing"])
    atomic.write_text(FLAGS.out + ".json", json.dumps(res, indent=2))
    table = markdown(res)
    atomic.write_text(FLAGS.out + "_table.md", table)
    return table


def paper_column(rows) -> list[dict]:
    """Table 1's column at the paper's budget (configs/benchmark_mt10.py:paper: its ten configurations, encoder epochs
    and batch, RL steps) from the packing rows at the paper's shape whose cells are the ten configurations."""
    from configs import benchmark_mt10
    from srtd_jax.benchmarks import registry
    from srtd_jax.studies import column_cost
    sweep = benchmark_mt10.get_config("paper")
    d = sweep.base.data
    steps = column_cost.encoder_steps_by_configuration(
        sweep.configurations, {"MR": d.episodes_mr, "RP": d.episodes_rp, "ME": d.episodes_me}, d.episode_length,
        len(registry.task_names("mt10")), sweep.base.encoder)
    return column_cost.column_estimates([r for r in rows if r["shape"] == "paper"], steps, sweep.base.rl.steps)


if __name__ == "__main__":
    app.run(main)
