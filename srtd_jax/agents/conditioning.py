"""What the policy is conditioned on: the task embedding z_t of a whole dataset (once, after the encoder phase), and
the policy that recomputes it online from the agent's own last n steps, as in training."""
from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from srtd_jax.agents.srtd import task_embed
from srtd_jax.core.networks import EncoderNetworks
from srtd_jax.data import windows


def embed_dataset(task_encoder_params, data: windows.DeviceData, *, networks: EncoderNetworks, n: int) -> jax.Array:
    """z_t = q_theta(tau_t) for every episode and t = 0 .. L (t = L conditions the last next-state).
    Single seed: params unstacked. -> (E, L + 1, Z)"""
    length = data.obs.shape[1]
    t = jnp.arange(length + 1)

    def one_episode(e):
        tau = windows.task_window(data, jnp.full_like(t, e), t, n)
        return task_embed(task_encoder_params, tau, networks=networks)

    return jax.lax.map(one_episode, jnp.arange(data.obs.shape[0]))


def make_policy(actor_apply: Callable, conditioner: Callable):
    """-> jitted act(actor_params, cond_params, obs (N, T, S) normalised, history (N, T, n, A + S + 1),
    task_ids (T,)) -> actions (N, T, A), over N seeds (leading axis of both param trees) and T envs.
    conditioner(cond_params, history (T, n, F), task_ids (T,)) -> (T, C)."""
    def one_seed(actor_params, cond_params, obs, history, task_ids):
        c = conditioner(cond_params, history, task_ids)
        return actor_apply(actor_params, jnp.concatenate([obs, c], -1))

    return jax.jit(jax.vmap(one_seed, in_axes=(0, 0, 0, 0, None)))
