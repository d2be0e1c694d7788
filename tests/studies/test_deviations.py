"""The deviation study as data: its cells from the authors' config, per-seed runs, joined records and the table."""
import numpy as np
import pytest

from srtd_jax.runtime.config_check import ConfigError, flatten
from srtd_jax.studies import deviations
from tests.tiny import tiny_config


def _summary(per_seed, imagination=None):
    s = {"per_seed_mean": per_seed, "success_definition": "success", "per_task": {"reach": {"kind": "RP"}}}
    if imagination is not None:
        s["imagination"] = imagination
    return s


def _imagination(seeds: int, value: float):
    one = {k: [value] * seeds for k in ("action_from_z", "action_from_b", "action_trivial", "next_state",
                                        "next_state_trivial", "reward", "reward_trivial", "z_to_b")}
    roll = {k: [[value, value + 1]] * seeds for k in ("action", "action_trivial", "next_state",
                                                      "next_state_trivial", "reward", "reward_trivial")}
    return {"episodes": "held out", "starts": 8, "one_step_per_seed": one, "rollout_per_seed": roll,
            "relabelled": {"imagined_per_seed": [value] * seeds, "real_per_seed": [1.0] * seeds}}


def test_the_study_plan_comes_from_the_authors_config():
    from configs import authors as readings
    from configs import default
    switches, authors = readings.switches()
    assert switches["encoder.weight_decay"] == {"encoder.weight_decay": 1e-3, "encoder.weight_decay_mean": True}
    assert "num_seeds" not in authors and authors["data.assignment_per_seed"] is True
    assert set(authors) == {f for fields in switches.values() for f in fields}  # every switch, grouped once
    assert set(authors) == set(readings.PAPER_READING)  # the released code differs from the paper in every switch
    paper, theirs = (flatten(c.to_dict()) for c in (readings.get_config("paper_reading"), readings.get_config()))
    assert {k for k in paper if paper[k] != theirs[k]} == set(authors) | {"num_seeds"}  # no switch left unlisted
    chosen = readings.chosen()
    # the defaults: the paper where it speaks (L_SR's weight in eq. 5), the released code where it is silent; one
    # task-to-kind assignment per run, since a run's seeds share one dataset
    assert set(chosen) == set(authors) - {"encoder.skill_reg_weight", "data.assignment_per_seed"}
    assert all(chosen[f] == authors[f] for f in chosen)
    paper = readings.paper_reading(default.get_config())
    assert (paper.encoder.skill_reg_weight, paper.key_streams, paper.data.first_relative_reward) == (
        1.0, "shared", "zero")
    cells = deviations.plan([("mt10", "rp10", True), ("drone", "rp6", False)], switches, authors,
                            {"augment.z_noise_target": ("srtd_id",)}, chosen)
    names = [c.name for c in cells]
    assert "mt10/rp10/augment.z_noise_target/srtd_id" in names and "mt10/rp10/augment.z_noise_target/srtd" not in names
    assert names.count("drone/rp6/default/srtd") == 1 and "drone/rp6/encoder.skill_reg_weight/srtd" not in names
    assert dict(next(c for c in cells if c.name == "drone/rp6/chosen/srtd_id").overrides) == chosen
    assert len(cells) == 2 * (1 + len(switches) + 2) - 1 + 6
    assert [c.name for c in deviations.select(cells, "drone/*/authors/*")] == ["drone/rp6/authors/srtd",
                                                                              "drone/rp6/authors/srtd_id"]
    with pytest.raises(ConfigError, match="'mt10/me10/\\*' matches no cell"):
        deviations.select(cells, "mt10/me10/*")


def test_per_seed_settings_run_each_seed_alone(tmp_path):
    base = tiny_config(str(tmp_path))
    cell = deviations.Cell("mt10", "mr5_rp3_me2", "authors", "srtd_id",
                           (("data.assignment_per_seed", True), ("encoder.skill_reg_weight", 0.01)))
    runs = deviations.runs(cell, base, 3, "root")
    assert [(c.num_seeds, c.seed, w) for c, w in runs] == [
        (1, k, f"root/mt10/mr5_rp3_me2/authors/srtd_id/seed{k}") for k in range(3)]
    assert all(c.encoder.skill_reg_weight == 0.01 and c.method == "srtd_id" for c, _ in runs)
    assert base.encoder.skill_reg_weight == 1.0  # the base is not touched
    plain = deviations.Cell("mt10", "rp10", "default", "srtd", ())
    [(cfg, workdir)] = deviations.runs(plain, base, 5, "root")
    assert cfg.num_seeds == 5 and cfg.data.configuration == "rp10" and workdir == "root/mt10/rp10/default/srtd"
    with pytest.raises(ConfigError, match="unknown config field encoder.skil_reg_weight"):
        deviations.runs(deviations.Cell("mt10", "rp10", "x", "srtd", (("encoder.skil_reg_weight", 1),)), base, 1, "r")


def test_records_join_seeds_and_the_table_shows_both_methods():
    cell = deviations.Cell("mt10", "mr5_rp3_me2", "authors", "srtd_id", (("data.assignment_per_seed", True),))
    rec = deviations.record(cell, [_summary([0.2], _imagination(1, 0.5)), _summary([0.4], _imagination(1, 0.7))], 60.0)
    assert rec["per_seed"] == [0.2, 0.4] and rec["num_seeds"] == 2 and rec["mean"] == pytest.approx(0.3)
    assert rec["imagination"]["one_step_per_seed"]["z_to_b"] == [0.5, 0.7]
    assert rec["imagination"]["relabelled_per_seed"]["imagined"] == [0.5, 0.7]
    other = deviations.Cell("mt10", "mr5_rp3_me2", "authors", "srtd", ())
    records = {cell.name: rec, other.name: deviations.record(other, [_summary([0.1, 0.3])], None)}
    lines = deviations.table(records, [other, cell])
    row = next(line for line in lines if "| authors |" in line)
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[:3] == ["mt10", "mr5_rp3_me2", "authors"]
    assert cells[3] == "20.0 ± 127.1%" and cells[4] == "30.0 ± 127.1%"  # t(0.975, 1) x std / sqrt(2)
    assert cells[5].startswith("10.0 ± 0.0%")  # paired per seed: +0.1 on both
    img = next(line for line in lines if line.startswith(f"| {cell.name} |"))
    assert "0.6 (0.6)" in img and img.rstrip(" |").endswith("0.600 / 1.000")
    np.testing.assert_allclose(float(cells[3].split()[0]), 20.0)
