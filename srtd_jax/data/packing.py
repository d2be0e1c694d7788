"""Datasets of different sizes on one leading replica axis, for training several cells in one program.

Every part is padded to the largest episode count and length: padded episodes have length 0 and padded steps lie
past `lengths`, so windows.draw_steps draws only a replica's own real steps. For a part whose episodes all have
their full length it draws exactly the (episode, time) pairs the part alone draws from the same key: the draw maps
one uniform integer below the real-step count through the cumulative lengths, which for equal lengths is the
division by the length that the unpadded part uses.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from srtd_jax.data.windows import DeviceData


def pad_axes(x, shape: tuple):
    """x zero-padded at the end of each leading axis to `shape` (the trailing axes keep their sizes)."""
    widths = [(0, s - d) for s, d in zip(shape, x.shape)] + [(0, 0)] * (x.ndim - len(shape))
    if any(w < 0 for _, w in widths):
        raise ValueError(f"cannot pad an array of shape {x.shape} to {shape}")
    return jnp.pad(x, widths)


def pack(parts: list[DeviceData]) -> DeviceData:
    """R datasets -> one DeviceData with a leading replica axis: obs (R, E, L, S) etc. for E, L the largest
    episode count and length, lengths (R, E) the real steps of every episode (0 for padding)."""
    if not parts:
        raise ValueError("pack needs at least one dataset")
    dims = {p.obs.shape[-1] for p in parts}, {p.actions.shape[-1] for p in parts}
    if len(dims[0]) > 1 or len(dims[1]) > 1:
        raise ValueError(f"datasets of different observation or action sizes cannot be packed: {sorted(dims[0])}, "
                         f"{sorted(dims[1])}")
    num_e = max(p.obs.shape[0] for p in parts)
    length = max(p.obs.shape[1] for p in parts)

    def one(p: DeviceData) -> DeviceData:
        real = p.lengths if p.lengths is not None else jnp.full(p.obs.shape[0], p.obs.shape[1], jnp.int32)
        steps = lambda x: pad_axes(x, (num_e, length))
        return DeviceData(obs=steps(p.obs), actions=steps(p.actions), rewards=steps(p.rewards),
                          next_obs=steps(p.next_obs), terminals=steps(p.terminals),
                          quality=pad_axes(p.quality, (num_e,)), task_ids=pad_axes(p.task_ids, (num_e,)),
                          lengths=pad_axes(jnp.asarray(real, jnp.int32), (num_e,)))

    padded = [one(p) for p in parts]
    return DeviceData(*(jnp.stack(fields) for fields in zip(*padded)))


def pack_per_step(arrays: list, num_episodes: int, steps: int):
    """Per-episode, per-step arrays of the parts (each (E_r, T_r, ...), e.g. the conditioning with T = L + 1) -> one
    array (R, num_episodes, steps, ...), zero-padded as `pack` pads the datasets."""
    return jnp.stack([pad_axes(a, (num_episodes, steps)) for a in arrays])


def replica_steps(data: DeviceData) -> np.ndarray:
    """(R,) the real steps of every replica of packed data (host ints)."""
    return np.asarray(data.lengths).sum(-1)
