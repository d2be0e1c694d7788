"""Flax modules: MLP, soft-modularization network, skill/task encoders and decoders, deterministic and
tanh-Gaussian actors, twin critics."""
from __future__ import annotations

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

he_init = nn.initializers.kaiming_normal()


class MLP(nn.Module):
    """ReLU MLP with He-initialised hidden layers; (..., in) -> (..., out) float32. dtype: the dtype of its matrix
    products ('bfloat16' on accelerators); parameters stay float32 and the output is float32."""

    hidden: Sequence[int]
    out: int
    out_activation: str = "none"  # 'none' | 'tanh'
    dtype: str = "float32"

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.relu(nn.Dense(width, kernel_init=he_init, dtype=self.dtype)(x))
        x = nn.Dense(self.out, dtype=self.dtype)(x).astype(jnp.float32)
        return jnp.tanh(x) if self.out_activation == "tanh" else x


class SoftModularNet(nn.Module):
    """Soft modularization (Yang et al. 2020) on an input whose last `cond_dim` features are the task
    conditioning c (a one-hot id or z): (.., D) -> (.., out); `extra` (.., X) joins the state part
    (the critic's action).

    f(s) = base MLP of the state (representation units), h(c) = linear task embedding. Routing from
    e = f(s) * h(c): p_1 = W_d,1 relu(e), p_{l+1} = W_d,l+1 relu(W_u,l [p_1 .. p_l] * e); each p_l is a
    (modules x modules) matrix, softmax over the source module, which weights the inputs of layer l + 1's
    modules. Every module of the first modular layer reads f(s); the last layer's module outputs are summed
    and mapped to `out`."""

    out: int
    cond_dim: int
    num_layers: int = 3
    num_modules: int = 4
    hidden: int = 256
    representation: int = 256
    out_activation: str = "none"  # 'none' | 'tanh'
    dtype: str = "float32"  # of the matrix products (as MLP's); the output is float32

    @nn.compact
    def __call__(self, x, extra=None):
        dense = lambda units, name, init=nn.initializers.lecun_normal(): nn.Dense(
            units, kernel_init=init, name=name, dtype=self.dtype)
        state, cond = x[..., :-self.cond_dim], x[..., -self.cond_dim:]
        if extra is not None:
            state = jnp.concatenate([state, extra], axis=-1)
        f = nn.relu(dense(self.representation, "base_out", he_init)(nn.relu(dense(self.hidden, "base_hidden",
                                                                                  he_init)(state))))
        e = f * dense(self.representation, "task_embedding")(cond)
        m = self.num_modules
        probs, routes = [], []
        for l in range(self.num_layers - 1):
            if l == 0:
                u = nn.relu(e)
            else:  # conditioned on every earlier routing decision
                u = nn.relu(dense(self.representation, f"route_up_{l}")(jnp.concatenate(probs, -1)) * e)
            logits = dense(m * m, f"route_down_{l}")(u)
            p = jax.nn.softmax(logits.reshape(logits.shape[:-1] + (m, m)), axis=-1)  # (.., target, source)
            probs.append(p.reshape(logits.shape))
            routes.append(p)
        # Module-major layout (modules, .., units): each layer is one batched GEMM over modules, and routing
        # (a modules x modules matrix per row) is an unrolled weighted sum, which fuses; per-row tiny matmuls
        # and the transposes of a modules-minor layout made this network ~10x slower on CPU. Sums over the
        # module axis are unrolled too, and the first layer reads f without broadcasting it to every module:
        # XLA's CPU reduction over a short leading axis (a `sum(0)`, or the gradient of a broadcast) took 15 ms on
        # a (4, 1500, 128) array, the same adds written out 0.1 ms (results/throughput.md, change 7).
        h = f
        for l in range(self.num_layers):
            kernel = self.param(f"module_kernel_{l}", _stacked(he_init, m), (m, h.shape[-1], self.hidden))
            bias = self.param(f"module_bias_{l}", nn.initializers.zeros, (m, self.hidden))
            spec = "...i,mio->m...o" if l == 0 else "m...i,mio->m...o"
            h = nn.relu(jnp.einsum(spec, h.astype(self.dtype), kernel.astype(self.dtype))
                        + bias.astype(self.dtype).reshape((m,) + (1,) * (f.ndim - 1) + (-1,)))
            if l < self.num_layers - 1:
                p = routes[l]  # (.., target, source)
                h = jnp.stack([sum(p[..., t, s, None] * h[s] for s in range(m)) for t in range(m)])
        y = dense(self.out, "head")(sum(h[i] for i in range(m))).astype(jnp.float32)
        return jnp.tanh(y) if self.out_activation == "tanh" else y


def _stacked(init, num):
    """An initialiser for `num` stacked (in, out) kernels, each initialised as its own layer."""
    def stacked(key, shape, dtype=jnp.float32):
        return jnp.stack([init(k, shape[1:], dtype) for k in jax.random.split(key, num)])
    return stacked


class GaussianActor(nn.Module):
    """Tanh-squashed Gaussian policy on a torso (.., D) -> (.., 2A). Calling it gives the deterministic
    action tanh(mean) (.., A) used at evaluation; `dist` gives (mean, log_std) of the pre-tanh Gaussian."""

    torso: nn.Module

    def __call__(self, obs):
        return jnp.tanh(self.dist(obs)[0])

    def dist(self, obs):
        mean, log_std = jnp.split(self.torso(obs), 2, axis=-1)
        return mean, jnp.clip(log_std, -5.0, 2.0)


class TwinCritic(nn.Module):
    """Two independent Q networks on [obs, action]; -> (q1, q2), each (...,)."""

    hidden: Sequence[int]
    dtype: str = "float32"

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        q = lambda name: MLP(self.hidden, 1, dtype=self.dtype, name=name)(x)[..., 0]
        return q("q1"), q("q2")


class SoftModTwinCritic(nn.Module):
    """Two independent soft-modularization Q networks; obs (.., D) ends with the task conditioning."""

    cond_dim: int
    softmod: dict
    dtype: str = "float32"

    @nn.compact
    def __call__(self, obs, action):
        q = lambda name: SoftModularNet(1, self.cond_dim, **self.softmod, dtype=self.dtype, name=name)(obs, action)[
            ..., 0]
        return q("q1"), q("q2")


class EncoderNetworks(NamedTuple):
    """Skill WAE q_phi / p_phi and task WAE q_theta / p_theta.

    skill_encoder: d_t flattened (.., 2n (S + A)) -> b (.., Z)
    skill_decoder: [s, b] (.., S + Z) -> a (.., A) in [-1, 1]
    task_encoder: tau_t flattened (.., n (A + S + 1)) -> z (.., Z)
    task_decoder: [s, a, z] (.., S + A + Z) -> [s', r] (.., S + 1); with a reward_decoder, -> s' (.., S)
    reward_decoder: None (the task decoder predicts the reward too) | [s, a, z] -> r (.., 1), a network of its own
    """

    skill_encoder: MLP
    skill_decoder: MLP
    task_encoder: MLP
    task_decoder: MLP
    reward_decoder: MLP | None = None


def make_encoder_networks(obs_dim: int, action_dim: int, latent_dim: int, skill_hidden: Sequence[int],
                          task_hidden: Sequence[int], separate_reward: bool = False,
                          dtype: str = "float32") -> EncoderNetworks:
    """separate_reward: a transition decoder and a reward decoder of the task decoder's size (the released code's)
    instead of one task decoder of [s', r]. dtype: of the matrix products (see MLP)."""
    mlp = lambda hidden, out, activation="none": MLP(tuple(hidden), out, activation, dtype)
    return EncoderNetworks(
        skill_encoder=mlp(skill_hidden, latent_dim),
        skill_decoder=mlp(skill_hidden, action_dim, "tanh"),
        task_encoder=mlp(task_hidden, latent_dim),
        task_decoder=mlp(task_hidden, obs_dim if separate_reward else obs_dim + 1),
        reward_decoder=mlp(task_hidden, 1) if separate_reward else None)


class ActorCritic(NamedTuple):
    """actor: obs (.., D) -> action (.., A) in [-1, 1] (a GaussianActor also has `dist`);
    critic: (obs, action) -> (q1, q2)."""

    actor: nn.Module
    critic: nn.Module


def make_actor_critic(action_dim: int, actor_hidden: Sequence[int], critic_hidden: Sequence[int], *,
                      network: str = "mlp", stochastic: bool = False, cond_dim: int = 0,
                      softmod: dict | None = None, dtype: str = "float32") -> ActorCritic:
    """network: 'mlp' (hidden sizes from actor_hidden / critic_hidden) or 'softmod' (SoftModularNet with the
    `softmod` fields, reading the last cond_dim input features as the task). stochastic: a tanh-Gaussian
    actor (CQL) instead of a deterministic one (TD3+BC). dtype: of the matrix products (see MLP)."""
    out = 2 * action_dim if stochastic else action_dim
    activation = "none" if stochastic else "tanh"
    if network == "mlp":
        torso, critic = MLP(tuple(actor_hidden), out, activation, dtype), TwinCritic(tuple(critic_hidden), dtype)
    elif network == "softmod":
        if cond_dim <= 0:
            raise ValueError("the soft-modularization network needs the task conditioning size cond_dim > 0")
        softmod = dict(softmod or {})
        torso = SoftModularNet(out, cond_dim, out_activation=activation, dtype=dtype, **softmod)
        critic = SoftModTwinCritic(cond_dim, softmod, dtype)
    else:
        raise ValueError(f"unknown network {network!r}; valid: mlp, softmod")
    return ActorCritic(GaussianActor(torso) if stochastic else torso, critic)


def init_actor_critic(key, networks: ActorCritic, input_dim: int, action_dim: int):
    """(actor params, critic params) for inputs of input_dim features and actions of action_dim."""
    ka, kc = jax.random.split(key)
    obs, act = jnp.zeros((1, input_dim)), jnp.zeros((1, action_dim))
    return networks.actor.init(ka, obs), networks.critic.init(kc, obs, act)


def copy_params(tree):
    """A target copy that does not alias the (donated) online buffers."""
    return jax.tree.map(jnp.copy, tree)
