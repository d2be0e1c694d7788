"""Gymnasium environments for one drone task, with two back ends behind one interface and observation layout:

- `BuiltinDroneEnv`: the built-in JAX simulator (srtd_jax/benchmarks/drone/sim.py), one environment stepped by a jitted
  call. Batched work (data generation, evaluation) uses sim.py vmapped instead.
- `AirSimDroneEnv`: a real AirSim / Colosseum multirotor driven through the `airsim` client: API control, arming,
  reset, pose, the vortex wind through simSetWind (updated every step at the drone's position), velocity commands
  of DT seconds, multirotor state, lidar and collision info. The goal, the reward and the goal switching are kept
  here, as the built-in simulator keeps them.

reset(seed=..., options={"start": site, "goal_sequence": [sites]}) fixes the start site and goal order (otherwise
drawn from the seed), so both back ends can fly the same episode. info holds 'collided', 'goal_reached', 'goal'.
The observation space has the simulator's finite bounds (sim.observation_bounds); render_mode='rgb_array' draws
the map from above: obstacles, the drone and its current goal. srtd_jax/envs.py registers the built-in back end as
`srtd/Drone-<task>-v0`.
"""
from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.benchmarks.drone import maps, sim

_reset = jax.jit(sim.reset)
_step = jax.jit(sim.step)
_observe = jax.jit(sim.observe)


class _DroneEnvBase(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": int(round(1 / sim.DT))}

    def __init__(self, task: str, episode_length: int = 100, render_mode: str | None = None):
        self.task, self.task_id = task, maps.task_index(task)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r} is not one of None, 'rgb_array'")
        self.episode_length, self.render_mode = episode_length, render_mode
        self.m = sim.map_arrays()
        self.observation_space = gym.spaces.Box(*sim.observation_bounds(), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (sim.ACTION_DIM,), np.float32)

    def render(self):
        """(RENDER_SIZE, RENDER_SIZE, 3) uint8 top-down view, or None without render_mode='rgb_array'."""
        if self.render_mode != "rgb_array":
            return None
        return top_down(self.m, self.task_id, np.asarray(self.state.pos), np.asarray(sim.goal_of(self.state, self.m)))

    def _episode(self, seed, options) -> sim.DroneState:
        """The episode's start state: drawn from the seed, then overridden by options."""
        super().reset(seed=seed)
        key = jax.random.PRNGKey(int(self.np_random.integers(2 ** 31)))
        state = _reset(key, self.task_id, self.m)
        options = options or {}
        if "start" in options:
            state = state._replace(pos=self.m.sites[self.task_id, int(options["start"])])
        if "goal_sequence" in options:
            seq = np.resize(np.asarray(options["goal_sequence"], np.int32), sim.GOAL_SEQUENCE)
            if seq.min() < 0 or seq.max() >= maps.NUM_SITES:
                raise ValueError(f"goal_sequence entries must be site indices in [0, {maps.NUM_SITES})")
            state = state._replace(goal_seq=jnp.asarray(seq))
        return state

    def _info(self, state, collided=False, reached=False) -> dict:
        return {"collided": bool(collided), "goal_reached": bool(reached),
                "goal": np.asarray(sim.goal_of(state, self.m)), "position": np.asarray(state.pos)}


class BuiltinDroneEnv(_DroneEnvBase):
    """One task on the built-in simulator."""

    def reset(self, *, seed=None, options=None):
        self.state = self._episode(seed, options)
        return np.asarray(_observe(self.state, self.m)), self._info(self.state)

    def step(self, action):
        self.state, reward, collided, reached = _step(self.state, jnp.asarray(action, jnp.float32), self.m)
        truncated = int(self.state.t) >= self.episode_length
        return (np.asarray(_observe(self.state, self.m)), float(reward), False, truncated,
                self._info(self.state, collided, reached))


RENDER_SIZE = 256


def top_down(m: maps.MapArrays, task_id: int, position: np.ndarray, goal: np.ndarray,
             size: int = RENDER_SIZE) -> np.ndarray:
    """(size, size, 3) uint8 image of the room from above, x to the right and y up: free space white, obstacles
    grey, the goal's reach disc green, the drone blue."""
    half = maps.HALF_ROOM
    centres = (np.arange(size) + 0.5) / size * 2 * half - half
    x, y = np.meshgrid(centres, centres[::-1])
    image = np.full((size, size, 3), 255, np.uint8)
    solid = np.zeros((size, size), bool)
    for cx, cy, hx, hy in m.boxes[task_id]:
        solid |= (np.abs(x - cx) <= hx) & (np.abs(y - cy) <= hy)
    for cx, cy, r in m.cylinders[task_id]:
        solid |= (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    image[solid] = (110, 110, 110)
    pixel = 2 * half / size
    for (px, py), radius, colour in ((goal[:2], sim.GOAL_RADIUS, (60, 170, 60)),
                                     (position[:2], max(maps.DRONE_RADIUS, 2 * pixel), (40, 80, 220))):
        image[(x - px) ** 2 + (y - py) ** 2 <= radius * radius] = colour
    return image


def lidar_beams(point_cloud, position) -> np.ndarray:
    """AirSim lidar points (flat list of x, y, z in the vehicle-inertial NED frame) -> (LIDAR_BEAMS,) horizontal
    distances: each point goes to the beam nearest its bearing from `position`, the nearest point per beam counts,
    beams without points read LIDAR_RANGE."""
    beams = np.full(sim.LIDAR_BEAMS, sim.LIDAR_RANGE, np.float32)
    pts = np.asarray(point_cloud, np.float64)
    if pts.size < 3:
        return beams
    rel = pts.reshape(-1, 3)[:, :2] - np.asarray(position[:2], np.float64)
    k = np.round(np.arctan2(rel[:, 1], rel[:, 0]) / (2 * np.pi / sim.LIDAR_BEAMS)).astype(int) % sim.LIDAR_BEAMS
    np.minimum.at(beams, k, np.minimum(np.linalg.norm(rel, axis=-1), sim.LIDAR_RANGE).astype(np.float32))
    return beams


def close_client(client) -> None:
    """Closes an airsim client's socket and the I/O loop (with its wake-up pipe) that it opened. The airsim client
    has no close of its own; without this both stay open until garbage collection reports them unclosed."""
    rpc = client.client  # msgpackrpc.Client
    rpc.close()
    rpc._loop._ioloop.close(all_fds=True)


class AirSimDroneEnv(_DroneEnvBase):
    """One task on an AirSim multirotor. `client`: an airsim.MultirotorClient (default: a new one for ip/port).

    The Unreal level must hold the task's map (the obstacle layouts of maps.py, centred on the player start) and
    the vehicle a 1-channel horizontal lidar named `lidar_name` reporting in "VehicleInertialFrame" (README,
    "Drone navigation")."""

    def __init__(self, task: str, episode_length: int = 100, client=None, ip: str = "127.0.0.1", port: int = 41451,
                 lidar_name: str = "Lidar1", vehicle_name: str = "", render_mode: str | None = None):
        super().__init__(task, episode_length, render_mode)
        import airsim  # the AirSim client is needed only here
        self.airsim = airsim
        self._owns_client = client is None  # close() releases only a connection this env opened
        self.client = client or airsim.MultirotorClient(ip=ip, port=port)
        self.lidar_name, self.vehicle_name = lidar_name, vehicle_name
        self.client.confirmConnection()

    def close(self):
        if self._owns_client:
            close_client(self.client)
            self._owns_client = False
        super().close()

    def _pose(self, pos, yaw):
        a = self.airsim
        half = float(yaw) / 2
        return a.Pose(a.Vector3r(float(pos[0]), float(pos[1]), -float(pos[2])),
                      a.Quaternionr(0.0, 0.0, float(np.sin(half)), float(np.cos(half))))

    def _read(self):
        """(pos, vel, yaw) from the multirotor state, in the simulator's frame (height up)."""
        k = self.client.getMultirotorState(vehicle_name=self.vehicle_name).kinematics_estimated
        p, v = k.position, k.linear_velocity
        _, _, yaw = self.airsim.to_eularian_angles(k.orientation)
        return (np.array([p.x_val, p.y_val, -p.z_val], np.float32), np.array([v.x_val, v.y_val, -v.z_val], np.float32),
                np.float32(yaw))

    def _observe(self):
        pos, vel, yaw = self._read()
        lidar = self.client.getLidarData(lidar_name=self.lidar_name, vehicle_name=self.vehicle_name)
        self.state = self.state._replace(pos=jnp.asarray(pos), vel=jnp.asarray(vel), yaw=jnp.asarray(yaw))
        goal = np.asarray(sim.goal_of(self.state, self.m))
        return np.concatenate([lidar_beams(lidar.point_cloud, pos), pos, vel, [np.sin(yaw), np.cos(yaw)],
                               goal - pos]).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        self.state = self._episode(seed, options)
        c, name = self.client, self.vehicle_name
        c.reset()
        c.enableApiControl(True, name)
        c.armDisarm(True, name)
        c.simSetVehiclePose(self._pose(self.state.pos, 0.0), True, name)
        self._last_collision = c.simGetCollisionInfo(vehicle_name=name).time_stamp
        return self._observe(), self._info(self.state)

    def step(self, action):
        a, name = self.airsim, self.vehicle_name
        prev = self.state
        wind = np.asarray(sim.vortex_wind(prev.pos, self.m.wind[self.task_id]), np.float64)
        self.client.simSetWind(a.Vector3r(float(wind[0]), float(wind[1]), -float(wind[2])))
        v_cmd = np.asarray(sim.command(prev.vel, jnp.asarray(action, jnp.float32)), np.float64)
        self.client.moveByVelocityAsync(float(v_cmd[0]), float(v_cmd[1]), -float(v_cmd[2]), sim.DT,
                                        a.DrivetrainType.ForwardOnly, a.YawMode(False, 0.0), name).get()
        # get(), not join(): join() waits but drops the server's error (e.g. API control lost)
        info = self.client.simGetCollisionInfo(vehicle_name=name)
        collided = bool(info.has_collided) and info.time_stamp != self._last_collision
        self._last_collision = info.time_stamp
        obs = self._observe()
        goal = sim.goal_of(prev, self.m)
        reward = float(sim.reward_fn(prev.pos, self.state.pos, goal, collided))
        reached = bool(jnp.linalg.norm(self.state.pos - goal) < sim.GOAL_RADIUS)
        self.state = self.state._replace(goal_ptr=prev.goal_ptr + int(reached), t=prev.t + 1)
        if reached:  # the observation's goal offset is to the new goal
            obs[-3:] = np.asarray(sim.goal_of(self.state, self.m)) - obs[sim.LIDAR_BEAMS:sim.LIDAR_BEAMS + 3]
        truncated = int(self.state.t) >= self.episode_length
        return obs, reward, False, truncated, self._info(self.state, collided, reached)
