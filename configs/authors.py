"""SRTD as the authors' released code runs it where the paper is silent (README, "Choices the paper leaves open"):
`--config=configs/authors.py`, or `configs/authors.py:quick` for the quick job's sizes with the authors' choices.
Every other field is the default's."""
from configs import default, quick
from srtd_jax.runtime.config_check import flatten


def apply(c):
    """Sets every switch of the README's list to the released code's reading; returns c."""
    c.encoder.separate_reward_decoder = True      # a transition decoder and a reward decoder
    c.encoder.skill_reg_weight = 1e-2             # L_SR scaled by 1e-2
    c.encoder.weight_decay = 1e-3                 # an L2 penalty of 1e-3 ...
    c.encoder.weight_decay_mean = True            # ... on each parameter array's mean square
    c.encoder.quality_weight = "discounted_clipped"  # R~: discounted return of the training reward, >= 0
    c.augment.z_noise_target = "skill_decoder"    # imagination's z noise enters the skill decoder only
    c.data.first_relative_reward = "raw"          # the relative reward at t = 0 is r_0
    c.key_streams = "independent"                 # every random use its own key
    c.data.assignment_per_seed = True             # each seed draws its own task-to-kind assignment, and runs
    c.num_seeds = 1                               # alone: pass --config.seed=k for seed k
    return c


# Fields that are one choice together: the mean-square form only matters with a weight decay.
_GROUPED = {"encoder.weight_decay_mean": "encoder.weight_decay"}


def switches():
    """Every choice where the released code differs from the defaults, each with the fields it sets:
    ({choice name: {field: value}}, {field: value} of all of them). The seed count is not a choice."""
    ours, theirs = flatten(default.get_config().to_dict()), flatten(get_config().to_dict())
    diff = {k: v for k, v in theirs.items() if ours[k] != v and k != "num_seeds"}
    grouped = {}
    for field, value in diff.items():
        grouped.setdefault(_GROUPED.get(field, field), {})[field] = value
    return grouped, diff


def get_config(base: str = "default"):
    if base not in ("default", "quick"):
        raise ValueError(f"configs/authors.py: unknown base {base!r}; valid: default, quick")
    return apply((quick if base == "quick" else default).get_config())
