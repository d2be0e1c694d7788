"""The built-in drone simulator: pure JAX, one environment per call, vmapped and jitted by its users.

Dynamics (shared by the AirSim stand-in, so both back ends move the drone alike): every DT = 0.5 s step the action
a in [-1, 1]^3 changes the commanded velocity by A_MAX * DT * a (capped at V_MAX); within the step, SUBSTEPS Euler
substeps track the command with gain K_P while the air drags the drone toward the wind velocity with rate C_D:

    dv/dt = K_P (v_cmd - v) + C_D (w - v),   w = vortex wind at the step's start position (held for the step)

A substep that would put the drone inside an obstacle, a wall, the floor or the ceiling is refused: the drone
stays where it was with zero velocity, and the step counts as a collision. Yaw follows the horizontal velocity.

Observation (27): lidar (16 horizontal beams, metres, world frame, max LIDAR_RANGE), position (x, y, h),
velocity (3), (sin yaw, cos yaw), goal - position (3). The paper lists lidar, position, speed and rotation; the
goal offset is added because goals are drawn at random and the reward depends on them. Wind is not observed.

Reward (appendix A.2): progress |p_{t-1} - g| - |p_t - g|, and min(progress - 0.1, 0) on a collision. A goal
within GOAL_RADIUS is replaced by the next one of the episode's goal sequence.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.benchmarks.drone import maps

DT = 0.5
SUBSTEPS = 5
A_MAX = 2.0          # m/s^2 at |a_i| = 1
V_MAX = 3.0          # m/s cap on the commanded speed
K_P = 3.0            # 1/s velocity-tracking gain
C_D = 1.0            # 1/s air drag toward the wind velocity
LIDAR_BEAMS = 16
LIDAR_RANGE = 8.0
GOAL_RADIUS = 1.0
COLLISION_PENALTY = 0.1
GOAL_SEQUENCE = 16   # goals drawn per episode (more than an episode reaches)
OBS_DIM = LIDAR_BEAMS + 3 + 3 + 2 + 3
ACTION_DIM = 3
BEAM_ANGLES = jnp.arange(LIDAR_BEAMS) * (2 * jnp.pi / LIDAR_BEAMS)


class DroneState(NamedTuple):
    """One environment: pos (3,), vel (3,), yaw (), task () int, goal_seq (GOAL_SEQUENCE,) site indices,
    goal_ptr () int (index into goal_seq), t () int step count."""

    pos: jax.Array
    vel: jax.Array
    yaw: jax.Array
    task: jax.Array
    goal_seq: jax.Array
    goal_ptr: jax.Array
    t: jax.Array


def map_arrays():
    """The stacked maps as JAX arrays (maps.MapArrays)."""
    return maps.MapArrays(*(jnp.asarray(a) for a in maps.map_arrays()))


def vortex_wind(pos: jax.Array, strength) -> jax.Array:
    """(..., 3) -> (..., 3): the appendix's vortex (y p / r^2, -x p / r^2, 0); r^2 floored at 1 m^2 (the field is
    singular at the centre)."""
    x, y = pos[..., 0], pos[..., 1]
    r2 = jnp.maximum(x * x + y * y, 1.0)
    return jnp.stack([y * strength / r2, -x * strength / r2, jnp.zeros_like(x)], -1)


def collides(pos: jax.Array, task, m: maps.MapArrays) -> jax.Array:
    """True where the drone (a sphere of DRONE_RADIUS) at pos (3,) touches an obstacle, wall, floor or ceiling."""
    r = maps.DRONE_RADIUS
    xy = pos[:2]
    out = (jnp.abs(xy) > maps.HALF_ROOM - r).any() | (pos[2] < maps.FLOOR) | (pos[2] > maps.CEILING)
    b = m.boxes[task]
    q = jnp.abs(xy - b[:, :2]) - b[:, 2:]
    box_d = jnp.linalg.norm(jnp.maximum(q, 0.0), axis=-1) + jnp.minimum(q.max(-1), 0.0)
    c = m.cylinders[task]
    cyl_d = jnp.linalg.norm(xy - c[:, :2], axis=-1) - c[:, 2]
    return out | (box_d < r).any() | (cyl_d < r).any()


def lidar(pos: jax.Array, task, m: maps.MapArrays) -> jax.Array:
    """(LIDAR_BEAMS,) distances along the horizontal beams (world frame, angle 2 pi k / LIDAR_BEAMS from +x) to
    the nearest obstacle or wall, capped at LIDAR_RANGE; 0 for a beam that starts inside an obstacle."""
    d = jnp.stack([jnp.cos(BEAM_ANGLES), jnp.sin(BEAM_ANGLES)], -1)          # (K, 2)
    d_safe = jnp.where(jnp.abs(d) < 1e-9, 1e-9, d)
    o = pos[:2]
    # walls: exit distance of the room's box
    t_wall = jnp.min(jnp.where(d > 1e-9, (maps.HALF_ROOM - o) / d_safe,
                               jnp.where(d < -1e-9, (-maps.HALF_ROOM - o) / d_safe, jnp.inf)), -1)
    b = m.boxes[task]                                                          # (B, 4)
    t1 = (b[None, :, :2] - b[None, :, 2:] - o) / d_safe[:, None]               # (K, B, 2)
    t2 = (b[None, :, :2] + b[None, :, 2:] - o) / d_safe[:, None]
    t_near = jnp.minimum(t1, t2).max(-1)
    t_far = jnp.maximum(t1, t2).min(-1)
    t_box = jnp.where((t_far >= jnp.maximum(t_near, 0.0)), jnp.maximum(t_near, 0.0), jnp.inf).min(-1)
    c = m.cylinders[task]                                                      # (C, 3)
    oc = c[None, :, :2] - o                                                    # (1, C, 2)
    proj = (d[:, None] * oc).sum(-1)                                           # (K, C)
    disc = proj ** 2 - ((oc ** 2).sum(-1) - c[None, :, 2] ** 2)
    root = jnp.sqrt(jnp.maximum(disc, 0.0))
    hit = (disc >= 0) & (proj + root >= 0)
    t_cyl = jnp.where(hit, jnp.maximum(proj - root, 0.0), jnp.inf).min(-1)
    return jnp.minimum(jnp.minimum(t_wall, jnp.minimum(t_box, t_cyl)), LIDAR_RANGE)


def command(vel: jax.Array, action: jax.Array) -> jax.Array:
    """The commanded velocity (3,) after an action: v + A_MAX DT clip(a), capped at V_MAX in norm."""
    v_cmd = vel + A_MAX * DT * jnp.clip(action, -1.0, 1.0)
    speed = jnp.linalg.norm(v_cmd)
    return v_cmd * jnp.minimum(1.0, V_MAX / jnp.maximum(speed, 1e-9))


def advance(pos, vel, yaw, v_cmd, wind, task, m: maps.MapArrays, duration: float = DT):
    """Flies `duration` seconds toward v_cmd in a constant wind. -> (pos, vel, yaw, collided)."""
    h = duration / SUBSTEPS
    collided = jnp.zeros((), bool)
    for _ in range(SUBSTEPS):  # unrolled: 5 small substeps
        new_vel = vel + h * (K_P * (v_cmd - vel) + C_D * (wind - vel))
        new_pos = pos + h * new_vel
        hit = collides(new_pos, task, m)
        pos = jnp.where(hit, pos, new_pos)
        vel = jnp.where(hit, 0.0, new_vel)
        collided = collided | hit
    yaw = jnp.where(jnp.linalg.norm(vel[:2]) > 0.1, jnp.arctan2(vel[1], vel[0]), yaw)
    return pos, vel, yaw, collided


def goal_of(state: DroneState, m: maps.MapArrays) -> jax.Array:
    return m.sites[state.task, state.goal_seq[state.goal_ptr % GOAL_SEQUENCE]]


def reward_fn(prev_pos, pos, goal, collided) -> jax.Array:
    """Appendix A.2: progress toward the goal; min(progress - 0.1, 0) on a collision."""
    progress = jnp.linalg.norm(prev_pos - goal, axis=-1) - jnp.linalg.norm(pos - goal, axis=-1)
    return jnp.where(collided, jnp.minimum(progress - COLLISION_PENALTY, 0.0), progress)


def observe(state: DroneState, m: maps.MapArrays) -> jax.Array:
    """(OBS_DIM,) observation of one environment."""
    return jnp.concatenate([lidar(state.pos, state.task, m), state.pos, state.vel,
                            jnp.stack([jnp.sin(state.yaw), jnp.cos(state.yaw)]), goal_of(state, m) - state.pos])


def observation_bounds() -> tuple[np.ndarray, np.ndarray]:
    """(low, high), each (OBS_DIM,) float32: what `observe` can return. Lidar in [0, LIDAR_RANGE]; the position in
    the room (collisions refuse every move past the walls, the floor and the ceiling); each velocity component within
    max(V_MAX, WIND_STRENGTH), since every Euler substep makes the velocity a convex combination of itself, the
    command (norm at most V_MAX) and the wind (norm at most WIND_STRENGTH: p / r with r^2 floored at 1); the goal
    offset between two points of the room at flight height."""
    v = max(V_MAX, maps.WIND_STRENGTH)
    room, floor, ceiling, flight = maps.HALF_ROOM, maps.FLOOR, maps.CEILING, maps.FLIGHT_HEIGHT
    low = [0.0] * LIDAR_BEAMS + [-room, -room, floor] + [-v] * 3 + [-1.0, -1.0] + \
        [-2 * room, -2 * room, flight - ceiling]
    high = [LIDAR_RANGE] * LIDAR_BEAMS + [room, room, ceiling] + [v] * 3 + [1.0, 1.0] + \
        [2 * room, 2 * room, flight - floor]
    return np.asarray(low, np.float32), np.asarray(high, np.float32)


def reset(key: jax.Array, task, m: maps.MapArrays) -> DroneState:
    """A new episode of `task`: start at a random site, then a random sequence of goals, each differing from the
    site before it."""
    k_start, k_seq = jax.random.split(key)
    n = maps.NUM_SITES
    start = jax.random.randint(k_start, (), 0, n)
    offsets = jax.random.randint(k_seq, (GOAL_SEQUENCE,), 1, n)   # never the same site twice in a row
    seq = (start + jnp.cumsum(offsets)) % n
    return DroneState(pos=m.sites[task, start], vel=jnp.zeros(3), yaw=jnp.zeros(()), task=jnp.asarray(task, jnp.int32),
                      goal_seq=seq.astype(jnp.int32), goal_ptr=jnp.zeros((), jnp.int32), t=jnp.zeros((), jnp.int32))


def step(state: DroneState, action: jax.Array, m: maps.MapArrays):
    """One DT step. -> (state, reward (), collided (), goal_reached ())."""
    wind = vortex_wind(state.pos, m.wind[state.task])
    v_cmd = command(state.vel, action)
    pos, vel, yaw, collided = advance(state.pos, state.vel, state.yaw, v_cmd, wind, state.task, m)
    goal = goal_of(state, m)
    reward = reward_fn(state.pos, pos, goal, collided)
    reached = jnp.linalg.norm(pos - goal) < GOAL_RADIUS
    state = state._replace(pos=pos, vel=vel, yaw=yaw, goal_ptr=state.goal_ptr + reached.astype(jnp.int32),
                           t=state.t + 1)
    return state, reward, collided, reached
