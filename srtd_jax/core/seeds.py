"""Per-seed random keys and the seed-axis strategy: how the seeds of one run are drawn and laid out."""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from srtd_jax.core.options import KEY_STREAMS

# Seed-axis strategy chosen by 'auto', per platform (README, "Seeds"; results/seed_axis.md). On CPU, lax.map
# kept 1.03x the single-seed rate at the paper's encoder shape where vmap fell to 0.75x, and tied elsewhere.
# On accelerators vmap batches the seeds into one program (map vs vmap not yet compared on a GPU).
AUTO_SEED_AXIS = {"cpu": "map", "gpu": "vmap", "tpu": "vmap"}


def seed_axis_strategy(name: str) -> str:
    """'auto' -> the strategy measured fastest on this platform; 'vmap' or 'map' as given."""
    return AUTO_SEED_AXIS.get(jax.default_backend(), "map") if name == "auto" else name


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """Seed i's key is fold_in(PRNGKey(seed), i), independent of how many seeds run together."""
    base = jax.random.PRNGKey(seed)
    return jnp.stack([jax.random.fold_in(base, i) for i in range(num_seeds)])


class RunKeys(NamedTuple):
    """Host keys (num_seeds, 2) of every random use of a run: the initial states and the training chain of each
    phase, the augmentation table, and the measurements after training (imagination diagnostics)."""

    encoder_init: jax.Array
    encoder_chain: jax.Array
    rl_init: jax.Array
    rl_chain: jax.Array
    augmentation: jax.Array
    diagnostics: jax.Array


def run_keys(seed: int, num_seeds: int, streams: str = "shared") -> RunKeys:
    """'shared': a phase's initial states and its training chain start from the same key, and the augmentation key
    is fold_in(rl key, 1); since split(k, n)[i] equals fold_in(k, i) here, the actor's init key then equals the
    chain's next key and the critic's init key the first batch's and the augmentation's. 'independent': each use
    gets its own key, fold_in(phase key, 0 | 1 | 2) for init, chain and augmentation."""
    if streams not in KEY_STREAMS:
        raise ValueError(f"unknown key streams {streams!r}; valid: {', '.join(KEY_STREAMS)}")
    enc, rl = phase_keys(seed, num_seeds)
    fold = lambda keys, i: jax.vmap(lambda k: jax.random.fold_in(k, i))(keys)
    # the split's index 0, which training never uses: measuring a run leaves its training keys as they were
    diagnostics = fold(seed_keys(seed, num_seeds), 0)
    if streams == "shared":
        return RunKeys(enc, enc, rl, rl, fold(rl, 1), diagnostics)
    return RunKeys(fold(enc, 0), fold(enc, 1), fold(rl, 0), fold(rl, 1), fold(rl, 2), diagnostics)


def phase_keys(seed: int, num_seeds: int) -> tuple[jax.Array, jax.Array]:
    """(encoder keys, offline RL keys), each (num_seeds, 2): seed i's key split in 3, index 0 unused."""
    _, enc_keys, rl_keys = jax.vmap(lambda k: jax.random.split(k, 3))(seed_keys(seed, num_seeds)).transpose(1, 0, 2)
    return enc_keys, rl_keys
