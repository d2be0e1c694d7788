"""SRTD as the authors' released code runs it where the paper is silent (README, "Choices the paper leaves open"):
`--config=configs/authors.py`, or `configs/authors.py:quick` for the quick job's sizes with the authors' choices.
Every other field is the default's."""
from configs import default, quick


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
    return c


def get_config(base: str = "default"):
    if base not in ("default", "quick"):
        raise ValueError(f"configs/authors.py: unknown base {base!r}; valid: default, quick")
    return apply((quick if base == "quick" else default).get_config())
