"""Encoders trained once, used by several runs: `encoder.reuse_from` names a run whose trained encoders a run takes
instead of training its own. It gives the same numbers as training them again only when the two encoder phases
are the same computation, so the source's config must equal the run's on every field that phase reads, and the
two methods must train their encoders with the same losses (SRTD and SRTD+ID do; TE and SRTD-Q do not)."""
from __future__ import annotations

import os

import jax
import numpy as np

from srtd_jax.agents.methods import Method, resolve
from srtd_jax.runtime.checkpointing import latest_encoder_params
from srtd_jax.runtime.config_check import OPERATIONAL_FIELDS, ConfigError, flatten, read_run_config
from srtd_jax.runtime.encoder_phase import loss_settings

# Besides every data.* and encoder.* field: the seeds and their keys, the benchmark, and the discount of the
# quality weight.
_SHARED = ("seed", "num_seeds", "key_streams", "suite", "rl.gamma")


def encoder_fields(cfg) -> dict:
    """The fields of a run config that decide its encoder phase -> {field: value}."""
    flat = flatten(cfg.to_dict())
    return {k: v for k, v in flat.items() if (k.startswith(("data.", "encoder.")) or k in _SHARED)
            and k not in OPERATIONAL_FIELDS and k != "encoder.reuse_from"}


def why_not_shared(cfg, method: Method, theirs) -> str | None:
    """Why a run of `cfg` cannot take the encoders of a run of config `theirs` (None: their encoder phases are the
    same computation)."""
    ours, other = encoder_fields(cfg), encoder_fields(theirs)
    differ = sorted(k for k in set(ours) | set(other) if ours.get(k) != other.get(k))
    if differ:
        return "that run's encoder phase differs in " + ", ".join(
            f"{k} ({other.get(k)!r} there, {ours.get(k)!r} here)" for k in differ)
    their_method = resolve(theirs.method, theirs.rl.learner, theirs.rl.network)
    if not their_method.encoders or loss_settings(theirs.encoder, their_method) != loss_settings(cfg.encoder, method):
        return f"its method {theirs.method!r} trains its encoders with other losses than {cfg.method!r}"
    return None


def check_source(cfg, method: Method, source: str | None = None) -> None:
    """Raises ConfigError unless `source` (default: cfg.encoder.reuse_from) is a finished run whose encoder phase
    equals cfg's."""
    source = source or cfg.encoder.reuse_from
    if not method.encoders:
        raise ConfigError(f"config field encoder.reuse_from is set, but method {cfg.method!r} has no encoders")
    path = os.path.join(source, "config.json")
    if not os.path.isfile(path):
        raise ConfigError(f"config field encoder.reuse_from={source!r}: no run there ({path} is missing)")
    reason = why_not_shared(cfg, method, read_run_config(path))
    if reason:
        raise ConfigError(f"config field encoder.reuse_from={source!r}: {reason}")
    if not os.path.isfile(os.path.join(source, "summary.json")):
        raise ConfigError(f"config field encoder.reuse_from={source!r}: that run has not finished")


def find_source(cfg, method: Method, root: str) -> str | None:
    """The first finished run under `root` (sorted by path) whose encoders cfg may take, or None."""
    found = sorted(d for d, _, files in os.walk(root) if "summary.json" in files and "config.json" in files)
    for workdir in found:
        try:
            check_source(cfg, method, workdir)
        except ConfigError:
            continue
        return workdir
    return None


def load(source: str, num_seeds: int):
    """The seed-stacked trained encoder params {'skill', 'task'} of the run in `source` (checked by check_source)."""
    params = latest_encoder_params(source, seed=None)
    sizes = {np.shape(x)[0] for x in jax.tree.leaves(params)}
    if sizes != {num_seeds}:
        raise ConfigError(f"config field encoder.reuse_from={source!r}: its checkpoint holds {sizes} seeds, "
                          f"not {num_seeds}")
    return params
