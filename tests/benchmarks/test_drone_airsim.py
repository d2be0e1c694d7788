"""The AirSim back end through AirSim's real client against the stand-in server (tests/airsim_standin.py); skipped
where the `airsim` client is not installed."""
import jax.numpy as jnp
import numpy as np
import pytest

airsim = pytest.importorskip("airsim")

from srtd_jax.benchmarks.drone import navigation, sim  # after the skip
from srtd_jax.benchmarks.drone.gym_env import AirSimDroneEnv, BuiltinDroneEnv
from tests.airsim_standin import StandInServer

M = sim.map_arrays()


@pytest.mark.parametrize("task", ["indoor-complex-wind", "indoor-cloud"])
def test_airsim_path_through_the_real_client_matches_the_builtin_simulator(task):
    """The same actions (the expert's, then random ones into obstacles) through both back ends."""
    tables = jnp.asarray(navigation.cost_tables())
    rng = np.random.default_rng(0)
    with StandInServer(task) as server:
        client = airsim.MultirotorClient(ip="127.0.0.1", port=server.port, timeout_value=30)
        air, builtin = AirSimDroneEnv(task, episode_length=60, client=client), BuiltinDroneEnv(task, episode_length=60)
        options = {"start": 0, "goal_sequence": [7, 4, 2, 6]}  # first goal 8 m away
        obs_a, _ = air.reset(seed=0, options=options)
        obs_b, _ = builtin.reset(seed=0, options=options)
        np.testing.assert_allclose(obs_a, obs_b, atol=1e-4)
        totals, events = np.zeros(2), np.zeros((2, 2), int)
        for t in range(60):
            action = (np.asarray(navigation.expert_action(builtin.state, jnp.asarray(obs_b), tables, M)) if t < 45
                      else rng.uniform(-1, 1, 3).astype(np.float32))
            obs_a, r_a, _, trunc_a, info_a = air.step(action)
            obs_b, r_b, _, trunc_b, info_b = builtin.step(action)
            # stated tolerance: 1e-3 m / (m/s) on every observation entry, 1e-3 on each reward
            np.testing.assert_allclose(obs_a, obs_b, atol=1e-3, err_msg=f"step {t}")
            assert r_a == pytest.approx(r_b, abs=1e-3)
            assert (info_a["collided"], info_a["goal_reached"]) == (info_b["collided"], info_b["goal_reached"])
            totals += (r_a, r_b)
            events += [[info_a["collided"], info_a["goal_reached"]], [info_b["collided"], info_b["goal_reached"]]]
        assert trunc_a and trunc_b
        assert events[0, 1] >= 1  # the episode reached a goal through the AirSim path
        assert {"simSetWind", "moveByVelocity", "getMultirotorState", "getLidarData", "simGetCollisionInfo",
                "simSetVehiclePose", "enableApiControl", "armDisarm", "reset"} <= set(server.vehicle.calls)


def test_standin_refuses_moves_without_api_control():
    with StandInServer("indoor-gt") as server:
        client = airsim.MultirotorClient(ip="127.0.0.1", port=server.port, timeout_value=30)
        client.reset()
        with pytest.raises(Exception, match="enableApiControl"):
            client.moveByVelocityAsync(1.0, 0.0, 0.0, 0.5).get()
