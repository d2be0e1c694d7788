"""Bad configs: unknown fields, wrong types, values out of range, unknown method / task / dataset configuration
names. Each is refused before anything is written, with a message naming the field and the problem."""
import os
import re
import subprocess
import sys

import ml_collections
import pytest

from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime.config_check import ConfigError, check_config
from tests.tiny import (
    ROOT,
    tiny_config,
)


def _with(cfg, field, value):
    section, _, name = field.rpartition(".")
    node = cfg
    for part in filter(None, section.split(".")):
        node = node[part]
    node[name] = value
    return cfg


def _from_dict(cfg, field, value):
    """A config as a config file may build it: a fresh ConfigDict, so no type is fixed in advance."""
    d = cfg.to_dict()
    node = d
    *path, name = field.split(".")
    for part in path:
        node = node[part]
    node[name] = value
    return ml_collections.ConfigDict(d)


CASES = [
    # out of range (what each range is: srtd_jax/runtime/schema.py)
    ("num_seeds", 0, "num_seeds must be >= 1, got 0"),
    ("encoder.n", 0, "encoder.n must be >= 1, got 0"),
    ("rl.batch_size", -5, "rl.batch_size must be >= 1, got -5"),
    ("rl.learning_rate", 0.0, "rl.learning_rate must be > 0, got 0.0"),
    ("rl.learning_rate", float("inf"), "rl.learning_rate must be > 0, got inf"),
    ("augment.size_ratio", float("inf"), "augment.size_ratio must be > 0, got inf"),
    ("augment.action_std", -0.1, "augment.action_std must be >= 0"),
    ("devices", -1, "devices must be >= 0"),
    ("rl.gamma", -1.0, "rl.gamma must be in [0, 1), got -1.0"),
    ("rl.gamma", 1.5, "rl.gamma must be in [0, 1), got 1.5"),
    ("rl.tau", 2.0, "rl.tau must be in (0, 1], got 2.0"),
    ("rl.tau", -0.1, "rl.tau must be in (0, 1], got -0.1"),
    ("rl.alpha", -1.0, "rl.alpha must be >= 0"),
    ("rl.policy_noise", -0.2, "rl.policy_noise must be >= 0"),
    ("encoder.mmd_weight", -1.0, "encoder.mmd_weight must be >= 0"),
    ("encoder.kernel_scales", (-1.0,), "encoder.kernel_scales: every entry must be > 0, got (-1.0,)"),
    ("encoder.kernel_scales", (), "encoder.kernel_scales must not be empty"),
    ("encoder.batch_size", 1, "encoder.batch_size must be >= 2, got 1"),
    ("data.medium_success", 2.0, "data.medium_success must be in (0, 1], got 2.0"),
    ("data.expert_noise", -0.1, "data.expert_noise must be >= 0"),
    ("eval.every_steps", -1, "eval.every_steps must be >= 0, got -1"),
    ("eval.episode_length", -5, "eval.episode_length must be >= 0, got -5"),
    ("eval.episode_length", 600, "eval.episode_length=600 exceeds MT10's episode limit of 500 steps"),
    ("eval.tasks", ("reach", "reach"), "eval.tasks names a task twice"),
    ("rl.steps", 15, "rl.steps=15 is not a multiple of rl.chunk_steps=10"),
    ("nonfinite_skip_limit", 1.5, "nonfinite_skip_limit must be in [0, 1], got 1.5"),
    ("data.episode_length", 4, "data.episode_length=4 must exceed encoder.n=4"),
    # unknown names
    ("method", "srdt", "method='srdt' is not one of srtd, srtd_id"),
    ("on_nonfinite", "ignore", "on_nonfinite='ignore' is not one of stop, skip"),
    ("data.configuration", "MR 3", "data.configuration: dataset configuration 'MR 3' assigns 3 tasks, expected 10"),
    ("data.configuration", "MQ 10", "data.configuration: bad dataset configuration 'MQ 10'"),
    ("data.configuration", "MR 0, RP 6, ME 2, MR 2", "data.configuration: bad dataset configuration 'MR 0, RP 6, "
                                                     "ME 2, MR 2': MR is given twice"),
    ("eval.tasks", ("reach", "fly-away"), "eval.tasks: unknown MT10 task 'fly-away'; valid tasks: reach, push"),
    ("suite", "mars", "suite='mars' is not one of mt10, drone"),
]


@pytest.mark.parametrize("field,value,message", CASES, ids=[f"{c[0]}={c[1]}" for c in CASES])
def test_bad_field_is_named_and_nothing_is_written(field, value, message, tmp_path):
    cfg = _with(tiny_config(str(tmp_path / "data")), field, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        train_and_evaluate(cfg, str(tmp_path / "run"), log=lambda *_: None)
    assert not os.path.exists(tmp_path / "run") and not os.path.exists(tmp_path / "data")


@pytest.mark.parametrize("field,value,message", [
    ("rl.stpes", 5, r"unknown config field rl.stpes \(did you mean rl.steps\?\)"),
    ("rl.discount", 0.9, r"unknown config field rl.discount \(did you mean rl.gamma\?\)"),
    ("encoder.batch_size", "256", r"encoder.batch_size must be of type int, got '256' \(str\)"),
    ("rl.batch_size", 2.5, r"rl.batch_size must be of type int, got 2.5 \(float\)"),
    ("data.generate", 1, r"data.generate must be of type bool, got 1 \(int\)"),
    ("encoder.learning_rate", "fast", r"encoder.learning_rate must be of type float"),
])
def test_unknown_field_or_wrong_type_in_a_config_file(field, value, message, tmp_path):
    cfg = _from_dict(tiny_config(str(tmp_path)), field, value)
    with pytest.raises(ConfigError, match=message):
        check_config(cfg)


def test_a_missing_field_is_named(tmp_path):
    d = tiny_config(str(tmp_path)).to_dict()
    del d["checkpoint"]["keep"]
    with pytest.raises(ConfigError, match="config field checkpoint.keep is missing"):
        check_config(ml_collections.ConfigDict(d))


@pytest.mark.slow
def test_launcher_rejects_a_config_typo(tmp_path):
    out = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py",
                          f"--workdir={tmp_path}", "--config.rl.stpes=5"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0
    assert out.stderr.strip() == "ConfigError: unknown config field rl.stpes (did you mean rl.steps?)"  # one line
    out = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py",
                          f"--workdir={tmp_path}", "--config.rl.actor_hidden=64"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode != 0 and out.stderr.strip() == (  # not silently a one-layer actor
        'ConfigError: config field rl.actor_hidden is a tuple: write --config.rl.actor_hidden="(64,)" for one '
        'element, or "(64, 64)" for more')
    assert not os.listdir(tmp_path)  # nothing written
    elsewhere = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/quick.py",
                                "--print_config", "--config.rl.steps=3000"], capture_output=True, text=True,
                               cwd=tmp_path)  # outside the repository: the installed configs/ is used
    assert elsewhere.returncode == 0 and "steps: 3000" in elsewhere.stdout
    missing = subprocess.run([sys.executable, "-m", "experiments.main", "--config=configs/nope.py", "--print_config"],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1
    assert missing.stderr.startswith("ConfigError: --config: cannot load configs/nope.py:")


def test_unknown_override_names_its_whole_path():
    from experiments.config_cli import unknown_field_message
    err = AttributeError(KeyError('\'hiden\'\nDid you mean "hidden" instead of "hiden"?'))
    known = ["rl.softmod.hidden", "rl.steps", "rl.gamma", "seed"]
    assert unknown_field_message(err, {"rl.softmod.hiden": "3", "seed": "1"}, known) == (
        "unknown config field rl.softmod.hiden (did you mean rl.softmod.hidden?)")
    assert unknown_field_message(KeyError("zz"), {"zz.a": "1"}, known) == "unknown config field zz"
    assert unknown_field_message(KeyError("discount"), {"rl.discount": "1"}, known) == (
        "unknown config field rl.discount (did you mean rl.gamma?)")  # another codebase's name for the field
    assert unknown_field_message(KeyError("other"), {"rl.steps": "1"}, known) is None  # not an override's: re-raised
    below = KeyError("Attribute <class 'int'>.x does not exist and the type does not support indexing. "
                     "Attempting to lookup: rl.steps.x")  # ml_collections' words for a path through a value
    assert unknown_field_message(below, {"rl.steps.x": "1"}, known) == (
        "unknown config field rl.steps.x (rl.steps is a value, not a section)")


def test_every_preset_passes_the_checks():
    import importlib

    from srtd_jax.agents.methods import METHODS
    for name in ("default", "quick", "paper", "srtd_id", "srtd_n", "srtd_q", "te", "td3bc", "pcgrad", "softmod"):
        cfg = importlib.import_module(f"configs.{name}").get_config()
        check_config(cfg)  # raises ConfigError naming a bad field
        assert cfg.method == (name if name in METHODS else "srtd")  # a method's preset trains that method


def test_read_run_config_fills_fields_added_after_the_run(tmp_path):
    import json

    from srtd_jax.runtime.config_check import read_run_config
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"method": "srtd", "encoder": {"epochs": 3.0}}))  # made before `suite` existed
    cfg = read_run_config(str(path))
    assert cfg.suite == "mt10" and cfg.method == "srtd" and cfg.encoder.epochs == 3.0
    path.write_text(json.dumps({"method": "srtd", "suite": "drone"}))
    assert read_run_config(str(path)).suite == "drone"
    for text, match in (('{"method": "srtd",', "config.json is not a run config: corrupt JSON"),
                        ("[1, 2]", "config.json is not a run config: it holds a JSON list")):
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            read_run_config(str(path))


@pytest.mark.parametrize("field", ["rl.batch_size", "encoder.batch_size"])
def test_a_batch_larger_than_the_dataset_is_refused_before_anything_is_written(field, tiny_data_dir, tmp_path):
    cfg = _with(tiny_config(tiny_data_dir), field, 100_000)
    with pytest.raises(ConfigError, match=rf"config field {field}=100000 exceeds the \d+ transitions of the training"):
        train_and_evaluate(cfg, str(tmp_path / "run"), log=lambda *_: None)
    assert not os.path.exists(tmp_path / "run")
