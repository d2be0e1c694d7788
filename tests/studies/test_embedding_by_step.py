"""The task accuracy of z_t by episode step: the k-NN vote by hand, the step ranges, and the command's checks."""
import subprocess
import sys

import numpy as np
import pytest

from srtd_jax.studies import embedding_by_step
from srtd_jax.studies.embedding_map import knn_predict
from tests.tiny import ROOT


def _episodes():
    """4 episodes of 3 steps, tasks 0, 0, 1, 1: every z_1 at 0 (no window says which task yet), then task 0's
    z_2, z_3 near -10 and task 1's near +10."""
    z = np.zeros((4, 3, 1))
    z[0, 1:, 0], z[1, 1:, 0] = [-10.0, -10.2], [-10.1, -10.3]
    z[2, 1:, 0], z[3, 1:, 0] = [10.0, 10.2], [10.1, 10.3]
    return z, np.array([0, 0, 1, 1])


def test_accuracy_by_step_by_hand():
    z, tasks = _episodes()
    # Every point is a query and a reference (4 and 8 points per range, 12 in all). A z_1's 3 nearest others are the
    # other z_1 (distance 0, the next at 10): for a task-0 point one task 0 and two task 1 (wrong), and the same the
    # other way round: 0 of 4. A later z's 3 nearest others are the rest of its cluster, all of its task: 8 of 8.
    assert embedding_by_step.accuracy_by_step(z, tasks, [(1, 1), (2, 3)], k=3) == [0.0, 1.0]
    # k=1: a z_1's nearest other is one of three at distance 0, tasks (0, 1, 1) -- which one is argpartition's
    # choice, so only the later range is fixed: each z's nearest other is of its task
    assert embedding_by_step.accuracy_by_step(z, tasks, [(1, 1), (2, 3)], k=1)[1] == 1.0
    # episode 2 (task 1) has one real step; its padding sits in task 0's cluster and must neither vote nor be
    # scored: with k=1 every later z's nearest real other is then of its task
    z[2, 1:, 0] = [-10.05, -10.25]
    lengths = np.array([3, 3, 1, 3])
    assert embedding_by_step.accuracy_by_step(z, tasks, [(2, 3)], k=1, lengths=lengths) == [1.0]
    assert embedding_by_step.accuracy_by_step(z, tasks, [(2, 3)], k=1)[0] < 1.0  # counted, the padding errs
    with pytest.raises(ValueError, match="expected \\(E, L, D\\)"):
        embedding_by_step.accuracy_by_step(z[0], tasks, [(1, 1)])
    with pytest.raises(ValueError, match="no points at steps 4-5"):
        embedding_by_step.accuracy_by_step(z, tasks, [(4, 5)], k=3)


def test_knn_predict_leaves_out_the_pairs_that_are_one_point():
    reference, ids = np.array([[0.0], [1.0], [5.0]]), np.array([0, 0, 1])
    assert knn_predict(np.array([[0.1]]), reference, ids, 1).tolist() == [0]
    assert knn_predict(np.array([[0.1]]), reference, ids, 1, np.array([[True, True, False]])).tolist() == [1]


def test_step_ranges():
    assert embedding_by_step.buckets([1, 2, 6], 10) == [(1, 1), (2, 5), (6, 10)]
    assert embedding_by_step.buckets([1], 10) == [(1, 10)]
    for starts, match in (([2, 3], "increase from 1"), ([1, 1], "increase from 1"), ([], "increase from 1"),
                          ([1, 11], "beyond the episode length 10")):
        with pytest.raises(ValueError, match=match):
            embedding_by_step.buckets(starts, 10)


@pytest.mark.slow
@pytest.mark.parametrize("args,message", [
    (["--runs=nowhere/srtd", "--seeds=0"], "--runs: nowhere/srtd: no config.json there"),
    (["--runs=a:x,a:y", "--starts=2,4"], "label 'a' given twice"),  # the runs are checked first
])
def test_the_command_refuses_bad_input_in_one_line(args, message, tmp_path):
    out = subprocess.run([sys.executable, "-m", "experiments.embedding_by_step", *args, f"--out={tmp_path}/o"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode != 0 and message in out.stderr
    assert not list(tmp_path.iterdir())  # nothing written
