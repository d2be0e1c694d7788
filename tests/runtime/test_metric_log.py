"""What a run logs beside metrics.jsonl: times and rates per line, TensorBoard's config text and hyperparameters,
W&B (offline), and its curves.png."""
import glob
import os

import numpy as np
import pytest

from srtd_jax.runtime import metric_log
from srtd_jax.runtime.config_check import ConfigError, check_config
from srtd_jax.runtime.run_plot import phase_series
from tests.tiny import tiny_config


def _event_accumulator(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(path, size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    return acc


@pytest.mark.slow
def test_a_run_logs_times_config_hyperparameters_wandb_and_its_curves(tiny_data_dir, tmp_path, monkeypatch):
    from srtd_jax.run import train_and_evaluate
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = tiny_config(tiny_data_dir)
    # test_every_method's td3bc run but for the evaluated task: the same programs, compiled once per suite
    cfg.method, cfg.num_seeds, cfg.eval.tasks = "td3bc", 3, ("reach",)
    cfg.logging.wandb, cfg.logging.wandb_mode = True, "offline"
    workdir = str(tmp_path / "run")
    summary = train_and_evaluate(cfg, workdir, log=lambda *_: None)

    rows = metric_log.read_metrics(os.path.join(workdir, "metrics.jsonl"))
    trained = [r for r in rows if r["phase"] == "td3bc"]
    assert trained and all(r["time"]["steps_per_second"] > 0 for r in trained)
    walls = [r["time"]["wall"] for r in rows]
    assert walls == sorted(walls) and walls[-1] - walls[0] < 600

    acc = _event_accumulator(os.path.join(workdir, "tensorboard"))
    assert {"td3bc/critic_loss", "td3bc/steps_per_second", "eval/success"} <= set(acc.Tags()["scalars"])
    text = acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"method": "td3bc"' in text
    (hparams_dir,) = glob.glob(os.path.join(workdir, "tensorboard", "hparams"))
    hp = _event_accumulator(hparams_dir)
    (final,) = hp.Scalars("final/mean_score")
    assert final.value == pytest.approx(summary["mean_success"])
    assert "_hparams_/session_start_info" in hp.summary_metadata

    (record,) = glob.glob(os.path.join(workdir, "wandb", "offline-run-*", "run-*.wandb"))
    raw = open(record, "rb").read()
    assert b"td3bc/critic_loss" in raw and b"final/mean_score" in raw and b"wandb_mode" in raw
    assert open(os.path.join(workdir, "wandb_id")).read().strip() in record

    png = open(os.path.join(workdir, "curves.png"), "rb").read()
    assert png.startswith(b"\x89PNG")


def test_wandb_without_the_package_is_refused_before_anything_is_written(tiny_data_dir, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    cfg = tiny_config(tiny_data_dir)
    cfg.logging.wandb = True
    with pytest.raises(ConfigError, match="logging.wandb=True needs the wandb package: pip install wandb"):
        check_config(cfg)


def test_phase_series_averages_seeds_and_skips_times_and_missing_values():
    rows = [{"phase": "td3bc", "step": 10, "critic_loss": [1.0, 3.0], "time": {"wall": 1.0}},
            {"phase": "td3bc", "step": 20, "critic_loss": [None, 4.0], "time": {"wall": 2.0}},
            {"phase": "eval", "step": 20, "success": [0.5, 0.25]}]
    series = phase_series(rows)
    steps, means = series["td3bc"]["critic_loss"]
    np.testing.assert_array_equal(steps, [10, 20])
    np.testing.assert_allclose(means, [2.0, 4.0])
    assert "time" not in series["td3bc"] and series["eval"]["success"][1].tolist() == [0.375]




def test_the_config_flattens_to_tensorboards_hyperparameter_values():
    flat = metric_log.flat_config({"rl": {"steps": 20, "actor_hidden": [16, 16], "note": None}, "method": "srtd",
                                   "eval": {"tasks": []}})
    assert flat == {"rl.steps": 20, "rl.actor_hidden": "(16, 16)", "rl.note": "None", "method": "srtd",
                    "eval.tasks": "()"}
