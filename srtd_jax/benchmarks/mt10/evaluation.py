"""Batched MT10 evaluation: every (seed, task) environment stepped together, one jitted policy call per
step, the task embedding recomputed online from the agent's own last n steps exactly as in training."""
from __future__ import annotations

import time
from typing import Callable

import jax.numpy as jnp
import numpy as np

from srtd_jax.benchmarks.mt10 import vector_env
from srtd_jax.benchmarks.mt10.env import MT10_TASKS, task_goals
from srtd_jax.data.windows import Normalizer, append_step, relative_reward


def evaluate(act: Callable, actor_params, cond_params, *, num_seeds: int, normalizer: Normalizer, n: int,
             action_dim: int, episodes_per_task: int, episode_length: int, reward_type: str, reward_scale: float,
             seed: int, tasks=MT10_TASKS, env_workers: int = 1, first_reward: str = "zero",
             log: Callable | None = None) -> np.ndarray:
    """Success (at any step) of every seed, task and episode -> (num_seeds, num_tasks, episodes) bool.

    Goals are drawn from a seeded generator shared by all seeds, so every seed faces the same goals. The
    num_seeds x num_tasks environments step in `env_workers` processes (<= 1: in this process); they are built
    once per process and reused, and every episode starts with set_task + reset, so reuse changes nothing."""
    envs = vector_env.env_grid(tuple(tasks) * num_seeds, env_workers)
    task_ids = jnp.asarray([MT10_TASKS.index(t) for t in tasks], jnp.int32)
    rng = np.random.default_rng(seed)
    num_goals = len(task_goals(tasks[0]))
    num_tasks, obs_dim = len(tasks), normalizer.mean.shape[0]
    success = np.zeros((num_seeds, num_tasks, episodes_per_task), bool)
    start = time.time()
    for ep in range(episodes_per_task):
        goals = rng.integers(num_goals, size=num_tasks)
        obs = envs.reset(np.tile(goals, num_seeds)).reshape(num_seeds, num_tasks, obs_dim)
        # (a_k, s_{k+1}, r_k) of the last n steps, zeros before the episode start (as tau_t in training)
        history = np.zeros((num_seeds, num_tasks, n, action_dim + obs_dim + 1), np.float32)
        prev_raw = None
        for _ in range(episode_length):
            actions = np.asarray(act(actor_params, cond_params, normalizer(obs), history, task_ids))
            next_obs, raw, done = envs.step(actions.reshape(num_seeds * num_tasks, action_dim))
            next_obs, raw = next_obs.reshape(num_seeds, num_tasks, obs_dim), raw.reshape(num_seeds, num_tasks)
            success[:, :, ep] |= done.reshape(num_seeds, num_tasks)
            rel = relative_reward(raw, prev_raw, first_reward)
            reward = (rel if reward_type == "relative" else raw) * reward_scale
            history = append_step(history, actions, normalizer(next_obs), reward)
            obs, prev_raw = next_obs, raw
        if log:
            log(f"eval episode {ep + 1}/{episodes_per_task}: success so far {success[:, :, :ep + 1].mean():.3f} "
                f"({time.time() - start:.0f}s)")
    return success
