"""Flax modules: MLP, skill/task encoders and decoders, TD3+BC actor and twin critic."""
from __future__ import annotations

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax.numpy as jnp

he_init = nn.initializers.kaiming_normal()


class MLP(nn.Module):
    """ReLU MLP with He-initialised hidden layers; (..., in) -> (..., out)."""

    hidden: Sequence[int]
    out: int
    out_activation: str = "none"  # 'none' | 'tanh'

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.relu(nn.Dense(width, kernel_init=he_init)(x))
        x = nn.Dense(self.out)(x)
        return jnp.tanh(x) if self.out_activation == "tanh" else x


class TwinCritic(nn.Module):
    """Two independent Q networks on [obs, action]; -> (q1, q2), each (...,)."""

    hidden: Sequence[int]

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        return MLP(self.hidden, 1, name="q1")(x)[..., 0], MLP(self.hidden, 1, name="q2")(x)[..., 0]


class EncoderNetworks(NamedTuple):
    """Skill WAE q_phi / p_phi and task WAE q_theta / p_theta.

    skill_encoder: d_t flattened (.., 2n (S + A)) -> b (.., Z)
    skill_decoder: [s, b] (.., S + Z) -> a (.., A) in [-1, 1]
    task_encoder: tau_t flattened (.., n (A + S + 1)) -> z (.., Z)
    task_decoder: [s, a, z] (.., S + A + Z) -> [s', r] (.., S + 1)
    """

    skill_encoder: MLP
    skill_decoder: MLP
    task_encoder: MLP
    task_decoder: MLP


def make_encoder_networks(obs_dim: int, action_dim: int, latent_dim: int,
                          skill_hidden: Sequence[int], task_hidden: Sequence[int]) -> EncoderNetworks:
    return EncoderNetworks(
        skill_encoder=MLP(tuple(skill_hidden), latent_dim),
        skill_decoder=MLP(tuple(skill_hidden), action_dim, "tanh"),
        task_encoder=MLP(tuple(task_hidden), latent_dim),
        task_decoder=MLP(tuple(task_hidden), obs_dim + 1))


class ActorCritic(NamedTuple):
    """actor: obs (.., D) -> action (.., A) in [-1, 1]; critic: (obs, action) -> (q1, q2)."""

    actor: MLP
    critic: TwinCritic


def make_actor_critic(action_dim: int, actor_hidden: Sequence[int], critic_hidden: Sequence[int]) -> ActorCritic:
    return ActorCritic(MLP(tuple(actor_hidden), action_dim, "tanh"), TwinCritic(tuple(critic_hidden)))
