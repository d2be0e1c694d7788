"""Conservative Q-learning (CQL(H), Kumar et al. 2020) on a SAC learner, usable with any conditioning and
network, with optional per-task temperatures and soft-modularization loss balancing.

Batches are Transitions with a leading group axis (K, B / K, ...): K = number of tasks for task-stratified
batches (per-task temperatures and losses) or K = 1 for an ordinary batch. Loss balancing (the SoftMod
paper's) weights group k's actor and critic losses by softmax(-alpha)_k, alpha_k being that task's entropy
temperature; without it the groups are averaged.
"""
from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from srtd_jax.core.gradients import gradient_update, polyak
from srtd_jax.core.networks import ActorCritic, copy_params, init_actor_critic
from srtd_jax.core.types import Transition


class CQLState(NamedTuple):
    """Actor, twin critic, critic target, log temperatures (K,) and the three Adam states."""

    actor_params: Any
    critic_params: Any
    target_critic_params: Any
    log_alpha: jax.Array
    actor_opt_state: Any
    critic_opt_state: Any
    alpha_opt_state: Any


def init_cql_state(key, networks: ActorCritic, actor_opt, critic_opt, alpha_opt, input_dim: int, action_dim: int,
                   num_groups: int, init_temperature: float) -> CQLState:
    actor, critic = init_actor_critic(key, networks, input_dim, action_dim)
    log_alpha = jnp.full((num_groups,), math.log(init_temperature), jnp.float32)
    return CQLState(actor, critic, copy_params(critic), log_alpha, actor_opt.init(actor), critic_opt.init(critic),
                    alpha_opt.init(log_alpha))


def tanh_gaussian_sample(mean, log_std, key):
    """a = tanh(mean + std * eps) and its log-density under the squashed Gaussian.
    mean, log_std (.., A) -> (a (.., A), log_prob (..,))."""
    eps = jax.random.normal(key, mean.shape)
    u = mean + jnp.exp(log_std) * eps
    gauss = jnp.sum(-0.5 * eps ** 2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)
    # log |d tanh(u) / du| = log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|
    log_det = jnp.sum(2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u)), axis=-1)
    return jnp.tanh(u), gauss - log_det


def _policy_sample(networks, actor_params, obs, key):
    mean, log_std = networks.actor.apply(actor_params, obs, method="dist")
    return tanh_gaussian_sample(mean, log_std, key)


def cql_critic_loss(critic_params, target_critic_params, actor_params, alpha, batch: Transition, key, *,
                    networks: ActorCritic, min_q_weight: float, num_samples: int, backup_entropy: bool):
    """Soft TD loss plus the CQL(H) penalty for one group (flat batch: obs (B, D), action (B, A)).

    y = r + discount * (min Q'(s', a') [- alpha log pi(a'|s')]), a' ~ pi(s').
    penalty = mean_s [logsumexp over 3N importance-weighted actions of Q(s, .) - Q(s, a_data)] per Q, with
    N uniform actions (density 2^-A), N actions of pi(s) and N of pi(s') (each divided by its density).
    Returns (loss, metrics)."""
    k_next, k_rand, k_cur, k_nxt = jax.random.split(key, 4)
    bsz, adim = batch.action.shape
    next_a, next_logp = _policy_sample(networks, actor_params, batch.next_obs, k_next)
    tq1, tq2 = networks.critic.apply(target_critic_params, batch.next_obs, next_a)
    next_v = jnp.minimum(tq1, tq2) - (alpha * next_logp if backup_entropy else 0.0)
    target = jax.lax.stop_gradient(batch.reward + batch.discount * next_v)
    q1, q2 = networks.critic.apply(critic_params, batch.obs, batch.action)
    td = jnp.mean((q1 - target) ** 2) + jnp.mean((q2 - target) ** 2)

    # N action samples per state: (N, B, A); the policy samples carry no gradient into the actor
    rep = lambda x: jnp.broadcast_to(x, (num_samples,) + x.shape)
    rand_a = jax.random.uniform(k_rand, (num_samples, bsz, adim), minval=-1.0, maxval=1.0)
    cur_a, cur_logp = _policy_sample(networks, actor_params, rep(batch.obs), k_cur)
    nxt_a, nxt_logp = _policy_sample(networks, actor_params, rep(batch.next_obs), k_nxt)
    cur_a, cur_logp, nxt_a, nxt_logp = jax.lax.stop_gradient((cur_a, cur_logp, nxt_a, nxt_logp))
    obs3 = jnp.concatenate([rep(batch.obs)] * 3)
    acts = jnp.concatenate([rand_a, cur_a, nxt_a])
    log_density = jnp.concatenate([jnp.full((num_samples, bsz), -adim * jnp.log(2.0)), cur_logp, nxt_logp])
    sq1, sq2 = networks.critic.apply(critic_params, obs3, acts)  # (3N, B)
    lse = lambda q: jax.nn.logsumexp(q - log_density, axis=0)
    gap1, gap2 = jnp.mean(lse(sq1) - q1), jnp.mean(lse(sq2) - q2)
    loss = td + min_q_weight * (gap1 + gap2)
    return loss, {"critic_loss": td, "cql_gap": 0.5 * (gap1 + gap2), "q1_mean": jnp.mean(q1)}


def cql_actor_loss(actor_params, critic_params, alpha, batch: Transition, key, *, networks: ActorCritic):
    """SAC actor loss for one group: mean_s [alpha log pi(a|s) - min Q(s, a)], a ~ pi(s) reparameterised.
    Returns (loss, metrics incl. the group's mean log pi for its temperature)."""
    a, logp = _policy_sample(networks, actor_params, batch.obs, key)
    q1, q2 = networks.critic.apply(critic_params, batch.obs, a)
    loss = jnp.mean(alpha * logp - jnp.minimum(q1, q2))
    bc = jnp.mean((networks.actor.apply(actor_params, batch.obs) - batch.action) ** 2)
    return loss, {"actor_loss": loss, "log_prob": jnp.mean(logp), "bc_loss": jax.lax.stop_gradient(bc)}


def temperature_loss(log_alpha, mean_log_prob, target_entropy: float):
    """SAC temperature loss per group, averaged: -mean_k log_alpha_k (logp_k + target_entropy).
    log_alpha, mean_log_prob (K,)."""
    return -jnp.mean(log_alpha * jax.lax.stop_gradient(mean_log_prob + target_entropy))


def group_weights(log_alpha, loss_balancing: bool):
    """(K,) weights of the groups' losses: softmax(-alpha) with balancing, else uniform (no gradient)."""
    alpha = jnp.exp(jax.lax.stop_gradient(log_alpha))
    return jax.nn.softmax(-alpha) if loss_balancing else jnp.full_like(alpha, 1.0 / alpha.shape[0])


def over_groups(loss_fn, num_param_args: int):
    """Turns a per-group loss `loss_fn(*params, alpha, batch, key)` into one over grouped inputs
    `(*params, alphas (K,), batches (K, ..), keys (K,), weights (K,)) -> (weighted loss, metrics per group)`."""
    in_axes = (None,) * num_param_args + (0, 0, 0)

    def total(*args):
        *inputs, weights = args
        losses, metrics = jax.vmap(loss_fn, in_axes=in_axes)(*inputs)
        return jnp.sum(weights * losses), metrics

    return total


def make_cql_update(networks: ActorCritic, actor_opt, critic_opt, alpha_opt, *, tau: float, min_q_weight: float,
                    num_samples: int, backup_entropy: bool, target_entropy: float, loss_balancing: bool,
                    grouped: bool):
    """CQL update `update(state, batch, key, step) -> (state, metrics)`. grouped: the batch has a task axis
    (T, B / T, ..) from a task-stratified sampler and the state T temperatures; otherwise a flat (B, ..) batch
    is one group with one temperature. Order per step: critic, then actor on the new critic, then temperatures,
    then the Polyak critic target."""
    critic_loss = over_groups(functools.partial(
        cql_critic_loss, networks=networks, min_q_weight=min_q_weight, num_samples=num_samples,
        backup_entropy=backup_entropy), 3)
    actor_loss = over_groups(functools.partial(cql_actor_loss, networks=networks), 2)
    critic_update = gradient_update(critic_loss, critic_opt)
    actor_update = gradient_update(actor_loss, actor_opt)
    alpha_update = gradient_update(lambda log_alpha, *args: (temperature_loss(log_alpha, *args), {}), alpha_opt)

    def update(state: CQLState, batch: Transition, key, step):
        del step
        if not grouped:
            batch = jax.tree.map(lambda x: x[None], batch)
        k_critic, k_actor = jax.random.split(key)
        groups = batch.obs.shape[0]
        if state.log_alpha.shape != (groups,):
            raise ValueError(f"{state.log_alpha.shape[0]} temperatures for {groups} batch groups")
        alpha = jnp.exp(state.log_alpha)
        weights = group_weights(state.log_alpha, loss_balancing)

        critic, critic_opt_state, c_metrics = critic_update(
            state.critic_params, state.critic_opt_state, state.target_critic_params, state.actor_params, alpha, batch,
            jax.random.split(k_critic, groups), weights)
        actor, actor_opt_state, a_metrics = actor_update(
            state.actor_params, state.actor_opt_state, critic, alpha, batch, jax.random.split(k_actor, groups), weights)
        log_alpha, alpha_opt_state, _ = alpha_update(state.log_alpha, state.alpha_opt_state, a_metrics["log_prob"],
                                                     target_entropy)
        target = polyak(state.target_critic_params, critic, tau)
        metrics = {k: jnp.mean(v) for k, v in {**c_metrics, **a_metrics}.items()}
        metrics.update(alpha=jnp.mean(jnp.exp(log_alpha)), imagined_fraction=jnp.mean(batch.imagined))
        return CQLState(actor, critic, target, log_alpha, actor_opt_state, critic_opt_state, alpha_opt_state), metrics

    return update
