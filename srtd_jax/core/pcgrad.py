"""PCGrad gradient surgery over per-task gradients, as pure pytree operations."""
from __future__ import annotations

import jax
import jax.numpy as jnp


def projection_coefficients(gram: jax.Array, key: jax.Array) -> jax.Array:
    """PCGrad in the coordinates of the original gradients. gram: (T, T) = g g^T of the per-task gradients g (T, P)
    -> C (T, T) with the projected rows equal to C g.

    For each task i, the other tasks j are visited in a random order (one permutation per task); whenever the
    running g_i conflicts with the *original* g_j (g_i . g_j < 0), its component along g_j is removed:
    g_i <- g_i - (g_i . g_j) / |g_j|^2 g_j. Every running g_i stays a combination sum_k C_ik g_k of the original
    rows, so the projections need only the Gram matrix, never a pass over the P-long gradients."""
    num_tasks = gram.shape[0]
    orders = jax.vmap(lambda k: jax.random.permutation(k, num_tasks))(jax.random.split(key, num_tasks))
    eye = jnp.eye(num_tasks, dtype=gram.dtype)

    def one_task(i, order):
        def visit(c, j):
            dot = c @ gram[:, j]  # (sum_k c_k g_k) . g_j
            coef = jnp.where((dot < 0) & (j != i), dot / jnp.maximum(gram[j, j], 1e-20), 0.0)
            return c - coef * eye[j], None
        c, _ = jax.lax.scan(visit, eye[i], order)
        return c

    return jax.vmap(one_task)(jnp.arange(num_tasks), orders)


def project_conflicting(grads: jax.Array, key: jax.Array) -> jax.Array:
    """PCGrad on flat gradients. grads: (T, P) one row per task -> (T, P) projected rows."""
    return projection_coefficients(grads @ grads.T, key) @ grads


def pcgrad(task_grads, key: jax.Array):
    """PCGrad on a pytree whose leaves carry a leading task axis T -> the pytree (without T) of the mean of the
    projected per-task gradients (the mean keeps the scale of an ordinary averaged loss).

    The mean of the rows C g is (mean_i C_i) g, one weight per task, so each leaf is touched twice (its part of
    the Gram matrix, its weighted sum over tasks) and never copied into a flat vector. A plain `mean(axis=0)`
    over the (T, ...) leaves is what this avoids too: XLA's CPU reduction over a short leading axis took 50 ms
    on a (10, 300000) array, the same sum as a (T,) x (T, P) product 0.36 ms (results/throughput.md, change 7)."""
    leaves = jax.tree.leaves(task_grads)
    num_tasks = leaves[0].shape[0]
    rows = lambda x: x.reshape(num_tasks, -1)
    gram = sum(rows(x) @ rows(x).T for x in leaves)
    weights = jnp.mean(projection_coefficients(gram, key), axis=0)
    return jax.tree.map(lambda x: (weights @ rows(x)).reshape(x.shape[1:]), task_grads)
