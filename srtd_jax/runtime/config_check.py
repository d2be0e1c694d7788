"""Validation of a run config before any compute: names the field and the problem."""
from __future__ import annotations

import copy
import functools
import importlib.util
import json
import os
import types

import ml_collections

from srtd_jax.agents.methods import LEARNERS, METHODS, NETWORKS, resolve
from srtd_jax.benchmarks import registry
from srtd_jax.core.options import (
    FIRST_REWARDS,
    KEY_STREAMS,
    MATMUL_DTYPES,
    NOISE_TARGETS,
    NONFINITE_MODES,
    QUALITY_WEIGHTS,
)
from srtd_jax.data import mixtures
from srtd_jax.runtime import defaults, field_names, schema
from srtd_jax.runtime.field_names import flatten

_CHOICES = {"suite": registry.NAMES, "method": tuple(METHODS), "seed_axis": ("auto", "vmap", "map"),
            "rl.learner": ("auto",) + LEARNERS, "rl.network": ("auto",) + NETWORKS,
            "data.reward_type": ("relative", "raw"), "encoder.kernel": ("imq", "rbf"),
            "on_nonfinite": NONFINITE_MODES, "key_streams": KEY_STREAMS,
            "encoder.quality_weight": QUALITY_WEIGHTS, "data.first_relative_reward": FIRST_REWARDS,
            "augment.z_noise_target": NOISE_TARGETS, "logging.wandb_mode": ("online", "offline", "disabled"),
            "data.recipe": ("ladder", "learning_run"), "encoder.matmul_dtype": MATMUL_DTYPES,
            "rl.matmul_dtype": MATMUL_DTYPES}
# Fields added after runs were made, with the value an older config.json without them meant.
ADDED_FIELDS = {"suite": "mt10", "eval.env_workers": 1, "nonfinite_skip_limit": 0.01, "key_streams": "shared",
                "encoder.quality_weight": "minmax_return", "data.first_relative_reward": "zero",
                "augment.z_noise_target": "all", "augment.batch_share": 0.0,
                "encoder.separate_reward_decoder": False, "encoder.weight_decay_mean": False,
                "encoder.holdout_fraction": 0.0, "data.assignment_per_seed": False,
                "encoder.reuse_from": "", "eval.imagination_starts": 0, "eval.relabel_starts": 0,
                "data.dataset": "", "logging.wandb": False, "logging.wandb_project": "srtd_jax",
                "logging.wandb_mode": "online", "data.recipe": "ladder", "data.learner.rounds": 20,
                "data.learner.episodes_per_round": 10, "data.learner.expert_episodes": 10,
                "data.learner.updates_per_round": 1000, "data.learner.hidden": [256, 256],
                "data.learner.batch_size": 256, "data.learner.learning_rate": 1e-3, "data.learner.demo_share": 0.0,
                "encoder.matmul_dtype": "float32", "rl.matmul_dtype": "float32", "data.online_learner.rounds": 20,
                "data.online_learner.envs": 32, "data.online_learner.updates_per_round": 1000,
                "data.online_learner.hidden": [256, 256], "data.online_learner.batch_size": 256,
                "data.online_learner.learning_rate": 3e-4}
# Fields that change how a run is carried out, not its numbers: a resumed run may change them freely.
# nonfinite_skip_limit decides whether a run gives up, not the numbers of one that finishes; the imagination
# diagnostics are measured after training and change nothing in it.
OPERATIONAL_FIELDS = ("data.num_workers", "data.generate", "data.data_dir", "checkpoint.every_steps",
                      "checkpoint.every_seconds", "checkpoint.keep", "eval.env_workers", "nonfinite_skip_limit",
                      "eval.imagination_starts", "eval.relabel_starts", "logging.wandb", "logging.wandb_project",
                      "logging.wandb_mode")


# Fields two finished runs may differ in and still hold the same result. encoder.reuse_from takes the encoders of a
# run whose encoder phase is the same computation (encoder_reuse.check_source), so it changes where the encoders
# came from, not the numbers. An unfinished run may not change it: its checkpoints count the encoder phase or not.
RESULT_EQUIVALENT_FIELDS = OPERATIONAL_FIELDS + ("encoder.reuse_from",)


class ConfigError(ValueError):
    """A config field with a bad value; the message names the field."""


class ConfigMismatchError(ConfigError):
    """A workdir holding a run of a different config; the message lists the differing fields."""


def _type_ok(value, reference) -> bool:
    if reference is None:
        return True
    if isinstance(reference, bool):
        return isinstance(value, bool)
    if isinstance(reference, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(reference, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(reference, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(reference))


@functools.cache
def default_fields() -> types.MappingProxyType:
    """The default config's fields as a read-only {dotted name: value} (runtime/defaults.py), built once: building
    a ConfigDict costs about a millisecond, and every config check compares with it."""
    return types.MappingProxyType(flatten(defaults.get_config().to_dict()))


def check_schema(cfg) -> None:
    """Every field of cfg exists in the default config (runtime/defaults.py), with a value of the default's type."""
    reference, given = default_fields(), flatten(cfg.to_dict())
    for field in sorted(set(given) - set(reference)):
        raise ConfigError(field_names.unknown_field_message(field, reference))
    for field in sorted(set(reference) - set(given)):
        raise ConfigError(f"config field {field} is missing (build configs on configs/default.py)")
    for field, value in given.items():
        if not _type_ok(value, reference[field]):
            raise ConfigError(f"config field {field} must be of type {type(reference[field]).__name__}, "
                              f"got {value!r} ({type(value).__name__})")


def as_dict(cfg) -> dict:
    """A ConfigDict as the plain dict its config.json holds (tuples as lists): what config_diff compares."""
    return json.loads(cfg.to_json_best_effort())


def config_diff(old: dict, new: dict, ignore=OPERATIONAL_FIELDS) -> list[str]:
    """'field: old -> new' for every result-affecting field that differs between two config dicts."""
    a, b = flatten(with_added_fields(old)), flatten(new)
    return [f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}"
            for k in sorted(set(a) | set(b)) if k not in ignore and a.get(k, "<absent>") != b.get(k, "<absent>")]


def read_json(path: str, remedy: str):
    """The JSON in path, None if there is no file; an unreadable or corrupt file raises ConfigError naming it
    (it is never silently replaced). remedy completes 'move it away to ...'."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} exists but cannot be read ({err}); move it away to {remedy}") from err


def check_workdir_config(cfg, path: str, allow_change: bool = False, ignore=OPERATIONAL_FIELDS) -> list[str]:
    """Compares cfg with the config.json of an earlier run in the same workdir (if any), leaving out the fields
    in `ignore`.

    Returns the differing fields; raises ConfigMismatchError listing them unless allow_change."""
    old = read_json(path, "start a new run")
    if old is None:
        return []
    diff = config_diff(old, as_dict(cfg), ignore)
    if diff and not allow_change:
        raise ConfigMismatchError(
            f"the workdir holds a run with a different config ({path}); differing fields:\n  " + "\n  ".join(diff)
            + "\nUse another --workdir, or pass --allow_config_change to resume with the new values.")
    return diff


def _get(cfg, dotted):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def set_field(cfg, dotted: str, value) -> None:
    """Sets the config field named `dotted` ('encoder.weight_decay'); ConfigError names a field cfg lacks."""
    *parents, leaf = dotted.split(".")
    node = cfg
    for key in parents:  # None once the path leaves the sections (a missing one, or through a value)
        node = node[key] if key in node and isinstance(node[key], ml_collections.ConfigDict) else None
        if node is None:
            break
    if node is None or leaf not in node:
        raise ConfigError(field_names.unknown_field_message(dotted, flatten(cfg.to_dict())))
    node[leaf] = value


def check_config(cfg) -> None:
    """Raises ConfigError naming the first bad field: unknown, wrong type, out of range or inconsistent."""
    check_schema(cfg)
    for field, choices in _CHOICES.items():
        if _get(cfg, field) not in choices:
            raise ConfigError(f"config field {field}={_get(cfg, field)!r} is not one of {', '.join(choices)}")
    for field in schema.RANGES:
        problem = schema.out_of_range(field, _get(cfg, field))
        if problem:
            raise ConfigError(problem)
    if cfg.rl.steps % cfg.rl.chunk_steps:
        raise ConfigError(f"config field rl.steps={cfg.rl.steps} is not a multiple of rl.chunk_steps="
                          f"{cfg.rl.chunk_steps} (a run trains whole chunks)")
    decl = registry.declaration(cfg.suite)
    for field in ("data.episode_length", "eval.episode_length"):
        if decl.max_episode_length and _get(cfg, field) > decl.max_episode_length:
            raise ConfigError(f"config field {field}={_get(cfg, field)} exceeds {decl.label}'s episode limit of "
                              f"{decl.max_episode_length} steps")
    if cfg.data.assignment_per_seed and cfg.num_seeds != 1:
        raise ConfigError(f"config field data.assignment_per_seed=True needs num_seeds=1, got {cfg.num_seeds}: the "
                          "seeds of one run share one dataset; run each seed alone with --config.seed=k")
    if cfg.logging.wandb and importlib.util.find_spec("wandb") is None:
        raise ConfigError("config field logging.wandb=True needs the wandb package: pip install wandb")
    if len(set(cfg.eval.tasks)) != len(cfg.eval.tasks):
        raise ConfigError(f"config field eval.tasks names a task twice: {list(cfg.eval.tasks)}")
    if cfg.data.episode_length <= cfg.encoder.n:
        raise ConfigError(f"config field data.episode_length={cfg.data.episode_length} must exceed encoder.n={cfg.encoder.n}")
    try:
        mixtures.parse(cfg.data.configuration, len(registry.declaration(cfg.suite).tasks))
    except ValueError as err:
        raise ConfigError(f"config field data.configuration: {err}") from err
    for task in cfg.eval.tasks:
        try:
            registry.task_index(cfg.suite, task)
        except ValueError as err:
            raise ConfigError(f"config field eval.tasks: {err}") from err
    try:
        resolve(cfg.method, cfg.rl.learner, cfg.rl.network)
    except ValueError as err:
        raise ConfigError(f"config fields method={cfg.method!r}, rl.learner={cfg.rl.learner!r}, "
                          f"rl.network={cfg.rl.network!r}: {err}") from err


def with_added_fields(tree: dict) -> dict:
    """A copy of an earlier run's config dict with the fields added since (ADDED_FIELDS) set to the value the run
    meant where it lacks them."""
    tree = copy.deepcopy(tree)
    for name, value in ADDED_FIELDS.items():
        *parents, leaf = name.split(".")
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        node.setdefault(leaf, value)
    return tree


def read_run_config(path: str):
    """The config of a run from its config.json -> ConfigDict, with the fields added after it was made. A missing
    file raises FileNotFoundError; an unreadable or corrupt one ConfigError naming it."""
    with open(path) as f:
        try:
            saved = json.load(f)
        except ValueError as err:
            raise ConfigError(f"{path} is not a run config: corrupt JSON ({err})") from None
    if not isinstance(saved, dict):
        raise ConfigError(f"{path} is not a run config: it holds a JSON {type(saved).__name__}")
    return ml_collections.ConfigDict(with_added_fields(saved))


def read_workdir_config(workdir: str):
    """The config of the run in `workdir` (read_run_config of its config.json); ConfigError names a folder that
    holds none, or a file that does not read."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise ConfigError(f"{workdir}: no config.json there (not a run's workdir)")
    return read_run_config(path)


def check_against_data(cfg, method, num_transitions: int, episode_length: int) -> None:
    """The checks that need the training data, run before anything is written: a batch larger than the dataset is
    refused (it would draw most rows many times over, and slowly), and imagination diagnostics whose rollouts
    outrun the episodes they are compared with. num_transitions: the data's real steps; episode_length: its longest
    episode's."""
    if method.augmentation == "imaginary" and cfg.eval.imagination_starts and cfg.augment.horizon > episode_length:
        raise ConfigError(f"config field augment.horizon={cfg.augment.horizon} exceeds the {episode_length}-step "
                          "episodes that the imagination diagnostics compare rollouts with (or set "
                          "eval.imagination_starts=0)")
    fields = (["encoder.batch_size"] if method.encoders else []) + ["rl.batch_size"]
    for field in fields:
        if _get(cfg, field) > num_transitions:
            raise ConfigError(f"config field {field}={_get(cfg, field)} exceeds the {num_transitions} transitions of "
                              "the training data")
