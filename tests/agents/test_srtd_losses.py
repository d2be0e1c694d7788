"""Each loss against an independent NumPy computation, and the MMD's statistical behaviour."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.agents import srtd, td3bc
from srtd_jax.core import kernels
from srtd_jax.core.networks import make_actor_critic
from srtd_jax.core.types import Transition, WindowBatch
from tests.tiny import encoder_params

S, A, Z, N, B = 5, 2, 3, 2, 6


def np_mlp(params, x, tanh=False):
    """Independent NumPy forward pass of a flax MLP's params."""
    layers = sorted(params["params"], key=lambda k: int(k.split("_")[1]))
    for i, name in enumerate(layers):
        x = x @ np.asarray(params["params"][name]["kernel"]) + np.asarray(params["params"][name]["bias"])
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return np.tanh(x) if tanh else x


def np_mmd(x, y, c):
    k = lambda a, b: c / (c + ((a[:, None] - b[None]) ** 2).sum(-1))
    m, mp = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (mp * (mp - 1))
            - 2 * kxy.mean())


def test_mmd_matches_numpy_and_hand_value():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(9, 3)) + 0.5
    got = float(kernels.mmd_unbiased(jnp.asarray(x), jnp.asarray(y), scales=(16.0,)))
    np.testing.assert_allclose(got, np_mmd(x, y, 16.0), rtol=1e-5)
    # hand-computed: x = {0, 1}, y = {0, 2} in 1-D, C = 1: k = 1 / (1 + d^2)
    # kxx off-diag: 2 * 1/2 / 2 = 0.5; kyy: 1/5; kxy mean: (1 + 1/5 + 1/2 + 1/2) / 4 = 0.55
    hand = 0.5 + 0.2 - 2 * 0.55
    got = float(kernels.mmd_unbiased(jnp.array([[0.0], [1.0]]), jnp.array([[0.0], [2.0]]), scales=(1.0,)))
    assert got == pytest.approx(hand, abs=1e-6)


def test_multiscale_and_rbf_sum_over_scales():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    scales = kernels.wae_scales(4)
    assert scales[3] == pytest.approx(8.0)  # 2 * d * sigma^2 * 1
    got = float(kernels.mmd_unbiased(jnp.asarray(x), jnp.asarray(y), scales=scales))
    np.testing.assert_allclose(got, sum(np_mmd(x, y, c) for c in scales), rtol=1e-5)
    d2 = ((x[:, None] - y[None]) ** 2).sum(-1)
    np.testing.assert_allclose(kernels.rbf_kernel(jnp.asarray(x), jnp.asarray(y), (2.0,)), np.exp(-d2 / 2.0), rtol=1e-5)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_statistics(kernel):
    key1, key2, key3 = jax.random.split(jax.random.PRNGKey(0), 3)
    same = [float(kernels.mmd_unbiased(jax.random.normal(k, (256, 4)), jax.random.normal(jax.random.fold_in(k, 1), (256, 4)), kernel=kernel, scales=(8.0,)))
            for k in jax.random.split(key1, 10)]
    shifted = float(kernels.mmd_unbiased(jax.random.normal(key2, (256, 4)), jax.random.normal(key3, (256, 4)) + 1.0, kernel=kernel, scales=(8.0,)))
    assert abs(np.mean(same)) < 0.01  # unbiased: centred on 0 for one distribution
    assert shifted > 10 * max(abs(np.mean(same)), 0.005)
    assert shifted > 5 * np.std(same)


def _nets_and_params():
    return encoder_params(S, A, Z, N)


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.normal(size=s).astype(np.float32)
    skill_mask = (rng.random((B, 2 * N)) > 0.3).astype(np.float32)
    recon_mask = (rng.random((B, N + 1)) > 0.3).astype(np.float32)
    return WindowBatch(f(B, 2 * N, S), f(B, 2 * N, A), skill_mask, f(B, N, A + S + 1), f(B, N + 1, S),
                       f(B, N + 1, A), f(B, N + 1, S), f(B, N + 1), recon_mask, rng.random(B).astype(np.float32))


def test_skill_embedding_loss_matches_numpy():
    nets, params = _nets_and_params()
    batch, prior = _batch(), np.random.default_rng(5).normal(size=(B, Z)).astype(np.float32)
    loss, m = srtd.skill_embedding_loss(params["skill"], batch, jnp.asarray(prior), networks=nets, mmd_weight=3.0)
    d = (np.concatenate([batch.skill_obs, batch.skill_actions], -1) * batch.skill_mask[..., None]).reshape(B, -1)
    b = np_mlp(params["skill"]["encoder"], d)
    pred = np_mlp(params["skill"]["decoder"], np.concatenate([batch.skill_obs, np.repeat(b[:, None], 2 * N, 1)], -1), tanh=True)
    recon = (((pred - batch.skill_actions) ** 2).sum(-1) * batch.skill_mask).sum(-1).mean()
    np.testing.assert_allclose(float(m["skill_recon"]), recon, rtol=1e-4)
    np.testing.assert_allclose(float(loss), recon + 3.0 * np_mmd(b, prior, 16.0), rtol=1e-4)


def test_srtd_loss_matches_numpy_and_variants():
    nets, params = _nets_and_params()
    batch = _batch(1)
    rng = np.random.default_rng(6)
    b, prior = rng.normal(size=(B, Z)).astype(np.float32), rng.normal(size=(B, Z)).astype(np.float32)
    kw = dict(networks=nets, mmd_weight=2.0, skill_reg_weight=0.5)
    loss, m = srtd.srtd_loss(params["task"], jnp.asarray(b), batch, jnp.asarray(prior), **kw)
    z = np_mlp(params["task"]["encoder"], batch.task_window.reshape(B, -1))
    pred = np_mlp(params["task"]["decoder"], np.concatenate([batch.recon_obs, batch.recon_actions, np.repeat(z[:, None], N + 1, 1)], -1))
    target = np.concatenate([batch.recon_next_obs, batch.recon_rewards[..., None]], -1)
    l_te = (((pred - target) ** 2).sum(-1) * batch.recon_mask).sum(-1).mean()
    dist = ((z - b) ** 2).sum(-1)
    l_sr = (batch.quality * dist).mean()
    np.testing.assert_allclose(float(m["task_recon"]), l_te, rtol=1e-4)
    np.testing.assert_allclose(float(m["skill_reg"]), l_sr, rtol=1e-4)
    np.testing.assert_allclose(float(loss), l_te + 0.5 * l_sr + 2.0 * np_mmd(z, prior, 16.0), rtol=1e-4)
    # SRTD-Q: quality weight 1; TE: no skill regularisation
    _, mq = srtd.srtd_loss(params["task"], jnp.asarray(b), batch, jnp.asarray(prior), quality_weighted=False, **kw)
    np.testing.assert_allclose(float(mq["skill_reg"]), dist.mean(), rtol=1e-4)
    lte, _ = srtd.srtd_loss(params["task"], jnp.asarray(b), batch, jnp.asarray(prior), networks=nets, mmd_weight=2.0, skill_reg_weight=0.0)
    np.testing.assert_allclose(float(lte), l_te + 2.0 * np_mmd(z, prior, 16.0), rtol=1e-4)


def test_skill_regularization_stops_gradient_into_skill_embedding():
    z, b, q = jnp.ones((4, 3)), jnp.zeros((4, 3)), jnp.array([0.0, 0.5, 1.0, 1.0])
    gz, gb = jax.grad(lambda z, b: srtd.skill_regularization_loss(z, b, q)[0], argnums=(0, 1))(z, b)
    np.testing.assert_allclose(gb, 0.0)
    np.testing.assert_allclose(gz, 2 * q[:, None] * np.ones((4, 3)) / 4)  # d/dz mean(q |z - b|^2)


def test_encoder_loss_gradients_split_as_algorithm_1():
    """grad wrt phi of the joint loss == grad L_SE; grad wrt theta == grad L_SRTD given b."""
    nets, params = _nets_and_params()
    batch, key = _batch(2), jax.random.PRNGKey(0)
    kw = dict(networks=nets, latent_dim=Z, mmd_weight=1.0, skill_reg_weight=1.0, quality_weighted=True,
              kernel="imq", scales=(16.0,))
    # jitted: one program each instead of a compile per primitive, which dominates this test's time
    g = jax.jit(jax.grad(lambda p: srtd.encoder_loss(p, batch, key, **kw)[0]))(params)
    kb, kz = jax.random.split(key)
    g_se = jax.jit(jax.grad(lambda p: srtd.skill_embedding_loss(p, batch, jax.random.normal(kb, (B, Z)), networks=nets,
                                                                mmd_weight=1.0)[0]))(params["skill"])
    b = jax.jit(lambda p: srtd.skill_embed(p, batch, networks=nets))(params["skill"]["encoder"])
    g_srtd = jax.jit(jax.grad(lambda p: srtd.srtd_loss(p, b, batch, jax.random.normal(kz, (B, Z)), networks=nets,
                                                       mmd_weight=1.0)[0]))(params["task"])
    for got, want in zip(jax.tree.leaves(g), jax.tree.leaves({"skill": g_se, "task": g_srtd})):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_td3bc_losses_match_numpy():
    ac = make_actor_critic(A, (8,), (8,))
    D = S + Z
    rng = np.random.default_rng(7)
    f = lambda *s: rng.normal(size=s).astype(np.float32)
    batch = Transition(f(B, D), np.tanh(f(B, A)), f(B), f(B, D), np.full(B, 0.99, np.float32))
    ka, kc, kt, kn = jax.random.split(jax.random.PRNGKey(1), 4)
    actor, critic = ac.actor.init(ka, jnp.zeros((1, D))), ac.critic.init(kc, jnp.zeros((1, D)), jnp.zeros((1, A)))
    t_actor, t_critic = ac.actor.init(kt, jnp.zeros((1, D))), ac.critic.init(jax.random.fold_in(kt, 1), jnp.zeros((1, D)), jnp.zeros((1, A)))
    q = lambda p, o, a, name: np_mlp({"params": p["params"][name]}, np.concatenate([o, a], -1))[:, 0]
    loss, _ = td3bc.td3bc_critic_loss(critic, t_critic, t_actor, batch, kn, networks=ac, policy_noise=0.2, noise_clip=0.5)
    noise = np.clip(0.2 * np.asarray(jax.random.normal(kn, (B, A))), -0.5, 0.5)
    na = np.clip(np_mlp(t_actor, batch.next_obs, tanh=True) + noise, -1, 1)
    y = batch.reward + batch.discount * np.minimum(q(t_critic, batch.next_obs, na, "q1"), q(t_critic, batch.next_obs, na, "q2"))
    want = ((q(critic, batch.obs, batch.action, "q1") - y) ** 2).mean() + ((q(critic, batch.obs, batch.action, "q2") - y) ** 2).mean()
    np.testing.assert_allclose(float(loss), want, rtol=1e-4)
    loss, _ = td3bc.td3bc_actor_loss(actor, critic, batch, networks=ac, alpha=2.5)
    pi = np_mlp(actor, batch.obs, tanh=True)
    q1 = q(critic, batch.obs, pi, "q1")
    np.testing.assert_allclose(float(loss), -2.5 / np.abs(q1).mean() * q1.mean() + ((pi - batch.action) ** 2).mean(), rtol=1e-4)


def test_mmd_normaliser_does_not_overflow_at_large_batches():
    """n(n - 1) passes int32 from n = 46,341; traced (not run) at n = 46,342, the estimator builds its program."""
    x = jax.ShapeDtypeStruct((46_342, 2), jnp.float32)
    assert jax.eval_shape(lambda a, b: kernels.mmd_unbiased(a, b), x, x).shape == ()
