"""The six drone-navigation tasks (paper section 5.2): four indoor obstacle layouts x vortex wind.

PEDRA's indoor maps (indoor-complex, indoor-gt, indoor-cloud, indoor-pyramid) exist only inside Unreal binaries,
so the layouts here are the project's own, named after them and built in their spirit: rooms and doorways
(complex), a corridor loop around a central block (gt), a field of pillars (cloud), crates stacked in a pyramid
(pyramid). Every obstacle is a vertical extrusion from floor to ceiling: axis-aligned boxes (cx, cy, hx, hy) and
cylinders (cx, cy, r), in metres, in a 20 m x 20 m room. Coordinates are AirSim's NED x (north) and y (east) with
height h = -z_ned, so the AirSim back end converts only the sign of the vertical axis.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

DRONE_TASKS = ("indoor-complex", "indoor-complex-wind", "indoor-gt", "indoor-gt-wind", "indoor-cloud",
               "indoor-pyramid-wind")
HALF_ROOM = 10.0          # the room spans [-10, 10]^2
FLOOR, CEILING = 0.2, 3.8  # allowed heights of the drone's centre
FLIGHT_HEIGHT = 1.5        # start and goal height
DRONE_RADIUS = 0.3
WIND_STRENGTH = 4.0        # p of the vortex (m^2/s) on the '-wind' tasks: 2 m/s at 2 m from the centre
NUM_SITES = 8              # start/goal sites per map
SITE_CLEARANCE = 1.2       # a site's distance to any obstacle surface

_LAYOUTS = {
    "indoor-complex": dict(
        boxes=[(0.0, -6.0, 0.2, 4.0), (0.0, 4.0, 0.2, 2.0), (-7.0, 3.0, 3.0, 0.2), (7.0, -3.0, 3.0, 0.2),
               (-5.0, -5.0, 1.0, 1.0), (5.0, 6.0, 1.2, 0.8)],
        cylinders=[(6.0, 2.0, 0.5), (-6.0, 7.0, 0.6)]),
    "indoor-gt": dict(
        boxes=[(0.0, 0.0, 5.0, 3.0), (7.5, 7.5, 1.5, 1.5), (-7.5, -7.5, 1.5, 1.5), (-7.5, 7.5, 1.5, 1.0),
               (7.5, -7.5, 1.0, 1.5)],
        cylinders=[(0.0, 6.5, 0.4), (0.0, -6.5, 0.4)]),
    "indoor-cloud": dict(
        boxes=[],
        cylinders=[(-6.0, -6.5, 0.5), (-2.5, -7.0, 0.6), (1.5, -6.0, 0.5), (6.0, -6.0, 0.7), (-7.0, -2.0, 0.6),
                   (-3.0, -2.5, 0.5), (1.0, -2.0, 0.7), (5.0, -1.5, 0.5), (-5.5, 2.0, 0.7), (-1.5, 1.5, 0.5),
                   (3.0, 2.5, 0.6), (7.0, 3.0, 0.5), (-6.5, 6.5, 0.5), (-2.0, 6.0, 0.6), (2.0, 6.5, 0.5),
                   (6.0, 7.0, 0.6)]),
    "indoor-pyramid": dict(
        boxes=[(0.0, 5.0, 0.8, 0.8), (-2.5, 2.0, 0.8, 0.8), (2.5, 2.0, 0.8, 0.8), (-5.0, -1.0, 0.8, 0.8),
               (0.0, -1.0, 0.8, 0.8), (5.0, -1.0, 0.8, 0.8), (-7.5, -4.5, 0.8, 0.8), (-2.5, -4.5, 0.8, 0.8),
               (2.5, -4.5, 0.8, 0.8), (7.5, -4.5, 0.8, 0.8)],
        cylinders=[]),
}
MAX_BOXES = max(len(v["boxes"]) for v in _LAYOUTS.values())
MAX_CYLINDERS = max(len(v["cylinders"]) for v in _LAYOUTS.values())


def task_index(name: str) -> int:
    """Index of a drone task; raises a ValueError naming the valid tasks."""
    if name not in DRONE_TASKS:
        raise ValueError(f"unknown drone task {name!r}; valid tasks: {', '.join(DRONE_TASKS)}")
    return DRONE_TASKS.index(name)


def layout_of(task: str) -> str:
    task_index(task)
    return task.removesuffix("-wind")


def wind_of(task: str) -> float:
    task_index(task)
    return WIND_STRENGTH if task.endswith("-wind") else 0.0


class MapArrays(NamedTuple):
    """Every task's map, stacked on a leading task axis (T = 6) so that a batch may mix tasks.

    boxes: (T, MAX_BOXES, 4) (cx, cy, hx, hy), padding boxes far outside the room
    cylinders: (T, MAX_CYLINDERS, 3) (cx, cy, r), padding likewise
    sites: (T, NUM_SITES, 3) start/goal positions (x, y, h)
    wind: (T,) vortex strength p
    """

    boxes: np.ndarray
    cylinders: np.ndarray
    sites: np.ndarray
    wind: np.ndarray


def clearance(points: np.ndarray, layout: str) -> np.ndarray:
    """Horizontal distance from each (..., 2) point to the nearest obstacle surface or wall (negative inside)."""
    spec = _LAYOUTS[layout]
    d = HALF_ROOM - np.abs(points).max(-1)
    for cx, cy, hx, hy in spec["boxes"]:
        q = np.abs(points - np.array([cx, cy])) - np.array([hx, hy])
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=-1)
        d = np.minimum(d, outside + np.minimum(q.max(-1), 0.0))
    for cx, cy, r in spec["cylinders"]:
        d = np.minimum(d, np.linalg.norm(points - np.array([cx, cy]), axis=-1) - r)
    return d


def _sites(layout: str) -> np.ndarray:
    """NUM_SITES free positions spread over the room: farthest-point picks from a 1 m grid of candidates whose
    clearance is at least SITE_CLEARANCE, starting from the candidate nearest the south-west corner."""
    g = np.arange(-8.5, 8.51, 1.0)
    cand = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    cand = cand[clearance(cand, layout) >= SITE_CLEARANCE]
    picked = [int(np.argmin(np.linalg.norm(cand - np.array([-9.0, -9.0]), axis=-1)))]
    for _ in range(NUM_SITES - 1):
        dist = np.min(np.linalg.norm(cand[:, None] - cand[picked][None], axis=-1), axis=1)
        picked.append(int(np.argmax(dist)))
    xy = cand[picked]
    return np.concatenate([xy, np.full((NUM_SITES, 1), FLIGHT_HEIGHT)], -1)


@functools.lru_cache(maxsize=None)
def map_arrays() -> MapArrays:
    """The stacked maps of DRONE_TASKS (numpy, float32); built once per process."""
    boxes = np.tile(np.array([1e3, 1e3, 0.1, 0.1], np.float32), (len(DRONE_TASKS), MAX_BOXES, 1))
    cylinders = np.tile(np.array([1e3, 1e3, 0.1], np.float32), (len(DRONE_TASKS), MAX_CYLINDERS, 1))
    sites = np.zeros((len(DRONE_TASKS), NUM_SITES, 3), np.float32)
    for i, task in enumerate(DRONE_TASKS):
        spec = _LAYOUTS[layout_of(task)]
        if spec["boxes"]:
            boxes[i, :len(spec["boxes"])] = spec["boxes"]
        if spec["cylinders"]:
            cylinders[i, :len(spec["cylinders"])] = spec["cylinders"]
        sites[i] = _sites(layout_of(task))
    wind = np.array([wind_of(t) for t in DRONE_TASKS], np.float32)
    return MapArrays(boxes, cylinders, sites, wind)
