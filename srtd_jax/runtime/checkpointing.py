"""Resumable runs: an orbax CheckpointManager over the run's progress, plus the run's fingerprints.

A checkpoint holds two items: 'state' (a pytree of seed-stacked train states, PRNG keys and, in the offline-RL
phase, the trained encoder parameters) and 'meta' (JSON: phase, step within the phase, evaluation curve so far,
how many metrics.jsonl lines were written, and fingerprints of the data, the normaliser and the augmentation).
Checkpoints are numbered by overall progress (encoder steps, then encoder total + RL steps), so the latest one
is always the furthest point of the run. Orbax writes each into a temporary directory and renames it when
complete, so a run killed mid-save leaves the previous checkpoint as the latest.
"""
from __future__ import annotations

import hashlib
import os
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

from srtd_jax.core import devices


class ResumeError(RuntimeError):
    """A checkpoint that does not belong to this run (different data or augmentation); names the difference."""


def fingerprint(tree) -> str:
    """sha256 (first 16 hex digits) of a tree of host or single-process device arrays: shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for leaf in jax.tree.leaves(tree):
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _manager(directory: str, **options) -> ocp.CheckpointManager:
    """The checkpoint layout of a run, for writing and reading alike: items 'state' (a pytree) and 'meta' (JSON)."""
    return ocp.CheckpointManager(
        os.path.abspath(directory), options=ocp.CheckpointManagerOptions(enable_async_checkpointing=False, **options),
        item_handlers={"state": ocp.StandardCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()})


class RunCheckpointer:
    """Saves and restores a run's progress in `directory` (normally <workdir>/checkpoints).

    every_steps: also save when a phase's step count crosses a multiple of it (0: off).
    every_seconds: also save when this long has passed since the last save (0: off).
    keep: number of most recent checkpoints kept. Phase ends are always saved."""

    def __init__(self, directory: str, *, every_steps: int = 0, every_seconds: float = 0.0, keep: int = 2):
        self.every_steps, self.every_seconds = every_steps, every_seconds
        self._manager = _manager(directory, max_to_keep=keep, create=True)
        self._last_save = time.time()

    def latest(self) -> tuple[int, dict] | None:
        """(progress, meta) of the latest complete checkpoint, or None."""
        step = self._manager.latest_step()
        if step is None:
            return None
        meta = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        return step, meta

    def restore_state(self, progress: int, like):
        """The 'state' item of checkpoint `progress`, with the structure, dtypes and shardings of `like`."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        return self._manager.restore(progress, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract)))["state"]

    def due(self, done: int, total: int, chunk_steps: int) -> bool:
        """Whether a phase at `done` of `total` steps, advancing by `chunk_steps`, should save now."""
        due = bool(done >= total or (self.every_steps and done % self.every_steps < chunk_steps)
                   or (self.every_seconds and time.time() - self._last_save >= self.every_seconds))
        return devices.agreed(due)  # clocks differ between hosts

    def save(self, progress: int, state, meta: dict) -> bool:
        """Saves checkpoint `progress` -> False when it was already saved (a phase end that is also a periodic
        save, a stop right after a checkpoint)."""
        if self._manager.latest_step() == progress:
            return False
        self._manager.save(progress, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))
        self._manager.wait_until_finished()
        self._last_save = time.time()
        return True

    def close(self) -> None:
        self._manager.close()


def save_debug(directory: str, tree) -> str:
    """Saves a tree (e.g. the states before a non-finite update) with orbax under directory; returns the path."""
    path = os.path.abspath(directory)
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, tree, force=True)
    return path


def restore_tree(path: str, like=None):
    """Restores a tree saved by save_debug (a run's checkpoints: latest_state). `like` (an abstract or
    concrete tree) fixes structure and shardings; without it every array lands on this process's first device,
    whatever the device layout of the run that saved it (e.g. a multi-GPU run inspected on a laptop)."""
    with ocp.StandardCheckpointer() as ckpt:
        if like is None:
            like = _first_device_like(ckpt.metadata(os.path.abspath(path)))
        return ckpt.restore(os.path.abspath(path), like)


def _first_device_like(metadata):
    """Abstract arrays of a saved tree's metadata, all on this process's first device."""
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    return jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                        getattr(metadata, "item_metadata", metadata))


def latest_state(directory: str):
    """(progress, state) of the latest checkpoint of a run's checkpoint directory (normally <workdir>/checkpoints),
    its arrays on this process's first device; reads through the run's own checkpoint layout, writes nothing.
    Raises FileNotFoundError naming the directory when it holds no checkpoint."""
    path = os.path.abspath(directory)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no checkpoint directory {directory}")
    manager = _manager(path, create=False)
    try:
        step = manager.latest_step()
        if step is None:
            raise FileNotFoundError(f"no checkpoint under {directory}")
        like = _first_device_like(manager.item_metadata(step)["state"])
        return step, manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(like)))["state"]
    finally:
        manager.close()


def latest_encoder_params(workdir: str, seed: int | None = 0):
    """The trained encoder parameters {'skill', 'task'} of seed `seed` in a run's latest checkpoint (None: of
    every seed, stacked on a leading axis)."""
    try:
        _, saved = latest_state(os.path.join(workdir, "checkpoints"))
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{workdir}: {e}") from None
    if "encoder_params" not in saved:
        raise ValueError(f"{workdir}: the checkpoint holds no encoder (the method has no task encoder)")
    if seed is None:
        return saved["encoder_params"]
    return jax.tree.map(lambda x: x[seed], saved["encoder_params"])
