"""Drone navigation behind the registry's interface: sizes, data generation and evaluation on the built-in
simulator (loads JAX)."""
from __future__ import annotations

from srtd_jax.benchmarks.drone import evaluation, generate, sim
from srtd_jax.benchmarks.drone.declaration import DECLARATION
from srtd_jax.benchmarks.registry import Suite


def _evaluate(act, actor_params, cond_params, *, reward_type: str, first_reward: str, env_workers: int, data_cfg,
              **settings):
    del reward_type, first_reward, env_workers  # the drone's reward is the raw progress reward; its environments
    # step on the device
    reference = None
    if data_cfg.recipe == "learning_run":  # the trained agents of the data's learning runs, as the paper's
        from srtd_jax.benchmarks.drone import learning_run
        reference = learning_run.references(generate.settings_from_config(data_cfg), data_cfg.data_dir)
    return evaluation.evaluate(act, actor_params, cond_params, reference=reference, **settings)


def _reference_files(data_cfg) -> list[str]:
    """The learning runs whose trained agents normalise the scores (learning_run recipe), one file per task."""
    if data_cfg.recipe != "learning_run":
        return []
    from srtd_jax.benchmarks.drone import learning_run
    settings = generate.settings_from_config(data_cfg)
    learning_run.references(settings, data_cfg.data_dir)  # trains the missing ones
    return [learning_run.run_path(data_cfg.data_dir, settings, task) for task in DECLARATION.tasks]


def _ensure(assignment, settings, d):
    return generate.ensure_datasets(assignment, settings, d.data_dir, generate=d.generate)


SUITE = Suite(DECLARATION, sim.OBS_DIM, sim.ACTION_DIM, generate.settings_from_config, _ensure, _evaluate,
              reference_files=_reference_files)
