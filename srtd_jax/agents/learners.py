"""Offline RL learners behind one interface: networks, state initialiser, update and batch sampler for
TD3+BC (optionally with PCGrad) or CQL (optionally with SoftMod loss balancing), on any network."""
from __future__ import annotations

from typing import Callable, NamedTuple

import optax

from srtd_jax.agents import cql, td3bc
from srtd_jax.agents.methods import Method
from srtd_jax.core.networks import ActorCritic, make_actor_critic
from srtd_jax.data import samplers


class Learner(NamedTuple):
    """init(key) -> state; update(state, batch, key, step) -> (state, metrics);
    sampler(data, per_seed, key) -> batch. The state has `actor_params` (what evaluation runs)."""

    name: str
    networks: ActorCritic
    init: Callable
    update: Callable
    sampler: Callable


def make_learner(method: Method, rl, cql_settings, *, obs_dim: int, cond_dim: int, action_dim: int, task_ids,
                 num_tasks: int, aug_count: int) -> Learner:
    """Builds the method's learner on [s, c] inputs (obs_dim + cond_dim), the one factory the launcher, the
    benchmarks and the tests share. rl, cql_settings: the `rl` and `cql` blocks of a run config. task_ids: (E,)
    episode task ids for task-stratified samplers (PCGrad, loss balancing); aug_count: augmented rows per batch."""
    r, name = rl, method.learner
    nets = make_actor_critic(action_dim, r.actor_hidden, r.critic_hidden, network=method.network,
                             stochastic=name == "cql", cond_dim=cond_dim, softmod=r.softmod.to_dict(),
                             dtype=r.matmul_dtype)
    input_dim = obs_dim + cond_dim
    if method.stratified:  # per-task losses: batch_size // num_tasks rows of every task
        sampler = samplers.stratified_transition_sampler(r.batch_size, r.gamma, task_ids, num_tasks)
    else:
        sampler = samplers.transition_sampler(r.batch_size, r.gamma, aug_count)
    if name == "td3bc":
        actor_opt, critic_opt = optax.adam(r.learning_rate), optax.adam(r.learning_rate)
        update = td3bc.make_td3bc_update(nets, actor_opt, critic_opt, tau=r.tau, alpha=r.alpha,
                                         policy_noise=r.policy_noise, noise_clip=r.noise_clip,
                                         policy_delay=r.policy_delay,
                                         gradient_surgery=method.gradient_surgery)
        init = lambda k: td3bc.init_td3bc_state(k, nets, actor_opt, critic_opt, input_dim, action_dim)
    elif name == "cql":
        q = cql_settings
        actor_opt, critic_opt = optax.adam(q.actor_learning_rate), optax.adam(q.critic_learning_rate)
        alpha_opt = optax.adam(q.temperature_learning_rate)
        update = cql.make_cql_update(nets, actor_opt, critic_opt, alpha_opt, tau=r.tau, min_q_weight=q.min_q_weight,
                                     num_samples=q.num_action_samples, backup_entropy=q.backup_entropy,
                                     target_entropy=-q.target_entropy_per_dim * action_dim,
                                     loss_balancing=method.loss_balancing, grouped=method.stratified)
        groups = num_tasks if method.stratified else 1
        init = lambda k: cql.init_cql_state(k, nets, actor_opt, critic_opt, alpha_opt, input_dim, action_dim,
                                            groups, q.init_temperature)
    else:
        raise ValueError(f"unknown learner {name!r}; valid: td3bc, cql")
    return Learner(name, nets, init, update, sampler)
