"""Fixtures shared by the tests: one XLA compilation cache and one tiny dataset per test session, shared by every
pytest-xdist worker."""
import fcntl
import os
import tempfile

import pytest

# One persistent XLA compilation cache for the test session, its xdist workers and the runs it starts in
# subprocesses (kill-and-resume, devices): a program compiled once is reused. Set before JAX loads.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"srtd-test-xla-{_RUN}")
                      if _RUN else tempfile.mkdtemp(prefix="srtd-test-xla-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# The tests' programs are tiny and run for milliseconds, so compiling them dominates the suite: LLVM without its
# optimisation passes compiles about a third faster. Both runs of every comparison inside the suite share these
# flags; results may differ in the last bits from a launcher run outside the suite.
FAST_COMPILE = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE}".strip()

from srtd_jax.benchmarks.mt10 import generate  # noqa: E402  (after the cache settings)
from srtd_jax.benchmarks.mt10.env import MT10_TASKS  # noqa: E402
from srtd_jax.data import ladder  # noqa: E402
from tests.tiny import tiny_config  # noqa: E402


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory, worker_id):
    """The tiny config's datasets for every task and kind, generated once per test session: the first xdist worker
    to get here generates them under a file lock in the session's shared temporary folder; the others wait."""
    root = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    path = str(root / "tiny_mt10")
    os.makedirs(path, exist_ok=True)
    settings = generate.settings_from_config(tiny_config(path).data)
    with open(os.path.join(path, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in ladder.KINDS:
            generate.ensure_datasets({t: kind for t in MT10_TASKS}, settings, path, num_workers=2 if kind == "MR" else 1)
    return path
