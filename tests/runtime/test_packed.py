"""Packed cells (srtd_jax/run_packed.py): a group trained as one program gives each cell what it gets alone."""
import json
import os
import signal

import jax
import numpy as np
import pytest

from srtd_jax.run import train_and_evaluate
from srtd_jax.run_packed import PackError, train_packed
from srtd_jax.runtime import metric_log, termination
from srtd_jax.runtime.config_check import ConfigError
from tests.tiny import tiny_config
from tests.tiny_run import final_state

quiet = lambda *_: None


# The tiny data's default configuration (25 episodes) and MR 10 (30): padded data; 10 and 20 encoder steps (the
# first cell is frozen while the second goes on); augmentation tables of different sizes.
NAMES = ("mr5_rp3_me2", "mr10")


def _cell_config(data_dir, configuration, method="srtd_id"):
    cfg = tiny_config(data_dir)
    cfg.method, cfg.data.configuration, cfg.num_seeds = method, configuration, 3
    cfg.encoder.holdout_fraction = 0.3  # the imagination diagnostics on held-out episodes, per cell
    cfg.eval.every_steps = 10  # an evaluation along the way too
    return cfg


def _sigterm_at(prefix: str, lines: list):
    """A log that keeps the lines and sends this process SIGTERM at the first one starting with `prefix`."""
    def log(line):
        lines.append(str(line))
        if lines[-1].startswith(prefix):
            os.kill(os.getpid(), signal.SIGTERM)
    return log


@pytest.mark.slow
@pytest.mark.default_emitters
def test_a_packed_group_equals_its_cells_run_alone_also_when_interrupted(tiny_data_dir, tmp_path):
    names = NAMES
    cfgs = [_cell_config(tiny_data_dir, n) for n in names]
    for cfg in cfgs:
        cfg.checkpoint.every_steps = 20
    workdirs = [str(tmp_path / "packed" / n) for n in names]
    # stopped by SIGTERM in the encoder phase, then in the learner's, between periodic checkpoints: each time the
    # chunk in flight is saved and the group resumes from it
    for at, phase in (("[encoder] step 10/", "encoder"), ("[td3bc] step 10/", "rl")):
        stopped = []
        with termination.sigterm_raises(), pytest.raises(termination.Terminated, match="step 10, saved"):
            train_packed(cfgs, workdirs, str(tmp_path / "packed"), log=_sigterm_at(at, stopped))
        assert stopped[-1] == f"[checkpoint] packed {phase} step 10"
    lines = []
    packed = train_packed(cfgs, workdirs, str(tmp_path / "packed"), log=lines.append)
    # the first cell, padded and frozen for half the encoder phase, against itself alone (the second, the group's
    # largest, is neither)
    alone_dir = str(tmp_path / "alone")
    alone = train_and_evaluate(cfgs[0], alone_dir, log=quiet)
    assert [s.pop("packed_with") for s in packed] == [workdirs[1:], workdirs[:1]]
    assert packed[0] == alone  # scores, curve, imagination diagnostics: to the last bit
    rows = lambda d: metric_log.without_times(metric_log.read_metrics(os.path.join(d, "metrics.jsonl")))
    assert rows(workdirs[0]) == rows(alone_dir)
    (step_p, state_p), (step_a, state_a) = final_state(workdirs[0]), final_state(alone_dir)
    assert step_p == step_a
    jax.tree.map(np.testing.assert_array_equal, state_p, state_a)
    # the two cells' encoder phases had different lengths (the shorter one frozen while the longer went on)
    enc_steps = [max(r["step"] for r in metric_log.read_metrics(os.path.join(w, "metrics.jsonl"))
                     if r["phase"] == "encoder") for w in workdirs]
    assert enc_steps == [10, 20]

    # a finished cell is finished for the launcher too, and never trained again in a group
    with pytest.raises(PackError, match="already finished"):
        train_packed(cfgs, workdirs, str(tmp_path / "packed"), log=quiet)
    assert train_and_evaluate(cfgs[1], workdirs[1], log=quiet) == {**packed[1], "packed_with": workdirs[:1]}
    # a group whose cells take the first group's trained encoders (as a sweep with reuse_encoders runs SRTD+ID
    # beside SRTD) has no encoder phase and ends with the same numbers
    for cfg, workdir in zip(cfgs, workdirs):
        cfg.encoder.reuse_from = workdir
    reused = train_packed(cfgs, [str(tmp_path / "reused" / n) for n in names], str(tmp_path / "reused"), log=quiet)
    assert [{k: v for k, v in s.items() if k != "packed_with"} for s in reused] == packed
    # the augmentation tables differed in size too (half of each cell's offline steps)
    sizes = [json.loads(line.split(": ")[1].split(" transitions")[0]) for line in lines
             if line.startswith("augmentation (imaginary): ")]
    assert len(sizes) == 1 and sizes[0][0] < sizes[0][1] == 300


@pytest.mark.slow
@pytest.mark.default_emitters
def test_a_packed_group_with_task_stratified_batches_equals_its_cells_run_alone(tiny_data_dir, tmp_path):
    names = NAMES
    cfgs = [_cell_config(tiny_data_dir, n, method="pcgrad") for n in names]
    workdirs = [str(tmp_path / "packed" / n) for n in names]
    packed = train_packed(cfgs, workdirs, str(tmp_path / "packed"), log=quiet)
    alone_dir = str(tmp_path / "alone")  # the padded cell
    alone = train_and_evaluate(cfgs[0], alone_dir, log=quiet)
    packed[0].pop("packed_with")
    assert packed[0] == alone
    jax.tree.map(np.testing.assert_array_equal, final_state(workdirs[0])[1], final_state(alone_dir)[1])
    assert np.isfinite(packed[1]["mean_success"])


def test_cells_that_differ_in_more_than_their_data_are_refused_before_anything_is_written(tiny_data_dir, tmp_path):
    a, b = _cell_config(tiny_data_dir, "mr10"), _cell_config(tiny_data_dir, "rp10")
    b.rl.steps = 40
    with pytest.raises(PackError, match=r"\(in rl\.steps\)"):
        train_packed([a, b], [str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path), log=quiet)
    c, d = _cell_config(tiny_data_dir, "rp10"), _cell_config(tiny_data_dir, "mr10")
    c.encoder.reuse_from = str(tmp_path / "elsewhere")  # one cell takes another run's encoders, one trains its own
    with pytest.raises(PackError, match=r"\(in encoder\.reuse_from\)"):
        train_packed([c, d], [str(tmp_path / "c"), str(tmp_path / "d")], str(tmp_path), log=quiet)
    d.encoder.reuse_from = str(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="encoder.reuse_from=.*elsewhere.*no run there"):
        train_packed([c, d], [str(tmp_path / "c"), str(tmp_path / "d")], str(tmp_path), log=quiet)
    with pytest.raises(PackError, match="share a workdir"):
        train_packed([a, a], [str(tmp_path / "a"), str(tmp_path / "a")], str(tmp_path), log=quiet)
    assert os.listdir(tmp_path) == []
