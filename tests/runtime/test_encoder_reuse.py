"""encoder.reuse_from: a run takes a finished run's trained encoders and ends with the numbers it would have
reached training them itself; a source whose encoder phase differs is refused before anything is written."""
import os

import jax
import numpy as np
import pytest

from srtd_jax.agents.methods import resolve
from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime import checkpointing, encoder_reuse
from srtd_jax.runtime.config_check import ConfigError
from srtd_jax.runtime.metric_log import read_metrics, without_times
from tests.tiny import tiny_config


def _cfg(data_dir, method):
    """test_every_method's srtd_id run but for the evaluated tasks: the same programs, compiled once per suite."""
    cfg = tiny_config(data_dir)
    cfg.method, cfg.num_seeds, cfg.encoder.holdout_fraction, cfg.eval.tasks = method, 3, 0.3, ("reach", "push")
    return cfg


@pytest.mark.slow
def test_reused_encoders_give_the_numbers_of_training_them(tiny_data_dir, tmp_path):
    quiet = lambda *_: None
    own = train_and_evaluate(_cfg(tiny_data_dir, "srtd_id"), str(tmp_path / "own"), log=quiet)
    cfg = _cfg(tiny_data_dir, "srtd_id")
    cfg.encoder.reuse_from = str(tmp_path / "own")
    lines = []
    reused = train_and_evaluate(cfg, str(tmp_path / "reused"), log=lines.append)
    assert any("encoders: the trained ones of" in str(line) for line in lines)
    rows = without_times(read_metrics(tmp_path / "reused" / "metrics.jsonl"))
    assert rows and not any(r["phase"] == "encoder" for r in rows)  # no encoder phase of its own
    own_rl = [r for r in without_times(read_metrics(tmp_path / "own" / "metrics.jsonl")) if r["phase"] != "encoder"]
    assert rows == own_rl  # and the same RL phase
    for summary in (own, reused):
        summary.pop("device")
    assert reused == own
    for a, b in zip(jax.tree.leaves(checkpointing.latest_encoder_params(str(tmp_path / "own"), None)),
                    jax.tree.leaves(checkpointing.latest_encoder_params(str(tmp_path / "reused"), None))):
        np.testing.assert_array_equal(a, b)
    srtd = _cfg(tiny_data_dir, "srtd")
    srtd.encoder.reuse_from = str(tmp_path / "own")
    encoder_reuse.check_source(srtd, resolve("srtd"))  # SRTD trains its encoders as SRTD+ID does
    srtd.encoder.reuse_from = ""
    assert encoder_reuse.find_source(srtd, resolve("srtd"), str(tmp_path)) == str(tmp_path / "own")
    srtd.encoder.n += 1
    assert encoder_reuse.find_source(srtd, resolve("srtd"), str(tmp_path)) is None

    def refused(method, match, **encoder):
        bad = _cfg(tiny_data_dir, method)
        bad.encoder.reuse_from = encoder.pop("reuse_from", str(tmp_path / "own"))
        bad.encoder.update(encoder)
        with pytest.raises(ConfigError, match=match):
            train_and_evaluate(bad, str(tmp_path / "refused"), log=quiet)
        assert not os.path.exists(tmp_path / "refused")  # nothing written

    refused("srtd_id", r"differs in encoder.latent_dim \(4 there, 3 here\)", latent_dim=3)
    refused("te", "its method 'srtd_id' trains its encoders with other losses than 'te'")
    refused("td3bc", "method 'td3bc' has no encoders")
    refused("srtd_id", "no run there", reuse_from=str(tmp_path / "nowhere"))
