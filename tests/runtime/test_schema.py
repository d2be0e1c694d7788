"""Property tests of the config ranges (srtd_jax/runtime/schema.py): for every ranged field, random values outside
its range are refused with a message naming the field, and random values inside it pass the whole check."""
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srtd_jax.runtime import schema
from srtd_jax.runtime.config_check import ConfigError, check_config, default_fields
from tests.tiny import tiny_config

FIELDS = sorted(schema.RANGES)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _set(cfg, field, value):
    *parents, leaf = field.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    node[leaf] = value


def _kind(field):
    value = default_fields()[field]
    return ("tuple", type(value[0]) if value else int) if isinstance(value, list) else ("scalar", type(value))


def test_every_number_and_tuple_of_numbers_has_a_range():
    numeric = {k for k, v in default_fields().items()
               if isinstance(v, (int, float, list)) and not isinstance(v, bool) and k != "eval.tasks"}
    assert numeric == set(schema.RANGES)


def _outside(rng: schema.Range, kind):
    """Values of type `kind` outside the range (non-finite floats are outside every range)."""
    options = []
    if kind is float:
        options.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    if rng.low is not None:
        below = rng.low - 1 if kind is int else rng.low
        hi = below if (kind is int or rng.closed[0] == "(") else math.nextafter(rng.low, -math.inf)
        options.append(st.integers(-10**6, int(hi)) if kind is int else st.floats(-1e9, hi))
    if rng.high is not None:
        lo = rng.high + 1 if kind is int else (rng.high if rng.closed[1] == ")" else math.nextafter(rng.high, math.inf))
        options.append(st.integers(int(lo), 10**6) if kind is int else st.floats(lo, 1e9))
    return st.one_of(options)


def _inside(rng: schema.Range, kind):
    low = -1e6 if rng.low is None else rng.low
    high = 1e6 if rng.high is None else rng.high
    if kind is int:
        return st.integers(int(math.ceil(low)) + (rng.closed[0] == "("), int(high) - (rng.closed[1] == ")"))
    return st.floats(low, high, exclude_min=rng.closed[0] == "(", exclude_max=rng.closed[1] == ")")


@pytest.mark.parametrize("field", FIELDS)
@SETTINGS
@given(data=st.data())
def test_values_out_of_range_are_refused_naming_the_field(field, data, tmp_path):
    rng, (shape, kind) = schema.RANGES[field], _kind(field)
    if rng == schema.Range():  # any finite number
        kind = float
    bad = data.draw(_outside(rng, kind))
    value = (bad,) if shape == "tuple" else bad
    cfg = tiny_config(str(tmp_path))
    _set(cfg, field, value)
    with pytest.raises(ConfigError, match=f"config field {field}[ =:]"):
        check_config(cfg)


# cross-field limits of the tiny config that a value inside its own range can still break
_LIMITS = {"encoder.n": (1, 19), "data.episode_length": (5, 500), "eval.episode_length": (0, 500)}


@pytest.mark.parametrize("field", FIELDS)
@SETTINGS
@given(data=st.data())
def test_values_in_range_pass(field, data, tmp_path):
    rng, (shape, kind) = schema.RANGES[field], _kind(field)
    if field in _LIMITS:
        good = data.draw(st.integers(*_LIMITS[field]))
    elif rng == schema.Range():
        good = data.draw(st.floats(-1e6, 1e6))
    else:
        good = data.draw(_inside(rng, kind))
    cfg = tiny_config(str(tmp_path))
    if shape == "tuple":
        good = tuple(data.draw(st.lists(_inside(rng, kind), min_size=1, max_size=3)))
    _set(cfg, field, good)
    if field in ("rl.steps", "rl.chunk_steps"):  # whole chunks: rl.steps a multiple of rl.chunk_steps
        cfg.rl.steps = cfg.rl.chunk_steps * max(1, cfg.rl.steps // cfg.rl.chunk_steps)
    check_config(cfg)
