"""Batch samplers `sample(data, per_seed, key) -> batch`, drawing inside jit from the on-device dataset: windows for
the encoder phase, transitions on [s, c] for offline RL (optionally with augmented rows, or stratified by task)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.data import windows


def window_sampler(batch_size: int, n: int):
    """`sample(data, per_seed, key) -> WindowBatch` for the encoder phase."""
    return lambda data, per_seed, key: windows.sample_windows(data, key, batch_size, n)


def transition_sampler(batch_size: int, gamma: float, aug_count: int = 0):
    """`sample(data, per_seed, key) -> Transition` on [s, c]. per_seed is cond (E, L + 1, C) or
    (cond, augmentation table of Transitions), in which case `aug_count` rows of every batch come from it."""
    def sample(data, per_seed, key):
        cond, aug = per_seed if isinstance(per_seed, tuple) else (per_seed, None)
        return windows.sample_transitions(data, cond, key, batch_size, gamma, aug, aug_count if aug is not None else 0)
    return sample


def stratified_transition_sampler(batch_size: int, gamma: float, task_ids, num_tasks: int):
    """`sample(data, cond, key) -> Transition` with a leading task axis (T, batch_size // T, ...): every task's
    rows come from its own episodes (for per-task losses). task_ids: (E,) host array of episode task ids."""
    task_ids = np.asarray(task_ids)
    counts = np.array([(task_ids == t).sum() for t in range(num_tasks)])
    if (counts == 0).any():
        raise ValueError(f"task-stratified sampling needs episodes of every task; none for task ids {np.flatnonzero(counts == 0).tolist()}")
    table = np.zeros((num_tasks, counts.max()), np.int32)
    for t in range(num_tasks):
        idx = np.flatnonzero(task_ids == t)
        table[t] = np.resize(idx, counts.max())  # padded by repetition; draws use only the first counts[t]
    table, counts, per_task = jnp.asarray(table), jnp.asarray(counts), batch_size // num_tasks

    def sample(data, cond, key):
        length = data.obs.shape[1]
        k_e, k_t = jax.random.split(key)
        slot = jax.random.randint(k_e, (num_tasks, per_task), 0, counts[:, None])
        e = jnp.take_along_axis(table, slot, axis=1)
        if data.lengths is None:
            t = jax.random.randint(k_t, (num_tasks, per_task), 0, length)
        else:  # uniform over the drawn episode's real steps
            t = jnp.floor(jax.random.uniform(k_t, (num_tasks, per_task)) * data.lengths[e]).astype(jnp.int32)
        return windows.transition_at(data, cond, e, t, gamma)

    return sample
