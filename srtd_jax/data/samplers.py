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
    """`sample(data, per_seed, key) -> Transition` on [s, c]. per_seed is cond (E, L + 1, C), or
    (cond, augmentation table of Transitions), in which case `aug_count` rows of every batch come from it, or
    (cond, table, real rows of the table) for a padded table (packed cells)."""
    def sample(data, per_seed, key):
        cond, aug, aug_size = (tuple(per_seed) + (None, None))[:3] if isinstance(per_seed, tuple) \
            else (per_seed, None, None)
        return windows.sample_transitions(data, cond, key, batch_size, gamma, aug,
                                          aug_count if aug is not None else 0, aug_size)
    return sample


def stratified_table(task_ids, num_tasks: int):
    """(table (T, M) int32: every task's episode indices, padded by repetition; counts (T,): its episodes) for
    stratified_transition_sampler. task_ids: (E,) host array of episode task ids."""
    task_ids = np.asarray(task_ids)
    counts = np.array([(task_ids == t).sum() for t in range(num_tasks)])
    if (counts == 0).any():
        raise ValueError(f"task-stratified sampling needs episodes of every task; none for task ids {np.flatnonzero(counts == 0).tolist()}")
    table = np.zeros((num_tasks, counts.max()), np.int32)
    for t in range(num_tasks):
        idx = np.flatnonzero(task_ids == t)
        table[t] = np.resize(idx, counts.max())  # padded by repetition; draws use only the first counts[t]
    return table, counts.astype(np.int32)


def stratified_transition_sampler(batch_size: int, gamma: float, task_ids, num_tasks: int):
    """`sample(data, per_seed, key) -> Transition` with a leading task axis (T, batch_size // T, ...): every task's
    rows come from its own episodes (for per-task losses). task_ids: (E,) host array of episode task ids. per_seed is
    cond (E, L + 1, C), or (cond, table, counts, full) for packed cells: each cell's stratified_table padded to a
    common width, and whether the cell's own data has every episode at full length (it then draws the steps as
    unpadded data without `lengths` does, so a packed cell draws what it draws alone)."""
    fixed = tuple(map(jnp.asarray, stratified_table(task_ids, num_tasks)))
    per_task = batch_size // num_tasks
    shape = (num_tasks, per_task)

    def sample(data, per_seed, key):
        packed = isinstance(per_seed, tuple)
        cond, (table, counts) = (per_seed[0], per_seed[1:3]) if packed else (per_seed, fixed)
        k_e, k_t = jax.random.split(key)
        slot = jax.random.randint(k_e, shape, 0, counts[:, None])
        e = jnp.take_along_axis(table, slot, axis=1)
        if data.lengths is None:
            t = jax.random.randint(k_t, shape, 0, data.obs.shape[1])
        else:  # uniform over the drawn episode's real steps
            t = jnp.floor(jax.random.uniform(k_t, shape) * data.lengths[e]).astype(jnp.int32)
            if packed:
                t = jnp.where(per_seed[3], jax.random.randint(k_t, shape, 0, data.lengths[e]), t)
        return windows.transition_at(data, cond, e, t, gamma)

    return sample
