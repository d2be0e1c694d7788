"""Fixtures shared by the tests: one XLA compilation cache and one tiny dataset per test session, shared by every
pytest-xdist worker."""
import fcntl
import os
import subprocess
import sys
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
# optimisation passes compiles about a third faster, and XLA's legacy CPU emitters compile about half again faster
# than its default fusion emitters. Both runs of every comparison inside the suite share these flags; results may
# differ in the last bits from a launcher run outside the suite.
FAST_COMPILE = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
LEGACY_EMITTERS = "--xla_cpu_use_fusion_emitters=false"
# The legacy emitters round a few values differently in programs of different layouts (cells packed or alone, seeds
# sharded or on one device), which launcher runs, on the default emitters, compute bit for bit alike. Tests that
# compare such programs are marked `default_emitters` and run in a child pytest process on the default emitters.
_CHILD = "SRTD_TEST_DEFAULT_EMITTERS"
_BASE_FLAGS = os.environ.setdefault("SRTD_TEST_BASE_XLA_FLAGS", os.environ.get("XLA_FLAGS", ""))
_SUITE_FLAGS = FAST_COMPILE if os.environ.get(_CHILD) else f"{FAST_COMPILE} {LEGACY_EMITTERS}"
os.environ["XLA_FLAGS"] = f"{_BASE_FLAGS} {_SUITE_FLAGS}".strip()
# a child process reads the parent's tiny dataset instead of generating its own
_TINY_DATA = "SRTD_TEST_TINY_DATA"

from srtd_jax.benchmarks.mt10 import generate  # noqa: E402  (after the cache settings)
from srtd_jax.benchmarks.mt10.env import MT10_TASKS  # noqa: E402
from srtd_jax.data import ladder  # noqa: E402
from tests.tiny import ROOT, tiny_config  # noqa: E402


def pytest_configure(config):
    """Under pytest-xdist, the tests go to the workers one by one instead of in chunks of consecutive tests, so that
    the longest, which the workers order first (below), are spread over both workers and the short ones fill in at
    the end."""
    if config.pluginmanager.hasplugin("xdist") and getattr(config.option, "maxschedchunk", 0) is None:
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(config, items):
    """In a pytest-xdist worker, the longest tests first: those in a child process on the default emitters, then
    the other `slow` ones (whole runs, sweeps, subprocesses), then the rest, each group in collection order. Two
    workers that start with the longest tests end within seconds of each other, where in file order one of them
    could be left with the last long test while the other idles. A run without workers keeps the file order."""
    if not hasattr(config, "workerinput"):
        return

    def rank(item):
        return 0 if item.get_closest_marker("default_emitters") else 1 if item.get_closest_marker("slow") else 2
    items.sort(key=rank)  # stable: collection order within each group


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs a test marked `default_emitters` in a child pytest process on XLA's default CPU emitters; its fixtures
    here are still set up (the tiny dataset is passed on), and a failure shows the child's output."""
    if pyfuncitem.get_closest_marker("default_emitters") is None or os.environ.get(_CHILD):
        return None
    env = dict(os.environ, **{_CHILD: "1", "XLA_FLAGS": _BASE_FLAGS})
    if "tiny_data_dir" in pyfuncitem.funcargs:
        env[_TINY_DATA] = pyfuncitem.funcargs["tiny_data_dir"]
    child = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", pyfuncitem.nodeid],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    if child.returncode != 0:
        output = child.stdout[-8000:] + child.stderr[-2000:]
        pytest.fail(f"on XLA's default CPU emitters (a child pytest process):\n{output}", pytrace=False)
    return True


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory, worker_id):
    """The tiny config's datasets for every task and kind, generated once per test session: the first xdist worker
    to get here generates them under a file lock in the session's shared temporary folder; the others wait. A child
    process of a `default_emitters` test reads its parent's."""
    if os.environ.get(_TINY_DATA):
        return os.environ[_TINY_DATA]
    root = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    path = str(root / "tiny_mt10")
    os.makedirs(path, exist_ok=True)
    settings = generate.settings_from_config(tiny_config(path).data)
    with open(os.path.join(path, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in ladder.KINDS:
            generate.ensure_datasets({t: kind for t in MT10_TASKS}, settings, path, num_workers=2 if kind == "MR" else 1)
    return path
