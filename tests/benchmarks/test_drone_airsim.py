"""The AirSim back end through AirSim's real client against the stand-in server (tests/airsim_standin.py); skipped
where the `airsim` client is not installed."""
import contextlib
import gc
import socket
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

airsim = pytest.importorskip("airsim")
msgpack = pytest.importorskip("msgpack")

from srtd_jax.benchmarks.drone import navigation, sim  # after the skip
from srtd_jax.benchmarks.drone.gym_env import AirSimDroneEnv, BuiltinDroneEnv, close_client
from tests.airsim_standin import StandInServer

M = sim.map_arrays()


@contextlib.contextmanager
def _client(server):
    """A real airsim client on the stand-in, closed afterwards so that no socket outlives the test."""
    client = airsim.MultirotorClient(ip="127.0.0.1", port=server.port, timeout_value=30)
    try:
        yield client
    finally:
        close_client(client)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["indoor-complex-wind", "indoor-cloud"])
def test_airsim_path_through_the_real_client_matches_the_builtin_simulator(task):
    """The same actions (the expert's, then random ones into obstacles) through both back ends."""
    tables = jnp.asarray(navigation.cost_tables())
    rng = np.random.default_rng(0)
    with StandInServer(task) as server, _client(server) as client:
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
    with StandInServer("indoor-gt") as server, _client(server) as client:
        client.reset()
        with pytest.raises(Exception, match="enableApiControl"):
            client.moveByVelocityAsync(1.0, 0.0, 0.0, 0.5).get()


def test_an_env_closes_the_connection_it_opened_but_not_a_client_it_was_given():
    with StandInServer("indoor-gt") as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()  # earlier tests' garbage is finalised outside the record
        del caught[:]
        own = AirSimDroneEnv("indoor-gt", episode_length=5, port=server.port)
        own.reset(seed=0)
        own.close()
        own.close()  # a second close is harmless
        with _client(server) as client:
            given = AirSimDroneEnv("indoor-gt", episode_length=5, client=client)
            given.close()
            assert client.ping()  # still usable by its owner
        del own, given
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def _pose(client):
    p = client.simGetVehiclePose().position
    return (p.x_val, p.y_val, p.z_val)


def test_standin_refuses_bad_moves_and_keeps_its_state():
    with StandInServer("indoor-gt") as server, _client(server) as client:
        client.reset()
        client.enableApiControl(True)
        client.armDisarm(True)
        before, clock = _pose(client), server.vehicle.clock_ns
        for args, message in (((float("nan"), 0.0, 0.0, 0.5), "velocities must be finite"),
                              ((0.0, float("inf"), 0.0, 0.5), "velocities must be finite"),
                              ((1.0, 0.0, 0.0, -0.5), "duration must be finite and >= 0"),
                              ((1.0, 0.0, 0.0, float("nan")), "duration must be finite and >= 0")):
            with pytest.raises(Exception, match=message):
                client.moveByVelocityAsync(*args).get()
            assert _pose(client) == before and server.vehicle.clock_ns == clock  # untouched
        client.moveByVelocityAsync(1.0, 0.0, 0.0, 0.5).get()  # a good move still flies
        assert _pose(client) != before and server.vehicle.clock_ns == clock + 500_000_000


@pytest.mark.slow
def test_standin_bounds_its_compile_cache_and_call_log():
    from tests import airsim_standin
    with StandInServer("indoor-gt") as server, _client(server) as client:
        client.enableApiControl(True)
        client.armDisarm(True)
        for k in range(airsim_standin.COMPILED_DURATIONS + 3):  # more distinct durations than are kept
            client.moveByVelocityAsync(0.0, 0.0, 0.0, 0.01 * (k + 1)).get()
        assert airsim_standin._advance.cache_info().currsize == airsim_standin.COMPILED_DURATIONS
        for _ in range(airsim_standin.CALL_LOG // 2):
            client.simGetCollisionInfo()
            client.simGetVehiclePose()
        assert len(server.vehicle.calls) == airsim_standin.CALL_LOG and server.vehicle.calls[-1] == "simGetVehiclePose"


@pytest.mark.parametrize("frame", [msgpack.packb([0, 7, "reset"]), msgpack.packb({"method": "reset"}), b"\xc1\xc1"])
def test_standin_answers_a_malformed_frame_before_closing(frame):
    with StandInServer("indoor-gt") as server, socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(frame)
        reply = msgpack.unpackb(s.recv(65536), raw=False)
        assert reply[0] == 1 and reply[3] is None and reply[2].startswith("malformed frame")
        assert reply[1] == (7 if frame == msgpack.packb([0, 7, "reset"]) else None)
        assert s.recv(65536) == b""  # then the connection closes
