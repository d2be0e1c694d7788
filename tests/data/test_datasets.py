"""Dataset generation, caching, atomic and validated I/O, mixtures."""
import os

import numpy as np
import pytest

from srtd_jax.benchmarks.mt10 import generate
from srtd_jax.benchmarks.mt10.env import MT10_TASKS
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder, mixtures
from tests.tiny import tiny_config


def _settings(path):
    return generate.settings_from_config(tiny_config(path).data)


def test_generated_files_hold_every_field(tiny_data_dir):
    s = _settings(tiny_data_dir)
    data, meta = ds.load(ladder.file_path(tiny_data_dir, s, "push", "MR"), expected_meta=s.key("push", "MR"))
    assert data.observations.shape == (3, 20, 39) and data.actions.shape == (3, 20, 4)
    assert (data.task_ids == MT10_TASKS.index("push")).all()
    np.testing.assert_allclose(data.rewards[:, 1:], np.diff(data.raw_rewards, axis=1), rtol=1e-5, atol=1e-5)
    assert (data.rewards[:, 0] == 0).all()
    np.testing.assert_allclose(data.episode_returns[:, 0], data.raw_rewards.sum(1), rtol=1e-5)
    np.testing.assert_array_equal(data.observations[:, 1:], data.next_observations[:, :-1])
    assert data.timeouts[:, -1].all() and not data.timeouts[:, :-1].any() and not data.terminals.any()
    assert (data.rungs <= meta["medium_rung"]).all()  # MR never goes past the medium rung
    assert np.abs(data.actions).max() <= 1.0


def test_generation_is_deterministic_and_cached(tiny_data_dir, tmp_path):
    s = _settings(str(tmp_path))
    path = generate.ensure_datasets({"reach": "ME"}, s, str(tmp_path), num_workers=1)["reach"]
    a, _ = ds.load(path)
    b, _ = ds.load(ladder.file_path(tiny_data_dir, _settings(tiny_data_dir), "reach", "ME"))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    mtime = os.stat(path).st_mtime_ns
    generate.ensure_datasets({"reach": "ME"}, s, str(tmp_path), num_workers=1)
    assert os.stat(path).st_mtime_ns == mtime  # reused, not regenerated
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


def test_the_cache_key_names_the_installed_metaworld(tmp_path):
    import importlib.metadata
    key = generate.settings_from_config(tiny_config(str(tmp_path)).data).key("reach", "MR")
    assert key["metaworld_version"] == importlib.metadata.version("metaworld") != "unknown"  # an upgrade misses


def test_episode_rungs_follow_the_recipe():
    mr = ladder.episode_rungs("MR", 8, medium=3, num_rungs=11)
    me = ladder.episode_rungs("ME", 8, medium=3, num_rungs=11)
    rp = ladder.episode_rungs("RP", 11, medium=3, num_rungs=11)
    assert mr.min() == 0 and mr.max() == 3 and (np.diff(mr) >= 0).all()
    assert (me[:4] == 10).all() and me[4:].min() >= 4 and me[4:].max() <= 9
    assert sorted(rp.tolist()) == list(range(11))
    with pytest.raises(ValueError, match="unknown dataset kind"):
        ladder.episode_rungs("XX", 3, 1, 3)


def test_a_corrupt_cached_file_is_regenerated(tiny_data_dir, tmp_path):
    s = _settings(str(tmp_path))
    path = ladder.file_path(str(tmp_path), s, "reach", "MR")
    open(path, "wb").write(b"not a zip")
    assert generate.ensure_datasets({"reach": "MR"}, s, str(tmp_path), num_workers=1) == {"reach": path}
    data, meta = ds.load(path, expected_meta=s.key("reach", "MR"))  # raises DatasetError if still corrupt
    assert data.num_episodes == s.episodes_for("MR") and meta["task"] == "reach"
    assert open(path + ".invalid", "rb").read() == b"not a zip"  # set aside, not overwritten


def test_mixtures():
    assert mixtures.parse("MR 5, RP 3, ME 2", 10) == (5, 3, 2)
    assert mixtures.parse("me 10", 10) == (0, 0, 10)
    assert mixtures.parse("mr4_rp3_me3", 10) == (4, 3, 3)
    a = mixtures.assign("MR 5, RP 3, ME 2", seed=1, tasks=MT10_TASKS)
    assert list(a) == list(MT10_TASKS) and sorted(a.values()).count("MR") == 5
    assert a == mixtures.assign("MR 5, RP 3, ME 2", seed=1, tasks=MT10_TASKS)
    assert any(mixtures.assign("MR 5, RP 3, ME 2", seed=k, tasks=MT10_TASKS) != a for k in range(2, 6))
    with pytest.raises(ValueError, match="assigns 9 tasks"):
        mixtures.parse("MR 5, RP 4", 10)
    with pytest.raises(ValueError, match="bad dataset configuration"):
        mixtures.parse("MQ 10", 10)
    with pytest.raises(ValueError, match="MR is given twice"):
        mixtures.parse("MR 0, RP 6, ME 2, MR 2", 10)  # the second MR would silently replace the first


def test_unknown_task_name_is_named():
    from srtd_jax.benchmarks.mt10.env import MT10Env, task_index
    with pytest.raises(ValueError, match="unknown MT10 task 'reachh'; valid tasks: reach, push"):
        task_index("reachh")
    with pytest.raises(ValueError, match="unknown MT10 task"):
        MT10Env("open-door")


def test_atomic_replace_keeps_the_old_file_on_a_failed_write(tmp_path):
    from srtd_jax.core import atomic
    path = str(tmp_path / "table.md")
    atomic.write_text(path, "old\n")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic.replacing(path) as tmp, open(tmp, "w") as f:
            f.write("half a ne")
            raise RuntimeError("killed mid-write")
    assert open(path).read() == "old\n"
    assert os.listdir(tmp_path) == ["table.md"]  # the temporary file is gone
    with atomic.replacing(path) as tmp:
        assert tmp.endswith(".md") and os.path.dirname(tmp) == str(tmp_path)  # same disk, format from the name
        with open(tmp, "w") as f:
            f.write("new\n")
        assert open(path).read() == "old\n"  # readers see the old file until the rename
    assert open(path).read() == "new\n"


def test_an_invalid_file_is_set_aside_and_regenerated(tiny_data_dir, tmp_path):
    """Valid metadata but arrays of another width: regenerated, and the invalid file kept beside it."""
    s = _settings(str(tmp_path))
    path = ladder.file_path(str(tmp_path), s, "reach", "MR")
    good, meta = ds.load(ladder.file_path(tiny_data_dir, _settings(tiny_data_dir), "reach", "MR"))
    ds.save(path, good._replace(observations=good.observations[..., :5], next_observations=good.observations[..., :5]),
            meta)
    bad_bytes = open(path, "rb").read()
    assert generate.ensure_datasets({"reach": "MR"}, s, str(tmp_path), num_workers=1) == {"reach": path}
    data, _ = ds.load(path)
    assert data.observations.shape[-1] == 39
    assert open(path + ".invalid", "rb").read() == bad_bytes  # set aside, not deleted


def test_a_path_the_generator_did_not_write_is_left_alone(tmp_path):
    s = _settings(str(tmp_path))
    path = ladder.file_path(str(tmp_path), s, "reach", "MR")
    os.makedirs(os.path.join(path, "mine"))
    with pytest.raises(ds.DatasetError, match=f"dataset path {path} is not a regular file \\(a directory\\)"):
        generate.ensure_datasets({"reach": "MR"}, s, str(tmp_path), num_workers=1)
    assert os.listdir(path) == ["mine"]
