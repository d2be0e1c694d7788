"""What distinguishes behaviour data made by one recipe from another's: how random, how smooth, and how predictable
from the state its actions are (`experiments.compare_recipes`)."""
from __future__ import annotations

import numpy as np


def uniform_share(rungs: np.ndarray, num_rungs: int) -> float:
    """The expected share of uniformly random actions in ladder data: an episode of rung k draws each action
    uniformly with probability 1 - k / (num_rungs - 1). rungs: (E,) each episode's rung."""
    return float(np.mean(1.0 - np.asarray(rungs, np.float64) / (num_rungs - 1)))


def lag1_autocorrelation(actions: np.ndarray) -> float:
    """Pearson correlation of a_t with a_{t+1} within episodes, pooled over episodes and averaged over action
    dimensions. actions: (E, L, A)."""
    a = np.asarray(actions, np.float64)
    now, nxt = a[:, :-1].reshape(-1, a.shape[-1]), a[:, 1:].reshape(-1, a.shape[-1])
    corr = [np.corrcoef(now[:, i], nxt[:, i])[0, 1] for i in range(a.shape[-1])
            if now[:, i].std() > 0 and nxt[:, i].std() > 0]
    return float(np.mean(corr)) if corr else float("nan")


def regressor_error(obs: np.ndarray, actions: np.ndarray, held_out: np.ndarray, *, hidden=(256, 256),
                    steps: int = 3000, batch_size: int = 512, learning_rate: float = 1e-3, seed: int = 0) -> dict:
    """How well the state predicts the action: an MLP s -> a fitted by squared error on the episodes not in
    `held_out`, measured on those in it. obs (E, L, S), actions (E, L, A), held_out (E,) bool.
    -> {'mse': held-out mean squared error summed over action dimensions, 'variance': the held-out actions' total
    variance, 'ratio': mse / variance (1: the state says nothing about the action)}."""
    import jax
    import jax.numpy as jnp
    import optax
    flat = lambda x, m: np.asarray(x[m], np.float32).reshape(-1, x.shape[-1])
    x_tr, y_tr = flat(obs, ~held_out), flat(actions, ~held_out)
    x_te, y_te = flat(obs, held_out), flat(actions, held_out)
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-3
    x_tr, x_te = jnp.asarray((x_tr - mean) / std), jnp.asarray((x_te - mean) / std)
    y_tr, y_te = jnp.asarray(y_tr), jnp.asarray(y_te)
    rng = np.random.default_rng(seed)
    sizes = (x_tr.shape[1], *hidden, y_tr.shape[1])
    params = [(jnp.asarray(rng.normal(0, 1 / np.sqrt(i), (i, o)), jnp.float32), jnp.zeros(o)) for i, o in
              zip(sizes[:-1], sizes[1:])]

    def predict(p, x):
        for w, b in p[:-1]:
            x = jax.nn.relu(x @ w + b)
        return x @ p[-1][0] + p[-1][1]

    loss = lambda p, x, y: jnp.mean(jnp.sum(jnp.square(predict(p, x) - y), -1))
    opt = optax.adam(learning_rate)

    def step(carry, idx):
        p, s = carry
        value, grads = jax.value_and_grad(loss)(p, x_tr[idx], y_tr[idx])
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    idx = rng.integers(0, len(x_tr), (steps, batch_size))
    (params, _), _ = jax.jit(lambda p, s, i: jax.lax.scan(step, (p, s), i))(params, opt.init(params), idx)
    mse = float(loss(params, x_te, y_te))
    variance = float(np.sum(np.asarray(y_te).var(0)))
    return {"mse": mse, "variance": variance, "ratio": mse / variance}
