"""The range of every numeric and tuple field of a run config: the one table the config checks read. A field's type
and its meaning are those of srtd_jax/runtime/defaults.py (where each field is commented); this table says which
values a run can use. No JAX."""
from __future__ import annotations

import math
from typing import NamedTuple


class Range(NamedTuple):
    """Values v with low <(=) v <(=) high: `closed` says which ends are included ('[]', '[)', '(]', '()');
    None is unbounded. Floats must be finite. For a tuple field the range holds for every element, and
    `nonempty` asks for at least one."""

    low: float | None = None
    high: float | None = None
    closed: str = "[]"
    nonempty: bool = False

    def describe(self) -> str:
        if self.low is None and self.high is None:
            return "finite"
        if self.high is None:
            return f"{'>=' if self.closed[0] == '[' else '>'} {self.low:g}"
        return f"in {self.closed[0]}{self.low:g}, {self.high:g}{self.closed[1]}"

    def holds(self, v) -> bool:
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if self.low is not None and not (v >= self.low if self.closed[0] == "[" else v > self.low):
            return False
        return self.high is None or (v <= self.high if self.closed[1] == "]" else v < self.high)


AT_LEAST_1 = Range(1)
AT_LEAST_0 = Range(0)
POSITIVE = Range(0, None, "(]")
UNIT = Range(0, 1)

RANGES = {
    "seed": AT_LEAST_0, "num_seeds": AT_LEAST_1, "devices": AT_LEAST_0,
    "nonfinite_skip_limit": UNIT,
    "checkpoint.every_steps": AT_LEAST_0, "checkpoint.every_seconds": AT_LEAST_0, "checkpoint.keep": AT_LEAST_1,
    "data.assignment_seed": AT_LEAST_0, "data.episode_length": AT_LEAST_1, "data.episodes_mr": AT_LEAST_1,
    "data.episodes_rp": AT_LEAST_1, "data.episodes_me": AT_LEAST_1, "data.num_rungs": Range(2),
    "data.learner.rounds": AT_LEAST_1, "data.learner.episodes_per_round": AT_LEAST_1,
    "data.learner.expert_episodes": AT_LEAST_1, "data.learner.updates_per_round": AT_LEAST_1,
    "data.learner.batch_size": AT_LEAST_1, "data.learner.learning_rate": POSITIVE,
    "data.learner.hidden": Range(1, None, "[]", nonempty=True), "data.learner.demo_share": Range(0, 1, "[)"),
    "data.online_learner.rounds": AT_LEAST_1, "data.online_learner.envs": AT_LEAST_1,
    "data.online_learner.updates_per_round": AT_LEAST_1, "data.online_learner.batch_size": AT_LEAST_1,
    "data.online_learner.learning_rate": POSITIVE, "data.online_learner.hidden": Range(1, None, "[]", nonempty=True),
    "data.expert_noise": AT_LEAST_0, "data.probe_episodes": AT_LEAST_1, "data.medium_success": Range(0, 1, "(]"),
    "data.seed": AT_LEAST_0, "data.num_workers": AT_LEAST_1, "data.reward_scale": POSITIVE,
    "encoder.n": AT_LEAST_1, "encoder.latent_dim": AT_LEAST_1, "encoder.skill_hidden": AT_LEAST_1,
    "encoder.task_hidden": AT_LEAST_1, "encoder.learning_rate": POSITIVE, "encoder.batch_size": Range(2),
    "encoder.epochs": POSITIVE, "encoder.mmd_weight": AT_LEAST_0,
    "encoder.kernel_scales": Range(0, None, "(]", nonempty=True), "encoder.skill_reg_weight": AT_LEAST_0,
    "encoder.weight_decay": AT_LEAST_0, "encoder.chunk_steps": AT_LEAST_1,
    "encoder.holdout_fraction": Range(0, 0.5, "[]"),
    "rl.softmod.num_layers": AT_LEAST_1, "rl.softmod.num_modules": AT_LEAST_1, "rl.softmod.hidden": AT_LEAST_1,
    "rl.softmod.representation": AT_LEAST_1, "rl.actor_hidden": AT_LEAST_1, "rl.critic_hidden": AT_LEAST_1,
    "rl.learning_rate": POSITIVE, "rl.batch_size": AT_LEAST_1, "rl.steps": AT_LEAST_1, "rl.alpha": AT_LEAST_0,
    "rl.gamma": Range(0, 1, "[)"), "rl.tau": Range(0, 1, "(]"), "rl.policy_noise": AT_LEAST_0,
    "rl.noise_clip": AT_LEAST_0, "rl.policy_delay": AT_LEAST_1, "rl.chunk_steps": AT_LEAST_1,
    "cql.min_q_weight": AT_LEAST_0, "cql.num_action_samples": AT_LEAST_1, "cql.actor_learning_rate": POSITIVE,
    "cql.critic_learning_rate": POSITIVE, "cql.temperature_learning_rate": POSITIVE, "cql.init_temperature": POSITIVE,
    "cql.target_entropy_per_dim": Range(),
    "augment.size_ratio": POSITIVE, "augment.horizon": AT_LEAST_1, "augment.z_noise": AT_LEAST_0,
    "augment.batch_share": Range(0, 1, "[)"),
    "augment.state_std": AT_LEAST_0, "augment.action_std": AT_LEAST_0,
    "eval.episodes_per_task": AT_LEAST_1, "eval.episode_length": AT_LEAST_0, "eval.every_steps": AT_LEAST_0,
    "eval.seed": AT_LEAST_0, "eval.env_workers": AT_LEAST_1,
    "eval.imagination_starts": AT_LEAST_0, "eval.relabel_starts": AT_LEAST_0,
}


def out_of_range(field: str, value) -> str | None:
    """Why `value` is out of the field's range (a message naming the field), or None when it is in range."""
    rng = RANGES[field]
    if isinstance(value, (list, tuple)):
        if rng.nonempty and not value:
            return f"config field {field} must not be empty"
        bad = [v for v in value if not rng.holds(v)]
        return f"config field {field}: every entry must be {rng.describe()}, got {value!r}" if bad else None
    return None if rng.holds(value) else f"config field {field} must be {rng.describe()}, got {value!r}"
