"""A table cell's statistics beyond mean ± Student t, as the rliable library defines them (Agarwal et al. 2021,
"Deep RL at the edge of the statistical precipice"): the interquartile mean (IQM) of all runs x tasks scores with a
stratified bootstrap interval (runs resampled within each task), and the probability of improvement P(X > Y),
the Mann-Whitney probability that a run of X beats a run of Y on a task (ties count half), averaged over tasks.

Scores are arrays (runs, tasks): a cell's per-seed, per-task success rates or normalised returns."""
from __future__ import annotations

import contextlib

import numpy as np


def _rliable():
    try:
        from rliable import library, metrics
    except ImportError as err:  # the library or one of its dependencies (arch needs pandas < 3)
        raise ImportError(f"the interval statistics need the rliable library: pip install rliable 'pandas<3' ({err})") \
            from err
    return library, metrics


@contextlib.contextmanager
def _seeded(seed: int):
    """rliable's bootstraps draw their resamples from NumPy's global generator (its random_state argument is not
    used for them): seeded here, and the global state restored after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _check(scores, name: str) -> np.ndarray:
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f"{name}: scores must be a non-empty (runs, tasks) array, got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"{name}: scores must be finite")
    return scores


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """rliable's P(X > Y) (metrics.probability_of_improvement, a Mann-Whitney U statistic per task over all run
    pairs, ties half, averaged over tasks), vectorised: the bootstrap calls it thousands of times, where rliable's
    runs one scipy test per task."""
    x, y = scores_x[:, None, :], scores_y[None, :, :]
    return float(np.mean(np.mean((x > y) + 0.5 * (x == y), axis=(0, 1))))


def iqm(scores) -> float:
    """The interquartile mean of all runs x tasks scores (the middle 50%, as scipy's trim_mean(0.25))."""
    _, metrics = _rliable()
    return float(metrics.aggregate_iqm(_check(scores, "iqm")))


def iqm_interval(scores, reps: int = 2000, seed: int = 0, size: float = 0.95) -> tuple[float, float, float]:
    """(IQM, lower, upper): the stratified bootstrap's percentile interval of coverage `size`, `reps` resamples,
    deterministic per `seed`."""
    library, metrics = _rliable()
    scores = _check(scores, "iqm_interval")
    with _seeded(seed):
        point, interval = library.get_interval_estimates(
            {"cell": scores}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps, confidence_interval_size=size)
    return float(point["cell"][0]), float(interval["cell"][0, 0]), float(interval["cell"][1, 0])


def improvement(scores_x, scores_y, reps: int = 2000, seed: int = 0, size: float = 0.95) -> tuple[float, float, float]:
    """(P(X > Y), lower, upper): the probability of improvement of X over Y with its stratified bootstrap interval
    (the runs of both resampled within each task). Both arrays hold the same tasks; their run counts may differ."""
    library, _ = _rliable()
    x, y = _check(scores_x, "improvement (x)"), _check(scores_y, "improvement (y)")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"improvement: X has {x.shape[1]} tasks, Y {y.shape[1]}")
    with _seeded(seed):
        point, interval = library.get_interval_estimates(
            {"pair": [x, y]}, lambda a, b: np.array([probability_of_improvement(a, b)]), reps=reps,
            confidence_interval_size=size)
    return float(point["pair"][0]), float(interval["pair"][0, 0]), float(interval["pair"][1, 0])
