"""One MT10 task as a gymnasium.Env with Meta-World's reward (registered as `srtd/MT10-<task>-v0` by
srtd_jax/envs.py), for researchers who run their own agents on the benchmark the tables use.

reset(seed=..., options={"goal": i}) starts at the task's goal position i of 50 (otherwise drawn from the seed);
step -> (obs (39,) float32, Meta-World's raw reward, terminated False, truncated after `episode_length` steps,
info {"success", "relative_reward": r_t - r_{t-1} (0 at t = 0, the datasets' training reward before scaling)}).
The observation bounds are infinite, as Meta-World's own are for object positions."""
from __future__ import annotations

import gymnasium
import numpy as np

from srtd_jax.benchmarks.mt10.env import ACTION_DIM, MAX_PATH_LENGTH, OBS_DIM, MT10Env, task_index


class MT10TaskEnv(gymnasium.Env):
    metadata = {"render_modes": []}

    def __init__(self, task: str, episode_length: int = 200):
        task_index(task)
        if not 1 <= episode_length <= MAX_PATH_LENGTH:
            raise ValueError(f"episode_length must be in [1, {MAX_PATH_LENGTH}] (Meta-World's limit), got {episode_length}")
        self.task, self.episode_length = task, episode_length
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (ACTION_DIM,), np.float32)
        self._env = MT10Env(task)
        self._t, self._previous = 0, None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        goal = int(options["goal"]) if "goal" in options else int(self.np_random.integers(self._env.num_goals))
        if not 0 <= goal < self._env.num_goals:
            raise ValueError(f"goal must be in [0, {self._env.num_goals}), got {goal}")
        self._t, self._previous = 0, None
        return self._env.reset(goal), {"goal": goal}

    def step(self, action):
        obs, reward, success = self._env.step(np.clip(np.asarray(action, np.float32), -1.0, 1.0))
        relative = 0.0 if self._previous is None else reward - self._previous
        self._t, self._previous = self._t + 1, reward
        return obs, reward, False, self._t >= self.episode_length, {"success": success, "relative_reward": relative}
