"""Soft-modularization network and the CQL learner: values against independent NumPy references."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from srtd_jax.agents import cql
from srtd_jax.core.networks import SoftModularNet, make_actor_critic
from srtd_jax.core.types import Transition

S, A, T = 5, 2, 3  # state, action, tasks


def _relu(x):
    return np.maximum(x, 0.0)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _softmod_numpy(p, x, cond_dim, layers, modules):
    """Soft modularization written out with loops over modules (no einsum), from the flax params."""
    d = lambda name, v: v @ np.asarray(p[name]["kernel"]) + np.asarray(p[name]["bias"])
    s, c = x[:, :-cond_dim], x[:, -cond_dim:]
    f = _relu(d("base_out", _relu(d("base_hidden", s))))
    e = f * d("task_embedding", c)
    probs, routes = [], []
    for l in range(layers - 1):
        u = _relu(e) if l == 0 else _relu(d(f"route_up_{l}", np.concatenate(probs, -1)) * e)
        logits = d(f"route_down_{l}", u).reshape(len(x), modules, modules)
        pr = _softmax(logits, -1)
        probs.append(pr.reshape(len(x), -1))
        routes.append(pr)
    inputs = [f] * modules
    for l in range(layers):
        k, b = np.asarray(p[f"module_kernel_{l}"]), np.asarray(p[f"module_bias_{l}"])
        outs = [_relu(inputs[m] @ k[m] + b[m]) for m in range(modules)]
        if l < layers - 1:
            inputs = [sum(routes[l][:, j, i:i + 1] * outs[i] for i in range(modules)) for j in range(modules)]
    return d("head", sum(outs))


def test_softmod_matches_numpy_reference_and_uses_the_task():
    net = SoftModularNet(out=3, cond_dim=T, num_layers=3, num_modules=4, hidden=8, representation=8)
    x = np.random.default_rng(0).normal(size=(6, S + T)).astype(np.float32)
    x[:, S:] = np.eye(T)[[0, 1, 2, 0, 1, 2]]
    params = net.init(jax.random.PRNGKey(0), x)
    ours = np.asarray(net.apply(params, x))
    ref = _softmod_numpy(params["params"], x.astype(np.float64), T, 3, 4)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)
    other = x.copy()
    other[:, S:] = np.eye(T)[[1, 2, 0, 1, 2, 0]]  # same states, other tasks
    assert not np.allclose(ours, np.asarray(net.apply(params, other)), atol=1e-4)


def test_softmod_critic_takes_the_action_into_the_state_part():
    ac = make_actor_critic(A, (), (), network="softmod", stochastic=True, cond_dim=T,
                           softmod=dict(num_layers=2, num_modules=2, hidden=8, representation=8))
    obs = jnp.ones((4, S + T))
    cp = ac.critic.init(jax.random.PRNGKey(1), obs, jnp.zeros((4, A)))
    q1a, _ = ac.critic.apply(cp, obs, jnp.zeros((4, A)))
    q1b, _ = ac.critic.apply(cp, obs, jnp.ones((4, A)))
    assert q1a.shape == (4,) and not np.allclose(q1a, q1b)
    with pytest.raises(ValueError, match="cond_dim"):
        make_actor_critic(A, (), (), network="softmod", cond_dim=0)


def test_tanh_gaussian_log_prob_matches_change_of_variables():
    mean = jnp.array([[0.3, -1.2], [2.0, 0.1]])
    log_std = jnp.array([[-0.5, 0.2], [-1.0, 0.0]])
    key = jax.random.PRNGKey(3)
    a, logp = cql.tanh_gaussian_sample(mean, log_std, key)
    u = np.asarray(mean) + np.exp(np.asarray(log_std)) * np.asarray(jax.random.normal(key, mean.shape))
    std = np.exp(np.asarray(log_std))
    gauss = -0.5 * ((u - np.asarray(mean)) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
    ref = (gauss - np.log(1.0 - np.tanh(u) ** 2)).sum(-1)
    np.testing.assert_allclose(np.asarray(a), np.tanh(u), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(logp), ref, rtol=1e-5, atol=1e-5)


def _setup(batch=6, hidden=(8,)):
    ac = make_actor_critic(A, hidden, hidden, stochastic=True)
    rng = np.random.default_rng(1)
    b = Transition(*(jnp.asarray(v, jnp.float32) for v in (
        rng.normal(size=(batch, S)), rng.uniform(-1, 1, (batch, A)), rng.normal(size=batch),
        rng.normal(size=(batch, S)), np.full(batch, 0.9), np.zeros(batch))))
    ap = ac.actor.init(jax.random.PRNGKey(0), b.obs)
    cp = ac.critic.init(jax.random.PRNGKey(1), b.obs, b.action)
    tp = ac.critic.init(jax.random.PRNGKey(2), b.obs, b.action)
    return ac, b, ap, cp, tp


def test_cql_critic_loss_matches_numpy_reference():
    """The sampled actions are redrawn here with the loss's own key schedule; Q values come from the networks
    and all the arithmetic (targets, importance weights, log-sum-exp, penalty) is redone in NumPy."""
    ac, b, ap, cp, tp = _setup()
    key, alpha, n, w = jax.random.PRNGKey(7), 0.3, 4, 2.5
    loss, m = cql.cql_critic_loss(cp, tp, ap, alpha, b, key, networks=ac, min_q_weight=w, num_samples=n,
                                  backup_entropy=True)
    k_next, k_rand, k_cur, k_nxt = jax.random.split(key, 4)
    sample = lambda obs, k: cql.tanh_gaussian_sample(*ac.actor.apply(ap, obs, method="dist"), k)
    q = lambda params, o, a: [np.asarray(v, np.float64) for v in ac.critic.apply(params, o, a)]
    na, nlp = sample(b.next_obs, k_next)
    t1, t2 = q(tp, b.next_obs, na)
    y = np.asarray(b.reward) + 0.9 * (np.minimum(t1, t2) - alpha * np.asarray(nlp))
    q1, q2 = q(cp, b.obs, b.action)
    td = np.mean((q1 - y) ** 2) + np.mean((q2 - y) ** 2)
    gaps = []
    rep = lambda x: jnp.broadcast_to(x, (n,) + x.shape)
    ra = jax.random.uniform(k_rand, (n, 6, A), minval=-1.0, maxval=1.0)
    ca, clp = sample(rep(b.obs), k_cur)
    xa, xlp = sample(rep(b.next_obs), k_nxt)
    for qi, data_q in ((0, q1), (1, q2)):
        vals = np.concatenate([q(cp, rep(b.obs), ra)[qi] + A * np.log(2.0), q(cp, rep(b.obs), ca)[qi] - np.asarray(clp),
                               q(cp, rep(b.obs), xa)[qi] - np.asarray(xlp)])  # (3n, B)
        mx = vals.max(0)
        gaps.append(np.mean(mx + np.log(np.exp(vals - mx).sum(0)) - data_q))
    np.testing.assert_allclose(float(loss), td + w * sum(gaps), rtol=1e-4)
    np.testing.assert_allclose(float(m["cql_gap"]), np.mean(gaps), rtol=1e-4)


def test_temperature_loss_and_group_weights_by_hand():
    log_alpha = jnp.log(jnp.array([0.5, 1.0, 2.0]))
    logp = jnp.array([-1.0, 0.5, 2.0])
    expected = -np.mean(np.log([0.5, 1.0, 2.0]) * (np.array([-1.0, 0.5, 2.0]) - 2.0))
    np.testing.assert_allclose(float(cql.temperature_loss(log_alpha, logp, -2.0)), expected, rtol=1e-6)
    w = np.exp(-np.array([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(np.asarray(cql.group_weights(log_alpha, True)), w / w.sum(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(cql.group_weights(log_alpha, False)), np.full(3, 1 / 3), rtol=1e-6)


@pytest.mark.slow
def test_balanced_critic_gradient_is_the_weighted_sum_of_task_gradients():
    ac, b, ap, cp, tp = _setup(batch=6)
    grouped = jax.tree.map(lambda x: x.reshape((T, 2) + x.shape[1:]), b)
    keys = jax.random.split(jax.random.PRNGKey(4), T)
    alphas, weights = jnp.array([0.2, 1.0, 3.0]), jnp.array([0.5, 0.3, 0.2])
    loss_fn = functools.partial(cql.cql_critic_loss, networks=ac, min_q_weight=1.0, num_samples=3,
                                backup_entropy=False)
    total = cql.over_groups(loss_fn, 3)
    # jitted: op by op, the per-task gradients dispatch thousands of tiny programs
    g = jax.jit(jax.grad(lambda p: total(p, tp, ap, alphas, grouped, keys, weights)[0]))(cp)
    task_grad = jax.jit(jax.grad(lambda p, alpha, batch, key: loss_fn(p, tp, ap, alpha, batch, key)[0]))
    parts = [task_grad(cp, alphas[k], jax.tree.map(lambda x: x[k], grouped), keys[k]) for k in range(T)]
    expected = jax.tree.map(lambda *gs: sum(float(weights[k]) * gs[k] for k in range(T)), *parts)
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6), g, expected)


@pytest.mark.parametrize("grouped", [False, True])
def test_cql_update_moves_everything_and_stays_finite(grouped):
    ac, b, *_ = _setup(batch=6)
    opt = optax.adam(1e-3)
    groups = T if grouped else 1
    update = cql.make_cql_update(ac, opt, opt, opt, tau=0.5, min_q_weight=1.0, num_samples=3, backup_entropy=False,
                                 target_entropy=-A, loss_balancing=grouped, grouped=grouped)
    state = cql.init_cql_state(jax.random.PRNGKey(0), ac, opt, opt, opt, S, A, groups, 1.0)
    batch = jax.tree.map(lambda x: x.reshape((T, 2) + x.shape[1:]), b) if grouped else b
    new, metrics = jax.jit(update)(state, batch, jax.random.PRNGKey(1), 0)
    assert new.log_alpha.shape == (groups,)
    for old_tree, new_tree in ((state.actor_params, new.actor_params), (state.critic_params, new.critic_params),
                               (state.target_critic_params, new.target_critic_params)):
        assert any(not np.allclose(o, n) for o, n in zip(jax.tree.leaves(old_tree), jax.tree.leaves(new_tree)))
    assert not np.allclose(state.log_alpha, new.log_alpha)
    assert all(np.isfinite(float(v)) for v in metrics.values())
    wrong = cql.init_cql_state(jax.random.PRNGKey(0), ac, opt, opt, opt, S, A, groups + 1, 1.0)
    with pytest.raises(ValueError, match="temperatures"):
        update(wrong, batch, jax.random.PRNGKey(1), 0)


def test_cql_penalty_makes_dataset_actions_look_better_than_random_ones():
    """A few hundred steps on one fixed batch: the conservative penalty must push Q(s, a_data) above the
    Q of uniformly random actions (a plain soft TD loss has no such pull)."""
    ac, b, *_ = _setup(batch=32, hidden=(32, 32))
    opt = optax.adam(3e-3)
    update = jax.jit(cql.make_cql_update(ac, opt, opt, opt, tau=0.05, min_q_weight=5.0, num_samples=8,
                                         backup_entropy=False, target_entropy=-A, loss_balancing=False, grouped=False))
    state = cql.init_cql_state(jax.random.PRNGKey(0), ac, opt, opt, opt, S, A, 1, 1.0)
    key = jax.random.PRNGKey(5)
    for i in range(300):
        key, k = jax.random.split(key)
        state, metrics = update(state, b, k, i)
    q_data = ac.critic.apply(state.critic_params, b.obs, b.action)[0]
    rand = jax.random.uniform(jax.random.PRNGKey(9), b.action.shape, minval=-1.0, maxval=1.0)
    q_rand = ac.critic.apply(state.critic_params, b.obs, rand)[0]
    assert float(jnp.mean(q_data - q_rand)) > 0.5
    assert float(metrics["cql_gap"]) < 2.0
