"""The host loop's progress lines."""
import numpy as np

from srtd_jax.runtime import loop


class _Writer:
    def __init__(self):
        self.rows = []

    def write(self, phase, step, metrics, steps_per_second):
        self.rows.append((phase, step, steps_per_second))


def test_time_left_leaves_the_first_chunks_compilation_out(monkeypatch):
    # a fake clock: the first chunk takes 10 s (its compilation), every later one 1 s
    clock = {"now": 0.0, "calls": 0}

    def chunk_fn(states, keys, step, shared, per_seed):
        clock["calls"] += 1
        clock["now"] += 10.0 if clock["calls"] == 1 else 1.0
        metrics = {"nonfinite_updates": np.zeros(2), "loss": np.array([1.0, 3.0])}
        return states, keys, metrics, {"step": np.full(2, -1)}

    monkeypatch.setattr(loop.time, "time", lambda: clock["now"])
    lines, writer = [], _Writer()
    loop.run_chunks(chunk_fn, None, None, total_steps=50, chunk_steps=10, shared=None, per_seed=None,
                    phase="td3bc", writer=writer, log=lines.append)
    assert lines[0] == "[td3bc] step 10/50 (1 steps/s per seed-batch, 40 s left): loss 2, nonfinite_updates 0"
    # 10 steps in the 1 s since the first chunk: 10 steps/s, 30 steps left (with the first chunk counted, 20 steps
    # in 11 s would say 17 s)
    assert lines[1] == "[td3bc] step 20/50 (10 steps/s per seed-batch, 3 s left): loss 2, nonfinite_updates 0"
    assert lines[-1] == "[td3bc] step 50/50 (10 steps/s per seed-batch): loss 2, nonfinite_updates 0"
    assert [r[2] for r in writer.rows] == [1.0, 10.0, 10.0, 10.0, 10.0]  # each chunk's own rate
