"""train_and_evaluate: the host loop wiring data, the encoder phase, TD3+BC, evaluation and outputs."""
from __future__ import annotations

import json
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srtd_jax import augmentation, checkpointing, kernels, losses, reporting, train, train_state
from srtd_jax.config_check import check_config
from srtd_jax.data import dataset as ds
from srtd_jax.data import mixtures, mt10_generate, windows
from srtd_jax.envs.metaworld_mt10 import ACTION_DIM, MT10_TASKS
from srtd_jax.evaluation import evaluate, make_policy
from srtd_jax.learners import make_learner
from srtd_jax.methods import resolve
from srtd_jax.networks import make_encoder_networks

# Seed-axis strategy chosen by 'auto', per platform (README, "Seeds"; results/seed_axis.md). On CPU, lax.map
# kept 1.03x the single-seed rate at the paper's encoder shape where vmap fell to 0.75x, and tied elsewhere.
# On accelerators batching the seeds is what pays (not yet measured here: no GPU was available).
AUTO_SEED_AXIS = {"cpu": "map", "gpu": "vmap", "tpu": "vmap"}


def seed_axis_strategy(cfg) -> str:
    return AUTO_SEED_AXIS.get(jax.default_backend(), "map") if cfg.seed_axis == "auto" else cfg.seed_axis


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """Seed i's key is fold_in(PRNGKey(seed), i), independent of how many seeds run together."""
    base = jax.random.PRNGKey(seed)
    return jnp.stack([jax.random.fold_in(base, i) for i in range(num_seeds)])


def phase_keys(seed: int, num_seeds: int) -> tuple[jax.Array, jax.Array]:
    """(encoder keys, offline RL keys), each (num_seeds, 2): seed i's key split in 3, index 0 unused."""
    _, enc_keys, rl_keys = jax.vmap(lambda k: jax.random.split(k, 3))(seed_keys(seed, num_seeds)).transpose(1, 0, 2)
    return enc_keys, rl_keys


def load_training_data(cfg, log=print):
    """Generates (or reuses) the configured mixture and returns (assignment, EpisodeDataset)."""
    assignment = mixtures.assign(cfg.data.configuration, cfg.data.assignment_seed)
    settings = mt10_generate.settings_from_config(cfg.data)
    paths = mt10_generate.ensure_datasets(assignment, settings, cfg.data.data_dir, cfg.data.num_workers)
    parts = []
    for task, path in paths.items():
        data, _ = ds.load(path, expected_meta=settings.key(task, assignment[task]))
        parts.append(data)
    data = ds.concatenate(parts)
    ds.validate(data, where="training data", num_tasks=len(MT10_TASKS), min_length=cfg.encoder.n + 1)
    log(f"data: {data.num_episodes} episodes x {data.episode_length} steps; kinds "
        + ", ".join(f"{t}={k}" for t, k in assignment.items()))
    return assignment, data


def run_chunks(chunk_fn, states, keys, total_steps: int, chunk_steps: int, shared, per_seed, *, phase: str,
               writer, log, step_offset: int = 0, after_chunk=None):
    """Runs `total_steps` as jitted chunks, logging seed-mean metrics and throughput per chunk."""
    done, start = 0, time.time()
    while done < total_steps:
        states, keys, metrics = chunk_fn(states, keys, jnp.int32(done), shared, per_seed)
        done += chunk_steps
        metrics = {k: np.asarray(v) for k, v in metrics.items()}
        writer.write(phase, step_offset + done, metrics)
        rate = done / (time.time() - start)
        if done == chunk_steps or done >= total_steps or done % max(chunk_steps, total_steps // 10) < chunk_steps:
            shown = ", ".join(f"{k} {np.nanmean(v):.4g}" for k, v in sorted(metrics.items()))
            log(f"[{phase}] step {done}/{total_steps} ({rate:.0f} steps/s per seed-batch): {shown}")
        if after_chunk:
            after_chunk(done, states)
    return states, keys


def train_and_evaluate(cfg, workdir: str, log=print) -> dict:
    """Trains cfg.num_seeds seeds of the configured method and evaluates them on MT10.

    Writes into workdir: config.json, metrics.jsonl, TensorBoard events, checkpoints/ (orbax),
    summary.json. Returns the summary dict."""
    check_config(cfg)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(cfg.to_json_best_effort(indent=2))
    strategy = seed_axis_strategy(cfg)
    log(f"method {cfg.method}, {cfg.num_seeds} seeds ({strategy} over seeds), JAX backend {jax.default_backend()}")
    assignment, data = load_training_data(cfg, log)
    normalizer = windows.make_normalizer(data)
    device_data = windows.to_device(data, normalizer, cfg.data.reward_type, cfg.data.reward_scale)
    obs_dim, e = data.observations.shape[-1], cfg.encoder
    enc_keys, rl_keys = phase_keys(cfg.seed, cfg.num_seeds)
    writer = reporting.MetricWriter(workdir)

    method = resolve(cfg)
    if method["conditioning"] == "z":
        enc_nets, enc_params = train_encoders(cfg, method, device_data, enc_keys, obs_dim, strategy, writer, log)
        task_enc_params = enc_params["task"]["encoder"]
        # the dataset is an argument, not a closure, so it is not baked into the compiled program as a constant
        embed = jax.jit(jax.vmap(lambda p, d: train.embed_dataset(p, d, networks=enc_nets, n=e.n), in_axes=(0, None)))
        cond = embed(task_enc_params, device_data)
        cond_params, cond_dim = task_enc_params, e.latent_dim
        conditioner = lambda p, history, task_ids: losses.task_embed(p, history, networks=enc_nets)
    else:  # one-hot task id: no encoder phase
        enc_nets, enc_params, cond_dim = None, None, len(MT10_TASKS)
        one_hot = jax.nn.one_hot(device_data.task_ids, cond_dim)[:, None, :]
        cond = jnp.broadcast_to(one_hot, (cfg.num_seeds, data.num_episodes, data.episode_length + 1, cond_dim))
        cond_params = jnp.zeros((cfg.num_seeds,))  # the one-hot conditioner has no parameters
        conditioner = lambda p, history, task_ids: jax.nn.one_hot(task_ids, cond_dim)
    per_seed, aug_count = cond, 0
    if method["augmentation"]:
        aug_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(rl_keys)
        aug = _augment(cfg, method["augmentation"], enc_nets, enc_params, device_data, cond, aug_keys)
        per_seed = (cond, aug)
        ratio = cfg.augment.size_ratio
        aug_count = int(round(cfg.rl.batch_size * ratio / (1.0 + ratio)))  # uniform over data + augmentation
        log(f"augmentation ({method['augmentation']}): {aug.obs.shape[1]} transitions per seed "
            f"({ratio:g} x the {data.num_episodes * data.episode_length} offline ones); {aug_count} of every "
            f"{cfg.rl.batch_size}-row batch are augmented")

    # Phase 2: offline RL on [normalised s, c].
    r = cfg.rl
    learner = make_learner(cfg, method, obs_dim=obs_dim, cond_dim=cond_dim, action_dim=ACTION_DIM,
                           task_ids=data.task_ids[:, 0], num_tasks=len(MT10_TASKS), aug_count=aug_count)
    rl_states = train.stack_states(learner.init, rl_keys)
    rl_total = _round_up(r.steps, r.chunk_steps)
    act = make_policy(learner.networks.actor.apply, conditioner)
    eval_len = cfg.eval.episode_length or data.episode_length
    curve = []

    def run_eval(step, states):
        success = evaluate(act, states.actor_params, cond_params, num_seeds=cfg.num_seeds,
                           normalizer=normalizer, n=e.n, action_dim=ACTION_DIM,
                           episodes_per_task=cfg.eval.episodes_per_task, episode_length=eval_len,
                           reward_type=cfg.data.reward_type, reward_scale=cfg.data.reward_scale,
                           seed=cfg.eval.seed, log=log)
        rates = success.mean(-1)  # (seeds, tasks)
        curve.append({"step": step, "success": rates.tolist(), "mean": float(rates.mean())})
        writer.write("eval", step, {"success": rates.mean(-1), **{f"success/{t}": rates[:, i] for i, t in enumerate(MT10_TASKS)}})
        log(f"[eval] step {step}: mean success {rates.mean():.3f} (per seed {np.round(rates.mean(-1), 3).tolist()})")
        return rates

    def maybe_eval(done, states):
        if cfg.eval.every_steps and done % cfg.eval.every_steps < r.chunk_steps and done < rl_total:
            run_eval(done, states)

    log(f"{learner.name} ({method['network']} networks{', loss balancing' if method['loss_balancing'] else ''}): "
        f"{rl_total} steps, batch {r.batch_size}")
    rl_chunk = train.make_chunk(learner.update, learner.sampler, r.chunk_steps, strategy)
    rl_states, rl_keys = run_chunks(rl_chunk, rl_states, rl_keys, rl_total, r.chunk_steps, device_data, per_seed,
                                    phase=learner.name, writer=writer, log=log, after_chunk=maybe_eval)
    rates = run_eval(rl_total, rl_states)
    checkpointing.save_params(os.path.join(workdir, "checkpoints"),
                              {"encoder": enc_params if enc_params is not None else {}, "rl": rl_states})
    summary = reporting.summarize(rates, MT10_TASKS, assignment, curve, cfg)
    with open(os.path.join(workdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    writer.close()
    log(reporting.console_table(summary))
    return summary


def train_encoders(cfg, method, device_data, enc_keys, obs_dim, strategy, writer, log):
    """Phase 1: the skill and task WAEs (Algorithm 1) for every seed. -> (networks, seed-stacked params)."""
    e = cfg.encoder
    enc_nets = make_encoder_networks(obs_dim, ACTION_DIM, e.latent_dim, e.skill_hidden, e.task_hidden)
    enc_opt = optax.adam(e.learning_rate)
    scales = kernels.wae_scales(e.latent_dim) if e.multi_scale else tuple(e.kernel_scales)
    enc_update = train.make_encoder_update(
        enc_nets, enc_opt, latent_dim=e.latent_dim, mmd_weight=e.mmd_weight,
        skill_reg_weight=e.skill_reg_weight if method["skill_reg"] else 0.0,
        quality_weighted=method["quality_weighted"], kernel=e.kernel, scales=scales, weight_decay=e.weight_decay)
    enc_states = train.stack_states(lambda k: train_state.init_encoder_state(
        k, enc_nets, enc_opt, obs_dim, ACTION_DIM, e.latent_dim, e.n), enc_keys)
    num_transitions = device_data.obs.shape[0] * device_data.obs.shape[1]
    enc_total = _round_up(math.ceil(e.epochs * num_transitions / e.batch_size), e.chunk_steps)
    log(f"encoder: {enc_total} steps ({e.epochs} epochs of {num_transitions} transitions, batch {e.batch_size})")
    enc_chunk = train.make_chunk(enc_update, train.window_sampler(e.batch_size, e.n), e.chunk_steps, strategy)
    enc_states, _ = run_chunks(enc_chunk, enc_states, enc_keys, enc_total, e.chunk_steps, device_data, None,
                               phase="encoder", writer=writer, log=log)
    return enc_nets, enc_states.params


def _augment(cfg, kind, enc_nets, enc_params, device_data, cond, keys):
    """Seed-stacked augmentation table (jitted, vmapped over seeds): 'imaginary' (from the trained
    decoders, enc_params) or 'noise' (around the dataset, conditioned by cond)."""
    a = cfg.augment
    num = int(round(a.size_ratio * device_data.obs.shape[0] * device_data.obs.shape[1]))
    if kind == "imaginary":
        fn = lambda p, k, d: augmentation.imaginary_dataset(
            p, d, k, networks=enc_nets, n=cfg.encoder.n, num_transitions=num, horizon=a.horizon,
            z_noise=a.z_noise, gamma=cfg.rl.gamma)
        per_seed = enc_params
    else:
        fn = lambda c, k, d: augmentation.noise_dataset(
            d, c, k, num_transitions=num, state_std=a.state_std, action_std=a.action_std, gamma=cfg.rl.gamma)
        per_seed = cond
    return jax.jit(jax.vmap(fn, in_axes=(0, 0, None)))(per_seed, keys, device_data)


def _round_up(steps: int, chunk: int) -> int:
    return max(chunk, int(math.ceil(steps / chunk)) * chunk)
