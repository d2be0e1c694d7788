"""TD3+BC (Fujimoto & Gu, 2021): its losses as pure functions, the train state (targets as parameters, not train
states) and the update with the delayed actor, optionally with PCGrad over per-task gradients.

Shapes: B batch, D = S + C policy input dim (state and conditioning), A action dim.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from srtd_jax.core.gradients import gradient_update, polyak
from srtd_jax.core.networks import ActorCritic, copy_params, init_actor_critic
from srtd_jax.core.types import Transition


def td3bc_critic_loss(critic_params, target_critic_params, target_actor_params, batch: Transition,
                      key: jax.Array, *, networks: ActorCritic, policy_noise: float, noise_clip: float):
    """TD3 critic loss: both Qs regress y = r + discount * min(Q1', Q2')(s', clip(pi'(s') + clipped noise)).
    batch obs/next_obs (B, D), action (B, A). Returns (loss, metrics)."""
    noise = jnp.clip(policy_noise * jax.random.normal(key, batch.action.shape), -noise_clip, noise_clip)
    next_action = jnp.clip(networks.actor.apply(target_actor_params, batch.next_obs) + noise, -1.0, 1.0)
    tq1, tq2 = networks.critic.apply(target_critic_params, batch.next_obs, next_action)
    target = jax.lax.stop_gradient(batch.reward + batch.discount * jnp.minimum(tq1, tq2))
    q1, q2 = networks.critic.apply(critic_params, batch.obs, batch.action)
    loss = jnp.mean((q1 - target) ** 2) + jnp.mean((q2 - target) ** 2)
    return loss, {"critic_loss": loss, "q1_mean": jnp.mean(q1)}


def td3bc_actor_loss(actor_params, critic_params, batch: Transition, *, networks: ActorCritic, alpha: float):
    """TD3+BC actor loss: -lambda * mean Q1(s, pi(s)) + mean over batch and action dims of (pi(s) - a)^2,
    lambda = alpha / mean|Q1| (treated as a constant). Returns (loss, metrics)."""
    pi = networks.actor.apply(actor_params, batch.obs)
    q1, _ = networks.critic.apply(critic_params, batch.obs, pi)
    lmbda = jax.lax.stop_gradient(alpha / jnp.mean(jnp.abs(q1)))
    bc = jnp.mean((pi - batch.action) ** 2)
    loss = -lmbda * jnp.mean(q1) + bc
    return loss, {"actor_loss": loss, "bc_loss": bc}


class TD3BCState(NamedTuple):
    """Actor, twin critic, their target params (no target optimisers) and Adam states."""

    actor_params: Any
    critic_params: Any
    target_actor_params: Any
    target_critic_params: Any
    actor_opt_state: Any
    critic_opt_state: Any


def init_td3bc_state(key, networks: ActorCritic, actor_opt: optax.GradientTransformation,
                     critic_opt: optax.GradientTransformation, input_dim: int, action_dim: int) -> TD3BCState:
    actor, critic = init_actor_critic(key, networks, input_dim, action_dim)
    return TD3BCState(actor, critic, copy_params(actor), copy_params(critic), actor_opt.init(actor),
                      critic_opt.init(critic))


def make_td3bc_update(networks: ActorCritic, actor_opt, critic_opt, *, tau: float, alpha: float,
                      policy_noise: float, noise_clip: float, policy_delay: int, gradient_surgery: bool = False):
    """TD3+BC update `update(state, batch, key, step, phase=None) -> (state, metrics)` on a Transition batch.
    The actor and the targets move every `policy_delay` steps: on `step % policy_delay == 0` through lax.cond,
    or, when the caller knows the phase `step % policy_delay` at trace time (make_chunk, `update.period`),
    on `phase == 0` without a cond.

    gradient_surgery: the batch carries a leading task axis (T, B / T, ...) from a task-stratified sampler, and
    the critic and actor gradients are combined over tasks by PCGrad."""
    critic_update = gradient_update(functools.partial(
        td3bc_critic_loss, networks=networks, policy_noise=policy_noise, noise_clip=noise_clip), critic_opt,
        surgery_batch_arg=2 if gradient_surgery else None)
    actor_update = gradient_update(functools.partial(td3bc_actor_loss, networks=networks, alpha=alpha), actor_opt,
                                   surgery_batch_arg=1 if gradient_surgery else None)

    def update(state: TD3BCState, batch, key, step, phase: int | None = None):
        k_noise, k_critic, k_actor = jax.random.split(key, 3) if gradient_surgery else (key, None, None)
        critic, critic_opt_state, c_metrics = critic_update(
            state.critic_params, state.critic_opt_state, state.target_critic_params, state.target_actor_params, batch,
            k_noise, key=k_critic)

        def delayed(operand):
            actor, actor_opt_state = operand
            actor, actor_opt_state, a_metrics = actor_update(actor, actor_opt_state, critic, batch, key=k_actor)
            return actor, actor_opt_state, polyak(state.target_actor_params, actor, tau), \
                polyak(state.target_critic_params, critic, tau), a_metrics

        def skip(operand):
            actor, actor_opt_state = operand
            nan = jnp.full((), jnp.nan)  # no actor update this step; the chunk average ignores NaNs
            return actor, actor_opt_state, state.target_actor_params, state.target_critic_params, \
                {"actor_loss": nan, "bc_loss": nan}

        operand = (state.actor_params, state.actor_opt_state)
        if phase is None:
            actor, actor_opt_state, t_actor, t_critic, a_metrics = jax.lax.cond(
                step % policy_delay == 0, delayed, skip, operand)
        else:
            actor, actor_opt_state, t_actor, t_critic, a_metrics = (delayed if phase == 0 else skip)(operand)
        metrics = {**c_metrics, **a_metrics, "imagined_fraction": jnp.mean(batch.imagined)}
        return TD3BCState(actor, critic, t_actor, t_critic, actor_opt_state, critic_opt_state), metrics

    update.period = policy_delay
    return update
