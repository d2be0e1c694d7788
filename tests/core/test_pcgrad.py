"""PCGrad: non-conflicting gradients pass unchanged, opposite ones cancel, a hand-computed 2-task case."""
import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.core.pcgrad import pcgrad, project_conflicting
from srtd_jax.data import samplers


def test_non_conflicting_gradients_pass_unchanged():
    g = jnp.array([[1.0, 0.0, 2.0], [0.5, 1.0, 0.0], [0.0, 0.0, 3.0]])  # all pairwise dots >= 0
    np.testing.assert_allclose(project_conflicting(g, jax.random.PRNGKey(0)), g)


def test_opposite_gradients_cancel():
    g = jnp.array([[1.0, -2.0], [-1.0, 2.0]])
    np.testing.assert_allclose(project_conflicting(g, jax.random.PRNGKey(0)), 0.0, atol=1e-7)


def test_two_task_hand_computed():
    # g1 = (1, 0), g2 = (-1, 1), g1.g2 = -1:
    # g1' = g1 - (-1 / 2) g2 = (0.5, 0.5);  g2' = g2 - (-1 / 1) g1 = (0, 1);  mean = (0.25, 0.75)
    g = jnp.array([[1.0, 0.0], [-1.0, 1.0]])
    np.testing.assert_allclose(project_conflicting(g, jax.random.PRNGKey(3)), [[0.5, 0.5], [0.0, 1.0]], atol=1e-7)
    tree = {"w": jnp.array([[[1.0], [0.0]], [[-1.0], [1.0]]])}  # leaves with a leading task axis
    np.testing.assert_allclose(pcgrad(tree, jax.random.PRNGKey(3))["w"], [[0.25], [0.75]], atol=1e-7)


def test_projection_is_against_original_gradients_in_random_order():
    # three tasks: the result for task 0 depends on the order its conflicts are visited
    g = jnp.array([[1.0, 1.0], [-1.0, 0.2], [0.2, -1.0]])
    outs = {tuple(np.round(np.asarray(project_conflicting(g, jax.random.PRNGKey(k))[0]), 5)) for k in range(20)}
    assert len(outs) == 2  # two visiting orders of the two conflicting tasks
    for row in outs:  # after surgery task 0 no longer conflicts with the last task it was projected on
        assert np.isfinite(row).all()


def test_stratified_sampler_draws_each_tasks_own_episodes():
    from srtd_jax.data import windows
    E, L = 5, 6
    task_ids = np.array([0, 1, 1, 2, 2])
    d = windows.DeviceData(obs=jnp.arange(E * L, dtype=jnp.float32).reshape(E, L, 1), actions=jnp.zeros((E, L, 1)),
                           rewards=jnp.zeros((E, L)), next_obs=jnp.zeros((E, L, 1)), terminals=jnp.zeros((E, L)),
                           quality=jnp.zeros(E), task_ids=jnp.asarray(task_ids))
    sample = samplers.stratified_transition_sampler(30, 0.99, task_ids, 3)
    batch = sample(d, jnp.zeros((E, L + 1, 1)), jax.random.PRNGKey(0))
    assert batch.obs.shape == (3, 10, 2)
    episodes = np.asarray(batch.obs[..., 0]) // L  # obs value encodes the episode
    for t in range(3):
        assert set(episodes[t].astype(int)) <= set(np.flatnonzero(task_ids == t))
    assert set(episodes[1].astype(int)) == {1, 2}
    import pytest
    with pytest.raises(ValueError, match="none for task ids \\[3\\]"):
        samplers.stratified_transition_sampler(30, 0.99, task_ids, 4)


def _reference_pcgrad(g, orders):
    """Direct NumPy PCGrad: sequential projections of each task's running gradient onto the originals."""
    g = np.asarray(g, np.float64)
    out = g.copy()
    for i, order in enumerate(orders):
        gi = g[i].copy()
        for j in order:
            if j != i and gi @ g[j] < 0:
                gi -= (gi @ g[j]) / (g[j] @ g[j]) * g[j]
        out[i] = gi
    return out


def test_matches_a_direct_numpy_reference_on_random_gradients():
    key = jax.random.PRNGKey(7)
    g = jax.random.normal(jax.random.PRNGKey(8), (6, 50))
    orders = np.asarray(jax.vmap(lambda k: jax.random.permutation(k, 6))(jax.random.split(key, 6)))
    np.testing.assert_allclose(project_conflicting(g, key), _reference_pcgrad(g, orders), rtol=1e-4, atol=1e-5)


def test_pytree_pcgrad_is_the_mean_of_the_reference_rows():
    """The leaf-wise pcgrad (Gram matrix summed over leaves, one weight per task) equals the direct NumPy PCGrad
    on the concatenated gradients, averaged over tasks."""
    key = jax.random.PRNGKey(11)
    k1, k2 = jax.random.split(jax.random.PRNGKey(12))
    tree = {"a": jax.random.normal(k1, (5, 3, 4)), "b": jax.random.normal(k2, (5, 7))}
    flat = np.concatenate([np.asarray(tree["a"]).reshape(5, -1), np.asarray(tree["b"])], axis=1)
    orders = np.asarray(jax.vmap(lambda k: jax.random.permutation(k, 5))(jax.random.split(key, 5)))
    expected = _reference_pcgrad(flat, orders).mean(axis=0)
    out = pcgrad(tree, key)
    assert out["a"].shape == (3, 4) and out["b"].shape == (7,)
    np.testing.assert_allclose(np.concatenate([np.asarray(out["a"]).ravel(), np.asarray(out["b"])]), expected,
                               rtol=1e-4, atol=1e-5)
