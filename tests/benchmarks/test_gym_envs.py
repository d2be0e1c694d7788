"""The benchmarks as gymnasium environments: registered ids, gymnasium's own env checker, Meta-World's reward, the
drone's finite observation bounds (held by long random flights) and its top-down render."""
import gc
import warnings

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from srtd_jax import envs
from srtd_jax.benchmarks.drone import maps, sim
from srtd_jax.benchmarks.mt10.env import MT10Env
from srtd_jax.benchmarks.mt10.vector_env import MT10Block


def _checked(env):
    """gymnasium's check_env, with its warnings returned (an error fails the test). Garbage left by earlier tests on
    this worker is finalised first, so that its ResourceWarnings are not counted as the checker's."""
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    return [str(w.message) for w in caught]


def test_every_task_has_an_id_and_unknown_tasks_are_named():
    assert envs.env_id("mt10", "push") == "srtd/MT10-push-v0"
    assert envs.env_id("drone", "indoor-gt-wind") == "srtd/Drone-indoor-gt-wind-v0"
    assert sum(i.startswith("srtd/") for i in gym.registry) == 16
    with pytest.raises(ValueError, match="unknown MT10 task 'fly'"):
        envs.env_id("mt10", "fly")


def test_mt10_task_env_passes_the_checker_with_metaworlds_reward():
    env = gym.make("srtd/MT10-push-v0", episode_length=3)
    warned = _checked(env.unwrapped)
    assert all("infinity" in w for w in warned)  # Meta-World's own object bounds are infinite
    obs, info = env.reset(seed=0, options={"goal": 7})
    reference = MT10Env("push")
    np.testing.assert_array_equal(obs, reference.reset(7))
    actions = np.random.default_rng(0).uniform(-1, 1, (3, 4)).astype(np.float32)
    previous = None
    for t, action in enumerate(actions):
        obs, reward, terminated, truncated, info = env.step(action)
        ref_obs, ref_reward, ref_success = reference.step(action)
        np.testing.assert_array_equal(obs, ref_obs)
        assert reward == ref_reward and info["success"] == ref_success and not terminated
        assert info["relative_reward"] == (0.0 if previous is None else ref_reward - previous)
        assert truncated == (t == 2)
        previous = ref_reward


def test_mt10_block_resets_without_options_and_returns_a_real_reward():
    block = MT10Block(("reach", "push"), (0, 1))
    _checked(block)
    block.reset(seed=3)
    _, reward, _, _, info = block.step(np.zeros((2, 4), np.float32))
    assert reward == pytest.approx(info["raw_reward"].mean()) and reward > 0


def test_drone_env_passes_the_checker_without_warnings_and_renders_from_above():
    env = gym.make("srtd/Drone-indoor-cloud-v0", render_mode="rgb_array")
    assert _checked(env.unwrapped) == []
    env.reset(seed=0, options={"start": 0, "goal_sequence": [3]})
    image = env.render()
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    u = env.unwrapped
    x, y = np.asarray(u.state.pos[:2])
    col, row = int((x + maps.HALF_ROOM) / 20 * 256), int((maps.HALF_ROOM - y) / 20 * 256)
    assert tuple(image[row, col]) == (40, 80, 220)  # the drone, where it is
    gx, gy = np.asarray(sim.goal_of(u.state, u.m))[:2]
    assert tuple(image[int((maps.HALF_ROOM - gy) / 20 * 256), int((gx + maps.HALF_ROOM) / 20 * 256)]) == (60, 170, 60)
    assert (image == 110).all(-1).any()  # the map's obstacles
    plain = gym.make("srtd/Drone-indoor-cloud-v0")
    plain.reset(seed=0)
    assert plain.render() is None


def test_random_flights_stay_inside_the_observation_bounds():
    """400 flights of 150 steps of random full-scale actions on every map, wind included: the bounds hold."""
    m = sim.map_arrays()
    low, high = sim.observation_bounds()
    tasks = jnp.arange(400) % len(maps.DRONE_TASKS)
    states = jax.vmap(sim.reset, (0, 0, None))(jax.random.split(jax.random.PRNGKey(0), 400), tasks, m)

    def step(states, key):
        actions = jax.random.choice(key, jnp.array([-1.0, 1.0]), (400, 3))
        states = jax.vmap(lambda s, a: sim.step(s, a, m)[0])(states, actions)
        return states, jax.vmap(lambda s: sim.observe(s, m))(states)

    _, obs = jax.jit(lambda s: jax.lax.scan(step, s, jax.random.split(jax.random.PRNGKey(1), 150)))(states)
    obs = np.asarray(obs)
    assert (obs >= low).all() and (obs <= high).all()
    speed = np.abs(obs[..., sim.LIDAR_BEAMS + 3:sim.LIDAR_BEAMS + 6]).max()
    assert speed > 0.5 * high[sim.LIDAR_BEAMS + 3]  # the flights do reach speeds near the bound
