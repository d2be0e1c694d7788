"""Seeds sharded over devices and hosts give the numbers of the single-device run: 2 processes x 2 forced CPU
devices joined by jax.distributed over localhost (several devices in each process, and several processes),
against 1 device."""
import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from srtd_jax.core import devices
from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime.metric_log import read_metrics, without_times
from tests import tiny_run
from tests.tiny import ROOT
from tests.tiny_run import RESUME_OVERRIDES, final_state, finish


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _spawn(args, devices_per_process=1):
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices_per_process}"
    env = dict(os.environ, XLA_FLAGS=flags.strip())
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


# The resume test's config, shorter: one encoder epoch, one evaluation and one checkpoint at the end.
DEVICE_OVERRIDES = {**RESUME_OVERRIDES, "encoder.epochs": 1.0, "rl.steps": 20, "eval.every_steps": 0,
                    "checkpoint.every_steps": 0}


@pytest.mark.slow
@pytest.mark.default_emitters
def test_sharded_seeds_equal_the_single_device_run(tiny_data_dir, tmp_path):
    overrides = json.dumps(DEVICE_OVERRIDES)
    port = _free_port()
    hosts = [_spawn(["tests.multihost_run", str(port), "2", str(i), "2", tiny_data_dir, str(tmp_path / "hosts"),
                     overrides]) for i in range(2)]
    lines = []  # the single-device reference runs here, on this process's one CPU device, while the hosts run
    one = train_and_evaluate(tiny_run.config(tiny_data_dir, overrides), str(tmp_path / "one"), log=lines.append)
    outputs = {"one": ("\n".join(map(str, lines)), json.loads(json.dumps(one))), "hosts": finish(hosts[0])}
    finish(hosts[1])
    assert "4 seeds over 1 cpu device(s)" in outputs["one"][0]
    assert "4 seeds over 4 cpu device(s)" in outputs["hosts"][0] and "2 process(es)" in outputs["hosts"][0]

    reference_metrics = without_times(read_metrics(tmp_path / "one" / "metrics.jsonl"))
    step, reference_state = final_state(tmp_path / "one")
    one, hosts = outputs["one"][1], outputs["hosts"][1]
    assert (one.pop("device"), hosts.pop("device")) == ("cpu (cpu) x1", "cpu (cpu) x4")  # what each ran on
    assert hosts == one  # and otherwise the same summary
    assert without_times(read_metrics(tmp_path / "hosts" / "metrics.jsonl")) == reference_metrics
    other_step, state = final_state(tmp_path / "hosts")
    assert other_step == step
    for a, b in zip(jax.tree.leaves(reference_state), jax.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)  # lax.map per seed: the same arithmetic on every layout


def test_seed_mesh_uses_the_most_devices_that_divide_the_seeds():
    assert devices.seed_mesh(3).size == 1  # one CPU device in the test process
    with pytest.raises(devices.DeviceError, match="devices must be >= 0"):
        devices.seed_mesh(3, -1)


def test_multi_host_settings_are_checked(monkeypatch):
    monkeypatch.delenv("SRTD_COORDINATOR_ADDRESS", raising=False)
    monkeypatch.delenv("SRTD_DISTRIBUTED", raising=False)
    assert devices.initialize_distributed() is False  # single host: nothing to start
    with pytest.raises(devices.DeviceError, match="missing num_processes, process_id"):
        devices.initialize_distributed("localhost:1234")
    with pytest.raises(devices.DeviceError, match=r"process_id=2 is not in \[0, num_processes=2\)"):
        devices.initialize_distributed("localhost:1234", 2, 2)
