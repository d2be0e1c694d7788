"""Meta-World MT10: task registry, environment construction and scripted experts.

Kept free of JAX so that data-generation worker processes stay light.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import os
import pickle
from typing import NamedTuple

import numpy as np

from srtd_jax.core import atomic

# Order fixes the task id used everywhere (one-hot baselines, dataset task_ids, tables).
MT10_TASKS = (
    "reach", "push", "pick-place", "door-open", "drawer-open", "drawer-close",
    "button-press-topdown", "peg-insert-side", "window-open", "window-close",
)
OBS_DIM = 39
ACTION_DIM = 4
MAX_PATH_LENGTH = 500  # Meta-World truncates every episode here.

_POLICY_NAMES = {
    "reach": "SawyerReachV3Policy",
    "push": "SawyerPushV3Policy",
    "pick-place": "SawyerPickPlaceV3Policy",
    "door-open": "SawyerDoorOpenV3Policy",
    "drawer-open": "SawyerDrawerOpenV3Policy",
    "drawer-close": "SawyerDrawerCloseV3Policy",
    "button-press-topdown": "SawyerButtonPressTopdownV3Policy",
    "peg-insert-side": "SawyerPegInsertionSideV3Policy",
    "window-open": "SawyerWindowOpenV3Policy",
    "window-close": "SawyerWindowCloseV3Policy",
}


def task_index(name: str) -> int:
    """Index of an MT10 task; raises a ValueError naming the valid tasks."""
    if name not in MT10_TASKS:
        raise ValueError(f"unknown MT10 task {name!r}; valid tasks: {', '.join(MT10_TASKS)}")
    return MT10_TASKS.index(name)


class _Benchmark(NamedTuple):
    train_classes: dict
    train_tasks: list


def tasks_cache_path() -> str:
    """Where MT10's goal descriptors are cached: $SRTD_JAX_CACHE (default ~/.cache/srtd_jax), one file per
    metaworld version."""
    from importlib import metadata
    root = os.environ.get("SRTD_JAX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "srtd_jax")
    return os.path.join(root, f"mt10_tasks_metaworld-{metadata.version('metaworld')}_seed0.pkl")


@functools.lru_cache(maxsize=None)
def load_benchmark() -> _Benchmark:
    """MT10's environment classes and its 500 (task, goal) descriptors, seed 0 fixing the 50 goals of each task.

    metaworld.MT10(seed=0) builds every environment to draw the goals, ~6 s that every data-generation worker
    and every evaluating process paid; the descriptors are cached on disk (an unreadable cache is rebuilt)."""
    import metaworld  # deferred: heavy import, only where environments are needed
    from metaworld import env_dict
    path = tasks_cache_path()
    try:
        with open(path, "rb") as fh:
            tasks = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
        tasks = list(metaworld.MT10(seed=0).train_tasks)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with atomic.replacing(path) as tmp, open(tmp, "wb") as fh:  # concurrent workers never read half a file
                pickle.dump(tasks, fh)
        except OSError:
            pass  # a read-only home: no cache, same tasks
    return _Benchmark(env_dict.MT10_V3, tasks)


def task_goals(task: str) -> list:
    """The goal descriptors of `task` (50 in MT10), in benchmark order, without building its environment."""
    task_index(task)
    return [t for t in load_benchmark().train_tasks if t.env_name == f"{task}-v3"]


_MODELS: dict = {}  # XML path -> the MuJoCo model first parsed from it in this process (only copies are handed out)


@contextlib.contextmanager
def models_parsed_once():
    """Inside, every MuJoCo model read from an XML file (mujoco.MjModel.from_xml_path, which gymnasium's MujocoEnv
    calls) is a deep copy of the first parse of that file in this process. Parsing and compiling a Meta-World
    scene takes ~0.13 s and copying the compiled model ~10 ms; an evaluation grid holds one environment per seed
    and task, so most are copies. The copy is the same model field by field (mj_copyModel), and each environment
    owns its copy (tests/core/test_chunks_throughput.py: built either way, they step to the same bits)."""
    import mujoco
    original = vars(mujoco.MjModel)["from_xml_path"]
    parse = mujoco.MjModel.from_xml_path

    def from_xml_path(path, *args, **kwargs):
        if args or kwargs:  # an asset dictionary: parsed as asked
            return parse(path, *args, **kwargs)
        if path not in _MODELS:
            _MODELS[path] = parse(path)
        return copy.deepcopy(_MODELS[path])

    mujoco.MjModel.from_xml_path = from_xml_path
    try:
        yield
    finally:
        mujoco.MjModel.from_xml_path = original


class MT10Env:
    """One MT10 task's environment; `reset(goal_index)` picks one of its 50 goal positions.

    Observations follow Meta-World's MT convention (goal visible, 39-D).
    """

    def __init__(self, task: str):
        self.goals = task_goals(task)
        self.task = task
        with models_parsed_once():
            self.env = load_benchmark().train_classes[f"{task}-v3"]()

    @property
    def num_goals(self) -> int:
        return len(self.goals)

    def reset(self, goal_index: int) -> np.ndarray:
        self.env.set_task(self.goals[goal_index])
        obs, _ = self.env.reset()
        return np.asarray(obs, np.float32)

    def step(self, action: np.ndarray):
        """Returns (obs (39,), raw reward, success flag)."""
        obs, reward, _, _, info = self.env.step(np.asarray(action, np.float32))
        return np.asarray(obs, np.float32), float(reward), bool(info["success"])


def scripted_expert(task: str):
    """Meta-World's hand-written expert policy for a task (an object with `get_action(obs)`)."""
    import metaworld.policies as policies
    task_index(task)
    return getattr(policies, _POLICY_NAMES[task])()
