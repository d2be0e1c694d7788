"""Validation of a run config before any compute: names the field and the problem."""
from __future__ import annotations

from srtd_jax.data import mixtures
from srtd_jax.methods import LEARNERS, METHODS, NETWORKS

_POSITIVE_INT = ["num_seeds", "data.episode_length", "data.episodes_mr", "data.episodes_rp", "data.episodes_me",
                 "data.num_rungs", "data.probe_episodes", "data.num_workers", "encoder.n", "encoder.latent_dim",
                 "encoder.batch_size", "encoder.chunk_steps", "rl.batch_size", "rl.steps", "rl.chunk_steps",
                 "rl.policy_delay", "eval.episodes_per_task", "augment.horizon", "cql.num_action_samples",
                 "rl.softmod.num_layers", "rl.softmod.num_modules", "rl.softmod.hidden", "rl.softmod.representation"]
_CHOICES = {"method": tuple(METHODS), "seed_axis": ("auto", "vmap", "map"),
            "rl.learner": ("auto",) + LEARNERS, "rl.network": ("auto",) + NETWORKS,
            "data.reward_type": ("relative", "raw"), "encoder.kernel": ("imq", "rbf")}


class ConfigError(ValueError):
    """A config field with a bad value; the message names the field."""


def _get(cfg, dotted):
    for part in dotted.split("."):
        cfg = cfg[part]
    return cfg


def check_config(cfg) -> None:
    for field in _POSITIVE_INT:
        v = _get(cfg, field)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ConfigError(f"config field {field} must be a positive integer, got {v!r}")
    for field, choices in _CHOICES.items():
        if _get(cfg, field) not in choices:
            raise ConfigError(f"config field {field}={_get(cfg, field)!r} is not one of {', '.join(choices)}")
    for field in ("encoder.learning_rate", "rl.learning_rate", "encoder.epochs", "data.reward_scale", "augment.size_ratio",
                  "cql.actor_learning_rate", "cql.critic_learning_rate", "cql.temperature_learning_rate",
                  "cql.init_temperature"):
        if not _get(cfg, field) > 0:
            raise ConfigError(f"config field {field} must be > 0, got {_get(cfg, field)!r}")
    for field in ("augment.z_noise", "augment.state_std", "augment.action_std", "cql.min_q_weight"):
        if not _get(cfg, field) >= 0:
            raise ConfigError(f"config field {field} must be >= 0, got {_get(cfg, field)!r}")
    if cfg.data.num_rungs < 2:
        raise ConfigError(f"config field data.num_rungs must be >= 2, got {cfg.data.num_rungs}")
    if cfg.data.episode_length <= cfg.encoder.n:
        raise ConfigError(f"config field data.episode_length={cfg.data.episode_length} must exceed encoder.n={cfg.encoder.n}")
    try:
        mixtures.parse(cfg.data.configuration)
    except ValueError as err:
        raise ConfigError(f"config field data.configuration: {err}") from err
    method = METHODS[cfg.method]
    learner = method.get("learner", "td3bc") if cfg.rl.learner == "auto" else cfg.rl.learner
    if method.get("gradient_surgery") and learner != "td3bc":
        raise ConfigError(f"config field rl.learner={cfg.rl.learner!r}: PCGrad is implemented for TD3+BC only")
