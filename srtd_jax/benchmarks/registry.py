"""The benchmarks by name (a run config's `suite`). Each lives in its own folder under srtd_jax/benchmarks/ with a
`declaration.py` (what it is and how it is reported; no JAX) and a `suite.py` (sizes, data, evaluation), so that
the launcher, the methods, the sweep and the reports stay benchmark-agnostic. Adding a benchmark: a folder with
those two modules and its name in NAMES."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

from srtd_jax.benchmarks.declaration import Declaration

NAMES = ("mt10", "drone")


class Suite(NamedTuple):
    """A benchmark's declaration with its sizes and its code.

    settings(data_cfg) -> generation settings; ensure(assignment, settings, data_cfg) -> {task: path};
    evaluate(act, actor_params, cond_params, *, num_seeds, normalizer, n, tasks, episodes_per_task, episode_length,
    seed, reward_type, first_reward, reward_scale, env_workers, data_cfg, log) -> (seeds, tasks, episodes) scores (a
    benchmark ignores the settings it has no use for; data_cfg, the run's `data` block, says how its data was made); relabel(task_ids (M,), first_obs (M, S), next_obs (M, S), actions (M, A)) ->
    (M,) the benchmark's own reward of reaching next_obs by the action in the episode that began at first_obs (raw
    observations), or None for a benchmark without a reward function for arbitrary states; reference_files(data_cfg)
    -> [path]: the files besides the datasets that its evaluation reads (made where missing), or None for none."""

    declaration: Declaration
    obs_dim: int
    action_dim: int
    settings: Callable
    ensure: Callable
    evaluate: Callable
    relabel: Callable | None = None
    reference_files: Callable | None = None

    name = property(lambda self: self.declaration.name)
    tasks = property(lambda self: self.declaration.tasks)
    score_name = property(lambda self: self.declaration.score_name)


def _module(name: str, part: str):
    if name not in NAMES:
        raise ValueError(f"unknown suite {name!r}; valid suites: {', '.join(NAMES)}")
    return importlib.import_module(f"srtd_jax.benchmarks.{name}.{part}")


def declaration(name: str) -> Declaration:
    """What the benchmark `name` declares, without loading its simulator or JAX; a ValueError names the valid ones."""
    return _module(name, "declaration").DECLARATION


def get(name: str) -> Suite:
    """The benchmark `name` with its data and evaluation code; a ValueError names the valid ones."""
    return _module(name, "suite").SUITE


def task_names(name: str) -> tuple:
    """A benchmark's task names in id order, without loading its data and evaluation code (jax, metaworld)."""
    return declaration(name).tasks


def task_index(suite: str, task: str) -> int:
    """A task's id in its benchmark; a ValueError names the benchmark's valid tasks."""
    decl = declaration(suite)
    if task not in decl.tasks:
        raise ValueError(f"unknown {decl.label} task {task!r}; valid tasks: {', '.join(decl.tasks)}")
    return decl.tasks.index(task)
