"""Orbax save/restore of the seed-stacked trained parameters."""
from __future__ import annotations

import os

import jax
import orbax.checkpoint as ocp


def save_params(directory: str, tree) -> str:
    """Saves a pytree of (seed-stacked) arrays under directory/final; returns that path."""
    path = os.path.join(os.path.abspath(directory), "final")
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, jax.tree.map(lambda x: x, tree), force=True)
    return path


def restore_params(path: str, like=None):
    """Restores a tree saved by save_params; `like` (an abstract or concrete tree) fixes its structure."""
    with ocp.StandardCheckpointer() as ckpt:
        return ckpt.restore(os.path.abspath(path), like)
