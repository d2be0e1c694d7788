"""Drone-navigation offline data of graded behaviour quality (MR / RP / ME), generated on the built-in simulator.

The ladder is the one MT10 uses (srtd_jax/data/ladder.py): rung k has quality q = k / (num_rungs - 1); with
probability q an action is the navigation-function expert's plus Gaussian noise of std expert_noise * (1 - q),
otherwise uniform. The medium rung is the first whose mean probe return reaches `medium_success` x the expert
rung's (drone tasks have no success flag; a reached goal is counted in `successes`). Every episode of a file runs
in one jitted, vmapped lax.scan, so a task's data takes seconds.
"""
from __future__ import annotations

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.benchmarks.drone import maps, navigation, sim
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder

GENERATOR_VERSION = 1  # bump when the simulator, expert or recording changes, to invalidate caches


@dataclasses.dataclass(frozen=True)
class DroneGenerationSettings(ladder.LadderSettings):
    """The ladder's settings with the drone's defaults and versions in the cache key."""

    episode_length: int = 100
    probe_episodes: int = 16

    @staticmethod
    def learner_from_config(data_cfg):
        """The drone's learning run trains online SAC (data.online_learner), not the DAgger learner."""
        from srtd_jax.data import online_sac
        return online_sac.settings_from_config(data_cfg.online_learner)

    def versions(self) -> dict:
        return dict(suite="drone", generator_version=GENERATOR_VERSION)


settings_from_config = functools.partial(ladder.settings_from_config, cls=DroneGenerationSettings)
FILES = ladder.FileSpec(sim.OBS_DIM, sim.ACTION_DIM, maps.task_index)  # what every drone file must hold


BUCKET = 256  # batches are padded to a multiple of this, so most calls reuse one compiled program


def rollouts(keys: jax.Array, tasks: jax.Array, quality: jax.Array, *, length: int, noise: float) -> dict:
    """E behaviour episodes at once: keys (E, 2), tasks (E,), quality (E,) ->
    {'obs', 'next_obs': (E, L, 27), 'act': (E, L, 3), 'reward', 'reached', 'collided': (E, L)}."""
    e = tasks.shape[0]
    pad = -e % BUCKET
    padded = [jnp.concatenate([x, jnp.repeat(x[:1], pad, axis=0)]) for x in (keys, tasks, quality)]
    out = _rollouts(*padded, jnp.float32(noise), length=length)
    return jax.tree.map(lambda x: x[:e], out)


@functools.partial(jax.jit, static_argnames=("length",))
def _rollouts(keys, tasks, quality, noise, *, length: int) -> dict:
    m, tables = sim.map_arrays(), jnp.asarray(navigation.cost_tables())

    def episode(key, task, q):
        k_reset, k_steps = jax.random.split(key)

        def body(carry, k):  # the observation is carried, as in online_sac.play: next_obs[t] is obs[t + 1]
            state, obs = carry
            action = navigation.behaviour_action(k, q, navigation.expert_action(state, obs, tables, m), noise)
            state, reward, collided, reached = sim.step(state, action, m)
            next_obs = sim.observe(state, m)
            return (state, next_obs), dict(obs=obs, act=action, reward=reward, reached=reached, collided=collided,
                                           next_obs=next_obs)

        start = sim.reset(k_reset, task, m)
        _, out = jax.lax.scan(body, (start, sim.observe(start, m)), jax.random.split(k_steps, length))
        return out

    return jax.vmap(episode)(keys, tasks, quality)


def task_key(seed: int, task_id: int, stream: int) -> jax.Array:
    """The key of one random stream of one task's data (the ladder's and the learning runs' alike)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), task_id), stream)


def _keys(settings: DroneGenerationSettings, task_id: int, stream: int, n: int) -> jax.Array:
    return jax.random.split(task_key(settings.seed, task_id, stream), n)


def find_medium_rungs(tasks: list, settings: DroneGenerationSettings) -> dict:
    """{task: (medium rung, mean probe return per rung)}: the first rung whose mean probe return reaches
    medium_success x the expert rung's. All probes of all tasks run as one batch."""
    r, p = settings.num_rungs, settings.probe_episodes
    per_rung = jnp.asarray([ladder.rung_quality(k, r) for k in range(r)], jnp.float32)
    quality = jnp.tile(jnp.repeat(per_rung, p), len(tasks))
    keys = jnp.concatenate([_keys(settings, maps.task_index(t), 99, r * p) for t in tasks])
    ids = jnp.repeat(jnp.asarray([maps.task_index(t) for t in tasks], jnp.int32), r * p)
    out = rollouts(keys, ids, quality, length=settings.episode_length, noise=settings.expert_noise)
    returns = np.asarray(out["reward"]).sum(-1).reshape(len(tasks), r, p).mean(-1)
    result = {}
    for task, row in zip(tasks, returns):
        above = np.flatnonzero(row >= settings.medium_success * row[-1])
        result[task] = (int(above[0]) if above.size else r - 1, row.tolist())
    return result


def generate_files(todo: list, settings: DroneGenerationSettings, data_dir: str) -> list:
    """Generates and writes every (task, kind) of `todo` (one batch of episodes). Returns per-file summaries."""
    start = time.time()
    mediums = find_medium_rungs(sorted({t for t, _ in todo}, key=maps.task_index), settings)
    keys, ids, quality, parts = [], [], [], []
    for task, kind in todo:
        n, tid = settings.episodes_for(kind), maps.task_index(task)
        rungs = ladder.episode_rungs(kind, n, mediums[task][0], settings.num_rungs)
        keys.append(_keys(settings, tid, ladder.KINDS.index(kind), n))
        ids.append(np.full(n, tid, np.int32))
        quality.append(np.asarray([ladder.rung_quality(k, settings.num_rungs) for k in rungs], np.float32))
        parts.append((task, kind, rungs))
    out = jax.device_get(rollouts(jnp.concatenate(keys), jnp.asarray(np.concatenate(ids)),
                                  jnp.asarray(np.concatenate(quality)), length=settings.episode_length,
                                  noise=settings.expert_noise))
    summaries, offset = [], 0
    for task, kind, rungs in parts:
        n = len(rungs)
        data = to_dataset({k: v[offset:offset + n] for k, v in out.items()}, rungs, maps.task_index(task))
        offset += n
        medium, probe_returns = mediums[task]
        ds.save(ladder.file_path(data_dir, settings, task, kind), data,
                dict(settings.key(task, kind), medium_rung=medium, probe_returns=probe_returns))
        summaries.append(dict(task=task, kind=kind, episodes=n, medium_rung=medium,
                              mean_return=float(data.episode_returns[:, 0].mean())))
        print(f"  {task} {kind}: {n} episodes, mean return {summaries[-1]['mean_return']:.1f} (medium rung "
              f"{medium})", flush=True)
    print(f"drone data: {len(todo)} file(s) in {time.time() - start:.1f}s", flush=True)
    return summaries


def to_dataset(out: dict, rungs: np.ndarray, task_id: int) -> ds.EpisodeDataset:
    """Rollouts (host arrays) -> EpisodeDataset; the progress reward is both `raw_rewards` and `rewards`."""
    return ladder.episode_dataset(out["obs"], out["act"], out["reward"], out["reward"], out["next_obs"], out["reached"],
                           rungs, task_id)


def ensure_datasets(assignment: dict, settings: DroneGenerationSettings, data_dir: str, generate: bool = True) -> dict:
    """Makes sure a file exists for every (task -> kind); generates the missing or invalid ones. -> {task: path}.
    generate=False: a missing or invalid file raises DatasetError instead."""
    paths, todo = ladder.cached_files(assignment, settings, data_dir, FILES, generate)
    if todo:
        print(f"generating {len(todo)} drone data file(s) in {data_dir}", flush=True)
        if settings.recipe == "learning_run":
            from srtd_jax.benchmarks.drone import learning_run
            start = time.time()
            learning_run.generate_files(todo, settings, data_dir, to_dataset,
                                        log=lambda line: print(line, flush=True))
            print(f"drone data: {len(todo)} file(s) in {time.time() - start:.1f}s", flush=True)
        else:
            generate_files(todo, settings, data_dir)
    return paths


@functools.lru_cache(maxsize=None)
def expert_reference(episode_length: int, episodes: int = 32, seed: int = 777) -> np.ndarray:
    """(num_tasks,) the best episodic return of the noise-free expert over `episodes` episodes per task: the
    normaliser of drone returns (the paper's is a fully trained online agent's best return; none is trained here)."""
    t = len(maps.DRONE_TASKS)
    keys = jax.random.split(jax.random.PRNGKey(seed), t * episodes)
    tasks = jnp.repeat(jnp.arange(t, dtype=jnp.int32), episodes)
    out = rollouts(keys, tasks, jnp.ones(t * episodes), length=episode_length, noise=0.0)
    return np.asarray(out["reward"]).sum(-1).reshape(t, episodes).max(-1)
