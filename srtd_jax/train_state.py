"""Immutable train states (pytrees) and their initialisation. A step counter shared by all seeds is
kept outside the states: per-seed counters would turn the delayed actor update's lax.cond into a
select that computes both branches under vmap."""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from srtd_jax.networks import ActorCritic, EncoderNetworks


class EncoderState(NamedTuple):
    """params: {'skill': {'encoder', 'decoder'}, 'task': {'encoder', 'decoder'}}."""

    params: Any
    opt_state: Any


class TD3BCState(NamedTuple):
    """Actor, twin critic, their target params (no target optimisers) and Adam states."""

    actor_params: Any
    critic_params: Any
    target_actor_params: Any
    target_critic_params: Any
    actor_opt_state: Any
    critic_opt_state: Any


def init_encoder_state(key, networks: EncoderNetworks, optimizer: optax.GradientTransformation,
                       obs_dim: int, action_dim: int, latent_dim: int, n: int) -> EncoderState:
    ks = jax.random.split(key, 4)
    params = {
        "skill": {"encoder": networks.skill_encoder.init(ks[0], jnp.zeros((1, 2 * n * (obs_dim + action_dim)))),
                  "decoder": networks.skill_decoder.init(ks[1], jnp.zeros((1, obs_dim + latent_dim)))},
        "task": {"encoder": networks.task_encoder.init(ks[2], jnp.zeros((1, n * (action_dim + obs_dim + 1)))),
                 "decoder": networks.task_decoder.init(ks[3], jnp.zeros((1, obs_dim + action_dim + latent_dim)))},
    }
    return EncoderState(params, optimizer.init(params))


def init_actor_critic(key, networks: ActorCritic, input_dim: int, action_dim: int):
    """(actor params, critic params) for inputs of input_dim features and actions of action_dim."""
    ka, kc = jax.random.split(key)
    obs, act = jnp.zeros((1, input_dim)), jnp.zeros((1, action_dim))
    return networks.actor.init(ka, obs), networks.critic.init(kc, obs, act)


def copy_params(tree):
    """A target copy that does not alias the (donated) online buffers."""
    return jax.tree.map(jnp.copy, tree)


def init_td3bc_state(key, networks: ActorCritic, actor_opt: optax.GradientTransformation,
                     critic_opt: optax.GradientTransformation, input_dim: int, action_dim: int) -> TD3BCState:
    actor, critic = init_actor_critic(key, networks, input_dim, action_dim)
    return TD3BCState(actor, critic, copy_params(actor), copy_params(critic), actor_opt.init(actor),
                      critic_opt.init(critic))
