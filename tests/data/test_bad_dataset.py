"""Bad dataset files: each is refused before training with a DatasetError naming the file and the problem, and
the outputs already in the workdir are left as they were."""
import json
import os
import shutil

import numpy as np
import pytest

from srtd_jax.benchmarks.mt10 import generate
from srtd_jax.benchmarks.mt10.env import MT10_TASKS
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder, mixtures
from srtd_jax.run import train_and_evaluate
from tests.tiny import tiny_config


def _rewrite(path, **changes):
    """Rewrites a dataset file with some fields replaced, bypassing the writer's own validation."""
    data, meta = ds.load(path)
    arrays = {**_fields(data), **{k: v(getattr(data, k)) if callable(v) else v for k, v in changes.items()}}
    meta = changes.pop("meta", None) or meta
    with open(path, "wb") as f:
        np.savez(f, meta_json=np.array(json.dumps(meta, sort_keys=True)), **arrays)


def _fields(data):
    """The arrays a dataset file holds (an equal-length dataset has no `lengths`)."""
    return {k: v for k, v in data._asdict().items() if v is not None}


def _episodes(data, sl):
    return {k: v[sl] for k, v in _fields(data).items()}


def _truncate(path):
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[: len(raw) // 2])


def _set(field, fn):
    return lambda path: _rewrite(path, **{field: fn})


def _only_steps(n):
    def apply(path):
        data, meta = ds.load(path)
        with open(path, "wb") as f:
            np.savez(f, meta_json=np.array(json.dumps(meta, sort_keys=True)), **_episodes(data, np.s_[:, :n]))
    return apply


def _no_episodes(path):
    data, meta = ds.load(path)
    with open(path, "wb") as f:
        np.savez(f, meta_json=np.array(json.dumps(meta, sort_keys=True)), **_episodes(data, np.s_[:0]))


def _other_settings(path):
    data, meta = ds.load(path)
    with open(path, "wb") as f:
        np.savez(f, meta_json=np.array(json.dumps(dict(meta, seed=99), sort_keys=True)), **_fields(data))


def _with_nan(x):
    x = x.copy()
    x[1, 2] = np.nan
    return x


def _with_inf(x):
    x = x.copy()
    x[0, 3, 5] = np.inf
    return x


CASES = [
    ("missing", os.remove, r"does not exist"),
    ("truncated", _truncate, r"is corrupt or truncated"),
    ("wrong shape", _set("actions", lambda a: a[:, :, :3]), r"field .actions. has shape \(3, 20, 3\), expected \(E, L, 4\)"),
    ("wrong dtype", _set("observations", lambda a: a.astype(np.float64)), r"field 'observations' has dtype float64, expected float32"),
    ("NaN", _set("rewards", _with_nan), r"field 'rewards' has a non-finite value at index \(1, 2\)"),
    ("inf", _set("observations", _with_inf), r"field 'observations' has a non-finite value at index \(0, 3, 5\)"),
    ("episodes shorter than the window", _only_steps(3), r"has episodes of 3 steps, expected 20"),
    ("task id out of range", _set("task_ids", lambda t: np.full_like(t, 12)), r"is for task reach \(id 0\) but holds task ids \[12\]"),
    ("no episodes for a task", _no_episodes, r"holds no episodes"),
    ("other generation settings", _other_settings, r"does not match the requested settings: seed=99, expected 0"),
]


@pytest.mark.parametrize("name,damage,message", CASES, ids=[c[0] for c in CASES])
def test_bad_dataset_file_is_refused_and_the_workdir_kept(name, damage, message, tiny_data_dir, tmp_path):
    data_dir = str(tmp_path / "data")
    shutil.copytree(tiny_data_dir, data_dir)
    cfg = tiny_config(data_dir)
    cfg.data.generate = False  # files made beforehand: a bad one is an error, not a cache miss
    kind = mixtures.assign(cfg.data.configuration, cfg.data.assignment_seed, MT10_TASKS)["reach"]
    path = ladder.file_path(data_dir, generate.settings_from_config(cfg.data), "reach", kind)
    damage(path)
    workdir = tmp_path / "run"
    workdir.mkdir()
    for f, text in [("summary.json", '{"earlier": 1}'), ("metrics.jsonl", '{"phase": "encoder"}\n'),
                    ("notes.txt", "keep me")]:
        (workdir / f).write_text(text)
    with pytest.raises(ds.DatasetError, match=message) as err:
        train_and_evaluate(cfg, str(workdir), log=lambda *_: None)
    if name != "missing":
        assert path in str(err.value) or os.path.basename(path) in str(err.value)
    assert sorted(os.listdir(workdir)) == ["metrics.jsonl", "notes.txt", "summary.json"]
    assert (workdir / "summary.json").read_text() == '{"earlier": 1}'
    assert (workdir / "metrics.jsonl").read_text() == '{"phase": "encoder"}\n'


def test_dataset_arrays_are_validated_field_by_field(tiny_data_dir):
    settings = generate.settings_from_config(tiny_config(tiny_data_dir).data)
    data, meta = ds.load(ladder.file_path(tiny_data_dir, settings, "reach", "MR"))
    with pytest.raises(ds.DatasetError, match="task id out of range"):
        ds.validate(data._replace(task_ids=data.task_ids + 20), num_tasks=10)
    with pytest.raises(ds.DatasetError, match="shorter than the 50 steps"):
        ds.validate(data, min_length=50)
    with pytest.raises(ds.DatasetError, match="observations must be \\(E, L, S\\)"):
        ds.validate(data._replace(observations=data.observations[0]))
    with pytest.raises(ds.DatasetError, match="next_observations"):
        ds.validate(data._replace(next_observations=data.next_observations[:, :, :5]))

