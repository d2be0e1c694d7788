"""The 'did you mean' of unknown config fields: synonyms from other codebases, then the closest spelling."""
import pytest

from srtd_jax.runtime.config_check import ConfigError, set_field
from srtd_jax.runtime.defaults import get_config
from srtd_jax.runtime.field_names import flatten, suggest, unknown_field_message

KNOWN = sorted(flatten(get_config().to_dict()))


@pytest.mark.parametrize("field,meant", [
    ("rl.discount", "rl.gamma"),             # a synonym in the same section
    ("encoder.lr", "encoder.learning_rate"),
    ("rl.polyak", "rl.tau"),
    ("cql.cql_alpha", "cql.min_q_weight"),
    ("discount", "rl.gamma"),                # the synonym's only section
    ("seeds", "num_seeds"),
    ("rl.stpes", "rl.steps"),                # a typo: the closest spelling
    ("encoder.latnt_dim", "encoder.latent_dim"),
    ("rl.qqqqqq", None),                     # nothing close
])
def test_suggestion(field, meant):
    assert suggest(field, KNOWN) == meant


def test_a_synonym_whose_field_is_in_several_sections_falls_back_to_spelling():
    # 'lr' alone: rl, encoder, data.learner and data.online_learner all have a learning_rate; none is guessed
    assert suggest("lr", KNOWN) is None


def test_flatten_gives_dotted_names_and_json_values():
    assert flatten({"a": {"b": (1, 2)}, "c": 3}) == {"a.b": [1, 2], "c": 3}


def test_messages_name_the_field_and_the_guess():
    assert unknown_field_message("rl.discount", KNOWN) == "unknown config field rl.discount (did you mean rl.gamma?)"
    assert unknown_field_message("rl.qqqqqq", KNOWN) == "unknown config field rl.qqqqqq"


def test_set_field_suggests_and_refuses_a_path_through_a_value():
    cfg = get_config()
    with pytest.raises(ConfigError, match=r"^unknown config field rl\.discount \(did you mean rl\.gamma\?\)$"):
        set_field(cfg, "rl.discount", 0.9)
    with pytest.raises(ConfigError, match=r"^unknown config field rl\.steps\.x"):
        set_field(cfg, "rl.steps.x", 1)
    set_field(cfg, "rl.gamma", 0.9)
    assert cfg.rl.gamma == 0.9
