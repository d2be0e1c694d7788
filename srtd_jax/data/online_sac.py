"""Online soft actor-critic from scratch on a JAX simulator: the learner of the `learning_run` recipe where the
simulator is fast enough for real online RL (the drone). The actor is the recipe's tanh-Gaussian policy
(learning_run.Policy: a = tanh(mu(s) + sigma(s) eps), on observations standardised by fixed statistics), so its
snapshots are cached, played and recorded as the DAgger learner's are; two Q critics, their Polyak-averaged targets
and a learned entropy temperature complete SAC (Haarnoja et al. 2018, with automatic temperature tuning).

A run trains every task's agent on its own experience, round by round: the current snapshot plays `envs` whole
episodes with its stochastic policy (their mean return is the snapshot's point of the learning curve), the
transitions join the task's replay buffer, then `updates_per_round` SAC updates of `batch_size` draw uniformly from
the buffer. A round of one task is one program (make_round), jitted by the benchmark's run.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srtd_jax.data import learning_run as lr

GAMMA = 0.99
TAU = 0.005          # Polyak rate of the target critics
INIT_ALPHA = 1.0     # the entropy temperature before tuning


@dataclasses.dataclass(frozen=True)
class OnlineLearnerSettings:
    """One task's online run: `rounds` rounds after the untrained snapshot 0; each round plays `envs` episodes with
    the current snapshot, then takes `updates_per_round` SAC updates of `batch_size` (Adam, `learning_rate`, for the
    actor, the critics and the temperature). Networks: `hidden` layers for the actor and each critic."""

    rounds: int = 20
    envs: int = 32
    updates_per_round: int = 1000
    hidden: tuple = (256, 256)
    batch_size: int = 256
    learning_rate: float = 3e-4

    @property
    def num_snapshots(self) -> int:
        return self.rounds + 1


def settings_from_config(cfg) -> OnlineLearnerSettings:
    """The `data.online_learner` block of a run config -> OnlineLearnerSettings."""
    return OnlineLearnerSettings(rounds=cfg.rounds, envs=cfg.envs, updates_per_round=cfg.updates_per_round,
                                 hidden=tuple(cfg.hidden), batch_size=cfg.batch_size, learning_rate=cfg.learning_rate)


class Env(NamedTuple):
    """A simulator as pure functions of one environment: reset(key, task) -> state; step(state, action) ->
    (state, reward (), info {name: ()}); observe(state) -> (S,)."""

    reset: Callable
    step: Callable
    observe: Callable


class Episodes(NamedTuple):
    """E episodes of L steps: obs, next_obs (E, L, S); actions (E, L, A); rewards (E, L); info {name: (E, L)}."""

    obs: jax.Array
    actions: jax.Array
    rewards: jax.Array
    next_obs: jax.Array
    info: dict


class SacState(NamedTuple):
    """One task's agent and replay buffer. critics, target_critics: (Q1 layers, Q2 layers); buffer rows
    [0, filled) hold transitions: obs, next_obs (N, S), actions (N, A), rewards (N,)."""

    policy: lr.Policy
    critics: tuple
    target_critics: tuple
    log_alpha: jax.Array
    opt: tuple               # Adam states of (policy, critics, log_alpha)
    obs: jax.Array
    actions: jax.Array
    rewards: jax.Array
    next_obs: jax.Array
    filled: jax.Array


def init_mlp(key: jax.Array, sizes: tuple, last_scale: float = 1.0) -> tuple:
    """LeCun-normal layers ((W (in, out), b (out,)), ...) of an MLP with layer sizes `sizes`; the last scaled."""
    layers = []
    keys = jax.random.split(key, len(sizes) - 1)
    for i, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:])):
        scale = (last_scale if i == len(sizes) - 2 else 1.0) / np.sqrt(fan_in)
        layers.append((scale * jax.random.normal(k, (fan_in, fan_out)), jnp.zeros(fan_out)))
    return tuple(layers)


def mlp(layers: tuple, x: jax.Array) -> jax.Array:
    """ReLU hidden layers, linear output."""
    for w, b in layers[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = layers[-1]
    return x @ w + b


def q_values(critics: tuple, policy: lr.Policy, obs: jax.Array, actions: jax.Array) -> jax.Array:
    """(2, ...) the two critics' Q(s, a) of observations (..., S) and actions (..., A); the critics see the
    observations standardised as the policy does."""
    x = jnp.concatenate([(obs - jax.lax.stop_gradient(policy.obs_mean)) / jax.lax.stop_gradient(policy.obs_std),
                         actions], -1)
    return jnp.stack([mlp(c, x)[..., 0] for c in critics])


def sample_action(policy: lr.Policy, obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """a = tanh(mu + sigma eps) (..., A) and its log density (...) under the tanh-Gaussian (reparameterised)."""
    mu, log_std = lr.policy_head(policy, obs, jnp)
    eps = jax.random.normal(key, mu.shape)
    u = mu + jnp.exp(log_std) * eps
    gauss = -0.5 * jnp.square(eps) - log_std - 0.5 * jnp.log(2 * jnp.pi)
    # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|
    squash = 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))
    return jnp.tanh(u), jnp.sum(gauss - squash, -1)


def critic_loss(critics, target_critics, policy, log_alpha, batch: tuple, key, gamma: float = GAMMA):
    """Mean over both critics of (Q_i(s, a) - y)^2, y = r + gamma (min_i Q'_i(s', a') - alpha log pi(a'|s')),
    a' ~ pi(s'); no terminal states (episodes end by their time limit only). batch: (obs, actions, rewards,
    next_obs)."""
    obs, actions, rewards, next_obs = batch
    next_a, next_logp = sample_action(policy, next_obs, key)
    target_q = jnp.min(q_values(target_critics, policy, next_obs, next_a), 0)
    y = jax.lax.stop_gradient(rewards + gamma * (target_q - jnp.exp(log_alpha) * next_logp))
    return jnp.mean(jnp.square(q_values(critics, policy, obs, actions) - y[None]))


def actor_loss(policy, critics, log_alpha, obs, key):
    """mean(alpha log pi(a|s) - min_i Q_i(s, a)), a ~ pi(s) reparameterised. -> (loss, mean log pi)"""
    a, logp = sample_action(policy, obs, key)
    q = jnp.min(q_values(critics, policy, obs, a), 0)
    return jnp.mean(jax.lax.stop_gradient(jnp.exp(log_alpha)) * logp - q), jnp.mean(logp)


def alpha_loss(log_alpha, mean_logp, target_entropy: float):
    """-log alpha (mean log pi + target entropy): alpha grows while the policy's entropy is below the target."""
    return -log_alpha * jax.lax.stop_gradient(mean_logp + target_entropy)


def optimizer(settings: OnlineLearnerSettings) -> optax.GradientTransformation:
    """Adam of the actor, the critics and the temperature alike."""
    return optax.adam(settings.learning_rate)


def init_state(key, policy: lr.Policy, settings: OnlineLearnerSettings, obs_dim: int, action_dim: int,
               capacity: int) -> SacState:
    k1, k2 = jax.random.split(key)
    sizes = (obs_dim + action_dim, *settings.hidden, 1)
    critics = (init_mlp(k1, sizes), init_mlp(k2, sizes))
    log_alpha = jnp.log(jnp.float32(INIT_ALPHA))
    opt = optimizer(settings)
    targets = jax.tree.map(jnp.copy, critics)  # own buffers: a jitted round may donate its state
    return SacState(policy, critics, targets, log_alpha, (opt.init(policy), opt.init(critics), opt.init(log_alpha)),
                    jnp.zeros((capacity, obs_dim)), jnp.zeros((capacity, action_dim)), jnp.zeros(capacity),
                    jnp.zeros((capacity, obs_dim)), jnp.zeros((), jnp.int32))


def sac_update(state: SacState, key, *, settings: OnlineLearnerSettings, action_dim: int) -> tuple[SacState, dict]:
    """One SAC update on a batch drawn uniformly from the filled buffer rows."""
    opt = optimizer(settings)
    k_idx, k_critic, k_actor = jax.random.split(key, 3)
    idx = jax.random.randint(k_idx, (settings.batch_size,), 0, state.filled)
    batch = (state.obs[idx], state.actions[idx], state.rewards[idx], state.next_obs[idx])
    c_loss, c_grads = jax.value_and_grad(critic_loss)(state.critics, state.target_critics, state.policy,
                                                      state.log_alpha, batch, k_critic)
    c_upd, c_opt = opt.update(c_grads, state.opt[1], state.critics)
    critics = optax.apply_updates(state.critics, c_upd)
    (a_loss, mean_logp), a_grads = jax.value_and_grad(actor_loss, has_aux=True)(state.policy, critics,
                                                                                state.log_alpha, batch[0], k_actor)
    a_upd, a_opt = opt.update(a_grads, state.opt[0], state.policy)
    policy = optax.apply_updates(state.policy, a_upd)
    t_loss, t_grad = jax.value_and_grad(alpha_loss)(state.log_alpha, mean_logp, -float(action_dim))
    t_upd, t_opt = opt.update(t_grad, state.opt[2], state.log_alpha)
    targets = jax.tree.map(lambda t, c: (1 - TAU) * t + TAU * c, state.target_critics, critics)
    state = state._replace(policy=policy, critics=critics, target_critics=targets,
                           log_alpha=optax.apply_updates(state.log_alpha, t_upd), opt=(a_opt, c_opt, t_opt))
    return state, {"critic_loss": c_loss, "actor_loss": a_loss, "alpha": jnp.exp(state.log_alpha)}


def play(env: Env, policy: lr.Policy, task, keys: jax.Array, length: int, stochastic: bool = True,
         per_episode_policy: bool = False) -> Episodes:
    """Episodes of `length` steps, one per key (E, 2), of `task` with the policy: sampled actions (stochastic) or
    tanh(mu). per_episode_policy: the policy's arrays carry a leading episode axis (one snapshot per episode)."""
    def episode(pol, key):
        k_reset, k_steps = jax.random.split(key)

        # each observation is computed once and carried, so a step's next observation is the next step's observation
        # bit for bit whatever code XLA emits for the two uses
        def body(carry, k):
            state, obs = carry
            if stochastic:
                action = sample_action(pol, obs, k)[0]
            else:
                action = jnp.tanh(lr.policy_head(pol, obs, jnp)[0])
            state, reward, info = env.step(state, action)
            next_obs = env.observe(state)
            return (state, next_obs), (obs, action, reward, next_obs, info)

        start = env.reset(k_reset, task)
        _, out = jax.lax.scan(body, (start, env.observe(start)), jax.random.split(k_steps, length))
        return Episodes(*out)

    return jax.vmap(episode, in_axes=(0 if per_episode_policy else None, 0))(policy, keys)


def make_round(env: Env, settings: OnlineLearnerSettings, length: int, action_dim: int):
    """round(state, task, key) -> (state, mean return of the round's episodes, mean update metrics): the current
    policy plays settings.envs episodes, they join the buffer, then settings.updates_per_round updates."""
    update = lambda state, k: sac_update(state, k, settings=settings, action_dim=action_dim)

    def one_round(state: SacState, task, key):
        k_play, k_upd = jax.random.split(key)
        ep = play(env, state.policy, task, jax.random.split(k_play, settings.envs), length)
        flat = lambda x: x.reshape((-1,) + x.shape[2:])
        put = lambda buf, x: jax.lax.dynamic_update_slice_in_dim(buf, flat(x).astype(buf.dtype), state.filled, 0)
        state = state._replace(obs=put(state.obs, ep.obs), actions=put(state.actions, ep.actions),
                               rewards=put(state.rewards, ep.rewards), next_obs=put(state.next_obs, ep.next_obs),
                               filled=state.filled + settings.envs * length)
        state, metrics = jax.lax.scan(update, state, jax.random.split(k_upd, settings.updates_per_round))
        return state, ep.rewards.sum(-1).mean(), jax.tree.map(jnp.mean, metrics)

    return one_round
