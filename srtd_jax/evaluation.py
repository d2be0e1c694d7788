"""Batched MT10 evaluation: every (seed, task) environment stepped together, one jitted policy call per
step, the task embedding recomputed online from the agent's own last n steps exactly as in training."""
from __future__ import annotations

import functools
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.data.windows import Normalizer
from srtd_jax.envs.metaworld_mt10 import MT10_TASKS, MT10Env


def make_policy(actor_apply: Callable, conditioner: Callable):
    """-> jitted act(actor_params, cond_params, obs (N, T, S) normalised, history (N, T, n, A + S + 1),
    task_ids (T,)) -> actions (N, T, A), over N seeds (leading axis of both param trees) and T envs.
    conditioner(cond_params, history (T, n, F), task_ids (T,)) -> (T, C)."""
    def one_seed(actor_params, cond_params, obs, history, task_ids):
        c = conditioner(cond_params, history, task_ids)
        return actor_apply(actor_params, jnp.concatenate([obs, c], -1))

    return jax.jit(jax.vmap(one_seed, in_axes=(0, 0, 0, 0, None)))


@functools.lru_cache(maxsize=4)
def env_pool(tasks: tuple, num_seeds: int) -> list:
    """(num_seeds, len(tasks)) MT10 environments, built once per process. Building one takes ~0.15 s (30 of them
    ~4.5 s, a tenth of an evaluation); every episode starts with set_task + reset, so a reused environment
    gives the same trajectory as a fresh one (tests/test_throughput.py)."""
    return [[MT10Env(task) for task in tasks] for _ in range(num_seeds)]


def evaluate(act: Callable, actor_params, cond_params, *, num_seeds: int, normalizer: Normalizer, n: int,
             action_dim: int, episodes_per_task: int, episode_length: int, reward_type: str, reward_scale: float,
             seed: int, tasks=MT10_TASKS, log: Callable | None = None) -> np.ndarray:
    """Success (at any step) of every seed, task and episode -> (num_seeds, num_tasks, episodes) bool.

    Goals are drawn from a seeded generator shared by all seeds, so every seed faces the same goals."""
    envs = env_pool(tuple(tasks), num_seeds)
    task_ids = jnp.asarray([MT10_TASKS.index(t) for t in tasks], jnp.int32)
    rng = np.random.default_rng(seed)
    num_tasks, obs_dim = len(tasks), normalizer.mean.shape[0]
    success = np.zeros((num_seeds, num_tasks, episodes_per_task), bool)
    start = time.time()
    for ep in range(episodes_per_task):
        goals = rng.integers(envs[0][0].num_goals, size=num_tasks)
        obs = np.stack([[env.reset(int(g)) for env, g in zip(row, goals)] for row in envs])
        # (a_k, s_{k+1}, r_k) of the last n steps, zeros before the episode start (as tau_t in training)
        history = np.zeros((num_seeds, num_tasks, n, action_dim + obs_dim + 1), np.float32)
        prev_raw = None
        for _ in range(episode_length):
            actions = np.asarray(act(actor_params, cond_params, normalizer(obs), history, task_ids))
            steps = [[env.step(a) for env, a in zip(row, arow)] for row, arow in zip(envs, actions)]
            next_obs = np.stack([[s[0] for s in row] for row in steps])
            raw = np.array([[s[1] for s in row] for row in steps], np.float32)
            success[:, :, ep] |= np.array([[s[2] for s in row] for row in steps])
            rel = raw - (raw if prev_raw is None else prev_raw)  # 0 at t = 0, as in the datasets
            reward = (rel if reward_type == "relative" else raw) * reward_scale
            step_feat = np.concatenate([actions, normalizer(next_obs), reward[..., None]], -1)
            history = np.concatenate([history[:, :, 1:], step_feat[:, :, None].astype(np.float32)], axis=2)
            obs, prev_raw = next_obs, raw
        if log:
            log(f"eval episode {ep + 1}/{episodes_per_task}: success so far {success[:, :, :ep + 1].mean():.3f} "
                f"({time.time() - start:.0f}s)")
    return success
