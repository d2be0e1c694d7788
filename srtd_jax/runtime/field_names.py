"""Config field names: a config as dotted names, and which field a mistyped or foreign name most likely meant
(the 'did you mean' of every unknown-field error: check_schema, set_field, the command line). Loads no JAX, so a
command that fails on a flag stays fast."""
from __future__ import annotations

import difflib

# Names other RL codebases give to fields this config spells differently (the last component of a dotted name).
SYNONYMS = {
    "discount": "gamma", "discount_factor": "gamma",
    "lr": "learning_rate",
    "polyak": "tau", "target_update_rate": "tau",
    "num_steps": "steps", "total_steps": "steps", "max_steps": "steps", "train_steps": "steps",
    "batch": "batch_size",
    "seeds": "num_seeds", "n_seeds": "num_seeds",
    "env": "suite", "benchmark": "suite",
    "z_dim": "latent_dim", "latent_size": "latent_dim",
    "bc_alpha": "alpha", "bc_weight": "alpha",
    "target_noise": "policy_noise", "target_noise_clip": "noise_clip", "actor_delay": "policy_delay",
    "cql_alpha": "min_q_weight", "cql_weight": "min_q_weight",
}


def flatten(tree: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}; tuples become lists (as after a JSON round trip)."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def suggest(field: str, known) -> str | None:
    """The known dotted field that `field` most likely meant, or None.

    A synonym in the same section first ('rl.discount' -> 'rl.gamma'), then the synonym in whichever section
    holds it when exactly one does ('discount' -> 'rl.gamma'), then the closest spelling ('rl.stpes' ->
    'rl.steps')."""
    known = sorted(known)
    *parents, leaf = field.split(".")
    synonym = SYNONYMS.get(leaf)
    if synonym is not None:
        same_section = ".".join(parents + [synonym])
        if same_section in known:
            return same_section
        anywhere = [k for k in known if k == synonym or k.endswith("." + synonym)]
        if len(anywhere) == 1:
            return anywhere[0]
    close = difflib.get_close_matches(field, known, n=1)
    return close[0] if close else None


def unknown_field_message(field: str, known) -> str:
    """'unknown config field rl.discount (did you mean rl.gamma?)', without the parenthesis when nothing is close."""
    close = suggest(field, known)
    return f"unknown config field {field}" + (f" (did you mean {close}?)" if close else "")
