"""Updates run as jitted `lax.scan` chunks over a leading seed axis (vmap, lax.map or one shard per device), with
non-finite updates caught after the chunk. An update is `state, batch, key, step -> state, metrics`; a sampler is
`data, per_seed, key -> batch`. A step counter shared by all seeds is kept outside the states: per-seed counters
would turn the delayed actor update's lax.cond into a select that computes both branches under vmap."""
from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.core import devices, prng_lowering
from srtd_jax.core.options import NONFINITE_MODES, SEED_AXIS_STRATEGIES


def _all_finite(state, metrics) -> jax.Array:
    """True when every float leaf of the state is finite and no metric is infinite (NaN metrics are allowed:
    some updates report NaN for a part they skipped on purpose, e.g. TD3+BC's delayed actor).

    The leaves of a dtype are flattened into one vector and checked by one reduction: with a reduction per leaf
    (a TD3+BC state with its targets and Adam moments has dozens) XLA compiled a kernel each, and the checked
    replay of a tiny TD3+BC chunk took about 6 s to compile instead of about 2 s."""
    checks = [jnp.all(jnp.isfinite(x)) for x in _flat_by_dtype(state, inexact_only=True)]
    checks += [~jnp.any(jnp.isinf(m)) for m in _flat_by_dtype(metrics, inexact_only=False)]
    return jnp.all(jnp.stack(checks)) if checks else jnp.bool_(True)


def _flat_by_dtype(tree, inexact_only: bool) -> list:
    """The leaves of `tree`, raveled and concatenated into one vector per dtype (only float ones if asked)."""
    groups = {}
    for x in jax.tree.leaves(tree):
        x = jnp.asarray(x)
        if not inexact_only or jnp.issubdtype(x.dtype, jnp.inexact):
            groups.setdefault(x.dtype, []).append(jnp.ravel(x))
    return [jnp.concatenate(parts) for parts in groups.values()]


def make_chunk(update: Callable, sample: Callable, num_steps: int, strategy: str, *, on_nonfinite: str = "stop",
               mesh=None, cells: bool = False):
    """Runs `num_steps` of `update(state, sample(shared, per_seed, key), key, step)` in a lax.scan for every
    seed of a seed-stacked state (batches are sampled inside jit from the on-device data).

    Returns `chunk(states, keys, step0, shared, per_seed) -> (states, keys, metrics, fault)`:
    states/keys/per_seed carry a leading seed axis, `shared` (the dataset) and `step0` do not;
    metrics are per-seed means over the chunk (NaN entries, e.g. skipped actor steps, ignored), plus
    `nonfinite_updates`, the per-seed count of updates whose new state or metrics were not finite.
    fault: {'step': (seeds,) first such step or -1, 'metrics': that update's metrics}.
    strategy: 'vmap' batches the seeds into one program; 'map' runs them one after another (lax.map).
    on_nonfinite: 'stop' freezes a seed at its first non-finite update (state and key as they were just
    before it, so that update can be replayed) for the host to stop the run; 'skip' drops such updates and
    goes on with the next batch.
    mesh: a devices.seed_mesh; with several devices each runs its own seeds (shard_map).
    cells: two leading axes, cells then seeds (packed cells, srtd_jax/run_packed.py): states, keys and per_seed
    are (cells, seeds, ...), `shared` is (cells, ...), each cell's dataset shared by its seeds; the mesh splits the
    cells. With strategy 'map' each seed's arithmetic is that of its cell run alone.

    Two things keep the per-step overhead off the hot path (results/throughput.md):
    - Checks run after the chunk, not after every update: a fast scan without per-update checks runs first,
      and only if its final state or any step's metrics are non-finite is the chunk replayed from its inputs
      with the per-update checks, which then give the exact semantics above. This relies on a non-finite
      state value persisting to the end of the chunk, true of every update here (gradient steps, Adam
      moments and Polyak averages all carry a NaN or inf forward).
    - An update with a `period` attribute (TD3+BC's policy delay) accepts a static `phase=step % period`;
      when step0 and num_steps are multiples of the period, each scan iteration runs `period` updates with
      their phases known at trace time, so no lax.cond on the step counter is compiled."""
    if on_nonfinite not in NONFINITE_MODES:
        raise ValueError(f"unknown on_nonfinite {on_nonfinite!r}; valid: {', '.join(NONFINITE_MODES)}")
    prng_lowering.use_unrolled_threefry()  # same bits, faster on CPU
    period = int(getattr(update, "period", 1))
    seeded = (True, True, False, False, True)

    def build(checked: bool, group: int):
        def one_update(state, key, step, phase, shared, per_seed):
            next_key, k_batch, k_update = jax.random.split(key, 3)
            extra = {} if phase is None else {"phase": phase}
            new_state, metrics = update(state, sample(shared, per_seed, k_batch), k_update, step, **extra)
            return new_state, next_key, metrics

        def one_seed(state, key, step0, shared, per_seed):
            phases = [None] if group == 1 else list(range(group))
            metric_shapes = jax.eval_shape(lambda: one_update(state, key, step0, phases[0], shared, per_seed)[2])
            no_fault = (jnp.int32(-1), jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metric_shapes))

            def checked_step(carry, step, phase):
                state, key, (bad_step, bad_metrics) = carry
                new_state, next_key, metrics = one_update(state, key, step, phase, shared, per_seed)
                ok = _all_finite(new_state, metrics)
                first = ~ok & (bad_step < 0)
                fault = (jnp.where(first, step, bad_step),
                         jax.tree.map(lambda m, b: jnp.where(first, m, b), metrics, bad_metrics))
                keep = ok if on_nonfinite == "skip" else ok & (bad_step < 0)
                state = jax.tree.map(lambda n, o: jnp.where(keep, n, o), new_state, state)
                key = next_key if on_nonfinite == "skip" else jnp.where(keep, next_key, key)
                return (state, key, fault), (metrics, ~ok)

            def fast_step(carry, step, phase):
                state, key = carry
                state, key, metrics = one_update(state, key, step, phase, shared, per_seed)
                return (state, key), (metrics, ~_all_finite((), metrics))  # metrics only: scalars, cheap

            def body(carry, i):
                outs = []
                for j, phase in enumerate(phases):
                    step = step0 + i * group + j
                    carry, out = (checked_step if checked else fast_step)(carry, step, phase)
                    outs.append(out)
                return carry, jax.tree.map(lambda *x: jnp.stack(x), *outs)

            init = (state, key, no_fault) if checked else (state, key)
            carry, (metrics, bad) = jax.lax.scan(body, init, jnp.arange(num_steps // group))
            metrics = {**jax.tree.map(jnp.nanmean, metrics), "nonfinite_updates": jnp.sum(bad).astype(jnp.float32)}
            if checked:
                state, key, (bad_step, bad_metrics) = carry
                return state, key, metrics, {"step": bad_step, "metrics": bad_metrics}
            state, key = carry
            clean = ~jnp.any(bad) & _all_finite(state, {})
            return state, key, metrics, {"step": jnp.int32(-1), "metrics": no_fault[1]}, clean

        donate = (0,) if checked else ()  # the fast pass keeps its inputs for a replay
        lifted = (over_cells_and_seeds(one_seed, seeded, (True, True, False, True, True), strategy, mesh) if cells
                  else over_seeds(one_seed, seeded, strategy, mesh))
        return jax.jit(lifted, donate_argnums=donate)

    compiled = functools.cache(build)  # at most (fast, checked) x (per step, grouped); jit compiles on first call
    compiled(False, 1)  # built now so that a bad strategy or mesh fails here, not at the first chunk

    def chunk(states, keys, step0, shared, per_seed):
        aligned = period > 1 and num_steps % period == 0 and int(step0) % period == 0
        group = period if aligned else 1
        states_out, keys_out, metrics, fault, clean = compiled(False, group)(states, keys, step0, shared, per_seed)
        if bool(np.all(devices.to_host(clean))):
            return states_out, keys_out, metrics, fault
        del states_out, keys_out
        return compiled(True, group)(states, keys, step0, shared, per_seed)

    return chunk


def over_seeds(fn: Callable, seeded: tuple, strategy: str, mesh=None) -> Callable:
    """Lifts a one-seed `fn(*args)` to a leading seed axis on the args flagged in `seeded` (the others are shared).

    strategy: 'vmap' (one batched program) or 'map' (lax.map, seeds one after another, so each seed's arithmetic
    is the same whatever the number of seeds or devices). mesh: a devices.seed_mesh; with several devices each
    runs its own seeds (shard_map) and the outputs stay sharded over the seed axis."""
    if strategy not in SEED_AXIS_STRATEGIES:
        raise ValueError(f"unknown seed axis strategy {strategy!r}; valid: {', '.join(SEED_AXIS_STRATEGIES)}")
    if strategy == "vmap":
        batched = jax.vmap(fn, in_axes=tuple(0 if s else None for s in seeded))
    else:
        def batched(*args):
            def one(xs):
                it = iter(xs)
                return fn(*(next(it) if s else a for a, s in zip(args, seeded)))
            return jax.lax.map(one, tuple(a for a, s in zip(args, seeded) if s))
    if mesh is not None:
        batched = devices.shard_seeds(batched, mesh, seeded)
    return batched


def over_cells_and_seeds(fn: Callable, seeded: tuple, per_cell: tuple, strategy: str, mesh=None) -> Callable:
    """Lifts a one-seed `fn(*args)` to two leading axes, cells then seeds (packed cells, srtd_jax/run_packed.py):
    the args flagged in `seeded` carry both, those flagged only in `per_cell` (a cell's dataset, shared by its seeds)
    the cells axis, the others neither. The mesh splits the cells."""
    return over_seeds(over_seeds(fn, seeded, strategy), per_cell, strategy, mesh)


def stack_states(init_fn: Callable, keys: jax.Array):
    """Initialises one state per seed key and stacks them along a leading seed axis."""
    return jax.vmap(init_fn)(keys)
