"""MT10 behind the registry's interface: sizes, data generation and evaluation (loads Meta-World and JAX)."""
from __future__ import annotations

from srtd_jax.benchmarks.mt10 import env as mw
from srtd_jax.benchmarks.mt10 import evaluation, generate
from srtd_jax.benchmarks.mt10.declaration import DECLARATION
from srtd_jax.benchmarks.registry import Suite


def _evaluate(act, actor_params, cond_params, **settings):
    return evaluation.evaluate(act, actor_params, cond_params, action_dim=mw.ACTION_DIM, **settings)


def _ensure(assignment, settings, d):
    return generate.ensure_datasets(assignment, settings, d.data_dir, d.num_workers, generate=d.generate)


SUITE = Suite(DECLARATION, mw.OBS_DIM, mw.ACTION_DIM, generate.settings_from_config, _ensure, _evaluate)
