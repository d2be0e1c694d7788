"""Per-seed random keys and the seed-axis strategy: how the seeds of one run are drawn and laid out."""
from __future__ import annotations

import jax
import jax.numpy as jnp

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


def phase_keys(seed: int, num_seeds: int) -> tuple[jax.Array, jax.Array]:
    """(encoder keys, offline RL keys), each (num_seeds, 2): seed i's key split in 3, index 0 unused."""
    _, enc_keys, rl_keys = jax.vmap(lambda k: jax.random.split(k, 3))(seed_keys(seed, num_seeds)).transpose(1, 0, 2)
    return enc_keys, rl_keys
