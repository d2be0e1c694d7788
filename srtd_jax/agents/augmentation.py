"""Data augmentation: imaginary demonstrations (SRTD+ID, eq. 9) and Gaussian-noise augmentation (SRTD+N).

Both return a table of Transitions on the policy input [normalised s, c] with imagined = 1; jitted, no
Python loops over states (rollouts are a lax.scan over the horizon, vectorised over start states).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from srtd_jax.agents import srtd
from srtd_jax.core.networks import EncoderNetworks
from srtd_jax.core.options import NOISE_TARGETS
from srtd_jax.core.types import Transition
from srtd_jax.data.windows import DeviceData, append_step, draw_steps, num_steps, task_window


def imagine(enc_params, s0: jax.Array, tau0: jax.Array, key: jax.Array, *, networks: EncoderNetworks,
            horizon: int, z_noise: float, gamma: float, noise_target: str = "all") -> Transition:
    """Rolls imaginary steps from dataset states with the skill and task decoders (eq. 9).

    At every step: z = q_theta(tau) + N(0, z_noise^2); a = p_phi(s, z); (s', r) = p_theta(s, a, z); the window
    tau slides over the imagined step (a, s', r). noise_target 'all': the noisy z also goes into the task decoder
    and the stored [s, z]; 'skill_decoder' (the released code's): only the skill decoder sees the noise, the task
    decoder and the stored transitions use q_theta(tau). enc_params: {'skill', 'task'} (one seed);
    s0: (M, S) normalised start states; tau0: (M, n, A + S + 1) their task windows.
    Returns M * horizon transitions on [s, z] (next state conditioned on the next step's z)."""
    if noise_target not in NOISE_TARGETS:
        raise ValueError(f"unknown noise target {noise_target!r}; valid: {', '.join(NOISE_TARGETS)}")
    obs_dim = s0.shape[-1]
    noise = z_noise * jax.random.normal(key, (horizon + 1,) + s0.shape[:1] + (networks.task_encoder.out,))
    embed = lambda tau, eps: srtd.task_embed(enc_params["task"]["encoder"], tau, networks=networks) + eps

    only_skill = noise_target == "skill_decoder"

    def step(carry, eps):
        s, tau = carry
        z = embed(tau, eps[0])
        a = networks.skill_decoder.apply(enc_params["skill"]["decoder"], jnp.concatenate([s, z], -1))
        if only_skill:
            z = embed(tau, 0.0)
        pred = srtd.task_decode(enc_params["task"]["decoder"], jnp.concatenate([s, a, z], -1), networks=networks)
        s_next, r = pred[:, :obs_dim], pred[:, obs_dim]
        tau = append_step(tau, a, s_next, r)
        z_next = embed(tau, 0.0 if only_skill else eps[1])
        return (s_next, tau), (jnp.concatenate([s, z], -1), a, r, jnp.concatenate([s_next, z_next], -1))

    pairs = jnp.stack([noise[:-1], noise[1:]], 1)  # the noise of step k and of step k + 1
    _, (obs, act, rew, nxt) = jax.lax.scan(step, (s0, tau0), pairs)
    flat = lambda x: jnp.swapaxes(x, 0, 1).reshape((-1,) + x.shape[2:])  # (H, M, ..) -> (M * H, ..)
    num = obs.shape[0] * obs.shape[1]
    return Transition(flat(obs), flat(act), flat(rew), flat(nxt), jnp.full((num,), gamma), jnp.ones(num))


def imaginary_dataset(enc_params, data: DeviceData, key: jax.Array, *, networks: EncoderNetworks, n: int,
                      num_transitions: int, horizon: int, z_noise: float, gamma: float,
                      noise_target: str = "all") -> Transition:
    """`num_transitions` imaginary transitions (rounded up to a multiple of horizon) from uniformly drawn
    dataset steps, for one seed. Start states and windows come from the offline data."""
    k_start, k_roll = jax.random.split(key)
    e, t = draw_steps(data, k_start, -(-num_transitions // horizon))
    return imagine(enc_params, data.obs[e, t], task_window(data, e, t, n), k_roll, networks=networks,
                   horizon=horizon, z_noise=z_noise, gamma=gamma, noise_target=noise_target)


def noise_dataset(data: DeviceData, cond: jax.Array, key: jax.Array, *, num_transitions: int, state_std: float,
                  action_std: float, gamma: float) -> Transition:
    """Gaussian-noise augmentation: copies of uniformly drawn dataset transitions with N(0, state_std^2) on
    the normalised states s and s' and N(0, action_std^2) on the action (clipped to [-1, 1]); the
    conditioning c of the original step is kept. cond: (E, L + 1, C) for one seed."""
    k_idx, k_noise = jax.random.split(key)
    e, t = draw_steps(data, k_idx, num_transitions)
    return noise_transitions(data, cond, e, t, k_noise, state_std=state_std, action_std=action_std, gamma=gamma)


def noise_transitions(data: DeviceData, cond: jax.Array, e: jax.Array, t: jax.Array, key: jax.Array, *,
                      state_std: float, action_std: float, gamma: float) -> Transition:
    """Noisy copies of the dataset steps (e, t), each (M,); see `noise_dataset`."""
    k_s, k_n, k_a = jax.random.split(key, 3)
    num_transitions = e.shape[0]
    s, s2, a = data.obs[e, t], data.next_obs[e, t], data.actions[e, t]
    s = s + state_std * jax.random.normal(k_s, s.shape)
    s2 = s2 + state_std * jax.random.normal(k_n, s2.shape)
    a = jnp.clip(a + action_std * jax.random.normal(k_a, a.shape), -1.0, 1.0)
    return Transition(jnp.concatenate([s, cond[e, t]], -1), a, data.rewards[e, t],
                      jnp.concatenate([s2, cond[e, t + 1]], -1), gamma * (1.0 - data.terminals[e, t]),
                      jnp.ones(num_transitions))


def augmentation_table(kind: str, enc_params, cond, device_data: DeviceData, keys: jax.Array, *, over_seeds,
                       networks: EncoderNetworks | None, n: int, size_ratio: float, horizon: int, z_noise: float,
                       state_std: float, action_std: float, gamma: float, noise_target: str = "all") -> Transition:
    """The seed-stacked augmentation table, size_ratio x the dataset's transitions per seed, jitted over the seed
    axis by `over_seeds(fn, seeded)` (core.chunks.over_seeds with a strategy and mesh bound).

    kind 'imaginary': from the seed-stacked encoder params {'skill', 'task'} (networks their modules);
    kind 'noise': around the dataset, conditioned by the seed-stacked cond (seeds, E, L + 1, C). Any other kind
    raises."""
    if kind not in ("imaginary", "noise"):
        raise ValueError(f"unknown augmentation kind {kind!r}; valid: imaginary, noise")
    num = int(round(size_ratio * num_steps(device_data)))
    if kind == "imaginary":
        fn = lambda p, k, d: imaginary_dataset(p, d, k, networks=networks, n=n, num_transitions=num, horizon=horizon,
                                               z_noise=z_noise, gamma=gamma, noise_target=noise_target)
        per_seed = enc_params
    else:
        fn = lambda c, k, d: noise_dataset(d, c, k, num_transitions=num, state_std=state_std, action_std=action_std,
                                           gamma=gamma)
        per_seed = cond
    return jax.jit(over_seeds(fn, (True, True, False)))(per_seed, keys, device_data)
