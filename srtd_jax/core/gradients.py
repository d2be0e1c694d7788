"""One helper that turns a loss into an update, and Polyak averaging of target parameters."""
from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from srtd_jax.core import pcgrad


def gradient_update(loss_fn: Callable, optimizer: optax.GradientTransformation, surgery_batch_arg: int | None = None):
    """Turns `loss_fn(params, *args) -> (loss, metrics)` into
    `update(params, opt_state, *args, key=None) -> (params, opt_state, metrics)`.

    surgery_batch_arg: None for an ordinary update. Otherwise args[surgery_batch_arg] is a batch with a leading
    task axis; the loss gradient is taken per task and combined by PCGrad (`key` orders the projections)."""
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def update(params, opt_state, *args, key=None):
        if surgery_batch_arg is None:
            (_, metrics), grads = grad_fn(params, *args)
        else:
            in_axes = [None] * (1 + len(args))
            in_axes[1 + surgery_batch_arg] = 0
            (_, metrics), task_grads = jax.vmap(grad_fn, in_axes=tuple(in_axes))(params, *args)
            grads, metrics = pcgrad.pcgrad(task_grads, key), jax.tree.map(jnp.mean, metrics)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, metrics

    return update


def polyak(target, online, tau: float):
    """Target parameters moved a fraction tau toward the online ones: (1 - tau) target + tau online."""
    return jax.tree.map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)
