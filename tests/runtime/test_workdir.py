"""One launcher per workdir: the lock, its message, a stale lock taken over, and metrics.jsonl cut back in place."""
import json
import os
import socket
import subprocess
import sys

import pytest

from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime import metric_log, reporting
from srtd_jax.runtime.workdir import LOCK_FILE, WorkdirInUseError, locked
from tests.tiny import ROOT, tiny_config


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    with locked(str(tmp_path), log=print):
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(WorkdirInUseError, match=rf"workdir {tmp_path} is in use by PID {os.getpid()} on host "
                                                    rf"{socket.gethostname()} since {holder['since']}"):
            with locked(str(tmp_path), log=print):
                pass
    assert (tmp_path / LOCK_FILE).read_text() == ""  # released and emptied
    with locked(str(tmp_path), log=print):  # free again
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 4194304, "host": "h1", "since": "2026-11-27T10:00:00"}))
    lines = []
    with locked(str(tmp_path), log=lines.append):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert lines == [f"{tmp_path}: taking over the lock of PID 4194304 on host h1 (since 2026-11-27T10:00:00), "
                     "which is no longer running"]


def test_a_block_that_fails_releases_the_lock_without_a_record(tmp_path):
    with pytest.raises(ValueError, match="boom"):
        with locked(str(tmp_path), log=print):
            raise ValueError("boom")
    assert (tmp_path / LOCK_FILE).read_text() == ""  # the next launcher does not report a takeover
    lines = []
    with locked(str(tmp_path), log=lines.append):
        pass
    assert lines == []


def test_a_run_on_a_busy_workdir_writes_nothing(tiny_data_dir, tmp_path):
    cfg = tiny_config(tiny_data_dir)
    workdir = tmp_path / "wd"
    with locked(str(workdir), log=print):
        with pytest.raises(WorkdirInUseError, match="is in use by PID"):
            train_and_evaluate(cfg, str(workdir), log=lambda *_: None)
    assert os.listdir(workdir) == [LOCK_FILE]


@pytest.mark.slow
def test_the_launcher_exits_1_with_one_line_on_a_busy_workdir(tiny_data_dir, tmp_path):
    d = tiny_config(tiny_data_dir).data  # the quick config on the tiny datasets
    data = [f"--config.data.{k}={getattr(d, k)}" for k in ("data_dir", "episode_length", "episodes_mr", "episodes_rp",
                                                             "episodes_me", "num_rungs", "probe_episodes")]
    with locked(str(tmp_path), log=print):
        out = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py",
                              f"--workdir={tmp_path}", "--config.data.generate=False", *data],
                             capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1].startswith(f"WorkdirInUseError: workdir {tmp_path} is in use by PID "
                                                          f"{os.getpid()} on host {socket.gethostname()} since ")
    assert "Traceback" not in out.stderr and os.listdir(tmp_path) == [LOCK_FILE]


def test_resuming_cuts_metrics_back_in_place(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3}\n{"step": 4, "cut by a ki')
    inode = os.stat(path).st_ino
    writer = metric_log.MetricWriter(str(tmp_path), keep_lines=2)
    writer.write("rl", 3, {"loss": [0.5]})
    writer.close()
    assert os.stat(path).st_ino == inode  # the same file, truncated and appended to, never replaced
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3]
    assert writer.lines == 3


def test_a_launcher_with_another_config_is_refused_while_a_run_holds_the_workdir(tiny_data_dir, tmp_path):
    """Two launchers, seeds 0 and 1, on one workdir: the second is refused whether or not the first has written its
    config.json yet, and the workdir keeps the first's files."""
    from srtd_jax.runtime.config_check import ConfigMismatchError
    from srtd_jax.runtime.workdir import prepare_workdir
    first, second = tiny_config(tiny_data_dir), tiny_config(tiny_data_dir)
    second.seed = 1
    workdir = tmp_path / "wd"
    with locked(str(workdir), log=print):  # the first run, before it wrote config.json
        with pytest.raises(WorkdirInUseError):
            train_and_evaluate(second, str(workdir), log=lambda *_: None)
        prepare_workdir(first, str(workdir), [], "first", log=print)  # ... and after
        before = {p: (workdir / p).read_bytes() for p in os.listdir(workdir)}
        with pytest.raises(ConfigMismatchError, match="seed: 0 -> 1"):
            train_and_evaluate(second, str(workdir), log=lambda *_: None)
        assert {p: (workdir / p).read_bytes() for p in os.listdir(workdir)} == before


@pytest.mark.slow
def test_a_finished_run_reprints_its_table(tiny_data_dir, tmp_path):
    cfg = tiny_config(tiny_data_dir)
    cfg.method, cfg.eval.tasks = "td3bc", ("reach",)
    first = train_and_evaluate(cfg, str(tmp_path), log=lambda *_: None)
    lines = []
    assert train_and_evaluate(cfg, str(tmp_path), log=lines.append) == first
    assert lines[-2].endswith("run already complete (" + str(tmp_path / "summary.json") + ")")
    assert lines[-1] == reporting.console_table(first)


@pytest.mark.slow
def test_print_config_shows_the_overrides_and_writes_nothing(tmp_path):
    out = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py", "--print_config",
                          "--config.rl.steps=1234"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "steps: 1234" in out.stdout and "method: srtd" in out.stdout
    missing = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py"],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode != 0 and "--workdir is required" in missing.stderr
