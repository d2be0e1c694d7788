"""Every choice the paper leaves open, in three readings (README, "Choices the paper leaves open"):

- the released code's (`apply`; `--config=configs/authors.py`, or `configs/authors.py:quick` for the quick job's
  sizes): every switch as the authors' code sets it;
- the paper's literal reading (`paper_reading`; `--config=configs/authors.py:paper_reading`, or
  `configs/authors.py:paper_reading-quick` for the quick job's sizes): every switch as the
  defaults had it before the deviation study (one summed [s', r] decoder, L_SR weight 1, no weight decay, the
  min-max normalised raw return as R~, z noise everywhere in imagination, a relative reward of 0 at t = 0, shared
  key streams, one task-to-kind assignment for all seeds). The deviation study measures against it;
- the defaults (configs/default.py): the paper where it speaks, the released code where it is silent.
Every other field is the default's."""
from configs import default, quick
from srtd_jax.runtime.config_check import flatten, set_field

# The paper's literal reading of every switch, the reference of the deviation study.
PAPER_READING = {
    "encoder.separate_reward_decoder": False, "encoder.skill_reg_weight": 1.0, "encoder.weight_decay": 0.0,
    "encoder.weight_decay_mean": False, "encoder.quality_weight": "minmax_return", "augment.z_noise_target": "all",
    "data.first_relative_reward": "zero", "key_streams": "shared", "data.assignment_per_seed": False}


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


def paper_reading(c):
    """Sets every switch of the README's list to the paper's literal reading (PAPER_READING); returns c."""
    for field, value in PAPER_READING.items():
        set_field(c, field, value)
    return c


# Fields that are one choice together: the mean-square form only matters with a weight decay.
_GROUPED = {"encoder.weight_decay_mean": "encoder.weight_decay"}


def reading_of(config: dict) -> dict:
    """{field: value} of the switches where a config (a nested dict, as a results record keeps it) differs from the
    paper's reading; {} when it follows the paper's reading. A field the config lacks predates its switch, whose
    addition kept the paper's reading."""
    flat = flatten(config)
    return {field: flat[field] for field, paper in PAPER_READING.items() if field in flat and flat[field] != paper}


def _switches_of(cfg) -> dict:
    """{choice name: {field: value}} of the switches where cfg differs from the paper's reading."""
    grouped = {}
    for field, value in reading_of(cfg.to_dict()).items():
        grouped.setdefault(_GROUPED.get(field, field), {})[field] = value
    return grouped


def _fields(grouped: dict) -> dict:
    return {f: v for fields in grouped.values() for f, v in fields.items()}


def switches():
    """Every choice where the released code differs from the paper's reading, each with the fields it sets:
    ({choice name: {field: value}}, {field: value} of all of them)."""
    grouped = _switches_of(get_config())
    return grouped, _fields(grouped)


def chosen():
    """{field: value} of the switches where the defaults differ from the paper's reading: the defaults as the
    deviation study runs them on its paper-reading base."""
    return _fields(_switches_of(default.get_config()))


SPECS = ("default", "quick", "paper_reading", "paper_reading-quick")


def get_config(spec: str = "default"):
    """`configs/authors.py[:spec]`: the released code's reading on the default sizes ('default') or the quick job's
    ('quick'); the paper's literal reading on either ('paper_reading', 'paper_reading-quick')."""
    if spec not in SPECS:
        raise ValueError(f"configs/authors.py: unknown spec {spec!r}; valid: {', '.join(SPECS)}")
    paper = spec.startswith("paper_reading")
    sizes = spec.partition("-")[2] if paper else spec
    base = (quick if sizes == "quick" else default).get_config()
    return paper_reading(base) if paper else apply(base)
