"""Window gathering against a direct NumPy reading of the definitions; chunks, seeds and determinism."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.core import chunks
from srtd_jax.data import samplers, windows
from tests.tiny import encoder, learner

E, L, S, A, N = 3, 7, 2, 1, 2


def _data():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(E, L + 1, S)).astype(np.float32)
    return windows.DeviceData(obs=jnp.asarray(obs[:, :-1]), actions=jnp.asarray(rng.normal(size=(E, L, A)), jnp.float32),
                              rewards=jnp.asarray(rng.normal(size=(E, L)), jnp.float32), next_obs=jnp.asarray(obs[:, 1:]),
                              terminals=jnp.zeros((E, L)), quality=jnp.asarray([0.0, 0.5, 1.0]), task_ids=jnp.arange(E))


def test_task_window_zero_padded_before_episode_start():
    d = _data()
    e, t = jnp.array([1, 1, 2]), jnp.array([0, 1, L])
    tau = np.asarray(windows.task_window(d, e, t, N))
    assert tau.shape == (3, N, A + S + 1)
    np.testing.assert_array_equal(tau[0], 0.0)  # t = 0: nothing before the start
    np.testing.assert_array_equal(tau[1, 0], 0.0)  # k = -1 padded
    np.testing.assert_allclose(tau[1, 1], np.concatenate([d.actions[1, 0], d.next_obs[1, 0], d.rewards[1, 0, None]]))
    for j, k in enumerate(range(L - N, L)):  # t = L: the window after the last step
        np.testing.assert_allclose(tau[2, j], np.concatenate([d.actions[2, k], d.next_obs[2, k], d.rewards[2, k, None]]))


def test_sampled_windows_match_definitions():
    d = _data()
    # jitted (op by op, each gather would compile a program of its own), then indexed element by element in NumPy
    batch = jax.jit(windows.sample_windows, static_argnums=(2, 3))(d, jax.random.PRNGKey(0), 64, N)
    batch, d = jax.tree.map(np.asarray, batch), jax.tree.map(np.asarray, d)
    # recover (e, t) of each sample from the same key
    idx = np.asarray(jax.random.randint(jax.random.PRNGKey(0), (64,), 0, E * L))
    for i, (e, t) in enumerate(zip(idx // L, idx % L)):
        for j, k in enumerate(range(t - N, t + N)):
            valid = 0 <= k < L
            assert batch.skill_mask[i, j] == valid
            np.testing.assert_allclose(batch.skill_obs[i, j], d.obs[e, k] if valid else 0.0)
            np.testing.assert_allclose(batch.skill_actions[i, j], d.actions[e, k] if valid else 0.0)
        for j, k in enumerate(range(t - N, t + 1)):
            valid = k >= 0
            assert batch.recon_mask[i, j] == valid
            np.testing.assert_allclose(batch.recon_next_obs[i, j], d.next_obs[e, k] if valid else 0.0)
            np.testing.assert_allclose(batch.recon_rewards[i, j], d.rewards[e, k] if valid else 0.0)
        assert batch.quality[i] == d.quality[e]


def test_transitions_pair_state_with_its_conditioning():
    d = _data()
    cond = jnp.arange(E * (L + 1), dtype=jnp.float32).reshape(E, L + 1, 1)
    tr = windows.sample_transitions(d, cond, jax.random.PRNGKey(1), 32, 0.9)
    idx = np.asarray(jax.random.randint(jax.random.PRNGKey(1), (32,), 0, E * L))
    e, t = idx // L, idx % L
    np.testing.assert_allclose(tr.obs[:, -1], cond[e, t, 0])
    np.testing.assert_allclose(tr.next_obs[:, -1], cond[e, t + 1, 0])
    np.testing.assert_allclose(tr.next_obs[:, :S], d.next_obs[e, t])


def _encoder_setup(strategy, steps=6):
    _, update, init = encoder(obs_dim=S, action_dim=A, latent_dim=2, skill_hidden=(8,), task_hidden=(8,),
                              learning_rate=1e-3, mmd_weight=1.0, n=N)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    states = chunks.stack_states(init, keys)
    return chunks.make_chunk(update, samplers.window_sampler(16, N), steps, strategy), states, keys


@pytest.mark.slow
def test_vmap_and_map_seed_axes_agree_and_are_deterministic():
    d = _data()
    out, chunks_by = {}, {}
    for strategy in ("vmap", "map"):
        chunk, states, keys = _encoder_setup(strategy)
        states, _, metrics, _ = chunk(states, keys, jnp.int32(0), d, None)
        out[strategy], chunks_by[strategy] = (states, metrics), chunk
    for a, b in zip(jax.tree.leaves(out["vmap"]), jax.tree.leaves(out["map"])):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)
    _, states, keys = _encoder_setup("vmap")  # fresh states and keys, the same compiled chunk
    again = chunks_by["vmap"](states, keys, jnp.int32(0), d, None)[0]
    for a, b in zip(jax.tree.leaves(out["vmap"][0]), jax.tree.leaves(again)):
        np.testing.assert_array_equal(a, b)
    # the seeds did differ
    p = jax.tree.leaves(again.params)[0]
    assert not np.allclose(p[0], p[1])


def test_td3bc_delayed_actor_update_uses_shared_step():
    d = _data()
    lrn = learner(obs_dim=S, cond_dim=1, action_dim=A, actor_hidden=(8,), critic_hidden=(8,), learning_rate=1e-3,
                  tau=0.5, batch_size=8, policy_delay=2)
    update = lrn.update
    cond = jnp.zeros((E, L + 1, 1))
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    states = chunks.stack_states(lrn.init, keys)
    before = jax.tree.map(jnp.copy, states)
    one = chunks.make_chunk(update, lrn.sampler, 1, "vmap")
    s1, keys, m1, _ = one(states, keys, jnp.int32(1), d, jnp.stack([cond, cond]))  # odd step: critic only
    for a, b in zip(jax.tree.leaves(before.actor_params), jax.tree.leaves(s1.actor_params)):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(m1["actor_loss"]).all() and np.isfinite(m1["critic_loss"]).all()
    s1_copy = jax.tree.map(jnp.copy, s1)  # s1 is donated by the next call
    s2, _, m2, _ = one(s1, keys, jnp.int32(2), d, jnp.stack([cond, cond]))  # even step: actor and targets move
    s1 = s1_copy
    assert not np.allclose(jax.tree.leaves(s1.actor_params)[0], jax.tree.leaves(s2.actor_params)[0])
    assert not np.allclose(jax.tree.leaves(s1.target_critic_params)[0], jax.tree.leaves(s2.target_critic_params)[0])
    assert np.isfinite(m2["actor_loss"]).all()


def test_appending_a_step_gives_the_next_task_window():
    """append_step, used by imagination and both evaluations, slides tau_t into tau_{t+1} exactly as the dataset
    windows do, on NumPy and JAX arrays alike."""
    d = _data()
    e, t = jnp.repeat(jnp.arange(E), L), jnp.tile(jnp.arange(L), E)
    nxt = windows.append_step(windows.task_window(d, e, t, N), d.actions[e, t], d.next_obs[e, t], d.rewards[e, t])
    np.testing.assert_array_equal(nxt, windows.task_window(d, e, t + 1, N))
    host = windows.append_step(*(np.asarray(x) for x in (windows.task_window(d, e, t, N), d.actions[e, t],
                                                         d.next_obs[e, t], d.rewards[e, t])))
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    np.testing.assert_array_equal(host, nxt)
