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


def test_the_vectorised_improvement_is_rliables():
    from rliable import metrics
    rng = np.random.default_rng(2)
    for shape_x, shape_y in (((3, 10), (3, 10)), ((5, 4), (2, 4))):
        x = rng.integers(0, 4, shape_x) / 3.0  # success rates of 3 episodes: many ties
        y = rng.integers(0, 4, shape_y) / 3.0
        assert statistics.probability_of_improvement(x, y) == pytest.approx(metrics.probability_of_improvement(x, y))
    assert statistics.probability_of_improvement(x, x) == pytest.approx(0.5)


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


def _records(conf, **scores):
    return [dict(configuration=conf, method=m, success_per_seed_task=np.asarray(v).tolist()) for m, v in scores.items()]


def test_the_papers_claims_as_verdicts():
    from srtd_jax.studies import verdicts
    rng = np.random.default_rng(4)
    base = rng.uniform(0.2, 0.4, size=(5, 4))
    records = (_records("rp10", td3bc=base, srtd=base + 0.3, srtd_id=base + 0.3, softmod=base + 0.6, te=base)
               + _records("me10", td3bc=base, srtd=base + 0.3))
    out = verdicts.verdicts(records, reps=300)
    assert out["SRTD > TD3+BC"]["verdict"] == "holds" and out["SRTD > TD3+BC"]["configurations"] == ["me10", "rp10"]
    assert out["SRTD > TD3+BC"]["p"] == pytest.approx(1.0)  # every seed above every seed on every task
    assert out["SRTD > SoftMod"]["verdict"] == "contradicted"
    assert out["SRTD+ID ≥ SRTD"]["verdict"] == "not contradicted" and not out["SRTD+ID ≥ SRTD"]["separate"]
    assert out["SRTD > TE (Figure 5a)"]["verdict"] == "holds"
    assert out["TE > SRTD-Q (Figure 5a)"] == {"verdict": "not run"} and out[verdicts.FIGURE4_CLAIM]["verdict"] == "not run"
    better, worse = (verdicts.claim_verdict(_records("rp10", srtd_id=a, srtd=b), "srtd_id", "srtd", "ge", reps=300)
                     for a, b in ((base + 0.3, base), (base, base + 0.3)))
    assert (better["verdict"], worse["verdict"]) == ("holds", "contradicted")  # ≥ decided when the interval excludes 0.5
    same = verdicts.claim_verdict(_records("rp10", srtd=base, td3bc=base[::-1]), "srtd", "td3bc", "gt", reps=300)
    assert same["verdict"] == "undecided" and same["interval"][0] < 0.5 < same["interval"][1]
    with pytest.raises(ValueError, match="different seed counts"):
        verdicts.pooled(_records("rp10", srtd=base, td3bc=base) + _records("me10", srtd=base[:3], td3bc=base[:3]),
                        "srtd", "td3bc")

    study = {"sources": ["reach", "push", "door-open"],
             "per_task": {t: {"imaginary": {"relabelled_raw": i}, "noise": {"relabelled_raw": n}}
                          for t, i, n in (("reach", 5.0, 4.0), ("push", 3.0, 2.0), ("door-open", 2.5, 1.0))}}
    fig4 = verdicts.figure4_verdict(study)
    half = 4.302653 * np.std([1.0, 1.0, 1.5], ddof=1) / np.sqrt(3)  # Student t, 2 degrees of freedom
    assert fig4["difference"] == pytest.approx(7 / 6) and fig4["interval"][0] == pytest.approx(7 / 6 - half, rel=1e-5)
    assert fig4["verdict"] == "holds"
    table = verdicts.markdown({"ladder": out, "learning_run": verdicts.verdicts([], None)})
    assert table[2].startswith("| SRTD+ID ≥ SRTD | **not contradicted**: P = 0.500") and table[2].endswith("| not run |")
    assert len(table) == 2 + len(verdicts.CLAIMS) + 1


@pytest.mark.slow
def test_the_verdicts_command(tmp_path):
    import json
    import subprocess
    import sys

    from tests.tiny import ROOT
    base = np.random.default_rng(5).uniform(size=(3, 4))
    (tmp_path / "a").mkdir()
    records = _records("rp10", srtd=base + 1, td3bc=base)
    records[1]["config"] = {"encoder": {"weight_decay": 1e-3}, "key_streams": "shared"}  # one cell with a config kept
    (tmp_path / "a" / "results.json").write_text(json.dumps({"records": records}))
    out = tmp_path / "v"
    cmd = [sys.executable, "-m", "experiments.verdicts", f"--results=ladder:{tmp_path / 'a'},learning_run:{tmp_path / 'b'}",
           "--figure4=", "--reps=100", f"--out={out}"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    saved = json.loads((tmp_path / "v.json").read_text())
    assert saved["verdicts"]["ladder"]["SRTD > TD3+BC"]["verdict"] == "holds"
    assert saved["sources"]["learning_run"] == {"results": None, "cells": 0, "figure4": None, "choices": "no cells"}
    assert saved["sources"]["ladder"]["choices"] == (
        "1 cell: the paper's reading (records without a config, made before the defaults changed); "
        "1 cell: the paper's reading except encoder.weight_decay=0.001")
    assert "| SRTD > TD3+BC | **holds**: P = 1.000" in (tmp_path / "v.md").read_text()
    bad = subprocess.run(cmd[:3] + ["--results=ladder"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode != 0 and "--results: expected recipe:path, got 'ladder'" in bad.stderr
