"""Batch containers and aliases shared across modules."""
from typing import Any, Dict, NamedTuple

import jax

PRNGKey = jax.Array
Params = Any
Metrics = Dict[str, jax.Array]


class WindowBatch(NamedTuple):
    """A batch of B sampled steps t with their windows (n = window length, S/A = obs/action dims).

    skill_obs: (B, 2n, S), skill_actions: (B, 2n, A), skill_mask: (B, 2n)   steps t-n .. t+n-1
    task_window: (B, n, A + S + 1)   (a_k, s_{k+1}, r_k) for k = t-n .. t-1, zeros before the episode
    recon_obs, recon_actions: (B, n+1, S|A)   (s_k, a_k) for k = t-n .. t
    recon_next_obs: (B, n+1, S), recon_rewards: (B, n+1), recon_mask: (B, n+1)   targets of L_TE
    quality: (B,)   normalised episode return in [0, 1] (the quality weight R~)
    """

    skill_obs: jax.Array
    skill_actions: jax.Array
    skill_mask: jax.Array
    task_window: jax.Array
    recon_obs: jax.Array
    recon_actions: jax.Array
    recon_next_obs: jax.Array
    recon_rewards: jax.Array
    recon_mask: jax.Array
    quality: jax.Array


class Transition(NamedTuple):
    """A TD3+BC batch on the augmented state [normalised s, c]: obs/next_obs (B, D), action (B, A),
    reward (B,), discount (B,) = gamma * (1 - terminal), imagined (B,) 1.0 for augmented rows."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    discount: jax.Array
    imagined: Any = None
