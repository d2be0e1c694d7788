"""Checkpoint and resume: a run killed with SIGKILL mid-phase, or stopped with SIGTERM between checkpoints, and
restarted ends bit-identical to a run that was never interrupted; half-written checkpoints are never restored; a
changed config on a workdir is refused."""
import json
import os
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime import checkpointing, termination
from srtd_jax.runtime.config_check import ConfigMismatchError, check_workdir_config
from srtd_jax.runtime.loop import duration, evaluation_due
from srtd_jax.runtime.metric_log import read_metrics, without_times
from srtd_jax.runtime.workdir import prepare_workdir
from tests.tiny import ROOT, tiny_config
from tests.tiny_run import RESUME_OVERRIDES, final_state, finish


def _start(data_dir, workdir, overrides=RESUME_OVERRIDES, env=None):
    return subprocess.Popen([sys.executable, "-m", "tests.tiny_run", data_dir, workdir, json.dumps(overrides)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)


def _kill_after(proc, marker: str) -> str:
    """Reads the run's output until `marker`, then SIGKILLs it. Returns the output."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return "".join(lines)
    proc.wait()
    raise AssertionError(f"the run ended before {marker!r}:\n" + "".join(lines[-40:]))


# checkpoints every 20 steps of each phase, so that a stop at an odd multiple of the chunk (10) saves on its own
STOPPED = {**RESUME_OVERRIDES, "checkpoint.every_steps": 20}


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_numbers(tiny_data_dir, tmp_path):
    killed = str(tmp_path / "killed")
    _kill_after(_start(tiny_data_dir, killed, STOPPED), "[checkpoint] encoder step 20")
    # then stopped by SIGTERM (a scheduler's time limit) in the offline-RL phase, between two periodic checkpoints:
    # the chunk in flight ends and is saved; here, in this process, where the stop comes at a known point
    lines = []

    def log(line):
        lines.append(str(line))
        if lines[-1].startswith("[td3bc] step 10/"):
            os.kill(os.getpid(), signal.SIGTERM)

    with termination.sigterm_raises(), pytest.raises(termination.Terminated, match="at td3bc step 10, saved"):
        train_and_evaluate(_tiny(tiny_data_dir, **STOPPED), killed, log=log)
    assert "resuming encoder at step 20" in "\n".join(lines)  # the kill landed inside the encoder phase
    assert lines[-2:] == ["[stop] SIGTERM: td3bc stops at step 10", "[checkpoint] td3bc step 10"]
    assert final_state(killed)[0] == 40 + 10
    # the uninterrupted run starts once the killed runs have compiled every program into the session's cache, and
    # runs beside the last resume
    full = _start(tiny_data_dir, str(tmp_path / "full"), STOPPED)
    out, summary = finish(_start(tiny_data_dir, killed, STOPPED))
    assert "resuming rl at step 10" in out  # from the stop's own checkpoint
    _, reference = finish(full)
    _check_outputs(tmp_path / "full", reference)

    assert summary == reference
    assert without_times(read_metrics(tmp_path / "full" / "metrics.jsonl")) == \
        without_times(read_metrics(tmp_path / "killed" / "metrics.jsonl"))
    (step_a, state_a), (step_b, state_b) = final_state(tmp_path / "full"), final_state(killed)
    assert step_a == step_b == 80
    assert jax.tree.structure(state_a) == jax.tree.structure(state_b)
    for a, b in zip(jax.tree.leaves(state_a), jax.tree.leaves(state_b)):
        np.testing.assert_array_equal(a, b)  # bit for bit
    assert len([d for d in os.listdir(os.path.join(killed, "checkpoints")) if d.isdigit()]) == 2  # keep = 2
    # the finished run is not redone
    again = train_and_evaluate(_tiny(tiny_data_dir, **STOPPED), killed, log=lambda *_: None)
    assert again == summary


def _check_outputs(workdir, summary):
    """Every output of a finished run is there and well formed."""
    assert list(summary["per_task"]) == ["reach", "push"] and len(summary["per_seed_mean"]) == 4
    assert 0.0 <= summary["mean_success"] <= 1.0
    assert [p["step"] for p in summary["learning_curve"]] == [20, 40]
    assert json.load(open(workdir / "summary.json")) == summary
    rows = without_times(read_metrics(workdir / "metrics.jsonl"))
    assert {r["phase"] for r in rows} == {"encoder", "td3bc", "eval"}
    for r in rows:
        if r["phase"] != "eval":
            vals = [v for k, v in r.items() if k not in ("phase", "step")]
            assert all(x is None or np.isfinite(x) for v in vals for x in v)  # finite losses, per seed
            assert r["nonfinite_updates"] == [0, 0, 0, 0]
    assert os.listdir(workdir / "tensorboard") and os.path.exists(workdir / "curves.png")
    assert sorted(int(d) for d in os.listdir(workdir / "checkpoints")) == [60, 80]  # the last two kept
    assert json.load(open(workdir / "config.json"))["num_seeds"] == 4


def _tiny(data_dir, **overrides):
    cfg = tiny_config(data_dir)
    for field, value in {**RESUME_OVERRIDES, **overrides}.items():
        section, _, name = field.rpartition(".")
        (cfg[section] if section else cfg)[name] = value
    return cfg


def test_half_written_checkpoint_is_never_restored(tmp_path):
    ckpt = checkpointing.RunCheckpointer(str(tmp_path / "ckpt"), keep=3)
    ckpt.save(10, {"w": np.arange(3.0)}, {"phase": "rl", "phase_step": 10})
    # what a process killed during a save leaves: orbax's temporary directory without the commit marker
    os.makedirs(tmp_path / "ckpt" / "20.orbax-checkpoint-tmp-1234" / "state")
    ckpt.close()
    again = checkpointing.RunCheckpointer(str(tmp_path / "ckpt"), keep=3)
    step, meta = again.latest()
    assert step == 10 and meta["phase_step"] == 10
    np.testing.assert_array_equal(again.restore_state(10, {"w": np.zeros(3)})["w"], np.arange(3.0))


def test_the_latest_state_is_read_without_a_like_tree_warnings_or_writes(tmp_path, caplog):
    directory = tmp_path / "ckpt"
    with pytest.raises(FileNotFoundError, match=f"no checkpoint directory {directory}"):
        checkpointing.latest_state(str(directory))
    ckpt = checkpointing.RunCheckpointer(str(directory), keep=3)
    with pytest.raises(FileNotFoundError, match=f"no checkpoint under {directory}"):
        checkpointing.latest_state(str(directory))
    for step in (10, 20):
        ckpt.save(step, {"w": np.arange(3.0) * step, "k": {"b": np.int32(step)}}, {"phase": "rl"})
    ckpt.close()
    os.makedirs(directory / "30.orbax-checkpoint-tmp-1234" / "state")  # a save cut short is not the latest
    files = sorted(str(p) for p in directory.rglob("*"))
    with caplog.at_level("WARNING"):
        step, state = checkpointing.latest_state(str(directory))
    assert step == 20 and int(state["k"]["b"]) == 20
    np.testing.assert_array_equal(state["w"], np.arange(3.0) * 20)
    assert state["w"].devices() == {jax.local_devices()[0]}
    assert not [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sorted(str(p) for p in directory.rglob("*")) == files


def test_changed_config_is_refused_with_a_diff(tiny_data_dir, tmp_path):
    cfg = _tiny(tiny_data_dir)
    prepare_workdir(cfg, str(tmp_path), [], "first command", log=lambda *_: None)
    (tmp_path / "summary.json").write_text('{"kept": true}')
    before = {p: open(tmp_path / p, "rb").read() for p in os.listdir(tmp_path)}

    changed = _tiny(tiny_data_dir, **{"rl.steps": 30, "encoder.n": 3})
    changed.data.num_workers = 2  # how the run is carried out: not a difference
    with pytest.raises(ConfigMismatchError) as err:
        train_and_evaluate(changed, str(tmp_path), log=lambda *_: None)
    message = str(err.value)
    assert "rl.steps: 40 -> 30" in message and "encoder.n: 4 -> 3" in message
    assert "num_workers" not in message and "--allow_config_change" in message
    assert {p: open(tmp_path / p, "rb").read() for p in os.listdir(tmp_path)} == before  # nothing touched

    diff = check_workdir_config(changed, str(tmp_path / "config.json"), allow_change=True)
    assert diff == ["encoder.n: 4 -> 3", "rl.steps: 40 -> 30"]
    prepare_workdir(changed, str(tmp_path), diff, "second command", log=lambda *_: None)
    assert json.load(open(tmp_path / "config.1.json"))["rl"]["steps"] == 40  # the earlier config is kept
    assert json.load(open(tmp_path / "config.json"))["rl"]["steps"] == 30
    assert open(tmp_path / "command.txt").read() == "first command\nsecond command\n"


def test_evaluations_fall_due_where_a_chunk_crosses_their_period_before_the_end():
    # chunks of 300 steps, an evaluation every 1000, 3000 steps in all: after the chunks that cross 1000 and 2000;
    # not at 3000, where the final evaluation follows anyway
    due = [done for done in range(300, 3001, 300) if evaluation_due(done, 3000, 300, 1000)]
    assert due == [1200, 2100]
    assert not any(evaluation_due(done, 3000, 300, 0) for done in range(300, 3001, 300))  # 0: never


def test_progress_durations_by_hand():
    assert [duration(s) for s in (0.4, 59.4, 89, 3569, 3600, 3930, 7199)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h 00 min", "1 h 06 min", "2 h 00 min"]
