"""The scripted expert: a navigation function (cost-to-go on a grid, computed once per map and goal site)
followed by a velocity controller with lidar repulsion.

A plain potential field gets stuck in the local minima that obstacles make; the cost-to-go of a shortest-path
search over the free cells has no local minimum but the goal, so following its steepest descent always arrives.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from srtd_jax.benchmarks.drone import maps, sim

CELL = 0.25                        # grid resolution (m)
GRID = int(2 * maps.HALF_ROOM / CELL)
INFLATION = maps.DRONE_RADIUS + 0.35  # obstacles grown by this in the plan
BLOCKED_COST = 1e3
CRUISE_SPEED = 2.0
REPULSION_RANGE = 1.2
REPULSION_GAIN = 1.5
HEIGHT_GAIN = 1.0
_NEIGHBOURS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])


def cell_centres() -> np.ndarray:
    c = -maps.HALF_ROOM + CELL * (np.arange(GRID) + 0.5)
    return np.stack(np.meshgrid(c, c, indexing="ij"), -1)          # (GRID, GRID, 2)


def cost_to_go(layout: str, goals_xy: np.ndarray) -> np.ndarray:
    """(G, 2) goal positions -> (G, GRID, GRID) shortest free-path length (m) from every cell to each goal over
    the 8-connected grid; cells within INFLATION of an obstacle cost BLOCKED_COST plus their distance to the
    free space's nearest cell, so that the descent leads out of them too."""
    free = maps.clearance(cell_centres(), layout) >= INFLATION
    idx = np.arange(GRID * GRID).reshape(GRID, GRID)
    rows, cols, weights = [], [], []
    for di, dj in _NEIGHBOURS:
        a = idx[max(0, -di):GRID - max(0, di), max(0, -dj):GRID - max(0, dj)]
        b = idx[max(0, di):GRID - max(0, -di), max(0, dj):GRID - max(0, -dj)]
        ok = free.ravel()[a.ravel()] & free.ravel()[b.ravel()]
        rows.append(a.ravel()[ok]), cols.append(b.ravel()[ok])
        weights.append(np.full(ok.sum(), CELL * np.hypot(di, dj)))
    graph = coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(GRID * GRID,) * 2).tocsr()
    goal_cells = [int(idx[tuple(np.clip(((g + maps.HALF_ROOM) / CELL).astype(int), 0, GRID - 1))]) for g in goals_xy]
    dist = dijkstra(graph, directed=False, indices=goal_cells).reshape(len(goals_xy), GRID, GRID)
    if not np.isfinite(dist[:, free]).all():
        raise RuntimeError(f"map {layout}: some free cells cannot reach every goal site")
    # blocked cells: a large cost falling toward the free space
    out_d = -maps.clearance(cell_centres(), layout) + INFLATION        # > 0 inside the inflated obstacles
    blocked = BLOCKED_COST + out_d
    return np.where(free[None], dist, blocked[None]).astype(np.float32)


@functools.lru_cache(maxsize=None)
def cost_tables() -> np.ndarray:
    """(T, NUM_SITES, GRID, GRID) cost-to-go of every task's goal sites (tasks sharing a layout share it)."""
    m = maps.map_arrays()
    by_layout = {}
    out = np.zeros((len(maps.DRONE_TASKS), maps.NUM_SITES, GRID, GRID), np.float32)
    for i, task in enumerate(maps.DRONE_TASKS):
        layout = maps.layout_of(task)
        if layout not in by_layout:
            by_layout[layout] = cost_to_go(layout, m.sites[i, :, :2])
        out[i] = by_layout[layout]
    return out


def descent_direction(costs: jax.Array, xy: jax.Array, goal_xy: jax.Array) -> jax.Array:
    """Unit (2,) direction from xy toward the cheapest of the 8 neighbouring cells of its cell on `costs`
    (GRID, GRID); straight at the goal once in the goal's cell."""
    ij = jnp.clip(jnp.floor((xy + maps.HALF_ROOM) / CELL).astype(jnp.int32), 0, GRID - 1)
    nb = jnp.clip(ij[None] + jnp.asarray(_NEIGHBOURS), 0, GRID - 1)
    c = costs[nb[:, 0], nb[:, 1]]
    best = nb[jnp.argmin(c)]
    target = -maps.HALF_ROOM + CELL * (best.astype(jnp.float32) + 0.5)
    at_goal = costs[ij[0], ij[1]] <= jnp.min(c)
    target = jnp.where(at_goal, goal_xy, target)
    v = target - xy
    return v / jnp.maximum(jnp.linalg.norm(v), 1e-6)


def expert_action(state: sim.DroneState, obs: jax.Array, tables: jax.Array, m: maps.MapArrays) -> jax.Array:
    """The expert's action (3,) in [-1, 1]: desired velocity from the navigation function (slowing near the goal),
    pushed away from close lidar returns, reached with one step of the commanded-velocity change."""
    goal = sim.goal_of(state, m)
    costs = tables[state.task, state.goal_seq[state.goal_ptr % sim.GOAL_SEQUENCE]]
    direction = descent_direction(costs, state.pos[:2], goal[:2])
    dist = jnp.linalg.norm(goal[:2] - state.pos[:2])
    v_xy = direction * jnp.minimum(CRUISE_SPEED, 0.8 * dist + 0.3)
    ranges = obs[:sim.LIDAR_BEAMS]
    push = jnp.clip((REPULSION_RANGE - ranges) / REPULSION_RANGE, 0.0, 1.0)
    beams = jnp.stack([jnp.cos(sim.BEAM_ANGLES), jnp.sin(sim.BEAM_ANGLES)], -1)
    v_xy = v_xy - REPULSION_GAIN * (push[:, None] * beams).sum(0)
    v_des = jnp.concatenate([v_xy, HEIGHT_GAIN * (goal[2:] - state.pos[2:])])
    return jnp.clip((v_des - state.vel) / (sim.A_MAX * sim.DT), -1.0, 1.0)


def behaviour_action(key: jax.Array, quality, expert: jax.Array, noise: float) -> jax.Array:
    """The quality ladder's action: with probability q the expert's plus N(0, (noise (1 - q))^2), else uniform
    in [-1, 1]^3 (as for MT10, srtd_jax/benchmarks/mt10/generate.py)."""
    k1, k2, k3 = jax.random.split(key, 3)
    noisy = expert + noise * (1.0 - quality) * jax.random.normal(k1, expert.shape)
    random = jax.random.uniform(k2, expert.shape, minval=-1.0, maxval=1.0)
    return jnp.clip(jnp.where(jax.random.uniform(k3) < quality, noisy, random), -1.0, 1.0)
