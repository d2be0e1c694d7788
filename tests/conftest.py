
import os
import tempfile

import pytest

# One persistent XLA compilation cache for the test session and the runs it starts in subprocesses
# (kill-and-resume, devices): a restarted run reuses the programs compiled by the first. Set before JAX loads.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="srtd-test-xla-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

from configs import default
from srtd_jax.data import mt10_generate


def tiny_config(data_dir: str):
    """A shrunk config: tiny data, tiny networks, a few steps (for tests only)."""
    c = default.get_config()
    c.num_seeds = 2
    d = c.data
    d.data_dir, d.episode_length = data_dir, 20
    d.episodes_mr, d.episodes_rp, d.episodes_me = 3, 2, 2
    d.num_rungs, d.probe_episodes, d.num_workers = 3, 1, 1
    e = c.encoder
    e.skill_hidden, e.task_hidden = (16, 16), (16,)
    e.batch_size, e.epochs, e.chunk_steps = 32, 1.0, 10
    r = c.rl
    r.actor_hidden = r.critic_hidden = (16, 16)
    r.batch_size, r.steps, r.chunk_steps = 32, 20, 10
    r.softmod.hidden = r.softmod.representation = 16
    c.cql.num_action_samples = 3
    c.eval.episodes_per_task, c.eval.episode_length, c.eval.env_workers = 1, 10, 1
    return c


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """The tiny config's datasets for every task and kind, generated once per test session."""
    path = str(tmp_path_factory.mktemp("mt10"))
    settings = mt10_generate.settings_from_config(tiny_config(path).data)
    from srtd_jax.envs.metaworld_mt10 import MT10_TASKS
    for kind in mt10_generate.KINDS:
        mt10_generate.ensure_datasets({t: kind for t in MT10_TASKS}, settings, path, num_workers=2 if kind == "MR" else 1)
    return path
