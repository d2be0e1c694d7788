"""The whole launcher path on a shrunk config: data -> encoders -> TD3+BC -> evaluation -> outputs."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from srtd_jax.config_check import ConfigError, check_config
from srtd_jax.run import train_and_evaluate
from tests.conftest import tiny_config


def test_train_and_evaluate_writes_every_output(tiny_data_dir, tmp_path):
    cfg = tiny_config(tiny_data_dir)
    cfg.eval.every_steps = 10
    summary = train_and_evaluate(cfg, str(tmp_path), log=lambda *_: None)
    assert set(summary["per_task"]) == {"reach", "push", "pick-place", "door-open", "drawer-open", "drawer-close",
                                        "button-press-topdown", "peg-insert-side", "window-open", "window-close"}
    assert 0.0 <= summary["mean_success"] <= 1.0 and len(summary["per_seed_mean"]) == 2
    assert [p["step"] for p in summary["learning_curve"]] == [10, 20]
    on_disk = json.load(open(tmp_path / "summary.json"))
    assert on_disk["mean_success"] == summary["mean_success"]
    rows = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
    phases = {r["phase"] for r in rows}
    assert phases == {"encoder", "td3bc", "eval"}
    for r in rows:
        if r["phase"] != "eval":
            vals = [v for k, v in r.items() if k not in ("phase", "step")]
            assert all(x is None or np.isfinite(x) for v in vals for x in v)  # finite losses, per seed
    assert os.listdir(tmp_path / "tensorboard")
    assert os.path.isdir(tmp_path / "checkpoints" / "final")
    assert json.load(open(tmp_path / "config.json"))["num_seeds"] == 2


def test_same_config_and_seed_give_the_same_numbers(tiny_data_dir, tmp_path):
    cfg = tiny_config(tiny_data_dir)
    cfg.num_seeds, cfg.rl.steps = 1, 10
    a = train_and_evaluate(cfg, str(tmp_path / "a"), log=lambda *_: None)
    b = train_and_evaluate(cfg, str(tmp_path / "b"), log=lambda *_: None)
    la = [json.loads(l) for l in open(tmp_path / "a" / "metrics.jsonl")]
    lb = [json.loads(l) for l in open(tmp_path / "b" / "metrics.jsonl")]
    assert la == lb and a["per_task"] == b["per_task"]


@pytest.mark.parametrize("field,value,message", [
    ("num_seeds", 0, "num_seeds must be a positive integer"),
    ("encoder.n", 0, "encoder.n must be a positive integer"),
    ("rl.batch_size", -5, "rl.batch_size must be a positive integer"),
    ("method", "srdt", "method='srdt' is not one of"),
    ("data.configuration", "MR 3", "data.configuration"),
])
def test_bad_config_fields_are_named(field, value, message, tmp_path):
    cfg = tiny_config(str(tmp_path))
    section, _, name = field.rpartition(".")
    (cfg[section] if section else cfg)[name] = value
    with pytest.raises(ConfigError, match=message):
        check_config(cfg)


def test_launcher_rejects_a_config_typo(tmp_path):
    out = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py",
                          f"--workdir={tmp_path}", "--config.rl.stpes=5"], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode != 0 and "stpes" in out.stderr
    assert not os.listdir(tmp_path)  # nothing written
