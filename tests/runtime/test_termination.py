"""SIGTERM stops a launcher the way Ctrl-C does: the training loop ends the chunk in flight, saves it and raises
Terminated; the launcher says so in one line and exits 143."""
import os
import signal
import time

import numpy as np
import pytest

from srtd_jax.runtime import loop, termination


class _Writer:
    def write(self, phase, step, metrics, steps_per_second):
        pass


def _chunks(signal_at: int, calls: list):
    """A chunk function adding 1 to every seed's state; SIGTERM arrives while chunk `signal_at` runs."""
    def chunk_fn(states, keys, step, shared, per_seed):
        calls.append(int(step))
        if len(calls) == signal_at:
            os.kill(os.getpid(), signal.SIGTERM)
        return states + 1, keys, {"nonfinite_updates": np.zeros(2)}, {"step": np.full(2, -1)}
    return chunk_fn


def _wait_for_the_handler():
    for _ in range(200):  # it runs in the main thread between two bytecodes, right after os.kill
        time.sleep(0.005)
    pytest.fail("SIGTERM did not stop the block")


def test_a_sigterm_during_a_chunk_stops_the_loop_after_it_with_the_chunk_saved():
    previous = signal.getsignal(signal.SIGTERM)
    calls, lines, after, stopped = [], [], [], []
    with termination.sigterm_raises():
        with pytest.raises(termination.Terminated, match="^stopped by SIGTERM at td3bc step 30, saved; the same "
                                                         "command resumes from there$"):
            loop.run_chunks(_chunks(3, calls), np.zeros(2), None, total_steps=100, chunk_steps=10, shared=None,
                            per_seed=None, phase="td3bc", writer=_Writer(), log=lines.append,
                            after_chunk=lambda done, states, keys: after.append(done),
                            on_stop=lambda done, states, keys: stopped.append((done, states.tolist())))
        os.kill(os.getpid(), signal.SIGTERM)  # a second one (`timeout` signals the process, then its group) ...
        time.sleep(0.2)  # ... does not cut the clean-up short
    assert signal.getsignal(signal.SIGTERM) is previous
    # the chunk in flight finished, with its after_chunk (an evaluation, a checkpoint), and was handed to on_stop
    assert calls == [0, 10, 20] and after == [10, 20, 30] and stopped == [(30, [3.0, 3.0])]
    assert lines[-1] == "[stop] SIGTERM: td3bc stops at step 30"


def test_outside_the_loop_sigterm_raises_at_once_and_the_launcher_exits_143_with_one_line(capsys):
    from experiments import config_cli
    with pytest.raises(SystemExit) as stop:
        with config_cli.one_line_errors(), termination.sigterm_raises():
            os.kill(os.getpid(), signal.SIGTERM)  # e.g. while the data loads
            _wait_for_the_handler()
    assert stop.value.code == termination.EXIT_STATUS == 143
    assert capsys.readouterr().err == "Terminated: stopped by SIGTERM\n"


def test_an_evaluation_that_fails_after_the_sigterm_stops_without_saving():
    # e.g. evaluation workers in the same process group, stopped by the same signal
    def after_chunk(done, states, keys):
        if done == 20:
            os.kill(os.getpid(), signal.SIGTERM)
            raise EOFError("worker gone")

    stopped = []
    with termination.sigterm_raises():
        with pytest.raises(termination.Terminated, match="at td3bc step 20, where EOFError: worker gone; the last "
                                                         "checkpoint stands") as stop:
            loop.run_chunks(_chunks(0, []), np.zeros(2), None, total_steps=100, chunk_steps=10, shared=None,
                            per_seed=None, phase="td3bc", writer=_Writer(), log=lambda *_: None,
                            after_chunk=after_chunk, on_stop=lambda *args: stopped.append(args))
    assert isinstance(stop.value.__cause__, EOFError) and stopped == []


def test_without_the_launchers_handler_the_loop_runs_as_before():
    calls = []
    with termination.deferred() as pending:
        assert not pending()
    states, _ = loop.run_chunks(_chunks(0, calls), np.zeros(2), None, total_steps=30, chunk_steps=10, shared=None,
                                per_seed=None, phase="encoder", writer=_Writer(), log=lambda *_: None)
    assert calls == [0, 10, 20] and states.tolist() == [3.0, 3.0]
