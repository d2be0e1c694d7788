"""Drone evaluation on the built-in simulator: every (seed, task, episode) environment stepped together inside
one jitted lax.scan, the task embedding recomputed online from the agent's own last n steps as in training."""
from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.benchmarks.drone import generate, maps, sim
from srtd_jax.data.windows import Normalizer, append_step


@functools.partial(jax.jit, static_argnames=("act", "num_seeds", "n", "episode_length"))
def _returns(actor_params, cond_params, mean, std, keys, task_ids, reward_scale, *, act, num_seeds, n,
             episode_length):
    """-> (num_seeds, M) undiscounted episode returns of M = len(task_ids) environments per seed."""
    m = sim.map_arrays()
    states = jax.vmap(lambda k, t: sim.reset(k, t, m))(keys, task_ids)
    states = jax.tree.map(lambda x: jnp.broadcast_to(x, (num_seeds,) + x.shape), states)  # same goals per seed
    observe = jax.vmap(jax.vmap(lambda s: sim.observe(s, m)))
    step = jax.vmap(jax.vmap(lambda s, a: sim.step(s, a, m)))
    obs = observe(states)
    history = jnp.zeros((num_seeds, task_ids.shape[0], n, sim.ACTION_DIM + sim.OBS_DIM + 1))

    def body(carry, _):
        states, obs, history = carry
        actions = act(actor_params, cond_params, (obs - mean) / std, history, task_ids)
        states, reward, _, _ = step(states, actions)
        next_obs = observe(states)
        history = append_step(history, actions, (next_obs - mean) / std, reward * reward_scale)
        return (states, next_obs, history), reward

    _, rewards = jax.lax.scan(body, (states, obs, history), None, length=episode_length)
    return rewards.sum(0)


def evaluate(act: Callable, actor_params, cond_params, *, num_seeds: int, normalizer: Normalizer, n: int,
             episodes_per_task: int, episode_length: int, reward_scale: float, seed: int, tasks=maps.DRONE_TASKS,
             reference: np.ndarray | None = None, log: Callable | None = None) -> np.ndarray:
    """Normalised return of every seed, task and episode -> (num_seeds, num_tasks, episodes): the episode return
    divided by the task's reference return: `reference` (num_drone_tasks,) in task-id order (the learning run's
    trained agents), or by default the best return of the noise-free expert (generate.expert_reference)."""
    ids = np.repeat([maps.task_index(t) for t in tasks], episodes_per_task).astype(np.int32)
    keys = jax.random.split(jax.random.PRNGKey(seed), ids.size)
    returns = _returns(actor_params, cond_params, jnp.asarray(normalizer.mean), jnp.asarray(normalizer.std), keys,
                       jnp.asarray(ids), jnp.float32(reward_scale), act=act, num_seeds=num_seeds, n=n,
                       episode_length=episode_length)
    reference = (generate.expert_reference(episode_length) if reference is None else np.asarray(reference))[ids]
    scores = (np.asarray(returns) / reference).reshape(num_seeds, len(tasks), episodes_per_task)
    if log:
        log(f"eval: {ids.size} episodes per seed, mean normalised return {scores.mean():.3f}")
    return scores
