"""MT10 offline data of graded behaviour quality (MR / RP / ME) from a ladder of behaviour policies (the other
recipe, data.recipe='learning_run', is in learning_run.py; ensure_datasets serves both).

The paper records one SAC learning run per task. Here a learning run is emulated by a ladder of
`num_rungs` behaviour policies of quality q = k / (num_rungs - 1), k = 0 .. num_rungs - 1: at every
step, with probability q the action is Meta-World's scripted expert action plus Gaussian noise of std
`expert_noise * (1 - q)`, otherwise a uniformly random action. Rung 0 is uniformly random, the last
rung is the pure scripted expert. The "medium" rung m of a task is the first rung whose success rate
over `probe_episodes` probe episodes reaches `medium_success`. How the MR / RP / ME kinds spread their episodes
over the rungs is the ladder's (srtd_jax/data/ladder.py).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import multiprocessing as mp
import time
import warnings

import numpy as np

from srtd_jax.benchmarks.mt10 import env as mw
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder


@dataclasses.dataclass(frozen=True)
class GenerationSettings(ladder.LadderSettings):
    """The ladder's settings with MT10's versions in the cache key."""

    def versions(self) -> dict:
        # the installed distribution's version: Meta-World 3.x has no __version__, and an upgrade must miss the cache
        out = dict(ladder_version=ladder.LADDER_VERSION, metaworld_version=importlib.metadata.version("metaworld"))
        if self.recipe == "learning_run":  # a kind file is made from its task's run: a new run makes new files
            out["learning_run_version"] = LEARNING_RUN_VERSION
        return out


# bump when the training or the recording of a learning run changes, to invalidate cached runs and their kinds
LEARNING_RUN_VERSION = 2

settings_from_config = functools.partial(ladder.settings_from_config, cls=GenerationSettings)
FILES = ladder.FileSpec(mw.OBS_DIM, mw.ACTION_DIM, mw.task_index)  # what every MT10 file must hold


def record_episode(env: mw.MT10Env, goal: int, length: int, choose, label=None) -> dict:
    """One episode from goal position `goal`: choose(obs) -> action (4,) float32 in [-1, 1] at every step, and with
    label(obs) -> (4,) each visited state's label too (DAgger's). -> per-step arrays obs, act, raw, next, succ (and
    label). Each is called once per step, and once in all when they are the same function: Meta-World's scripted
    policies can keep state between calls (door-open's succeeds in 2 of 10 episodes when asked twice per step,
    9 of 10 when asked once)."""
    obs = env.reset(goal)
    out = {k: [] for k in ("obs", "act", "raw", "next", "succ", "label")}
    for _ in range(length):
        action = choose(obs)
        if label is not None:
            out["label"].append(action if label is choose else label(obs))
        next_obs, reward, success = env.step(action)
        for k, v in zip(("obs", "act", "raw", "next", "succ"), (obs, action, reward, next_obs, success)):
            out[k].append(v)
        obs = next_obs
    return {k: np.asarray(v) for k, v in out.items() if k != "label" or label is not None}


def run_episode(env: mw.MT10Env, expert, goal: int, quality: float, settings: GenerationSettings,
                rng: np.random.Generator) -> dict:
    """One episode of the behaviour policy of the given quality; returns per-step arrays."""
    def choose(obs):
        if rng.random() < quality:
            action = expert.get_action(obs) + rng.normal(0.0, settings.expert_noise * (1.0 - quality), 4)
        else:
            action = rng.uniform(-1.0, 1.0, 4)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
    return record_episode(env, goal, settings.episode_length, choose)


def write_kind(episodes: list, sources: np.ndarray, task: str, kind: str, settings, data_dir: str, meta: dict,
               medium_text: str, start: float) -> dict:
    """Writes the (task, kind) file of recorded episodes (record_episode's arrays), each episode's behaviour source
    (its rung or snapshot, (E,)) in the rungs field and `meta` beside the settings' key; prints and returns its
    summary."""
    stack = lambda k: np.stack([e[k] for e in episodes])
    raw = stack("raw").astype(np.float32)
    data = ladder.episode_dataset(stack("obs"), stack("act"), raw, ladder.relative_rewards(raw), stack("next"),
                                  stack("succ"), sources, mw.task_index(task))
    ds.save(ladder.file_path(data_dir, settings, task, kind), data, dict(settings.key(task, kind), **meta))
    summary = dict(task=task, kind=kind, episodes=len(episodes), success_rate=float(data.successes.any(axis=1).mean()),
                   mean_return=float(data.episode_returns[:, 0].mean()), seconds=time.time() - start)
    print(f"  {task} {kind}: {len(episodes)} episodes, success {summary['success_rate']:.2f}, "
          f"return {summary['mean_return']:.1f} ({medium_text}, {summary['seconds']:.0f}s)", flush=True)
    return summary


def find_medium_rung(env, expert, settings: GenerationSettings, task_id: int) -> tuple[int, list]:
    """First rung whose probe success rate reaches `medium_success` (the last rung if none does)."""
    rng = np.random.default_rng([settings.seed, task_id, 99])
    rates = []
    for rung in range(settings.num_rungs):
        q = ladder.rung_quality(rung, settings.num_rungs)
        wins = [run_episode(env, expert, int(rng.integers(env.num_goals)), q, settings, rng)["succ"].any()
                for _ in range(settings.probe_episodes)]
        rates.append(float(np.mean(wins)))
        if rates[-1] >= settings.medium_success:
            return rung, rates
    return settings.num_rungs - 1, rates


def generate_task(task: str, kinds: list, settings: GenerationSettings, data_dir: str) -> list:
    """Generates (and writes) the requested kinds of one task. Returns per-kind summaries."""
    warnings.filterwarnings("ignore", message="Constant.*may be too high")  # metaworld's scripted policies, every step
    task_id = mw.task_index(task)
    env, expert = mw.MT10Env(task), mw.scripted_expert(task)
    medium, probe_rates = find_medium_rung(env, expert, settings, task_id)
    summaries = []
    for kind in kinds:
        start = time.time()
        n = settings.episodes_for(kind)
        rungs = ladder.episode_rungs(kind, n, medium, settings.num_rungs)
        rng = np.random.default_rng([settings.seed, task_id, ladder.KINDS.index(kind)])
        episodes = []
        for i, rung in enumerate(rungs):
            goal = int(rng.integers(env.num_goals))
            quality = ladder.rung_quality(rung, settings.num_rungs)
            episodes.append(run_episode(env, expert, goal, quality, settings, rng))
            if (i + 1) % 25 == 0 and i + 1 < n:
                print(f"  {task} {kind}: {i + 1}/{n} episodes", flush=True)
        summaries.append(write_kind(episodes, rungs, task, kind, settings, data_dir,
                                    dict(medium_rung=medium, probe_success=probe_rates), f"medium rung {medium}",
                                    start))
    return summaries


def _worker(args):
    task, kinds, settings, data_dir = args
    if settings.recipe == "learning_run":
        from srtd_jax.benchmarks.mt10 import learning_run  # loads JAX: only in a learning run's workers
        return learning_run.generate_task(task, kinds, settings, data_dir)
    return generate_task(*args)


def ensure_datasets(assignment: dict, settings: GenerationSettings, data_dir: str,
                    num_workers: int = 2, generate: bool = True) -> dict:
    """Makes sure a file exists for every (task -> kind) in `assignment`; generates the missing ones.

    Valid cached files are reused (the file name is a hash of the settings); invalid ones are
    regenerated. Returns {task: path}. Work is spread over `num_workers` processes by task.
    generate=False: a missing or invalid file raises DatasetError instead.
    """
    if settings.episode_length > mw.MAX_PATH_LENGTH:
        raise ValueError(f"data.episode_length={settings.episode_length} exceeds Meta-World's {mw.MAX_PATH_LENGTH}")
    paths, missing = ladder.cached_files(assignment, settings, data_dir, FILES, generate)
    todo = {}
    for task, kind in missing:
        todo.setdefault(task, []).append(kind)
    if todo:
        jobs = [(task, kinds, settings, data_dir) for task, kinds in todo.items()]
        print(f"generating MT10 data for {len(jobs)} task(s) in {data_dir} with {min(num_workers, len(jobs))} process(es)", flush=True)
        start = time.time()
        if num_workers <= 1 or len(jobs) == 1:
            for i, job in enumerate(jobs):
                _worker(job)
                print(f"[{i + 1}/{len(jobs)} tasks] {time.time() - start:.0f}s", flush=True)
        else:
            with mp.get_context("spawn").Pool(min(num_workers, len(jobs))) as pool:
                for i, _ in enumerate(pool.imap_unordered(_worker, jobs)):
                    print(f"[{i + 1}/{len(jobs)} tasks] {time.time() - start:.0f}s", flush=True)
    return paths
