"""Train updates (`state, batch, key, step -> state, metrics`), batch samplers, lax.scan chunks over a
seed axis, and task-embedding of a whole dataset. No Python loops over steps inside jit."""
from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srtd_jax import devices, losses, pcgrad, prng_lowering
from srtd_jax.data import windows
from srtd_jax.networks import ActorCritic, EncoderNetworks
from srtd_jax.train_state import EncoderState, TD3BCState

SEED_AXIS_STRATEGIES = ("vmap", "map")
prng_lowering.use_unrolled_threefry()  # same bits, faster on CPU


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


def make_encoder_update(networks: EncoderNetworks, optimizer, *, latent_dim: int, mmd_weight: float,
                        skill_reg_weight: float, quality_weighted: bool, kernel: str, scales, weight_decay: float):
    """Algorithm 1 update of the skill and task WAEs: `update(state, batch, key, step) -> (state, metrics)`
    (step unused; the signature is shared with every update that `make_chunk` runs)."""
    loss_fn = functools.partial(losses.encoder_loss, networks=networks, latent_dim=latent_dim,
                                mmd_weight=mmd_weight, skill_reg_weight=skill_reg_weight,
                                quality_weighted=quality_weighted, kernel=kernel, scales=tuple(scales),
                                weight_decay=weight_decay)
    apply = gradient_update(loss_fn, optimizer)

    def update(state: EncoderState, batch, key, step):
        del step
        params, opt_state, metrics = apply(state.params, state.opt_state, batch, key)
        return EncoderState(params, opt_state), metrics

    return update


def window_sampler(batch_size: int, n: int):
    """`sample(data, per_seed, key) -> WindowBatch` for the encoder phase."""
    return lambda data, per_seed, key: windows.sample_windows(data, key, batch_size, n)


def transition_sampler(batch_size: int, gamma: float, aug_count: int = 0):
    """`sample(data, per_seed, key) -> Transition` on [s, c]. per_seed is cond (E, L + 1, C) or
    (cond, augmentation table of Transitions), in which case `aug_count` rows of every batch come from it."""
    def sample(data, per_seed, key):
        cond, aug = per_seed if isinstance(per_seed, tuple) else (per_seed, None)
        return windows.sample_transitions(data, cond, key, batch_size, gamma, aug, aug_count if aug is not None else 0)
    return sample


def make_td3bc_update(networks: ActorCritic, actor_opt, critic_opt, *, tau: float, alpha: float,
                      policy_noise: float, noise_clip: float, policy_delay: int, gradient_surgery: bool = False):
    """TD3+BC update `update(state, batch, key, step, phase=None) -> (state, metrics)` on a Transition batch.
    The actor and the targets move every `policy_delay` steps: on `step % policy_delay == 0` through lax.cond,
    or, when the caller knows the phase `step % policy_delay` at trace time (make_chunk, `update.period`),
    on `phase == 0` without a cond.

    gradient_surgery: the batch carries a leading task axis (T, B / T, ...) from a task-stratified sampler, and
    the critic and actor gradients are combined over tasks by PCGrad."""
    critic_update = gradient_update(functools.partial(
        losses.td3bc_critic_loss, networks=networks, policy_noise=policy_noise, noise_clip=noise_clip), critic_opt,
        surgery_batch_arg=2 if gradient_surgery else None)
    actor_update = gradient_update(functools.partial(losses.td3bc_actor_loss, networks=networks, alpha=alpha), actor_opt,
                                   surgery_batch_arg=1 if gradient_surgery else None)
    polyak = lambda target, online: jax.tree.map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)

    def update(state: TD3BCState, batch, key, step, phase: int | None = None):
        k_noise, k_critic, k_actor = jax.random.split(key, 3) if gradient_surgery else (key, None, None)
        critic, critic_opt_state, c_metrics = critic_update(
            state.critic_params, state.critic_opt_state, state.target_critic_params, state.target_actor_params, batch,
            k_noise, key=k_critic)

        def delayed(operand):
            actor, actor_opt_state = operand
            actor, actor_opt_state, a_metrics = actor_update(actor, actor_opt_state, critic, batch, key=k_actor)
            return actor, actor_opt_state, polyak(state.target_actor_params, actor), \
                polyak(state.target_critic_params, critic), a_metrics

        def skip(operand):
            actor, actor_opt_state = operand
            nan = jnp.full((), jnp.nan)  # no actor update this step; the chunk average ignores NaNs
            return actor, actor_opt_state, state.target_actor_params, state.target_critic_params, \
                {"actor_loss": nan, "bc_loss": nan}

        operand = (state.actor_params, state.actor_opt_state)
        if phase is None:
            actor, actor_opt_state, t_actor, t_critic, a_metrics = jax.lax.cond(
                step % policy_delay == 0, delayed, skip, operand)
        else:
            actor, actor_opt_state, t_actor, t_critic, a_metrics = (delayed if phase == 0 else skip)(operand)
        metrics = {**c_metrics, **a_metrics, "imagined_fraction": jnp.mean(batch.imagined)}
        return TD3BCState(actor, critic, t_actor, t_critic, actor_opt_state, critic_opt_state), metrics

    update.period = policy_delay
    return update


def stratified_transition_sampler(batch_size: int, gamma: float, task_ids, num_tasks: int):
    """`sample(data, cond, key) -> Transition` with a leading task axis (T, batch_size // T, ...): every task's
    rows come from its own episodes (for per-task losses). task_ids: (E,) host array of episode task ids."""
    task_ids = np.asarray(task_ids)
    counts = np.array([(task_ids == t).sum() for t in range(num_tasks)])
    if (counts == 0).any():
        raise ValueError(f"task-stratified sampling needs episodes of every task; none for task ids {np.flatnonzero(counts == 0).tolist()}")
    table = np.zeros((num_tasks, counts.max()), np.int32)
    for t in range(num_tasks):
        idx = np.flatnonzero(task_ids == t)
        table[t] = np.resize(idx, counts.max())  # padded by repetition; draws use only the first counts[t]
    table, counts, per_task = jnp.asarray(table), jnp.asarray(counts), batch_size // num_tasks

    def sample(data, cond, key):
        length = data.obs.shape[1]
        k_e, k_t = jax.random.split(key)
        slot = jax.random.randint(k_e, (num_tasks, per_task), 0, counts[:, None])
        e = jnp.take_along_axis(table, slot, axis=1)
        t = jax.random.randint(k_t, (num_tasks, per_task), 0, length)
        return windows.transition_at(data, cond, e, t, gamma)

    return sample


NONFINITE_MODES = ("stop", "skip")


def _all_finite(state, metrics) -> jax.Array:
    """True when every float leaf of the state is finite and no metric is infinite (NaN metrics are allowed:
    some updates report NaN for a part they skipped on purpose, e.g. TD3+BC's delayed actor)."""
    checks = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(state) if jnp.issubdtype(x.dtype, jnp.inexact)]
    checks += [~jnp.any(jnp.isinf(m)) for m in jax.tree.leaves(metrics)]
    return jnp.all(jnp.stack(checks))


def make_chunk(update: Callable, sample: Callable, num_steps: int, strategy: str, *, on_nonfinite: str = "stop",
               mesh=None):
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
        return jax.jit(over_seeds(one_seed, seeded, strategy, mesh), donate_argnums=donate)

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


def embed_dataset(task_encoder_params, data: windows.DeviceData, *, networks: EncoderNetworks, n: int) -> jax.Array:
    """z_t = q_theta(tau_t) for every episode and t = 0 .. L (t = L conditions the last next-state).
    Single seed: params unstacked. -> (E, L + 1, Z)"""
    length = data.obs.shape[1]
    t = jnp.arange(length + 1)

    def one_episode(e):
        tau = windows.task_window(data, jnp.full_like(t, e), t, n)
        return losses.task_embed(task_encoder_params, tau, networks=networks)

    return jax.lax.map(one_episode, jnp.arange(data.obs.shape[0]))


def stack_states(init_fn: Callable, keys: jax.Array):
    """Initialises one state per seed key and stacks them along a leading seed axis."""
    return jax.vmap(init_fn)(keys)
