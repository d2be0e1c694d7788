"""MT10 environments stepped in blocks through gymnasium's vector API, so evaluation can use every core.

A block is k MT10 environments behind one gymnasium.Env (observation (k, 39), action (k, 4)). The evaluation grid
of seeds x tasks is dealt into equal blocks: one in this process (SyncVectorEnv), or one per worker process
(AsyncVectorEnv, spawned so that no JAX thread is forked). Meta-World steps are deterministic, so both
give the same trajectories (tests/core/test_chunks_throughput.py).
"""
from __future__ import annotations

import atexit
import collections
import functools
import os

import gymnasium
import numpy as np

from srtd_jax.benchmarks.mt10.env import ACTION_DIM, OBS_DIM, MT10Env, task_index


class MT10Block(gymnasium.Env):
    """The environments at `positions` of a flattened grid whose entries are `tasks` (one per environment).

    reset(options={"goals": (N,) int}) starts each environment at its own entry of the grid-wide goal vector
    (without options, each environment's goal is drawn from the reset's seed);
    step(actions (k, 4)) -> obs (k, 39), the mean raw reward of the k environments, False, False,
    info {"raw_reward": (k,), "success": (k,)}: per-environment values travel in info. Environments are built on
    first reset, so the probe instance gymnasium builds in the parent process costs nothing."""

    def __init__(self, tasks: tuple, positions: tuple):
        for task in tasks:
            task_index(task)
        self.tasks, self.positions = tuple(tasks), np.asarray(positions)
        k = len(self.tasks)
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (k, OBS_DIM), np.float32)
        self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (k, ACTION_DIM), np.float32)
        self._envs = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self._envs is None:
            self._envs = pooled_envs(self.tasks)
        if options is not None and "goals" in options:
            goals = np.asarray(options["goals"])[self.positions]
        else:
            goals = [self.np_random.integers(env.num_goals) for env in self._envs]
        return np.stack([env.reset(int(g)) for env, g in zip(self._envs, goals)]), {}

    def step(self, action):
        results = [env.step(a) for env, a in zip(self._envs, np.asarray(action))]
        info = {"raw_reward": np.array([r[1] for r in results], np.float32),
                "success": np.array([r[2] for r in results], bool)}
        return np.stack([r[0] for r in results]), float(info["raw_reward"].mean()), False, False, info


_POOL: dict = {}  # (task, copy) -> MT10Env, for every block built in this process


def pooled_envs(tasks: tuple) -> list:
    """One environment per entry of `tasks`, the k-th copy of a task being this process's k-th pooled one: grids of
    other sizes (another seed count or task list) reuse the environments built before instead of paying ~0.15 s
    each again. Every episode starts with set_task + reset, so reuse changes nothing; one grid lives per process,
    so no two blocks step a pooled environment at the same time."""
    copies = collections.Counter()
    envs = []
    for task in tasks:
        key = (task, copies[task])
        copies[task] += 1
        if key not in _POOL:
            _POOL[key] = MT10Env(task)
        envs.append(_POOL[key])
    return envs


def block_positions(tasks: tuple, workers: int) -> np.ndarray:
    """(blocks, k) grid positions per block: the most equal blocks, at most `workers`, that the grid splits into.

    Step costs differ ~4x between tasks (push 0.75 ms, button-press-topdown 0.2 ms), and every step waits for the
    slowest block, so the copies of each task are dealt round-robin over the blocks rather than cut in runs."""
    n = len(tasks)
    blocks = max(w for w in range(1, max(1, min(workers, n)) + 1) if n % w == 0)
    by_task = sorted(range(n), key=lambda i: (task_index(tasks[i]), i))
    return np.array([by_task[b::blocks] for b in range(blocks)])


def _worker_block(creator: int, tasks: tuple, positions: tuple) -> MT10Block:
    """MT10Block(tasks, positions), built in a worker process that first leaves its parent's process group.

    A signal sent to the group (`timeout` sends SIGTERM to the launcher and then to its whole group; Ctrl-C sends
    SIGINT) would otherwise kill the workers in the middle of the chunk the launcher finishes before it stops
    (runtime/termination.py). The launcher closes its workers itself, and a worker whose launcher died exits when
    its pipe closes. gymnasium also builds one block in the creating process to read the spaces: that one stays."""
    if os.getpid() != creator:
        os.setpgid(0, 0)
    return MT10Block(tasks, positions)


class EnvGrid:
    """A flattened grid of MT10 environments (`tasks`, one entry per environment) stepped in blocks through a
    gymnasium vector env: in this process when workers <= 1 (or the grid does not split), else one spawned
    process per block. Inputs and outputs are in grid order."""

    def __init__(self, tasks: tuple, workers: int):
        self.positions = block_positions(tasks, workers)
        blocks = [(tuple(tasks[i] for i in pos), tuple(pos)) for pos in self.positions]
        if len(blocks) == 1:
            self.env = gymnasium.vector.SyncVectorEnv([functools.partial(MT10Block, *blocks[0])])
        else:
            fns = [functools.partial(_worker_block, os.getpid(), *block) for block in blocks]
            self.env = gymnasium.vector.AsyncVectorEnv(fns, context="spawn")
            atexit.register(self.close)
        self.num_envs, self.workers = len(tasks), len(blocks) if len(blocks) > 1 else 0

    def close(self, terminate: bool = False) -> None:
        """Stops the worker processes (idempotent); terminate: without waiting for them."""
        if not self.env.closed:
            self.env.close(terminate=terminate)

    def _call(self, fn, *args):
        # A worker that raised is shut down by gymnasium, which leaves the vector env unusable: close it all,
        # so that env_grid builds a fresh one for the next evaluation (a sweep going on to its next cell).
        try:
            return fn(*args)
        except BaseException:
            self.close(terminate=True)
            raise

    def _to_grid(self, blocks: np.ndarray) -> np.ndarray:
        out = np.empty((self.num_envs,) + blocks.shape[2:], blocks.dtype)
        out[self.positions.reshape(-1)] = blocks.reshape((self.num_envs,) + blocks.shape[2:])
        return out

    def reset(self, goals: np.ndarray) -> np.ndarray:
        """goals (N,) int -> observations (N, 39)."""
        obs, _ = self._call(lambda: self.env.reset(options={"goals": np.asarray(goals)}))
        return self._to_grid(obs)

    def step(self, actions: np.ndarray):
        """actions (N, 4) -> (observations (N, 39), raw rewards (N,), success flags (N,))."""
        actions = np.asarray(actions, np.float32)
        if actions.shape != (self.num_envs, ACTION_DIM):
            raise ValueError(f"actions of shape {actions.shape} for {self.num_envs} MT10 environments; expected "
                             f"({self.num_envs}, {ACTION_DIM})")
        obs, _, _, _, info = self._call(self.env.step, actions[self.positions])
        return self._to_grid(obs), self._to_grid(info["raw_reward"]), self._to_grid(info["success"])


_LIVE: dict = {}


def env_grid(tasks: tuple, workers: int) -> EnvGrid:
    """EnvGrid(tasks, workers), reused while the same grid is asked for (building one MT10 environment takes
    ~0.15 s, 30 of them a tenth of an evaluation). One grid lives per process: asking for another closes it,
    so its worker processes do not pile up; one closed by an error is built again."""
    key = (tuple(tasks), workers)
    if key not in _LIVE or _LIVE[key].env.closed:
        for grid in _LIVE.values():
            grid.close()
        _LIVE.clear()
        _LIVE[key] = EnvGrid(*key)
    return _LIVE[key]
