"""MT10 offline data of graded behaviour quality (MR / RP / ME) from a ladder of behaviour policies.

The paper records one SAC learning run per task. Here a learning run is emulated by a ladder of
`num_rungs` behaviour policies of quality q = k / (num_rungs - 1), k = 0 .. num_rungs - 1: at every
step, with probability q the action is Meta-World's scripted expert action plus Gaussian noise of std
`expert_noise * (1 - q)`, otherwise a uniformly random action. Rung 0 is uniformly random, the last
rung is the pure scripted expert. The "medium" rung m of a task is the first rung whose success rate
over `probe_episodes` probe episodes reaches `medium_success`.

  MR: episodes spread evenly over rungs 0 .. m (the run until the first policy that succeeds).
  ME: half the episodes from the expert rung, the rest spread over rungs m+1 .. last-1 (or m when
      there is none between); i.e. medium-to-expert data.
  RP: episodes spread evenly over all rungs (the whole run, MR and ME together).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
import warnings

import numpy as np

from srtd_jax.data import dataset as ds
from srtd_jax.envs import metaworld_mt10 as mw

KINDS = ("MR", "RP", "ME")
LADDER_VERSION = 1  # bump when the ladder or recording changes, to invalidate caches


@dataclasses.dataclass(frozen=True)
class GenerationSettings:
    """Everything that determines a generated file (and hence its cache key)."""

    episode_length: int = 200
    episodes: tuple = (("MR", 150), ("RP", 100), ("ME", 50))
    num_rungs: int = 11
    expert_noise: float = 0.3
    probe_episodes: int = 4
    medium_success: float = 0.5
    seed: int = 0

    def episodes_for(self, kind: str) -> int:
        return dict(self.episodes)[kind]

    def versions(self) -> dict:
        """What else a file depends on (code and library versions); part of the cache key."""
        import metaworld
        return dict(ladder_version=LADDER_VERSION, metaworld_version=getattr(metaworld, "__version__", "unknown"))

    def key(self, task: str, kind: str) -> dict:
        return dict(task=task, kind=kind, **self.versions(),
                    **{k: v for k, v in dataclasses.asdict(self).items() if k != "episodes"},
                    num_episodes=self.episodes_for(kind))


def settings_from_config(cfg, cls=GenerationSettings):
    """Builds settings (of class `cls`, a GenerationSettings) from the `data` block of a run config."""
    return cls(
        episode_length=cfg.episode_length,
        episodes=(("MR", cfg.episodes_mr), ("RP", cfg.episodes_rp), ("ME", cfg.episodes_me)),
        num_rungs=cfg.num_rungs, expert_noise=cfg.expert_noise, probe_episodes=cfg.probe_episodes,
        medium_success=cfg.medium_success, seed=cfg.seed)


def file_path(data_dir: str, settings: GenerationSettings, task: str, kind: str) -> str:
    digest = hashlib.sha256(json.dumps(settings.key(task, kind), sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(data_dir, f"{task}_{kind}_{digest}.npz")


def rung_quality(rung: int, num_rungs: int) -> float:
    return rung / (num_rungs - 1)


def run_episode(env: mw.MT10Env, expert, goal: int, quality: float, settings: GenerationSettings,
                rng: np.random.Generator) -> dict:
    """One episode of the behaviour policy of the given quality; returns per-step arrays."""
    length = settings.episode_length
    obs = env.reset(goal)
    out = {k: [] for k in ("obs", "act", "raw", "next", "succ")}
    for _ in range(length):
        if rng.random() < quality:
            action = expert.get_action(obs) + rng.normal(0.0, settings.expert_noise * (1.0 - quality), 4)
        else:
            action = rng.uniform(-1.0, 1.0, 4)
        action = np.clip(action, -1.0, 1.0).astype(np.float32)
        next_obs, reward, success = env.step(action)
        for k, v in zip(out, (obs, action, reward, next_obs, success)):
            out[k].append(v)
        obs = next_obs
    return {k: np.asarray(v) for k, v in out.items()}


def find_medium_rung(env, expert, settings: GenerationSettings, task_id: int) -> tuple[int, list]:
    """First rung whose probe success rate reaches `medium_success` (the last rung if none does)."""
    rng = np.random.default_rng([settings.seed, task_id, 99])
    rates = []
    for rung in range(settings.num_rungs):
        q = rung_quality(rung, settings.num_rungs)
        wins = [run_episode(env, expert, int(rng.integers(env.num_goals)), q, settings, rng)["succ"].any()
                for _ in range(settings.probe_episodes)]
        rates.append(float(np.mean(wins)))
        if rates[-1] >= settings.medium_success:
            return rung, rates
    return settings.num_rungs - 1, rates


def episode_rungs(kind: str, num_episodes: int, medium: int, num_rungs: int) -> np.ndarray:
    """The rung of every episode of a dataset kind (see the module docstring)."""
    spread = lambda lo, hi, n: lo + (np.arange(n) * (hi - lo + 1)) // max(n, 1)  # even over [lo, hi]
    last = num_rungs - 1
    if kind == "MR":
        return spread(0, medium, num_episodes)
    if kind == "RP":
        return spread(0, last, num_episodes)
    if kind == "ME":
        n_expert = (num_episodes + 1) // 2
        lo, hi = (medium + 1, last - 1) if medium + 1 <= last - 1 else (medium, medium)
        return np.concatenate([np.full(n_expert, last), spread(lo, hi, num_episodes - n_expert)])
    raise ValueError(f"unknown dataset kind {kind!r}; valid kinds: {', '.join(KINDS)}")


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
        rungs = episode_rungs(kind, n, medium, settings.num_rungs)
        rng = np.random.default_rng([settings.seed, task_id, KINDS.index(kind)])
        episodes = []
        for i, rung in enumerate(rungs):
            goal = int(rng.integers(env.num_goals))
            episodes.append(run_episode(env, expert, goal, rung_quality(rung, settings.num_rungs), settings, rng))
            if (i + 1) % 25 == 0 and i + 1 < n:
                print(f"  {task} {kind}: {i + 1}/{n} episodes", flush=True)
        stack = lambda k: np.stack([e[k] for e in episodes])
        raw = stack("raw").astype(np.float32)
        relative = np.diff(raw, axis=1, prepend=raw[:, :1])  # r_t - r_{t-1}, 0 at t = 0
        data = episode_dataset(stack("obs"), stack("act"), raw, relative, stack("next"), stack("succ"), rungs, task_id)
        meta = dict(settings.key(task, kind), medium_rung=medium, probe_success=probe_rates)
        ds.save(file_path(data_dir, settings, task, kind), data, meta)
        summary = dict(task=task, kind=kind, episodes=n, medium_rung=medium,
                       success_rate=float(data.successes.any(axis=1).mean()),
                       mean_return=float(data.episode_returns[:, 0].mean()), seconds=time.time() - start)
        print(f"  {task} {kind}: {n} episodes, success {summary['success_rate']:.2f}, "
              f"return {summary['mean_return']:.1f} (medium rung {medium}, {summary['seconds']:.0f}s)", flush=True)
        summaries.append(summary)
    return summaries


def episode_dataset(obs, actions, raw_rewards, rewards, next_obs, successes, rungs, task_id: int) -> ds.EpisodeDataset:
    """Per-step arrays of E episodes of L steps ((E, L, ...)) and each episode's rung (E,) -> EpisodeDataset with
    timeouts at the last step, no terminals, and every step's episode return of `raw_rewards`."""
    raw = np.asarray(raw_rewards, np.float32)
    e, length = raw.shape
    timeouts = np.zeros((e, length), bool)
    timeouts[:, -1] = True
    per_step = lambda v: np.broadcast_to(np.asarray(v)[:, None], (e, length))
    return ds.EpisodeDataset(
        observations=np.asarray(obs, np.float32), actions=np.asarray(actions, np.float32),
        raw_rewards=raw, rewards=np.asarray(rewards, np.float32),
        next_observations=np.asarray(next_obs, np.float32), terminals=np.zeros((e, length), bool),
        timeouts=timeouts, successes=np.asarray(successes, bool),
        task_ids=np.full((e, length), task_id, np.int32), episode_ids=per_step(np.arange(e)).astype(np.int32),
        episode_returns=per_step(raw.sum(axis=1)).astype(np.float32), rungs=per_step(rungs).astype(np.int32))


def cached_files(assignment: dict, settings, data_dir: str, generate: bool = True) -> tuple[dict, list]:
    """({task: path}, [(task, kind) to generate]) for an assignment: valid cached files are reused (the file name
    is a hash of settings.key); invalid ones are listed for regeneration. generate=False: a missing or invalid
    file raises DatasetError instead."""
    paths, todo = {}, []
    for task, kind in assignment.items():
        path = paths[task] = file_path(data_dir, settings, task, kind)
        if not generate:
            ds.load(path, expected_meta=settings.key(task, kind))  # raises DatasetError naming the file
            continue
        if os.path.exists(path):
            try:
                ds.load(path, expected_meta=settings.key(task, kind))
                continue
            except ds.DatasetError as err:
                print(f"regenerating {path}: {err}", file=sys.stderr, flush=True)
        todo.append((task, kind))
    return paths, todo


def _worker(args):
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
    paths, missing = cached_files(assignment, settings, data_dir, generate)
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
