"""The MT10 benchmark harness on a tiny sweep: cells, selection, resume (finished cells never re-run), the
Table 1 writer (Student t intervals, bold best, the paper's numbers), plots and embedding maps."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from configs import benchmark_mt10
from experiments import commands
from srtd_jax.benchmarks.mt10.declaration import DECLARATION
from srtd_jax.data.dataset import DatasetError
from srtd_jax.runtime.config_check import ConfigError, ConfigMismatchError, as_dict, check_config
from srtd_jax.studies import sweep, sweep_report
from tests.tiny import (
    ROOT,
    tiny_config,
)


def _tiny_sweep(data_dir, tmp_path):
    b = benchmark_mt10.get_config("cpu")
    b.base = tiny_config(data_dir)
    b.base.rl.steps, b.base.eval.every_steps, b.base.eval.tasks = 20, 10, ("reach", "push")
    # two configurations of 20 episodes each in the tiny data: equal shapes, so compiled programs are reused
    b.configurations, b.methods = ("rp10", "RP 5, ME 5"), ("td3bc", "srtd")
    b.ablation_configurations, b.ablation_methods = ("rp10",), ("srtd",)
    b.embedding_configurations, b.embedding_methods = ("rp10",), ("srtd",)
    b.per_method = {"td3bc": {"rl": {"actor_hidden": (8,)}}}
    b.num_seeds = 2
    b.workdir, b.results_dir = str(tmp_path / "runs"), str(tmp_path / "results")
    return b


def test_cells_selection_and_configs():
    b = benchmark_mt10.get_config("cpu")
    cells = sweep.cells(b)
    names = [c.name for c in cells]
    assert len(cells) == len(set(names)) == 10 * 5 + 3 + 2  # rp10's srtd / srtd_id and srtd on 3 maps shared
    assert names[0] == "mr10/td3bc" and cells[names.index("rp10/srtd")].groups == ("main", "ablation", "embedding")
    assert [c.name for c in sweep.select(cells, "0,2-3")] == names[:1] + names[2:4]
    assert {c.name for c in sweep.select(cells, "rp10/*")} == {f"rp10/{m}" for m in
                                                                ("td3bc", "pcgrad", "softmod", "srtd", "srtd_id",
                                                                 "te", "srtd_q", "srtd_n")}
    with pytest.raises(ValueError, match="matches no cell"):
        sweep.select(cells, "mr11/*")
    with pytest.raises(ValueError, match="out of range"):
        sweep.select(cells, "999")
    pcgrad = sweep.cell_config(b, cells[names.index("mr10/pcgrad")])
    assert pcgrad.rl.actor_hidden == (160,) * 6 and pcgrad.data.configuration == "mr10" and pcgrad.num_seeds == 3
    assert sweep.cell_config(b, cells[0]).rl.actor_hidden == (256, 256)
    soft = sweep.cell_config(b, cells[names.index("mr10/softmod")])
    assert soft.rl.softmod.hidden == 128 and soft.cql.num_action_samples == 2
    paper = sweep.cell_config(benchmark_mt10.get_config("paper"), cells[names.index("mr10/softmod")])
    assert paper.rl.softmod.hidden == 256 and paper.rl.steps == 1_000_000 and paper.encoder.epochs == 300
    assert sweep.slug("MR 5, RP 3, ME 2") == "mr5_rp3_me2" and sweep.slug("ME 10") == "me10"


def test_bad_sweep_configs_are_named():
    for field, value, match in [("methods", ("td3bc", "srtdd"), "methods: unknown method 'srtdd'"),
                                ("ablation_configurations", ("MR 11",), "ablation_configurations: .*assigns 11"),
                                ("num_seeds", 0, "num_seeds must be >= 1")]:
        b = benchmark_mt10.get_config("cpu")
        b[field] = value
        with pytest.raises(ConfigError, match=match):
            sweep.check(b)
    b = benchmark_mt10.get_config("cpu")
    b.base.suite = "mars"
    with pytest.raises(ConfigError, match="base.suite: unknown suite 'mars'"):
        sweep.check(b)
    with pytest.raises(ValueError, match="unknown budget 'gpu'"):
        benchmark_mt10.get_config("gpu")
    with pytest.raises(ValueError, match="unknown data recipe 'ladders' in 'cpu-ladders'; valid: learning_run, ladder"):
        benchmark_mt10.get_config("cpu-ladders")
    for spec, recipe, results in (("cpu", "learning_run", "results/mt10_learning_run"),
                                  ("cpu-ladder", "ladder", "results/mt10"),
                                  ("cpu5", "learning_run", "results/mt10_cpu5_learning_run")):
        preset = benchmark_mt10.get_config(spec)
        assert (preset.base.data.recipe, preset.results_dir) == (recipe, results) and recipe in preset.budget_note
        sweep.check(preset)
        for cell in sweep.cells(preset):
            check_config(sweep.cell_config(preset, cell))
    cpu5 = benchmark_mt10.get_config("cpu5")  # the five-seed budget (results/plan_cpu5.md)
    assert (cpu5.num_seeds, cpu5.base.encoder.epochs, cpu5.base.eval.episodes_per_task) == (5, 30.0, 25)
    assert cpu5.reuse_encoders and cpu5.base.rl.steps == benchmark_mt10.get_config("cpu").base.rl.steps
    b = benchmark_mt10.get_config("cpu")
    b.per_method = {"td3bc": {"rl": {"actor_hiden": (8,)}}}
    with pytest.raises(ConfigError, match="unknown launcher field 'actor_hiden'"):
        sweep.cell_config(b, sweep.cells(b)[0])
    with pytest.raises(ConfigError, match="cell mr10/td3bc: per_method override: unknown launcher field 'actor_hiden'"):
        sweep.check(b)  # named before any cell runs
    b = benchmark_mt10.get_config("cpu")
    b.per_method = {"srtd": {"rl": {"steps": 1500}}}  # the launcher checks each cell's whole config; so does check
    with pytest.raises(ConfigError, match="cell mr10/srtd: config field rl.steps=1500 is not a multiple of "):
        sweep.check(b)


@pytest.mark.slow
def test_tiny_sweep_resumes_and_writes_the_tables(tiny_data_dir, tmp_path):
    b = _tiny_sweep(tiny_data_dir, tmp_path)
    sweep.check(b)
    cells = sweep.cells(b)
    assert [c.name for c in cells] == ["rp10/td3bc", "rp10/srtd", "rp5_me5/td3bc", "rp5_me5/srtd"]
    # a first process runs two cells (as a job array would); the tables list the other two as not finished
    sweep.run_cells(b, sweep.select(cells, "rp10/*"), b.workdir, log=lambda *_: None)
    partial = sweep_report.write(b, cells, b.workdir, b.results_dir, "cmd")
    assert partial["not_finished"] == ["rp5_me5/td3bc", "rp5_me5/srtd"]
    first = os.path.getmtime(os.path.join(b.workdir, "rp10", "srtd", "summary.json"))

    log = []
    sweep.run_cells(b, cells, b.workdir, log=log.append)  # the whole sweep again: two cells left to run
    assert sum("finished earlier" in line for line in log) == 2
    assert os.path.getmtime(os.path.join(b.workdir, "rp10", "srtd", "summary.json")) == first
    result = sweep_report.write(b, cells, b.workdir, b.results_dir, "python -m experiments.benchmark --x",
                                rebuild_command="python -m experiments.benchmark --cells=none")
    assert result["not_finished"] == [] and result["rebuild_command"].endswith("--cells=none")
    assert open(os.path.join(b.results_dir, "table1.md")).read().startswith(
        "Made by: `python -m experiments.benchmark --x`\n\nRebuilt from every finished cell (each cell's own command "
        "under \"Runs\") by `python -m experiments.benchmark --cells=none`.\n\nBudget ")
    # the ablation group holds SRTD alone, which the main table shows: no Figure 5 panel to draw
    assert {"results.json", "table1.md", "curves.png"} <= set(os.listdir(b.results_dir))
    assert "figure5.png" not in os.listdir(b.results_dir)

    records = json.load(open(os.path.join(b.results_dir, "results.json")))["records"]
    assert len(records) == 4
    for r in records:
        success = np.array(r["success_per_seed_task"])
        assert success.shape == (2, 2) and r["num_seeds"] == 2
        seed_means = success.mean(1)
        half = stats.t.ppf(0.975, 1) * seed_means.std(ddof=1) / np.sqrt(2)  # Student t, 1 degree of freedom
        assert r["mean"] == pytest.approx(seed_means.mean()) and r["ci95"] == pytest.approx(half)
        assert [p["step"] for p in r["learning_curve"]] == [10, 20]
        assert r["paper"] == list(DECLARATION.published(r["configuration"], r["method"]))
    table = open(os.path.join(b.results_dir, "table1.md")).read()
    for conf, method in (("rp10", "td3bc"), ("rp5_me5", "srtd")):
        mean, ci = DECLARATION.published(conf, method)
        assert f"paper {mean:.1f} ± {ci:.1f}%" in table
    assert "1 evaluation episodes per task" in table and "Student t" in table
    for conf, start in (("rp10", "| 0 | 10 | 0 |"), ("rp5_me5", "| 0 | 5 | 5 |")):
        best = max(r["mean"] for r in records if r["configuration"] == conf)
        row = next(line for line in table.splitlines() if line.startswith(start))
        assert f"**{100 * best:.1f} ±" in row
    assert {r["device"] for r in records} == {"cpu (cpu) x1"} and "Run on an accelerator" not in table
    summary_path = os.path.join(b.workdir, "rp10", "td3bc", "summary.json")  # as if run on a GPU machine
    summary = json.load(open(summary_path))
    with open(summary_path, "w") as f:
        json.dump(dict(summary, device="gpu (NVIDIA H200) x1"), f)
    sweep_report.write(b, cells, b.workdir, b.results_dir, "cmd")
    assert ("Run on an accelerator (1 cell; same config, not bit-identical to a CPU run): rp10/td3bc "
            "(gpu (NVIDIA H200) x1)") in open(os.path.join(b.results_dir, "table1.md")).read()

    from srtd_jax.studies import embedding_map
    drawn = embedding_map.draw(b, cells, b.workdir, os.path.join(b.results_dir, "embeddings.png"))
    assert drawn == ["rp10/srtd"] and os.path.exists(os.path.join(b.results_dir, "embeddings.png"))
    z, task_ids = embedding_map.cell_embeddings(sweep.cell_config(b, cells[1]), sweep.cell_workdir(b.workdir, cells[1]))
    assert z.shape == (len(task_ids), b.base.encoder.latent_dim) and set(task_ids) == set(range(10))
    from srtd_jax.studies import embedding_by_step  # z_t's task accuracy by step, of both seeds of the cell
    cfg, workdir = sweep.cell_config(b, cells[1]), sweep.cell_workdir(b.workdir, cells[1])
    study = embedding_by_step.run_accuracies(cfg, workdir, [1, 0], [1, 3], episodes_per_task=2, k=3)
    length = study["episode_length"]
    assert study["ranges"] == [(1, 2), (3, length)] and study["episodes"] == 20 and study["tasks"] == 10
    z0, ids0 = embedding_map.cell_embeddings(cfg, workdir, seed=0, episodes_per_task=2)  # seed 0, alone
    assert study["per_seed"][1] == embedding_by_step.accuracy_by_step(
        z0.reshape(20, length, -1), ids0[::length], study["ranges"], k=3)

    # a fresh machine (two workdirs gone): rewriting the tables keeps those cells' records from results.json
    shutil.rmtree(os.path.join(b.workdir, "rp5_me5"))
    assert sweep_report.kept_cells(b, cells, b.workdir, b.results_dir) == ["rp5_me5/td3bc", "rp5_me5/srtd"]
    again = sweep_report.write(b, cells, b.workdir, b.results_dir, "cmd")
    assert again["not_finished"] == [] and [r["cell"] for r in again["records"]] == [c.name for c in cells]
    assert ["kept_from" in r for r in again["records"]] == [False, False, True, True]
    assert [r["success_per_seed_task"] for r in again["records"]] == [r["success_per_seed_task"] for r in records]
    assert "Kept from the earlier results.json" in open(os.path.join(b.results_dir, "table1.md")).read()
    maps = os.path.join(b.results_dir, "embeddings.png")
    stored = embedding_map.points_path(b.results_dir, cells[1])
    xy, ids, accuracy = embedding_map.stored_points(sweep.cell_config(b, cells[1]), stored)  # from the draw above
    assert 0.0 <= accuracy <= 1.0
    assert xy.shape == (len(ids), 2) and set(ids) == set(range(10))
    full = embedding_map.pca_2d(z)  # every stored point is a projected window of its own task
    nearest = np.abs(xy[:, None] - full[None]).max(-1).argmin(1)
    assert np.abs(xy - full[nearest]).max() < 1e-3 and (task_ids[nearest] == ids).all()
    shutil.move(os.path.join(b.workdir, "rp10", "srtd"), str(tmp_path / "moved"))  # a kept embedding cell
    os.remove(maps)
    assert embedding_map.draw(b, cells, b.workdir, maps, finished={"rp10/srtd"}) == ["rp10/srtd"]  # from its points
    assert os.path.exists(maps)
    drawn_before = open(maps, "rb").read()
    shutil.move(stored, str(tmp_path / "points.json"))
    assert embedding_map.draw(b, cells, b.workdir, maps, finished={"rp10/srtd"}) == []  # its panel is not lost
    assert open(maps, "rb").read() == drawn_before
    with open(stored, "w") as f:
        f.write("{not json")
    with pytest.raises(ConfigError, match="embedding_points"):
        embedding_map.draw(b, cells, b.workdir, maps, finished={"rp10/srtd"})
    shutil.move(str(tmp_path / "points.json"), stored)
    shutil.move(str(tmp_path / "moved"), os.path.join(b.workdir, "rp10", "srtd"))

    b.base.rl.alpha = 1.0  # a changed sweep on the same workdirs is refused, naming the field
    with pytest.raises(ConfigMismatchError, match="rl.alpha"):
        sweep.run_cells(b, cells[:1], b.workdir, log=lambda *_: None)
    results_json = os.path.join(b.results_dir, "results.json")
    before = open(results_json).read()
    with pytest.raises(ConfigMismatchError, match="rp5_me5/td3bc") as err:  # nor are kept records of another config
        sweep_report.write(b, cells[2:], b.workdir, b.results_dir, "cmd")
    assert "rl.alpha" in str(err.value) and open(results_json).read() == before
    with open(results_json, "w") as f:
        f.write(before[:100])  # a corrupt results.json is named, not overwritten
    with pytest.raises(ConfigError, match="cannot be read"):
        sweep_report.write(b, cells[2:], b.workdir, b.results_dir, "cmd")
    assert open(results_json).read() == before[:100]


@pytest.mark.slow
def test_keep_going_runs_the_other_cells_and_names_the_failures(tmp_path, monkeypatch):
    b = benchmark_mt10.get_config("cpu")
    b.base.data.data_dir, b.base.data.generate = str(tmp_path / "no_data"), False  # every cell fails at once
    b.configurations, b.methods = ("rp10",), ("td3bc", "srtd")
    b.ablation_configurations = b.embedding_configurations = ()
    log = []
    with pytest.raises(sweep.SweepError, match=r"2 of 2 cells failed:\n  rp10/td3bc: DatasetError.*\n  rp10/srtd"):
        sweep.run_cells(b, sweep.cells(b), str(tmp_path / "runs"), log=log.append, keep_going=True)
    assert sum("FAILED" in line for line in log) == 2
    assert not any("Traceback" in line for line in log)  # bad input: the one line names it
    log.clear()
    with pytest.raises(DatasetError, match="reach_RP_.*npz does not exist"):
        sweep.run_cells(b, sweep.cells(b), str(tmp_path / "runs"), log=log.append)  # default: stop at the first
    assert not any("rp10/srtd:" in line for line in log)

    def broken(cfg, workdir, log, command):
        raise TypeError("a bug")

    import srtd_jax.run
    monkeypatch.setattr(srtd_jax.run, "train_and_evaluate", broken)
    log.clear()
    with pytest.raises(sweep.SweepError, match="2 of 2 cells failed:\n  rp10/td3bc: TypeError: a bug"):
        sweep.run_cells(b, sweep.cells(b), str(tmp_path / "runs"), log=log.append, keep_going=True)
    traces = [line for line in log if line.startswith("Traceback")]  # a bug: where it happened, for each cell
    assert len(traces) == 2 and all("in broken" in t and t.endswith("TypeError: a bug") for t in traces)


def test_knn_task_accuracy_by_hand():
    from srtd_jax.studies.embedding_map import knn_task_accuracy
    # 1-D: task 0 at 0, 1, 2 and task 1 at 10, 11, 2.5. With k=2 the neighbours of 0 are {1, 2} (task 0, right);
    # of 1: {0, 2} (right); of 2: {2.5, 1}, a 1-1 tie that goes to the lower id 0 (right); of 10: {11, 2.5} (1,
    # right); of 11: {10, 2.5} (right); of 2.5: {2, 1} (0, wrong). 5 of 6.
    z = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [2.5]])
    tasks = np.array([0, 0, 0, 1, 1, 1])
    assert knn_task_accuracy(z, tasks, k=2) == pytest.approx(5 / 6)
    assert knn_task_accuracy(z[:5], tasks[:5], k=1) == 1.0  # without the stray every nearest point agrees
    # ties against a point: 0 (task 0) has {1, 2} (task 1, wrong); 1 (task 1) has {0, 2}: tie -> 0, wrong;
    # 2 (task 1) has {1, 0}: tie -> 0, wrong
    assert knn_task_accuracy(np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 1]), k=2) == 0.0
    with pytest.raises(ValueError, match="k=6"):
        knn_task_accuracy(z, tasks, k=6)


def test_ordering_verdicts_by_hand():
    def rec(method, mean, ci):
        return {"configuration": "rp10", "method": method, "mean": mean, "ci95": ci}
    records = [rec("srtd_id", 0.40, 0.02), rec("srtd", 0.35, 0.03), rec("td3bc", 0.20, 0.01),
               rec("pcgrad", 0.30, 0.01), rec("softmod", 0.33, 0.02)]
    (v,) = sweep_report.ordering(records, ["rp10", "mr10"])  # mr10 has no records: no verdict
    assert v["srtd_id_ge_srtd"] and v["srtd_gt_baselines"] and v["best_baseline"] == "softmod"
    assert v["baselines_missing"] == []
    assert v["margin"] == pytest.approx(0.02) and not v["margin_beyond_ci"]  # 0.32 < 0.35
    records[1] = rec("srtd", 0.45, 0.03)
    (v,) = sweep_report.ordering(records, ["rp10"])
    assert not v["srtd_id_ge_srtd"] and v["margin_beyond_ci"]  # 0.42 > 0.35
    (v,) = sweep_report.ordering(records[:3] + records[4:], ["rp10"])  # PCGrad not run: compared with the rest
    assert v["baselines_missing"] == ["pcgrad"] and v["best_baseline"] == "softmod"
    (v,) = sweep_report.ordering(records[:3], ["rp10"])
    assert v["baselines_missing"] == ["pcgrad", "softmod"] and v["margin"] == pytest.approx(0.45 - 0.20)
    assert sweep_report.ordering(records[1:3], ["rp10"]) == []  # no SRTD+ID: no verdict
    records[1] = rec("srtd", 0.28, 0.02)  # below SoftMod's 0.33 ± 0.02: intervals [0.26, 0.30] and [0.31, 0.35]
    (v,) = sweep_report.ordering(records, ["rp10"])
    assert not v["srtd_gt_baselines"] and v["margin"] == pytest.approx(-0.05) and v["margin_beyond_ci"]
    records[1] = rec("srtd", 0.30, 0.02)  # [0.28, 0.32] overlaps SoftMod's [0.31, 0.35]
    (v,) = sweep_report.ordering(records, ["rp10"])
    assert not v["srtd_gt_baselines"] and not v["margin_beyond_ci"]


def test_table_bolds_the_best_of_a_row_and_shows_the_paper():
    records = [{"configuration": "me10", "method": m, "mean": v, "ci95": 0.05}
               for m, v in (("td3bc", 0.30), ("srtd", 0.25))]
    lines = sweep_report.markdown_table(records, ["me10", "mr10"], ["td3bc", "srtd", "te"], with_paper=True,
                                        suite="mt10")
    assert lines[0] == "| MR | RP | ME | TD3+BC | SRTD | TE |"
    assert lines[2] == ("| 0 | 0 | 10 | **30.0 ± 5.0%**<br>paper 23.9 ± 4.0% | 25.0 ± 5.0%<br>paper 46.6 ± 3.1% | "
                        "not run<br>paper — |")
    assert lines[3].startswith("| 10 | 0 | 0 | not run<br>paper 19.7 ± 2.7% |")


def test_stand_ins_fill_a_column_marked_and_kept_out_of_the_comparisons(tmp_path):
    """Another sweep's cells of a method this sweep has not run show in its table, marked, never bold, and
    named with what differs; cells this sweep has are never replaced."""
    rec = lambda conf, m, v, **kw: dict(cell=f"{conf}/{m}", configuration=conf, method=m, mean=v, ci95=0.05,
                                        num_seeds=3, **kw)
    other = {"budget": "cpu", "records": [rec("rp10", "softmod", 0.51), rec("me10", "softmod", 0.68),
                                          rec("rp10", "srtd", 0.9), rec("mr10", "softmod", 0.3,
                                                                        config={"data": {"recipe": "learning_run"}})]}
    (tmp_path / "results.json").write_text(json.dumps(other))
    ours = [rec("rp10", "td3bc", 0.40), rec("rp10", "srtd", 0.22), rec("me10", "softmod", 0.10)]
    got = sweep_report.stand_in_records(f"softmod:{tmp_path}", ours, ["rp10", "me10", "mr10"])
    assert [(r["cell"], r["stand_in_recipe"]) for r in got] == [("rp10/softmod", "ladder"),
                                                                ("mr10/softmod", "learning_run")]  # me10: ours
    assert got[0]["stand_in_from"] == str(tmp_path / "results.json") and got[0]["stand_in_budget"] == "cpu"
    lines = sweep_report.markdown_table(ours + got, ["rp10"], ["td3bc", "softmod", "srtd"], with_paper=False,
                                        suite="mt10")
    assert lines[2] == "| 0 | 10 | 0 | **40.0 ± 5.0%** | 51.0 ± 5.0% † | 22.0 ± 5.0% |"  # 51 is not ours: not bold
    note = sweep_report.stand_in_note(got, ours)
    assert "scored differently" not in note[0]  # no definitions to tell apart
    assert note[0].startswith("**† Stand-ins (2 cells: rp10/softmod, mr10/softmod):**")
    assert f"`{tmp_path / 'results.json'}` (budget `cpu`, 3 seeds, ladder data)" in note[0]
    scored = sweep_report.stand_in_note([dict(got[0], success_definition="return / expert")],
                                        [dict(ours[0], success_definition="return / trained agent")])
    assert scored[0].endswith("They are also scored differently: return / expert.")
    assert scored[0].startswith("**† Stand-ins (1 cell: rp10/softmod):**")
    assert sweep_report.stand_in_records("", ours, ["rp10"]) == [] and sweep_report.stand_in_note([], ours) == []
    with pytest.raises(ConfigError, match="does not exist"):
        sweep_report.stand_in_records(f"softmod:{tmp_path / 'none'}", ours, ["rp10"])
    for spec, error in (("softmod", "expected method:results_dir"), ("softmodd:x", "unknown method 'softmodd'")):
        with pytest.raises(ValueError, match=error):
            sweep.parse_stand_ins(spec)
    b = benchmark_mt10.get_config("cpu5")
    assert sweep.parse_stand_ins(b.stand_ins) == {"softmod": "results/mt10"}
    b.stand_ins = "softmod"
    with pytest.raises(ConfigError, match="stand_ins: expected method:results_dir, got 'softmod'"):
        sweep.check(b)
    from configs import benchmark_drone
    assert benchmark_drone.get_config("cpu5").stand_ins == "softmod:results/drone"
    assert benchmark_drone.get_config("cpu").stand_ins == benchmark_mt10.get_config("cpu").stand_ins == ""


def test_plots_clip_intervals_and_skip_empty_panels(tmp_path):
    lower, upper = sweep_report.clipped_band([5.0, 50.0, 97.0], [10.0, 10.0, 10.0])
    np.testing.assert_allclose(lower, [0.0, 40.0, 87.0])
    np.testing.assert_allclose(upper, [15.0, 60.0, 100.0])
    # a drone return below 0 or above its reference is no rate: its interval is drawn as it is
    lower, upper = sweep_report.clipped_band([-8.0, 112.0], [5.0, 5.0])
    np.testing.assert_allclose(lower, [-13.0, 107.0])
    np.testing.assert_allclose(upper, [-3.0, 117.0])
    curve = [{"step": 10, "per_seed_mean": [0.1, 0.3]}]
    records = [dict(configuration="a", method="td3bc", learning_curve=curve, mean=0.2, ci95=0.5),
               dict(configuration="b", method="td3bc", learning_curve=[], mean=0.2, ci95=0.1)]
    assert sweep_report.curve_panels(records, ["c", "b", "a"]) == ["a"]  # no records, no curve: no panel
    assert sweep_report.plot_curves(records, ["a", "b"], str(tmp_path / "curves.png"), "success (%)")
    assert (tmp_path / "curves.png").stat().st_size > 0
    # no record with a curve (no cell finished yet): no figure, rather than a legend of nothing
    assert not sweep_report.plot_curves(records[1:], ["a", "b"], str(tmp_path / "none.png"), "success (%)")
    assert not (tmp_path / "none.png").exists()


def test_last_logged_skips_a_cut_line(tmp_path):
    assert sweep.last_logged(str(tmp_path)) is None  # no metrics.jsonl
    (tmp_path / "metrics.jsonl").write_text('{"phase": "encoder", "step": 400, "mmd": [0.1]}\n'
                                            '{"phase": "rl", "step": 2000, "critic_loss": [1.0]}\n{"phase": "rl", "st')
    assert sweep.last_logged(str(tmp_path)) == "rl step 2000"


@pytest.mark.slow
def test_the_command_lists_cells():
    out = subprocess.run([sys.executable, "-m", "experiments.benchmark", "--list", "--pack",
                          "--config.workdir=/nonexistent/runs", "--config.results_dir=/nonexistent/results"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    lines = [line for line in out.stdout.splitlines() if not line.startswith("[pack]")]
    names = [c.name for c in sweep.cells(benchmark_mt10.get_config("cpu"))]
    assert [line.split()[1] for line in lines] == names and all("not finished" in line for line in lines)
    # with --pack: the groups it would train as one program (Table 1's methods over ten rows each, TE's three)
    groups = [line.split(": ", 1)[1].split(", ") for line in out.stdout.splitlines() if line.startswith("[pack]")]
    assert sorted(map(len, groups)) == [3, 10, 10, 10, 10, 10] and "rp10/srtd_id" in groups[4]


@pytest.mark.slow
def test_the_command_skips_cells_kept_in_results_json(tmp_path):
    """A cell finished on another machine (record in results.json, no workdir) is not run again by default."""
    cell = sweep.cells(benchmark_mt10.get_config("cpu"))[0]
    config = as_dict(sweep.cell_config(benchmark_mt10.get_config("cpu"), cell))
    (tmp_path / "results.json").write_text(json.dumps({"records": [{"cell": cell.name, "config": config}]}))
    args = [sys.executable, "-m", "experiments.benchmark", "--notables", f"--cells={cell.name},rp10/td3bc",
            f"--config.workdir={tmp_path / 'runs'}", f"--config.results_dir={tmp_path}",
            "--config.base.data.generate=False", f"--config.base.data.data_dir={tmp_path / 'no_data'}"]
    listed = subprocess.run(args + ["--list"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert len(listed.splitlines()) == 2  # --list shows the cells --cells selects, with their sweep index
    assert "finished (kept in results.json)" in listed.splitlines()[0]
    assert listed.splitlines()[1].split()[:2] == ["5", "rp10/td3bc"] and "not finished" in listed.splitlines()[1]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)  # rp10/td3bc runs and fails: no data
    assert f"skipping 1 cell(s) finished in {tmp_path}/results.json" in out.stdout
    assert "cell 1/1 rp10/td3bc" in out.stdout and cell.name + ":" not in out.stdout
    out = subprocess.run(args + ["--rerun_kept"], cwd=ROOT, capture_output=True, text=True)
    assert f"cell 1/2 {cell.name}" in out.stdout and "skipping" not in out.stdout


@pytest.mark.slow
def test_the_command_reports_a_failed_cell_in_one_line_after_writing_the_tables(tmp_path):
    """The first cell fails (no dataset): the tables of the finished cells (none) are still written, and the cell's
    own error is what the command reports, one line, exit status 1."""
    (tmp_path / "curves.png").write_text("an earlier write's figure")
    out = subprocess.run([sys.executable, "-m", "experiments.benchmark", "--cells=rp10/td3bc", "--noembeddings",
                          f"--config.workdir={tmp_path / 'runs'}", f"--config.results_dir={tmp_path}",
                          "--config.base.data.generate=False", f"--config.base.data.data_dir={tmp_path / 'no_data'}"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert re.fullmatch(r"DatasetError: .*reach_RP_.*npz does not exist.*", out.stderr.strip().splitlines()[-1])
    assert "[sweep] 0 finished cells written" in out.stdout
    assert json.loads((tmp_path / "results.json").read_text())["records"] == []
    assert not (tmp_path / "curves.png").exists()  # no curve to draw: the stale figure does not stay beside it


@pytest.mark.slow
def test_summarize_runs_table_and_kind_means(tmp_path):
    """summarize_runs on two hand-made run summaries: per-kind means over seeds by hand, best run in bold."""
    def make(name, method, per_task, mean, ci):
        wd = tmp_path / name
        wd.mkdir()
        (wd / "command.txt").write_text(f"python -m experiments.main --workdir={name}\n")
        (wd / "summary.json").write_text(json.dumps(dict(
            method=method, configuration="mr1_me1", num_seeds=2, episodes_per_task=5, suite="mt10",
            success_definition="success flag at any step", mean_success=mean, ci95=ci,
            per_seed_mean=[mean, mean], per_task=per_task)))
        return str(wd)
    a = make("a", "td3bc", {"t0": {"kind": "MR", "per_seed": [0.2, 0.4]}, "t1": {"kind": "ME", "per_seed": [0.6, 1.0]}},
             0.55, 0.1)
    b = make("b", "srtd", {"t0": {"kind": "MR", "per_seed": [0.0, 0.2]}, "t1": {"kind": "ME", "per_seed": [0.4, 0.6]}},
             0.30, 0.2)
    out = tmp_path / "results" / "summary"
    subprocess.run([sys.executable, "-m", "experiments.summarize_runs", f"--workdirs={a},{b}", f"--out={out}"],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    rows = json.loads((tmp_path / "results" / "summary.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["td3bc", "srtd"]
    mean_me, ci_me = rows[0]["by_kind"]["ME"]
    assert mean_me == pytest.approx(0.8)  # seeds 0.6 and 1.0
    assert ci_me == pytest.approx(stats.t.ppf(0.975, 1) * np.std([0.6, 1.0], ddof=1) / np.sqrt(2))
    table = (tmp_path / "results" / "summary.md").read_text()
    assert f"| `{a}` | td3bc | mr1_me1 | 2 | **55.0 ± 10.0%** |" in table and f"| `{b}` | srtd | mr1_me1 | 2 | 30.0 ± 20.0% |" in table
    c = make("c", "srtd", {"t0": {"kind": "MR", "per_seed": [0.0, 0.2]}}, 0.9, 0.1)
    (tmp_path / "c" / "command.txt").write_text("python -m experiments.main --workdir=c\npython -m experiments.main "
                                                "--workdir=c --allow_config_change\n")
    for wd, steps in ((a, 100), (c, 200)):
        (tmp_path / wd / "config.json").write_text(json.dumps({"method": "x", "seed": 3, "rl": {"steps": steps},
                                                               "encoder": {"epochs": 1.0}}))
    summarize = lambda *extra: subprocess.run(
        [sys.executable, "-m", "experiments.summarize_runs", f"--workdirs={a},{c}", f"--out={out}", *extra],
        cwd=ROOT, check=True, capture_output=True, text=True)
    summarize()
    table = (tmp_path / "results" / "summary.md").read_text()
    assert "**" not in table and "The runs' configs differ in rl.steps (100, 200). No run is marked best" in table
    assert "- `python -m experiments.main --workdir=c --allow_config_change`" in table  # its latest command
    summarize("--bold_across")
    table = (tmp_path / "results" / "summary.md").read_text()
    assert "**90.0 ± 10.0%**" in table and "differ in rl.steps (100, 200). The best score is in bold." in table
    (tmp_path / "unfinished").mkdir()
    missing = subprocess.run([sys.executable, "-m", "experiments.summarize_runs", f"--workdirs={tmp_path / 'unfinished'}",
                              f"--out={out}"], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode != 0 and "no summary.json" in missing.stderr


def test_a_cited_command_is_one_shell_line_that_reads_back_as_given():
    args = ["--config=configs/quick.py", "--config.eval.tasks=(reach, push)", "two\nlines 'quoted'", "plain"]
    line = commands.command_line("experiments.main", args)
    assert "\n" not in line and line.startswith("python -m experiments.main --config=configs/quick.py ")
    shown = subprocess.run(["bash", "-c", f"printf '%s\\0' {line.split(' ', 3)[3]}"], capture_output=True, text=True)
    assert shown.stdout.split("\0")[:-1] == args


def test_compare_machines_by_hand():
    compare = sweep_report.compare_machines
    bcfg = benchmark_mt10.get_config("cpu")
    config = as_dict(sweep.cell_config(bcfg, sweep.cells(bcfg)[0]))
    other_config = json.loads(json.dumps(config))
    other_config["rl"]["alpha"] = 1.0
    rec = lambda cell, mean, ci, **kw: dict(cell=cell, mean=mean, ci95=ci, num_seeds=3, episodes_per_task=10,
                                            tasks=["a", "b"], **kw)
    reference = [rec("x/td3bc", 0.50, 0.05), rec("y/td3bc", 0.40, 0.02, config=config)]
    other = [rec("x/td3bc", 0.58, 0.04, device="gpu (H200) x1"), rec("y/td3bc", 0.45, 0.02, config=config),
             rec("z/td3bc", 0.9, 0.1)]  # z: not in the reference, left out
    rows = compare(reference, other)
    assert [r["cell"] for r in rows] == ["x/td3bc", "y/td3bc"]
    assert rows[0]["difference"] == pytest.approx(0.08) and rows[0]["intervals_overlap"] is True  # 0.08 <= 0.09
    assert rows[1]["difference"] == pytest.approx(0.05) and rows[1]["intervals_overlap"] is False  # 0.05 > 0.04
    assert rows[0]["reference_device"] == "not recorded" and rows[0]["other_device"] == "gpu (H200) x1"
    with pytest.raises(ValueError, match="y/td3bc(.|\n)*rl.alpha: 2.5 -> 1.0"):
        compare(reference, [rec("y/td3bc", 0.4, 0.02, config=other_config)])
    with pytest.raises(ValueError, match="x/td3bc(.|\n)*num_seeds: 3 -> 2"):
        compare(reference, [dict(rec("x/td3bc", 0.5, 0.05), num_seeds=2)])


def test_figure5_draws_only_groups_with_their_own_cells(tmp_path):
    rec = lambda conf, m: dict(configuration=conf, method=m, mean=0.3, ci95=0.1)
    only_srtd = [rec("rp10", "srtd"), rec("rp10", "td3bc")]
    assert sweep_report.figure5_panels(only_srtd, ["rp10"]) == []
    assert not sweep_report.plot_figure5(only_srtd, ["rp10"], str(tmp_path / "f.png"), "y")
    assert not (tmp_path / "f.png").exists()
    both = only_srtd + [rec("rp10", "srtd_n"), rec("me10", "te")]
    assert sweep_report.figure5_panels(both, ["rp10"]) == [("(b) augmentation", ["srtd", "srtd_n"])]
    assert sweep_report.plot_figure5(both, ["rp10"], str(tmp_path / "f.png"), "y")
    assert (tmp_path / "f.png").stat().st_size > 1000



def test_packed_groups_join_the_cells_of_one_method_that_differ_only_in_their_data():
    b = benchmark_mt10.get_config("cpu")
    all_cells = sweep.cells(b)
    groups = sweep.packed_groups(b, all_cells)
    assert sorted(c.name for g in groups for c in g) == sorted(c.name for c in all_cells)
    sizes = {}
    for g in groups:
        assert len({c.method for c in g}) == 1
        sizes.setdefault(g[0].method, []).append(len(g))
    # Table 1's ten configurations pack per method; TE's three (ablation and embedding maps) too
    assert all(sizes[m] == [10] for m in ("td3bc", "pcgrad", "softmod", "srtd", "srtd_id"))
    assert sizes["te"] == [3] and sizes["srtd_q"] == [1]
    b.reuse_encoders = True  # SRTD+ID's cells, each taking its own row's SRTD encoders, still pack together
    assert [len(g) for g in sweep.packed_groups(b, all_cells) if g[0].method == "srtd_id"] == [10]
    b.per_method["srtd"] = {"encoder": {"epochs": 5.0}}  # cells of one method always share their overrides
    assert [len(g) for g in sweep.packed_groups(b, all_cells) if g[0].method == "srtd"] == [10]


def test_run_cells_with_pack_sends_each_group_to_one_program(monkeypatch, tmp_path):
    import srtd_jax.run
    import srtd_jax.run_packed
    b = benchmark_mt10.get_config("cpu")
    b.configurations, b.methods = ("rp10", "mr10", "me10"), ("td3bc", "pcgrad")
    b.ablation_configurations = b.embedding_configurations = ()
    b.per_method["pcgrad"] = {"rl": {"matmul_dtype": "bfloat16"}}  # with the same override in every cell: packed
    calls = []
    monkeypatch.setattr(srtd_jax.run_packed, "train_packed", lambda cfgs, workdirs, root, log, commands: calls.append(
        ("packed", [c.data.configuration for c in cfgs], workdirs, commands)) or [{"mean_success": 0.5}] * len(cfgs))
    monkeypatch.setattr(srtd_jax.run, "train_and_evaluate", lambda cfg, workdir, log, command: calls.append(
        ("alone", [cfg.data.configuration], [workdir], [command])) or {"mean_success": 0.25})
    selected = [c for c in sweep.cells(b) if c.method == "pcgrad" or c.name == "mr10/td3bc"]  # TD3+BC: one cell
    out = sweep.run_cells(b, selected, str(tmp_path), log=lambda *_: None, pack=True,
                          command_for=lambda cell: f"cmd {cell.name}")
    names = ("rp10", "mr10", "me10")
    # groups in the order of their first cell: rp10/pcgrad (with mr10 and me10), then mr10/td3bc
    assert [c[:2] for c in calls] == [("packed", list(names)), ("alone", ["mr10"])]
    assert calls[0][2:] == ([str(tmp_path / c / "pcgrad") for c in names], [f"cmd {c}/pcgrad" for c in names])
    assert calls[1][2:] == ([str(tmp_path / "mr10" / "td3bc")], ["cmd mr10/td3bc"])
    assert out == {**{f"{c}/pcgrad": {"mean_success": 0.5} for c in names}, "mr10/td3bc": {"mean_success": 0.25}}


def test_with_reuse_encoders_a_cell_takes_the_encoders_of_the_first_equal_phase_on_its_row():
    b = benchmark_mt10.get_config("cpu")
    assert all(sweep.encoder_source(b, c) is None for c in sweep.cells(b))  # off by default
    b.reuse_encoders = True
    sweep.check(b)
    sources = {c.name: s.name for c in sweep.cells(b) if (s := sweep.encoder_source(b, c)) is not None}
    # SRTD+ID and SRTD+N train their encoders with SRTD's losses; TE and SRTD-Q with their own; nothing crosses rows
    assert sources == {**{f"{r}/srtd_id": f"{r}/srtd" for r in benchmark_mt10.TABLE1}, "rp10/srtd_n": "rp10/srtd"}
    cfg = sweep.cell_config(b, sweep.Cell("rp10", "srtd_id", ("main",)))
    assert cfg.encoder.reuse_from == os.path.join(b.workdir, "rp10", "srtd")
    b.per_method["srtd_id"] = {"encoder": {"epochs": 5.0}}  # another encoder phase: trains its own
    assert sweep.cell_config(b, sweep.Cell("rp10", "srtd_id", ("main",))).encoder.reuse_from == ""


def _write_run(workdir, cfg, finished: bool):
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump(as_dict(cfg), f)
    if finished:
        with open(os.path.join(workdir, "summary.json"), "w") as f:
            json.dump({"mean_success": 0.5}, f)


def test_a_cell_whose_encoder_source_is_gone_trains_its_own_encoders(monkeypatch, tmp_path):
    """After a machine change runs/ is gone and only results.json keeps SRTD's result: SRTD+ID must still run."""
    import srtd_jax.run
    b = benchmark_mt10.get_config("cpu")
    b.reuse_encoders, b.workdir = True, str(tmp_path)
    b.configurations, b.methods = ("rp10", "mr10", "me10"), ("srtd", "srtd_id")
    b.ablation_configurations = b.embedding_configurations = ()
    cell = {c.name: c for c in sweep.cells(b)}
    source = lambda row: str(tmp_path / row / "srtd")
    _write_run(source("rp10"), sweep.cell_config(b, cell["rp10/srtd"]), finished=True)
    own_choice = sweep.cell_config(b, cell["me10/srtd_id"])
    own_choice.encoder.reuse_from = ""  # me10/srtd_id started earlier with its own encoders, and was interrupted
    _write_run(str(tmp_path / "me10" / "srtd_id"), own_choice, finished=False)
    _write_run(source("me10"), sweep.cell_config(b, cell["me10/srtd"]), finished=True)  # finished since
    ran, lines = {}, []
    monkeypatch.setattr(srtd_jax.run, "train_and_evaluate", lambda cfg, workdir, log, command: ran.update(
        {os.path.relpath(workdir, tmp_path): cfg.encoder.reuse_from}) or {"mean_success": 0.25})
    sweep.run_cells(b, [cell[n] for n in ("rp10/srtd_id", "mr10/srtd_id", "me10/srtd_id")], str(tmp_path),
                    log=lines.append)
    assert ran == {"rp10/srtd_id": source("rp10"),  # its source finished: it takes those encoders
                   "mr10/srtd_id": "",  # its source is gone: it trains its own
                   "me10/srtd_id": ""}  # it keeps the choice it started with
    assert [line for line in lines if "trains its own encoders" in line] == [
        f"[sweep] cell mr10/srtd_id: trains its own encoders ({source('mr10')} has not finished and does not run "
        "first; the same numbers as taking its encoders)",
        "[sweep] cell me10/srtd_id: trains its own encoders (as it started; the same numbers as taking its encoders)"]
    ran.clear()
    sweep.run_cells(b, [cell["mr10/srtd"], cell["mr10/srtd_id"]], str(tmp_path), log=lines.append)
    assert ran == {"mr10/srtd": "", "mr10/srtd_id": source("mr10")}  # its source runs first: it takes them
    ran.clear()
    os.makedirs(tmp_path / "rp10" / "srtd_id")
    (tmp_path / "rp10" / "srtd_id" / "config.json").write_text("{not json")  # a started cell's corrupt config
    with pytest.raises(sweep.SweepError, match=r"1 of 2 cells failed:\n  rp10/srtd_id: ConfigError: .*config.json"):
        sweep.run_cells(b, [cell["rp10/srtd_id"], cell["mr10/srtd_id"]], str(tmp_path), log=lines.append,
                        keep_going=True)
    assert ran == {"mr10/srtd_id": ""}  # the other cell still ran
    assert (tmp_path / "rp10" / "srtd_id" / "config.json").read_text() == "{not json"  # and nothing was overwritten
    # a cell finished with its own encoders counts as finished for a config that names a source, and so does its
    # kept record: where the encoders came from does not change the numbers
    _write_run(str(tmp_path / "me10" / "srtd_id"), own_choice, finished=True)
    assert sweep.state(b, cell["me10/srtd_id"], str(tmp_path)) == "finished"
    own = sweep.cell_config(b, cell["mr10/srtd_id"])
    own.encoder.reuse_from = ""
    record = {"cell": "mr10/srtd_id", "config": as_dict(own)}
    with open(tmp_path / "results.json", "w") as f:
        json.dump({"records": [record]}, f)
    kept = sweep_report.kept_records(b, sweep.cells(b), ["mr10/srtd_id"], str(tmp_path / "results.json"))
    assert [r["cell"] for r in kept] == ["mr10/srtd_id"]
    own.encoder.epochs = 5.0  # a field that does change the numbers still refuses
    with open(tmp_path / "results.json", "w") as f:
        json.dump({"records": [dict(record, config=as_dict(own))]}, f)
    with pytest.raises(ConfigMismatchError, match="encoder.epochs"):
        sweep_report.kept_records(b, sweep.cells(b), ["mr10/srtd_id"], str(tmp_path / "results.json"))
