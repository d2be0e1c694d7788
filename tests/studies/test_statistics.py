"""The interval statistics against their definitions computed by hand: IQM, probability of improvement (ties
half), and the stratified bootstrap's intervals."""
import itertools

import numpy as np
import pytest

from srtd_jax.studies import statistics


def test_iqm_is_the_mean_of_the_middle_half():
    scores = np.array([[7.0, 0.0], [3.0, 100.0], [2.0, 5.0], [4.0, -50.0]])  # 8 scores, 2 cut at each end
    assert statistics.iqm(scores) == pytest.approx(np.mean([2.0, 3.0, 4.0, 5.0]))


def _improvement_by_hand(x, y):
    per_task = []
    for m in range(x.shape[1]):
        wins = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(x[:, m], y[:, m])]
        per_task.append(np.mean(wins))
    return np.mean(per_task)


def test_probability_of_improvement_by_hand():
    x = np.array([[2.0, 0.1], [3.0, 0.4], [2.0, 0.2]])
    y = np.array([[2.0, 0.3], [1.0, 0.3]])
    point, lo, hi = statistics.improvement(x, y, reps=500)
    assert point == pytest.approx(_improvement_by_hand(x, y))  # task 0: 5/6 with two ties; task 1: 1/3
    assert lo <= point <= hi
    assert statistics.improvement(x, x, reps=10)[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="X has 2 tasks, Y 1"):
        statistics.improvement(x, y[:, :1])


def test_bootstrap_intervals_are_seeded_and_shrink_with_more_runs():
    rng = np.random.default_rng(0)
    few, many = rng.uniform(size=(3, 10)), rng.uniform(size=(60, 10))
    point, lo, hi = statistics.iqm_interval(few, reps=1000, seed=1)
    assert point == pytest.approx(statistics.iqm(few)) and lo <= point <= hi
    np.random.seed(5)
    before = np.random.random()
    np.random.seed(5)
    assert statistics.iqm_interval(few, reps=1000, seed=1) == (point, lo, hi)  # deterministic per seed
    assert np.random.random() == before  # NumPy's global generator as the caller left it
    _, lo_many, hi_many = statistics.iqm_interval(many, reps=1000, seed=1)
    assert hi_many - lo_many < (hi - lo) / 2
    with pytest.raises(ValueError, match=r"scores must be a non-empty \(runs, tasks\) array, got shape \(3,\)"):
        statistics.iqm([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="scores must be finite"):
        statistics.iqm_interval([[1.0, np.nan]])


def test_a_sweeps_interval_statistics_per_configuration():
    from srtd_jax.studies import sweep_report
    rng = np.random.default_rng(3)
    scores = {m: rng.uniform(size=(3, 4)) + shift for m, shift in (("td3bc", 0.0), ("softmod", 0.2), ("srtd", 0.5))}
    records = [dict(configuration="rp10", method=m, success_per_seed_task=v.tolist()) for m, v in scores.items()]
    records.append(dict(configuration="me10", method="srtd", success_per_seed_task=scores["srtd"].tolist()))
    stats = sweep_report.interval_statistics(records, ["rp10", "me10", "mr10"], reps=200)
    assert list(stats) == ["rp10", "me10"]  # a configuration without finished cells is left out
    assert stats["rp10"]["iqm"]["softmod"] == list(statistics.iqm_interval(scores["softmod"], reps=200))
    assert set(stats["rp10"]["improvement"]) == {"srtd>td3bc", "srtd>softmod"} and stats["me10"]["improvement"] == {}
    assert stats["rp10"]["improvement"]["srtd>td3bc"][0] == pytest.approx(
        _improvement_by_hand(scores["srtd"], scores["td3bc"]))
    lines = sweep_report.interval_lines(stats, ["td3bc", "pcgrad", "softmod", "srtd"])
    header = next(line for line in lines if line.startswith("| configuration | TD3+BC"))
    assert header == "| configuration | TD3+BC | SoftMod | SRTD |"  # PCGrad never ran: no column
    me10 = [line for line in lines if line.startswith("| me10 |")]
    assert me10[0].startswith("| me10 | — | — | ") and me10[1] == "| me10 | — | — |"
