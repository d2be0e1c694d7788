"""Gymnasium ids for the benchmarks' environments, registered on import of this module:

  srtd/MT10-<task>-v0    one MT10 task, Meta-World's reward (srtd_jax.benchmarks.mt10.gym_env.MT10TaskEnv)
  srtd/Drone-<task>-v0   one drone task on the built-in simulator (srtd_jax.benchmarks.drone.gym_env.BuiltinDroneEnv)

  gymnasium.make("srtd_jax.envs:srtd/Drone-indoor-cloud-v0", render_mode="rgb_array")  # imports this module first

Entry points are strings, so registering loads neither Meta-World nor JAX."""
import gymnasium

from srtd_jax.benchmarks import registry

NAMESPACE = "srtd"


def env_id(suite: str, task: str) -> str:
    """The gymnasium id of a benchmark's task; a ValueError names the valid suites and tasks."""
    registry.task_index(suite, task)
    return f"{NAMESPACE}/{ {'mt10': 'MT10', 'drone': 'Drone'}[suite]}-{task}-v0"


_ENTRY = {"mt10": ("srtd_jax.benchmarks.mt10.gym_env:MT10TaskEnv", 200),
          "drone": ("srtd_jax.benchmarks.drone.gym_env:BuiltinDroneEnv", 100)}

for _suite, (_entry, _length) in _ENTRY.items():
    for _task in registry.task_names(_suite):
        if env_id(_suite, _task) not in gymnasium.registry:
            gymnasium.register(env_id(_suite, _task), entry_point=_entry, kwargs={"task": _task},
                               max_episode_steps=_length, disable_env_checker=False)
