"""Non-finite updates: 'stop' freezes a seed just before its first bad update and the run stops naming phase,
step, seed and loss after saving that state; 'skip' drops the bad updates and goes on."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.core import chunks
from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime import checkpointing
from srtd_jax.runtime.loop import NonFiniteError
from tests.tiny import tiny_config

BAD_STEP = 3


def _toy_update(state, batch, key, step):
    """x counts updates; the update at BAD_STEP (seed 0 only, flagged by its batch) turns x into NaN."""
    bad = (step == BAD_STEP) & (batch > 0)
    x = jnp.where(bad, jnp.nan, state["x"] + 1.0)
    return {"x": x}, {"loss": jnp.where(bad, jnp.nan, state["x"]), "other": state["x"] * 0}


def _run(mode):
    chunk = chunks.make_chunk(_toy_update, lambda shared, per_seed, key: per_seed, 6, "vmap", on_nonfinite=mode)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    states = {"x": jnp.zeros(2)}
    return chunk(states, keys, jnp.int32(0), None, jnp.array([1.0, 0.0])), keys


def test_stop_freezes_the_seed_before_its_first_bad_update():
    (states, keys_out, metrics, fault), keys = _run("stop")
    np.testing.assert_array_equal(fault["step"], [BAD_STEP, -1])
    assert np.isnan(fault["metrics"]["loss"][0]) and fault["metrics"]["other"][0] == 0
    np.testing.assert_array_equal(states["x"], [BAD_STEP, 6])  # seed 0 as it was before step 3
    key = keys[0]
    for _ in range(BAD_STEP):
        key = jax.random.split(key, 3)[0]
    np.testing.assert_array_equal(keys_out[0], key)  # and the key that replays the bad update
    assert metrics["nonfinite_updates"][0] >= 1 and metrics["nonfinite_updates"][1] == 0


def test_skip_drops_the_bad_update_and_goes_on():
    (states, _, metrics, fault), _ = _run("skip")
    np.testing.assert_array_equal(states["x"], [5, 6])  # one of six updates dropped on seed 0
    np.testing.assert_array_equal(metrics["nonfinite_updates"], [1, 0])
    np.testing.assert_array_equal(fault["step"], [BAD_STEP, -1])


def _mixed_update(state, batch, key, step):
    """A state of several dtypes: at step 3 seed 0's bfloat16 leaf overflows; seed 1 reports an infinite metric at
    step 4 with a finite state; every step reports a NaN metric (allowed: a part skipped on purpose)."""
    h = jnp.where((step == 3) & (batch > 0), jnp.inf, state["h"] + 1).astype(jnp.bfloat16)
    metric = jnp.where((step == 4) & (batch == 0), jnp.inf, 0.0)
    return ({"x": state["x"] + 1.0, "h": h, "n": state["n"] + 1},
            {"loss": metric, "skipped": jnp.nan, "count": state["n"]})


def test_every_float_dtype_of_the_state_is_checked_and_only_infinite_metrics_count():
    chunk = chunks.make_chunk(_mixed_update, lambda shared, per_seed, key: per_seed, 6, "vmap", on_nonfinite="stop")
    states = {"x": jnp.zeros((2, 3)), "h": jnp.zeros((2, 5), jnp.bfloat16), "n": jnp.zeros(2, jnp.int32)}
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    states, _, _, fault = chunk(states, keys, jnp.int32(0), None, jnp.array([1.0, 0.0]))
    np.testing.assert_array_equal(fault["step"], [3, 4])
    np.testing.assert_array_equal(states["n"], [3, 4])  # each seed frozen just before its bad update
    assert np.isfinite(np.asarray(states["h"], np.float32)).all()


def _diverging(data_dir, mode):
    cfg = tiny_config(data_dir)
    cfg.method, cfg.on_nonfinite = "td3bc", mode
    cfg.rl.learning_rate = 1e38  # Adam's first step moves every weight by ~1e38: Q overflows to inf
    cfg.eval.tasks = ("reach",)
    return cfg


@pytest.mark.slow
def test_diverging_run_stops_naming_step_seed_and_loss(tiny_data_dir, tmp_path):
    with pytest.raises(NonFiniteError, match=r"td3bc: non-finite update: seed 0 at step 0 \(.*_loss=nan"):
        train_and_evaluate(_diverging(tiny_data_dir, "stop"), str(tmp_path), log=lambda *_: None)
    report = json.load(open(tmp_path / "nonfinite" / "td3bc_step0.json"))
    assert report["step"] == [0, 0] and "nan" in report["metrics"]["actor_loss"]
    saved = checkpointing.restore_tree(str(tmp_path / "nonfinite" / "td3bc_step0"))
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(saved["states"]))  # the state before the bad update
    assert not os.path.exists(tmp_path / "summary.json")


@pytest.mark.slow
def test_diverging_run_with_skip_finishes_under_its_limit_and_counts_the_skips(tiny_data_dir, tmp_path):
    cfg = _diverging(tiny_data_dir, "skip")
    cfg.nonfinite_skip_limit = 1.0  # every update may be skipped
    summary = train_and_evaluate(cfg, str(tmp_path), log=lambda *_: None)
    assert list(summary["per_task"]) == ["reach"]
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl") if '"td3bc"' in line]
    per_seed = np.sum([r["nonfinite_updates"] for r in rows], axis=0)
    assert (per_seed >= 0.9 * cfg.rl.steps).all()  # nearly every update overflowed and was skipped
    assert summary["nonfinite_skipped"] == {"td3bc": per_seed.astype(int).tolist()}


@pytest.mark.slow
def test_skip_gives_up_past_its_limit(tiny_data_dir, tmp_path):
    """The default limit (1% of a phase's updates so far) stops a run that skips everything, as 'stop' does."""
    with pytest.raises(NonFiniteError, match=r"td3bc: more than 0.01 of the updates were skipped as non-finite "
                                             r"\(seed 0: \d+ of 10, seed 1: \d+ of 10\)"):
        train_and_evaluate(_diverging(tiny_data_dir, "skip"), str(tmp_path), log=lambda *_: None)
    report = json.load(open(tmp_path / "nonfinite" / "td3bc_skipped_step10.json"))
    (first,) = [json.loads(line) for line in open(tmp_path / "metrics.jsonl") if '"td3bc"' in line]
    assert report["skipped"] == [int(n) for n in first["nonfinite_updates"]] and report["chunk_end"] == 10
    assert not os.path.exists(tmp_path / "summary.json")


def test_the_end_table_names_the_skipped_updates():
    from srtd_jax.runtime import reporting
    rates = np.array([[0.5, 1.0], [0.0, 0.5]])
    summary = reporting.summarize(rates, ("reach", "push"), {"reach": "MR", "push": "ME"}, [], method="td3bc",
                                  configuration="rp10", suite="mt10", episodes_per_task=2, metric="success")
    assert "skipped" not in reporting.console_table(summary)  # nothing skipped: no line
    summary["nonfinite_skipped"] = {"encoder": [0, 0], "td3bc": [3, 0]}
    assert reporting.console_table(summary).splitlines()[-1] == "non-finite updates skipped per seed: td3bc 3 0"
