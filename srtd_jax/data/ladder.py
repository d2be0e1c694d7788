"""The behaviour-quality ladder shared by the benchmarks' generators: how the MR / RP / ME kinds spread their episodes
over the rungs of a ladder of behaviour policies, the generation settings that key a cached file, and the episode
container every generator fills.

A ladder has `num_rungs` behaviour policies of quality q = k / (num_rungs - 1), k = 0 .. num_rungs - 1. The
"medium" rung m of a task is the first whose probe episodes reach `medium_success` (each benchmark measures it).

  MR: episodes spread evenly over rungs 0 .. m (the run until the first policy that succeeds).
  ME: half the episodes from the expert rung, the rest spread over rungs m+1 .. last-1 (or m when
      there is none between); i.e. medium-to-expert data.
  RP: episodes spread evenly over all rungs (the whole run, MR and ME together).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srtd_jax.data import dataset as ds

KINDS = ("MR", "RP", "ME")
LADDER_VERSION = 1  # bump when the ladder or recording changes, to invalidate caches


@dataclasses.dataclass(frozen=True)
class LadderSettings:
    """Everything that determines a generated file (and hence its cache key)."""

    episode_length: int = 200
    episodes: tuple = (("MR", 150), ("RP", 100), ("ME", 50))
    num_rungs: int = 11
    expert_noise: float = 0.3
    probe_episodes: int = 4
    medium_success: float = 0.5
    seed: int = 0
    recipe: str = "ladder"   # 'ladder' | 'learning_run' (srtd_jax/data/learning_run.py; with its `learner`)
    learner: object = None   # learning_run.LearnerSettings of a learning run

    def episodes_for(self, kind: str) -> int:
        return dict(self.episodes)[kind]

    def learner_key(self) -> dict:
        # as a JSON round trip leaves it (tuples as lists), so that a file's stored key compares equal
        return json.loads(json.dumps(dataclasses.asdict(self.learner))) if self.learner is not None else {}

    @staticmethod
    def learner_from_config(data_cfg):
        """The learning_run recipe's learner settings from a run config's `data` block: the DAgger learner's."""
        from srtd_jax.data import learning_run
        return learning_run.learner_from_config(data_cfg.learner)

    def versions(self) -> dict:
        """What else a file depends on (code and library versions); part of the cache key. Each benchmark's
        subclass says."""
        raise NotImplementedError

    def key(self, task: str, kind: str) -> dict:
        """The cache key of a (task, kind) file. A ladder's key leaves out the recipe fields (its files keep their
        names); a learning run's holds the recipe and every learner setting, and not the ladder's own fields."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("episodes", "recipe", "learner")}
        if self.recipe != "ladder":
            fields = {k: v for k, v in fields.items() if k not in ("num_rungs", "expert_noise", "probe_episodes")}
            fields.update(recipe=self.recipe, learner=self.learner_key())
        return dict(task=task, kind=kind, **self.versions(), **fields, num_episodes=self.episodes_for(kind))


def settings_from_config(cfg, cls):
    """Builds settings (of class `cls`, a LadderSettings) from the `data` block of a run config."""
    recipe = cfg.recipe
    return cls(
        episode_length=cfg.episode_length,
        episodes=(("MR", cfg.episodes_mr), ("RP", cfg.episodes_rp), ("ME", cfg.episodes_me)),
        num_rungs=cfg.num_rungs, expert_noise=cfg.expert_noise, probe_episodes=cfg.probe_episodes,
        medium_success=cfg.medium_success, seed=cfg.seed, recipe=recipe,
        learner=cls.learner_from_config(cfg) if recipe == "learning_run" else None)


def file_path(data_dir: str, settings: LadderSettings, task: str, kind: str) -> str:
    digest = hashlib.sha256(json.dumps(settings.key(task, kind), sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(data_dir, f"{task}_{kind}_{digest}.npz")


def rung_quality(rung: int, num_rungs: int) -> float:
    return rung / (num_rungs - 1)


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


def relative_rewards(raw: np.ndarray) -> np.ndarray:
    """r_t - r_{t-1} of raw rewards (..., L) along the episode's steps, 0 at t = 0: the relative reward the MT10 data
    records (and the default training reward)."""
    raw = np.asarray(raw, np.float32)
    return np.diff(raw, axis=-1, prepend=raw[..., :1])


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


class FileSpec(NamedTuple):
    """What a benchmark's dataset files must hold beyond their metadata: observation and action sizes, and the task
    id of every task name (task_index)."""

    obs_dim: int
    action_dim: int
    task_index: Callable[[str], int]


def check_file(path: str, settings, task: str, kind: str, spec: FileSpec) -> ds.EpisodeDataset:
    """Loads a generated file and checks it against what its settings promise: metadata, sizes, episode count and
    length, and the task id of every step. Raises DatasetError naming the file and the problem."""
    data, _ = ds.load(path, expected_meta=settings.key(task, kind))
    ds.validate(data, where=path, obs_dim=spec.obs_dim, action_dim=spec.action_dim)
    if data.episode_length != settings.episode_length:
        raise ds.DatasetError(f"dataset file {path} has episodes of {data.episode_length} steps, expected "
                              f"{settings.episode_length} (data.episode_length)")
    if data.num_episodes != settings.episodes_for(kind):
        raise ds.DatasetError(f"dataset file {path} has {data.num_episodes} episodes, expected "
                              f"{settings.episodes_for(kind)} ({kind})")
    wrong = np.unique(data.task_ids[data.task_ids != spec.task_index(task)])
    if wrong.size:
        raise ds.DatasetError(f"dataset file {path} is for task {task} (id {spec.task_index(task)}) but holds "
                              f"task ids {wrong.tolist()}")
    return data


def cached_files(assignment: dict, settings, data_dir: str, spec: FileSpec, generate: bool = True) -> tuple[dict, list]:
    """({task: path}, [(task, kind) to generate]) for an assignment: valid cached files are reused (the file name
    is a hash of settings.key; see check_file). An invalid file is moved aside to <path>.invalid[.k] (never deleted
    or overwritten) and listed for regeneration. A path that is not a regular file (a directory, a link) was not
    written by the generator and raises DatasetError; so does a missing or invalid file with generate=False."""
    paths, todo = {}, []
    for task, kind in assignment.items():
        path = paths[task] = file_path(data_dir, settings, task, kind)
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
            raise ds.DatasetError(f"dataset path {path} is not a regular file ({_what(path)}); the generator only "
                                  "writes its own files: move it away")
        if not generate:
            check_file(path, settings, task, kind, spec)  # raises DatasetError naming the file
            continue
        if os.path.exists(path):
            try:
                check_file(path, settings, task, kind, spec)
                continue
            except ds.DatasetError as err:
                aside = aside_path(path)
                os.replace(path, aside)
                print(f"regenerating {path} (the invalid file is kept as {aside}): {err}", file=sys.stderr,
                      flush=True)
        todo.append((task, kind))
    return paths, todo


def _what(path: str) -> str:
    return "a link" if os.path.islink(path) else "a directory" if os.path.isdir(path) else "not a file"


def aside_path(path: str) -> str:
    """The first free name of <path>.invalid, <path>.invalid.1, ..."""
    aside, k = path + ".invalid", 0
    while os.path.lexists(aside):
        k += 1
        aside = f"{path}.invalid.{k}"
    return aside
