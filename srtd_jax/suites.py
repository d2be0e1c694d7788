"""Benchmark suites: what differs between MT10 and drone navigation (tasks, sizes, data, evaluation), so that the
launcher, the methods and the sweep stay suite-agnostic. `cfg.suite` picks one."""
from __future__ import annotations

from typing import Callable, NamedTuple


class Suite(NamedTuple):
    """tasks: task names in id order; metric: what evaluation scores mean (tables, summaries);
    settings(data_cfg) -> generation settings; ensure(assignment, settings, data_cfg) -> {task: path};
    evaluate(act, actor_params, cond_params, cfg, normalizer, tasks, log) -> (seeds, tasks, episodes) scores."""

    name: str
    tasks: tuple
    obs_dim: int
    action_dim: int
    metric: str
    settings: Callable
    ensure: Callable
    evaluate: Callable


def _mt10() -> Suite:
    from srtd_jax.data import mt10_generate
    from srtd_jax.envs import metaworld_mt10 as mw

    def evaluate(act, actor_params, cond_params, cfg, normalizer, tasks, episode_length, log):
        from srtd_jax.evaluation import evaluate as mt10_evaluate
        return mt10_evaluate(act, actor_params, cond_params, num_seeds=cfg.num_seeds, normalizer=normalizer,
                             n=cfg.encoder.n, action_dim=mw.ACTION_DIM, episodes_per_task=cfg.eval.episodes_per_task,
                             episode_length=episode_length, reward_type=cfg.data.reward_type,
                             reward_scale=cfg.data.reward_scale, seed=cfg.eval.seed, tasks=tasks,
                             env_workers=cfg.eval.env_workers, log=log)

    ensure = lambda assignment, settings, d: mt10_generate.ensure_datasets(assignment, settings, d.data_dir,
                                                                           d.num_workers, generate=d.generate)
    return Suite("mt10", mw.MT10_TASKS, mw.OBS_DIM, mw.ACTION_DIM, "success flag at any step of the episode",
                 mt10_generate.settings_from_config, ensure, evaluate)


def _drone() -> Suite:
    from srtd_jax.data import drone_generate
    from srtd_jax.envs.drone import maps, sim

    def evaluate(act, actor_params, cond_params, cfg, normalizer, tasks, episode_length, log):
        from srtd_jax.drone_evaluation import evaluate as drone_evaluate
        return drone_evaluate(act, actor_params, cond_params, num_seeds=cfg.num_seeds, normalizer=normalizer,
                              n=cfg.encoder.n, episodes_per_task=cfg.eval.episodes_per_task,
                              episode_length=episode_length, reward_scale=cfg.data.reward_scale, seed=cfg.eval.seed,
                              tasks=tasks, log=log)

    ensure = lambda assignment, settings, d: drone_generate.ensure_datasets(assignment, settings, d.data_dir,
                                                                            generate=d.generate)
    return Suite("drone", maps.DRONE_TASKS, sim.OBS_DIM, sim.ACTION_DIM,
                 "episode return / the noise-free expert's best return on the task",
                 drone_generate.settings_from_config, ensure, evaluate)


_SUITES = {"mt10": _mt10, "drone": _drone}
NAMES = tuple(_SUITES)
LABELS = {"mt10": "MT10", "drone": "drone"}  # in messages: "unknown MT10 task"


def task_names(name: str) -> tuple:
    """A suite's task names in id order, without loading its data and evaluation code (jax, metaworld)."""
    if name == "mt10":
        from srtd_jax.envs.metaworld_mt10 import MT10_TASKS
        return MT10_TASKS
    if name == "drone":
        from srtd_jax.envs.drone.maps import DRONE_TASKS
        return DRONE_TASKS
    get(name)  # raises, naming the valid suites


def get(name: str) -> Suite:
    """The suite called `name`; a ValueError names the valid ones."""
    if name not in _SUITES:
        raise ValueError(f"unknown suite {name!r}; valid suites: {', '.join(NAMES)}")
    return _SUITES[name]()


def task_index(suite: str, task: str) -> int:
    """A task's id in its suite; a ValueError names the suite's valid tasks."""
    tasks = task_names(suite)
    if task not in tasks:
        raise ValueError(f"unknown {LABELS[suite]} task {task!r}; valid tasks: {', '.join(tasks)}")
    return tasks.index(task)
