"""Datasets in and out: exports import back to identical arrays (D4RL-style .npz and Minari), per-episode files of
different lengths become a padded dataset whose padding no sampler ever draws, and the launcher trains on it."""
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.benchmarks.loading import load_training_data
from srtd_jax.benchmarks.mt10.env import ACTION_DIM, MT10_TASKS, OBS_DIM
from srtd_jax.data import dataset as ds
from srtd_jax.data import describe, exchange, samplers, windows
from srtd_jax.runtime import checkpointing
from tests.tiny import ROOT, tiny_config


def _tiny_data(data_dir):
    cfg = tiny_config(data_dir)
    return load_training_data("mt10", cfg.data, cfg.encoder.n + 1, log=lambda *_: None)


def _assert_same(a: ds.EpisodeDataset, b: ds.EpisodeDataset):
    for name, x, y in zip(ds.EpisodeDataset._fields, a, b):
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and np.array_equal(x, y), name


def test_npz_and_minari_exports_import_back_identically(tiny_data_dir, tmp_path, monkeypatch):
    assignment, data = _tiny_data(tiny_data_dir)
    meta = {"suite": "mt10", "kinds": assignment}
    exchange.export_npz(str(tmp_path / "d4rl.npz"), data, MT10_TASKS, meta)
    episodes, names, back_meta = exchange.read_npz(str(tmp_path / "d4rl.npz"))
    assert names == MT10_TASKS and back_meta["kinds"] == assignment
    back = exchange.from_episodes(episodes, MT10_TASKS, "npz")
    _assert_same(back, data)
    assert checkpointing.fingerprint(back) == checkpointing.fingerprint(data)  # a run sees the same data

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    exchange.export_minari("srtd/tiny-v0", data, MT10_TASKS, meta)
    for source in ("srtd/tiny-v0", str(tmp_path / "minari" / "srtd" / "tiny-v0")):  # by id and by folder
        episodes, names, back_meta = exchange.read_minari(source)
        assert names == MT10_TASKS and exchange.kinds_of(episodes, back_meta) == assignment
        _assert_same(exchange.from_episodes(episodes, MT10_TASKS, "minari"), data)


def _write_episodes(directory, lengths, tasks, seed=0):
    """Per-episode files as a researcher brings them: observations with the final one last, the env's reward."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    for i, (steps, task) in enumerate(zip(lengths, tasks)):
        np.savez(os.path.join(directory, f"ep{i:03d}.npz"),
                 observations=rng.normal(size=(steps + 1, OBS_DIM)).astype(np.float32),
                 actions=rng.uniform(-1, 1, (steps, ACTION_DIM)).astype(np.float32),
                 rewards=rng.uniform(0, 10, steps), task=task, successes=rng.random(steps) < 0.1)


def test_episode_files_of_different_lengths_become_a_padded_dataset(tmp_path):
    lengths, tasks = [7, 12, 9], ["push", "reach", "push"]
    _write_episodes(tmp_path / "eps", lengths, tasks)
    episodes, names = exchange.read_episode_dir(str(tmp_path / "eps"))
    assert names == ("push", "reach")
    data = exchange.from_episodes(episodes, MT10_TASKS, "eps")
    assert data.episode_length == 12 and data.lengths.tolist() == lengths and data.num_steps == 28
    first = np.load(tmp_path / "eps" / "ep000.npz")
    np.testing.assert_array_equal(data.observations[0, :7], first["observations"][:-1])
    np.testing.assert_array_equal(data.next_observations[0, :7], first["observations"][1:])
    np.testing.assert_array_equal(data.observations[0, 7:], 0.0)  # padding
    raw = first["rewards"].astype(np.float32)
    np.testing.assert_allclose(data.rewards[0, :7], np.concatenate([[0.0], np.diff(raw)]), rtol=1e-6)
    np.testing.assert_allclose(data.episode_returns[0, 0], raw.sum(), rtol=1e-6)
    assert data.timeouts[0].tolist() == [False] * 6 + [True] + [False] * 5
    assert data.task_ids[:, 0].tolist() == [MT10_TASKS.index(t) for t in tasks]
    assert data.episode_ids[:, 0].tolist() == [0, 0, 1]  # counted per task
    rows = describe.per_task(data, MT10_TASKS, {})
    assert [(r["task"], r["episodes"], r["steps"], r["shortest"], r["longest"]) for r in rows] == \
        [("reach", 1, 12, 12, 12), ("push", 2, 16, 7, 9)]
    ds.save(str(tmp_path / "padded.npz"), data, {"suite": "mt10"})
    _assert_same(ds.load(str(tmp_path / "padded.npz"))[0], data)  # lengths survive a save


def test_bad_episode_files_are_refused_with_the_file_named(tmp_path):
    _write_episodes(tmp_path / "eps", [5], ["push"])
    z = dict(np.load(tmp_path / "eps" / "ep000.npz"))
    np.savez(tmp_path / "eps" / "ep001.npz", **{k: v for k, v in z.items() if k != "task"})
    with pytest.raises(ds.DatasetError, match=r"ep001.npz lacks \['task'\]"):
        exchange.read_episode_dir(str(tmp_path / "eps"))
    with pytest.raises(ds.DatasetError, match="episode directory .*/none does not exist"):
        exchange.read_episode_dir(str(tmp_path / "none"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ds.DatasetError, match="holds no .npz episode files"):
        exchange.read_episode_dir(str(tmp_path / "empty"))
    bad = [exchange.Episode(observations=np.zeros((4, OBS_DIM)), next_observations=np.zeros((4, OBS_DIM)),
                            actions=np.zeros((4, ACTION_DIM)), raw_rewards=np.zeros(4), task="fly")]
    with pytest.raises(ds.DatasetError, match="episode 0 has task 'fly', not one of reach"):
        exchange.from_episodes(bad, MT10_TASKS, "mine")


def _padded_device_data(lengths, length=6):
    e = len(lengths)
    mask = np.arange(length)[None] < np.asarray(lengths)[:, None]
    obs = np.where(mask[..., None], np.arange(e * length, dtype=np.float32).reshape(e, length, 1) + 1, 0.0)
    return windows.DeviceData(obs=jnp.asarray(obs), actions=jnp.asarray(obs), rewards=jnp.asarray(obs[..., 0]),
                              next_obs=jnp.asarray(obs), terminals=jnp.zeros((e, length)), quality=jnp.ones(e),
                              task_ids=jnp.arange(e) % 2, lengths=jnp.asarray(lengths, jnp.int32))


def test_samplers_draw_real_steps_uniformly_and_never_padding():
    d = _padded_device_data([2, 6, 3, 1])
    e, t = jax.jit(windows.draw_steps, static_argnums=2)(d, jax.random.PRNGKey(0), 24000)
    e, t = np.asarray(e), np.asarray(t)
    assert (t < np.asarray(d.lengths)[e]).all() and (t >= 0).all()
    counts = np.zeros((4, 6))
    np.add.at(counts, (e, t), 1)
    real = counts[np.arange(6)[None] < np.asarray(d.lengths)[:, None]]
    assert real.size == 12 and abs(real - 2000).max() < 200  # 12 real steps, 2000 draws each (sd 43)
    # jitted: op by op, each of a batch's gathers would compile a program of its own
    batch = jax.jit(windows.sample_windows, static_argnums=(2, 3))(d, jax.random.PRNGKey(1), 256, 2)
    assert (np.asarray(batch.skill_obs)[np.asarray(batch.skill_mask) > 0] != 0).all()  # no padded step in a window
    assert (np.asarray(batch.skill_obs)[np.asarray(batch.skill_mask) == 0] == 0).all()
    tr = jax.jit(windows.sample_transitions, static_argnums=(3, 4))(d, jnp.zeros((4, 7, 1)), jax.random.PRNGKey(2),
                                                                     256, 0.9)
    assert (np.asarray(tr.obs)[:, 0] != 0).all()
    strat = jax.jit(samplers.stratified_transition_sampler(64, 0.9, np.asarray(d.task_ids), 2))(
        d, jnp.zeros((4, 7, 1)), jax.random.PRNGKey(3))
    assert (np.asarray(strat.obs)[..., 0] != 0).all()


def test_equal_length_data_keeps_the_samplers_arithmetic():
    d = _padded_device_data([6, 6, 6])._replace(lengths=None)
    e, t = windows.draw_steps(d, jax.random.PRNGKey(4), 50)
    idx = np.asarray(jax.random.randint(jax.random.PRNGKey(4), (50,), 0, 18))
    np.testing.assert_array_equal(e, idx // 6)
    np.testing.assert_array_equal(t, idx % 6)


def test_normaliser_ignores_padding():
    data = ds.EpisodeDataset(*[np.zeros((2, 4) + ((3,) if n in ("observations", "next_observations", "actions")
                                                  else ()), ds._DTYPES[n]) for n in ds._DTYPES],
                             lengths=np.array([4, 2], np.int32))
    obs = np.zeros((2, 4, 3), np.float32)
    obs[0] = 5.0
    obs[1, :2] = [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]
    norm = windows.make_normalizer(data._replace(observations=obs))
    real = np.concatenate([obs[0], obs[1, :2]])
    np.testing.assert_allclose(norm.mean, real.mean(0), rtol=1e-6)
    np.testing.assert_allclose(norm.std, real.std(0) + 1e-3, rtol=1e-6)


@pytest.mark.slow
def test_a_run_trains_on_an_imported_dataset_of_different_episode_lengths(tiny_data_dir, tmp_path):
    from srtd_jax.run import train_and_evaluate
    _, data = _tiny_data(tiny_data_dir)
    rng = np.random.default_rng(1)
    episodes = [ep for ep in exchange.to_episodes(data, MT10_TASKS) if ep["task"] in ("reach", "push")]
    for ep in episodes:  # cut each episode short at a random step
        steps = int(rng.integers(8, 21))
        for k in ("observations", "next_observations", "actions", "raw_rewards", "rewards", "terminals", "successes"):
            ep[k] = ep[k][:steps]
        ep["timeouts"] = np.arange(steps) == steps - 1
    imported = exchange.from_episodes(episodes, MT10_TASKS, "cut")
    assert imported.lengths is not None
    path = str(tmp_path / "mine.npz")
    ds.save(path, imported, exchange.imported_meta("mt10", ("reach", "push"), {"reach": "ME"}, "cut", "episodes"))
    cfg = tiny_config(tiny_data_dir)
    cfg.method, cfg.num_seeds, cfg.data.dataset = "srtd_id", 1, path
    cfg.encoder.holdout_fraction = 0.2
    lines = []
    summary = train_and_evaluate(cfg, str(tmp_path / "run"), log=lines.append)
    assert any(f"{imported.num_steps} steps (longest 20) from {path}" in str(line) for line in lines)
    assert {t: row["kind"] for t, row in summary["per_task"].items()} == {"reach": "ME", "push": "imported"}
    assert summary["configuration"] == path  # evaluated on the data's tasks, named by its file
    assert np.isfinite(summary["mean_success"]) and summary["imagination"]["episodes"] == "held out"


def test_the_dataset_command_imports_and_refuses_in_one_line(tmp_path):
    _write_episodes(tmp_path / "eps", [6, 9], ["push", "reach"])
    out = tmp_path / "mine.npz"
    command = [sys.executable, "-m", "experiments.dataset", "import", "--format=episodes", f"--source={tmp_path}/eps",
               f"--output={out}"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data, meta = ds.load(str(out))
    assert data.lengths.tolist() == [6, 9] and meta["tasks"] == ["reach", "push"] and meta["suite"] == "mt10"
    again = subprocess.run(command + ["--suite=drone"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [f"ValueError: {out} exists; pass --force to replace it"]
    assert ds.load(str(out))[0].num_steps == 15  # the existing file untouched
