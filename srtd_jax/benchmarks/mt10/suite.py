"""MT10 behind the registry's interface: sizes, data generation and evaluation (loads Meta-World and JAX)."""
from __future__ import annotations

import numpy as np

from srtd_jax.benchmarks.mt10 import env as mw
from srtd_jax.benchmarks.mt10 import evaluation, generate
from srtd_jax.benchmarks.mt10.declaration import DECLARATION
from srtd_jax.benchmarks.registry import Suite


def _evaluate(act, actor_params, cond_params, *, data_cfg, **settings):
    del data_cfg  # success needs no reference
    return evaluation.evaluate(act, actor_params, cond_params, action_dim=mw.ACTION_DIM, **settings)


def _ensure(assignment, settings, d):
    return generate.ensure_datasets(assignment, settings, d.data_dir, d.num_workers, generate=d.generate)


def _relabel(task_ids, first_obs, next_obs, actions):
    from srtd_jax.benchmarks.mt10.relabel import RewardRelabeler  # builds Meta-World environments: only when asked
    rewards = np.zeros(len(task_ids))
    for task_id in np.unique(task_ids):
        relabeler = RewardRelabeler(mw.MT10_TASKS[int(task_id)])
        for i in np.flatnonzero(task_ids == task_id):
            rewards[i] = relabeler.reward(relabeler.goal_of(first_obs[i]), next_obs[i], actions[i])
    return rewards


SUITE = Suite(DECLARATION, mw.OBS_DIM, mw.ACTION_DIM, generate.settings_from_config, _ensure, _evaluate, _relabel)
