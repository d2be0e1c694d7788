"""Packed cells: datasets of different sizes on one leading axis draw exactly the steps, windows and transitions
each draws alone, and a learner chunk over cells x seeds ends with each cell's own numbers, bit for bit under
lax.map (every seed runs the arithmetic of its cell alone)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.core import chunks
from srtd_jax.data import packing, windows
from tests.tiny import learner

S, A, T = 4, 2, 3


def _data(seed, num_e, length, lengths=None):
    rng = np.random.default_rng(seed)
    f = lambda *shape: jnp.asarray(rng.normal(size=shape), jnp.float32)
    return windows.DeviceData(obs=f(num_e, length, S), actions=jnp.tanh(f(num_e, length, A)), rewards=f(num_e, length),
                              next_obs=f(num_e, length, S), terminals=jnp.zeros((num_e, length)),
                              quality=jnp.asarray(rng.uniform(size=num_e), jnp.float32),
                              task_ids=jnp.arange(num_e, dtype=jnp.int32) % T,
                              lengths=None if lengths is None else jnp.asarray(lengths, jnp.int32))


# jitted: op by op, a batch's gathers would each compile a program of their own
_windows = jax.jit(lambda d, k: windows.sample_windows(d, k, 32, 3))
_transitions = jax.jit(lambda d, c, k: windows.sample_transitions(d, c, k, 32, 0.9))
_draw = jax.jit(lambda d, k: windows.draw_steps(d, k, 64))
PARTS = [_data(0, 5, 7), _data(1, 3, 9, lengths=[9, 4, 6])]  # equal lengths; fewer, longer, unequal episodes


def test_packed_replicas_draw_the_steps_of_their_part():
    packed = packing.pack(PARTS)
    assert packed.obs.shape == (2, 5, 9, S) and packed.lengths.tolist() == [[7] * 5, [9, 4, 6, 0, 0]]
    np.testing.assert_array_equal(packing.replica_steps(packed), [35, 19])
    for r, part in enumerate(PARTS):
        replica = jax.tree.map(lambda x: x[r], packed)
        for k in range(5):
            key = jax.random.PRNGKey(k)
            for a, b in zip(_draw(part, key), _draw(replica, key)):
                np.testing.assert_array_equal(a, b)
        e, t = windows.draw_steps(replica, jax.random.PRNGKey(9), 4000)
        assert (t < np.asarray(replica.lengths)[np.asarray(e)]).all()  # never a padded step or episode
        # the encoders' windows and the learner's transitions: the same batches, padding never inside them
        key = jax.random.PRNGKey(3)
        for a, b in zip(_windows(part, key), _windows(replica, key)):
            np.testing.assert_array_equal(a, b)
        cond = jnp.asarray(np.random.default_rng(r).normal(size=part.obs.shape[:2] + (2,)), jnp.float32)
        cond = jnp.concatenate([cond, cond[:, -1:]], 1)
        padded_cond = packing.pack_per_step([cond], 5, 10)[0]
        for a, b in zip(_transitions(part, cond, key), _transitions(replica, padded_cond, key)):
            np.testing.assert_array_equal(a, b)
    cond = packing.pack_per_step([jnp.ones((5, 8, 3)), jnp.ones((3, 10, 3))], 5, 10)
    assert cond.shape == (2, 5, 10, 3) and float(cond[0, :, 8:].sum()) == 0.0
    with pytest.raises(ValueError, match="different observation or action sizes"):
        packing.pack([PARTS[0], _data(2, 3, 7)._replace(obs=jnp.zeros((3, 7, S + 1)))])


@pytest.mark.slow
@pytest.mark.default_emitters
def test_a_chunk_over_cells_and_seeds_gives_each_cells_numbers():
    """The launcher's layout (srtd_jax/run_packed.py): states (cells, seeds, ...), each cell's data shared by its
    seeds. 'map' does each seed's arithmetic alone, bit for bit; 'vmap' batches the cells into the matrix products,
    which may change the float reduction order on some backends (on this CPU it is bit-identical too), so it is held
    to float32 round-off. The cells alone run once, under 'map' (per seed, the arithmetic of a one-seed run)."""
    lrn = learner("td3bc", obs_dim=S, cond_dim=T, action_dim=A, num_tasks=T, actor_hidden=(8,), critic_hidden=(8,),
                  batch_size=16)
    seeds, steps = 2, 4
    keys = [jax.random.split(jax.random.PRNGKey(10 + p), seeds) for p in range(len(PARTS))]
    one_hot = [jnp.broadcast_to(jax.nn.one_hot(part.task_ids, T)[None, :, None],
                                (seeds, part.obs.shape[0], part.obs.shape[1] + 1, T)) for part in PARTS]
    alone = [chunks.make_chunk(lrn.update, lrn.sampler, steps, "map")(
        chunks.stack_states(lrn.init, keys[p]), keys[p], jnp.int32(0), part, one_hot[p])[0]
        for p, part in enumerate(PARTS)]
    num_e, length = max(p.obs.shape[0] for p in PARTS), max(p.obs.shape[1] for p in PARTS)
    cond = jnp.stack([packing.pad_axes(c, (seeds, num_e, length + 1)) for c in one_hot])
    states = jax.tree.map(lambda *x: jnp.stack(x), *[chunks.stack_states(lrn.init, k) for k in keys])
    for strategy in ("map", "vmap"):
        chunk = chunks.make_chunk(lrn.update, lrn.sampler, steps, strategy, cells=True)
        packed = chunk(states, jnp.stack(keys), jnp.int32(0), packing.pack(PARTS), cond)[0]
        for p in range(len(PARTS)):
            for a, b in zip(jax.tree.leaves(alone[p]), jax.tree.leaves(jax.tree.map(lambda x: x[p], packed))):
                if strategy == "map":
                    np.testing.assert_array_equal(a, b)
                else:
                    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_packed_task_stratified_batches_are_each_cells_own():
    """PCGrad's and SoftMod's sampler: a packed cell passes its own task table, padded, and whether its data has
    every episode at full length; it then draws the batch it draws alone."""
    from srtd_jax.data import samplers
    parts = [PARTS[0]._replace(task_ids=jnp.array([0, 1, 2, 0, 1], jnp.int32)), PARTS[1]]
    num_e, length = 5, 9
    packed = packing.pack(parts)
    for r, part in enumerate(parts):
        alone = samplers.stratified_transition_sampler(12, 0.9, np.asarray(part.task_ids), T)
        table, counts = samplers.stratified_table(np.asarray(part.task_ids), T)
        assert table.shape[1] <= 2 and counts.tolist() == ([2, 2, 1] if r == 0 else [1, 1, 1])
        cond = jnp.asarray(np.random.default_rng(r).normal(size=part.obs.shape[:2] + (2,)), jnp.float32)
        cond = jnp.concatenate([cond, cond[:, -1:]], 1)
        per_seed = (packing.pad_axes(cond, (num_e, length + 1)), jnp.pad(jnp.asarray(table), ((0, 0), (0, 3))),
                    jnp.asarray(counts), jnp.asarray(part.lengths is None))
        replica = jax.tree.map(lambda x: x[r], packed)
        key = jax.random.PRNGKey(7)
        a = jax.jit(alone)(part, cond, key)
        b = jax.jit(alone)(replica, per_seed, key)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
