"""The suite's compile settings (tests/conftest.py): its processes compile on XLA's legacy CPU emitters, and a test
marked `default_emitters` runs in a child process on the default ones."""
import os

import pytest

LEGACY_EMITTERS = "--xla_cpu_use_fusion_emitters=false"


def test_the_suite_compiles_on_the_legacy_emitters():
    assert LEGACY_EMITTERS in os.environ["XLA_FLAGS"].split()


@pytest.mark.slow
@pytest.mark.default_emitters
def test_a_default_emitters_test_runs_in_a_child_on_the_default_emitters():
    assert os.environ.get("SRTD_TEST_DEFAULT_EMITTERS") == "1"
    assert LEGACY_EMITTERS not in os.environ["XLA_FLAGS"].split()
