"""Episodes held out from the encoder phase, so the decoders' imagination can be checked on data they never fit."""
from __future__ import annotations

import numpy as np


def holdout_split(task_ids: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per task, round(fraction x its episodes) episodes (at least 1 when fraction > 0, never all of them) drawn
    by a generator seeded with (seed, task id). task_ids: (E,) episode task ids.
    -> (training episode indices, held-out episode indices), each sorted."""
    task_ids = np.asarray(task_ids)
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"holdout fraction must be in [0, 1), got {fraction}")
    held = []
    for task in np.unique(task_ids):
        own = np.flatnonzero(task_ids == task)
        count = min(max(int(round(fraction * own.size)), 1 if fraction > 0 else 0), own.size - 1)
        if count > 0:
            held.append(np.random.default_rng([seed, int(task)]).choice(own, count, replace=False))
    held = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    return np.setdiff1d(np.arange(task_ids.size), held), held
