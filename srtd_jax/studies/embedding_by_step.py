"""How well a trained task encoder's z_t names the task as an episode goes on: the k-NN task accuracy of z_t by
episode step t = 1 .. L (the window holds the min(t, n) transitions before step t). The policy is conditioned on
z_t recomputed online, so a z that names the task only once its window has filled conditions the first steps of
every episode on a blur."""
from __future__ import annotations

import jax
import numpy as np

from srtd_jax.studies.embedding_map import KNN_K, episode_embeddings, knn_predict
from srtd_jax.studies.trained import check_has_encoders, trained_encoder

REFERENCE_POINTS = 3000  # the neighbours are drawn from a sample of every step of every kept episode
QUERY_POINTS = 600  # points scored per bucket


def buckets(starts, length: int) -> list[tuple[int, int]]:
    """[(first, last)] step ranges from increasing bucket starts; the last ends at `length` (steps 1 .. length).
    A ValueError names starts that are not increasing from 1 or lie beyond the episode."""
    starts = [int(s) for s in starts]
    if not starts or starts[0] != 1 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise ValueError(f"bucket starts {starts} must increase from 1")
    if starts[-1] > length:
        raise ValueError(f"bucket start {starts[-1]} lies beyond the episode length {length}")
    return [(a, b - 1) for a, b in zip(starts, starts[1:])] + [(starts[-1], length)]


def accuracy_by_step(z: np.ndarray, task_ids: np.ndarray, ranges, k: int = KNN_K,
                     reference_points: int = REFERENCE_POINTS, query_points: int = QUERY_POINTS,
                     rng_seed: int = 0, lengths=None) -> list[float]:
    """k-NN task accuracy of the z_t of each step range. z (E, L, D) and task_ids (E,) of E episodes; ranges:
    [(first, last)] steps in 1 .. L; lengths (E,): real steps of each episode (None: all L), the padding after them
    is left out. Every range is scored on up to `query_points` of its points against the same reference sample of
    up to `reference_points` points of all steps (a point never votes for itself). -> [accuracy in [0, 1] per range]"""
    z, task_ids = np.asarray(z), np.asarray(task_ids)
    if z.ndim != 3 or task_ids.shape != z.shape[:1]:
        raise ValueError(f"z {z.shape} and task ids {task_ids.shape}: expected (E, L, D) and (E,)")
    episodes, length, dim = z.shape
    flat, ids = z.reshape(-1, dim), np.repeat(task_ids, length)
    steps = np.tile(np.arange(1, length + 1), episodes)
    real = np.ones(len(flat), bool) if lengths is None else steps <= np.repeat(np.asarray(lengths), length)
    rng = np.random.default_rng(rng_seed)
    candidates = np.flatnonzero(real)
    reference = rng.choice(candidates, min(reference_points, len(candidates)), replace=False)
    if not 0 < k < len(reference):
        raise ValueError(f"k={k} needs 0 < k < number of reference points ({len(reference)})")
    scores = []
    for first, last in ranges:
        inside = np.flatnonzero((steps >= first) & (steps <= last) & real)
        if not len(inside):
            raise ValueError(f"no points at steps {first}-{last} (episodes of {length} steps)")
        query = rng.choice(inside, min(query_points, len(inside)), replace=False)
        same = query[:, None] == reference[None, :]
        predicted = knn_predict(flat[query], flat[reference], ids[reference], k, same)
        scores.append(float((predicted == ids[query]).mean()))
    return scores


def run_accuracies(cfg, workdir: str, seeds, starts, episodes_per_task: int, k: int = KNN_K) -> dict:
    """accuracy_by_step for each of `seeds` of a finished run's trained task encoder (its latest checkpoint), on
    the same episodes of its training data for every seed. -> {'ranges', 'per_seed' (seeds, ranges), 'n',
    'episode_length', 'tasks', 'episodes'}"""
    for seed in seeds:  # before anything loads; indexing the stacked params would clamp a seed out of range
        check_has_encoders(cfg, workdir, seed)
    data, device_data, nets, params = trained_encoder(cfg, workdir, None)
    stacked = params["task"]["encoder"]
    per_seed, ranges = [], None
    for seed in seeds:
        z, tasks, kept = episode_embeddings(nets, jax.tree.map(lambda x: x[seed], stacked), data.task_ids[:, 0],
                                            device_data, cfg.encoder.n, episodes_per_task)
        ranges = ranges or buckets(starts, z.shape[1])
        lengths = None if data.lengths is None else np.asarray(data.lengths)[kept]
        per_seed.append(accuracy_by_step(z, tasks, ranges, k, lengths=lengths))
    return {"ranges": ranges, "per_seed": per_seed, "n": int(cfg.encoder.n), "episode_length": int(z.shape[1]),
            "tasks": int(len(np.unique(tasks))), "episodes": int(len(tasks))}
