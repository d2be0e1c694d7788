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

from srtd_jax import (
    atomic,
    augmentation,
    checkpointing,
    devices,
    kernels,
    losses,
    reporting,
    suites,
    train,
    train_state,
)
from srtd_jax.config_check import check_config, check_workdir_config
from srtd_jax.data import dataset as ds
from srtd_jax.data import mixtures, windows
from srtd_jax.evaluation import make_policy
from srtd_jax.learners import make_learner
from srtd_jax.methods import resolve
from srtd_jax.networks import make_encoder_networks

# Seed-axis strategy chosen by 'auto', per platform (README, "Seeds"; results/seed_axis.md). On CPU, lax.map
# kept 1.03x the single-seed rate at the paper's encoder shape where vmap fell to 0.75x, and tied elsewhere.
# On accelerators vmap batches the seeds into one program (map vs vmap not yet compared on a GPU).
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
    """Generates (or reuses) the configured mixture of the config's suite and returns (assignment, EpisodeDataset)."""
    suite = suites.get(cfg.suite)
    assignment = mixtures.assign(cfg.data.configuration, cfg.data.assignment_seed, tasks=suite.tasks)
    settings = suite.settings(cfg.data)
    paths = suite.ensure(assignment, settings, cfg.data)
    parts = []
    for task, path in paths.items():
        data, _ = ds.load(path, expected_meta=settings.key(task, assignment[task]))
        ds.validate(data, where=path, obs_dim=suite.obs_dim, action_dim=suite.action_dim)
        if data.episode_length != settings.episode_length:
            raise ds.DatasetError(f"dataset file {path} has episodes of {data.episode_length} steps, expected "
                                  f"{settings.episode_length} (data.episode_length)")
        wrong = np.unique(data.task_ids[data.task_ids != suite.tasks.index(task)])
        if wrong.size:
            raise ds.DatasetError(f"dataset file {path} is for task {task} (id {suite.tasks.index(task)}) but holds "
                                  f"task ids {wrong.tolist()}")
        parts.append(data)
    data = ds.concatenate(parts)
    ds.validate(data, where="training data", num_tasks=len(suite.tasks), min_length=cfg.encoder.n + 1)
    log(f"data: {data.num_episodes} episodes x {data.episode_length} steps; kinds "
        + ", ".join(f"{t}={k}" for t, k in assignment.items()))
    return assignment, data


class NonFiniteError(FloatingPointError):
    """A training update produced non-finite values; the message names phase, step, seed and loss."""


def run_chunks(chunk_fn, states, keys, total_steps: int, chunk_steps: int, shared, per_seed, *, phase: str,
               writer, log, start: int = 0, after_chunk=None, on_fault=None):
    """Runs steps `start` .. `total_steps` as jitted chunks, logging seed-mean metrics and throughput per chunk.

    after_chunk(done, states, keys) runs after every chunk (evaluation, checkpoints);
    on_fault(done, states, keys, fault) runs when a seed met a non-finite update in the chunk."""
    done, t0 = start, time.time()
    while done < total_steps:
        states, keys, metrics, fault = chunk_fn(states, keys, jnp.int32(done), shared, per_seed)
        done += chunk_steps
        metrics, fault = devices.to_host((metrics, fault))
        writer.write(phase, done, metrics)
        rate = (done - start) / (time.time() - t0)
        if done - start == chunk_steps or done >= total_steps or done % max(chunk_steps, total_steps // 10) < chunk_steps:
            shown = ", ".join(f"{k} {_seed_mean(v):.4g}" for k, v in sorted(metrics.items()))
            left = f", {duration(max(total_steps - done, 0) / rate)} left" if done < total_steps else ""
            log(f"[{phase}] step {done}/{total_steps} ({rate:.0f} steps/s per seed-batch{left}): {shown}")
        if (fault["step"] >= 0).any() and on_fault:
            on_fault(done, states, keys, fault)
        if after_chunk:
            after_chunk(done, states, keys)
    return states, keys


def duration(seconds: float) -> str:
    """A rough time for progress lines: '45 s', '12 min', '1 h 05 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _seed_mean(values) -> float:
    """Mean over seeds ignoring NaN (a part an update skipped on purpose); NaN when every entry is NaN."""
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def _nonfinite_handler(cfg, workdir: str, phase: str, log):
    """on_fault for run_chunks: 'stop' saves every seed's state and key as they were just before its first
    non-finite update, writes what went wrong, and raises NonFiniteError; 'skip' logs the skipped updates."""
    def handle(done, states, keys, fault):
        seeds = np.flatnonzero(fault["step"] >= 0)
        where = []
        for s in seeds:
            bad = [k for k, v in fault["metrics"].items() if not np.isfinite(v[s])]
            losses_txt = ", ".join(f"{k}={fault['metrics'][k][s]}" for k in bad) or "metrics finite, state not"
            where.append(f"seed {s} at step {fault['step'][s]} ({losses_txt})")
        if cfg.on_nonfinite == "skip":
            log(f"[{phase}] WARNING non-finite updates skipped up to step {done}: first of " + "; ".join(where))
            return
        first = int(fault["step"][seeds].min())
        path = os.path.join(workdir, "nonfinite", f"{phase}_step{first}")
        checkpointing.save_debug(path, {"states": states, "keys": keys})
        report = {"phase": phase, "chunk_end": done, "seeds": seeds.tolist(),
                  "step": fault["step"].tolist(),
                  "metrics": {k: [float(x) if np.isfinite(x) else str(x) for x in v] for k, v in fault["metrics"].items()},
                  "note": "states/keys: each faulty seed as it was just before its first non-finite update; "
                          "that update is chunk(states, keys, step) with one step from the saved key"}
        if devices.is_primary():
            reporting.write_json(os.path.join(workdir, "nonfinite", f"{phase}_step{first}.json"), report)
        raise NonFiniteError(
            f"{phase}: non-finite update: " + "; ".join(where) + f". The states and keys before it are saved in "
            f"{path} (report beside it); the last regular checkpoint is kept. Set on_nonfinite='skip' to drop "
            "such updates instead.")
    return handle


def _prepare_workdir(cfg, workdir: str, diff: list, command: str | None, log) -> None:
    """Writes config.json (keeping an earlier one, which differs from cfg by the allowed `diff`, as
    config.<k>.json) and appends the command. Runs only after every input has been validated."""
    path = os.path.join(workdir, "config.json")
    if not devices.is_primary():
        return
    os.makedirs(workdir, exist_ok=True)
    if diff:
        k = 1
        while os.path.exists(os.path.join(workdir, f"config.{k}.json")):
            k += 1
        os.replace(path, os.path.join(workdir, f"config.{k}.json"))
        log(f"config changed on resume (allowed; the earlier one is config.{k}.json): " + "; ".join(diff))
    if not os.path.exists(path):
        atomic.write_text(path, cfg.to_json_best_effort(indent=2))
    if command:
        with open(os.path.join(workdir, "command.txt"), "a") as f:
            f.write(command + "\n")


def train_and_evaluate(cfg, workdir: str, log=print, *, allow_config_change: bool = False,
                       command: str | None = None) -> dict:
    """Trains cfg.num_seeds seeds of the configured method and evaluates them on the config's suite (MT10 or drone
    navigation); resumable.

    Every input is validated before anything is written: the config (ConfigError), the workdir's earlier config
    (ConfigMismatchError unless allow_config_change), the data (DatasetError). Re-running on a workdir resumes
    from its latest checkpoint and ends with the same numbers as an uninterrupted run; a finished run returns its
    summary. Writes into workdir: config.json, command.txt (appended), metrics.jsonl, TensorBoard events,
    checkpoints/ (orbax), summary.json. Returns the summary dict."""
    check_config(cfg)
    diff = check_workdir_config(cfg, os.path.join(workdir, "config.json"), allow_config_change)
    strategy = seed_axis_strategy(cfg)
    mesh = devices.seed_mesh(cfg.num_seeds, cfg.devices)
    assignment, data = load_training_data(cfg, log)
    rl_total = _round_up(cfg.rl.steps, cfg.rl.chunk_steps)

    _prepare_workdir(cfg, workdir, diff, command, log)
    ckpt = checkpointing.RunCheckpointer(os.path.join(workdir, "checkpoints"), every_steps=cfg.checkpoint.every_steps,
                                         every_seconds=cfg.checkpoint.every_seconds, keep=cfg.checkpoint.keep)
    resume = ckpt.latest()
    summary_path = os.path.join(workdir, "summary.json")
    try:
        if resume and resume[1]["phase"] == "rl" and resume[1]["phase_step"] >= rl_total and os.path.exists(summary_path):
            log(f"{workdir}: run already complete ({summary_path})")
            with open(summary_path) as f:
                return json.load(f)
        return _train(cfg, workdir, log, ckpt, resume, data, assignment, strategy, mesh)
    finally:
        ckpt.close()


def _train(cfg, workdir, log, ckpt, resume, data, assignment, strategy, mesh) -> dict:
    """The two phases, evaluation and the summary, from the checkpoint `resume` (None: from the start)."""
    method, e, r, suite = resolve(cfg), cfg.encoder, cfg.rl, suites.get(cfg.suite)
    enc_total = encoder_steps(cfg, data.num_episodes * data.episode_length) if method["conditioning"] == "z" else 0
    rl_total = _round_up(r.steps, r.chunk_steps)
    summary_path = os.path.join(workdir, "summary.json")
    progress, meta = resume or (0, {"phase": "encoder", "phase_step": 0, "metrics_lines": 0, "curve": []})
    log(f"method {cfg.method}, {cfg.num_seeds} seeds over {mesh.size} {jax.default_backend()} device(s) "
        f"({strategy} over the seeds of a device), {jax.process_count()} process(es)"
        + (f"; resuming {meta['phase']} at step {meta['phase_step']}" if resume else ""))

    normalizer = windows.make_normalizer(data)
    device_data = devices.put(windows.to_device(data, normalizer, cfg.data.reward_type, cfg.data.reward_scale),
                              devices.replicated(mesh))
    prints = {"data": checkpointing.fingerprint(data), "normalizer": checkpointing.fingerprint(normalizer)}
    _check_fingerprints(meta, prints, resume)
    obs_dim = data.observations.shape[-1]
    host_enc_keys, host_rl_keys = phase_keys(cfg.seed, cfg.num_seeds)  # initial states are built from these on
    enc_keys, rl_keys = (devices.put(k, devices.seed_sharding(mesh)) for k in (host_enc_keys, host_rl_keys))
    writer = reporting.MetricWriter(workdir, keep_lines=meta["metrics_lines"], enabled=devices.is_primary())
    on_fault = lambda phase: _nonfinite_handler(cfg, workdir, phase, log)
    state_meta = lambda phase, step, curve=(): {"phase": phase, "phase_step": step, "metrics_lines": writer.lines,
                                                "curve": list(curve), "fingerprints": prints}

    # Phase 1: the skill and task WAEs (methods conditioned on z).
    enc_nets, enc_params = None, None
    if method["conditioning"] == "z":
        enc_nets, enc_update, enc_init = encoder_parts(cfg, method, obs_dim)
        enc_states = devices.put(train.stack_states(enc_init, host_enc_keys), devices.seed_sharding(mesh))
        if meta["phase"] == "encoder":
            if resume:
                restored = ckpt.restore_state(progress, {"encoder": enc_states, "keys": enc_keys})
                enc_states, enc_keys = restored["encoder"], restored["keys"]

            def save_encoder(done, states, keys):
                if ckpt.due(done, enc_total, e.chunk_steps):
                    ckpt.save(done, {"encoder": states, "keys": keys}, state_meta("encoder", done))
                    log(f"[checkpoint] encoder step {done}")

            enc_states = run_encoder_phase(cfg, enc_update, enc_states, enc_keys, device_data, strategy, writer, log,
                                           mesh=mesh, start=meta["phase_step"], after_chunk=save_encoder,
                                           on_fault=on_fault("encoder"))
        enc_params = enc_states.params  # replaced by the checkpoint's when resuming in phase 2

    # Phase 2: offline RL on [normalised s, c].
    aug_count = 0
    if method["augmentation"]:
        ratio = cfg.augment.size_ratio
        aug_count = int(round(r.batch_size * ratio / (1.0 + ratio)))  # uniform over data + augmentation
    cond_dim = e.latent_dim if method["conditioning"] == "z" else len(suite.tasks)
    learner = make_learner(cfg, method, obs_dim=obs_dim, cond_dim=cond_dim, action_dim=suite.action_dim,
                           task_ids=data.task_ids[:, 0], num_tasks=len(suite.tasks), aug_count=aug_count)
    rl_states = devices.put(train.stack_states(learner.init, host_rl_keys), devices.seed_sharding(mesh))
    saved = {"rl": rl_states, "keys": rl_keys, **({"encoder_params": enc_params} if enc_params is not None else {})}
    rl_start, curve = 0, []
    if meta["phase"] == "rl":
        saved = ckpt.restore_state(progress, saved)
        rl_start, curve = meta["phase_step"], list(meta["curve"])
    rl_states, rl_keys, enc_params = saved["rl"], saved["keys"], saved.get("encoder_params")

    if enc_params is not None:
        # the dataset is an argument, not a closure, so it is not baked into the compiled program as a constant
        embed = jax.jit(train.over_seeds(lambda p, d: train.embed_dataset(p, d, networks=enc_nets, n=e.n),
                                         (True, False), strategy, mesh))
        task_enc_params = enc_params["task"]["encoder"]
        cond = embed(task_enc_params, device_data)
        cond_params = task_enc_params
        conditioner = lambda p, history, task_ids: losses.task_embed(p, history, networks=enc_nets)
    else:  # one-hot task id: no encoder phase
        one_hot = jax.nn.one_hot(data.task_ids[:, 0], cond_dim)[:, None, :]
        cond = devices.put(np.broadcast_to(one_hot, (cfg.num_seeds, data.num_episodes, data.episode_length + 1,
                                                      cond_dim)), devices.seed_sharding(mesh))
        cond_params = np.zeros((cfg.num_seeds,))  # the one-hot conditioner has no parameters
        conditioner = lambda p, history, task_ids: jax.nn.one_hot(task_ids, cond_dim)
    per_seed = cond
    if method["augmentation"]:
        aug_keys = devices.put(jax.vmap(lambda k: jax.random.fold_in(k, 1))(host_rl_keys), devices.seed_sharding(mesh))
        aug = _augment(cfg, method["augmentation"], enc_nets, enc_params, device_data, cond, aug_keys, strategy, mesh)
        prints["augmentation"] = checkpointing.fingerprint(devices.to_host(aug))
        _check_fingerprints(meta, prints, resume and meta["phase"] == "rl")
        per_seed = (cond, aug)
        log(f"augmentation ({method['augmentation']}): {aug.obs.shape[1]} transitions per seed "
            f"({cfg.augment.size_ratio:g} x the {data.num_episodes * data.episode_length} offline ones); {aug_count} "
            f"of every {r.batch_size}-row batch are augmented")

    tasks = tuple(cfg.eval.tasks) or suite.tasks
    act = make_policy(learner.networks.actor.apply, conditioner)
    eval_len = cfg.eval.episode_length or data.episode_length
    host_cond_params = devices.to_host(cond_params)

    def run_eval(step, states):
        scores = suite.evaluate(act, devices.to_host(states.actor_params), host_cond_params, cfg, normalizer, tasks,
                                eval_len, log)
        rates = scores.mean(-1)  # (seeds, tasks): success rates (MT10) or normalised returns (drone)
        curve.append({"step": step, "success": rates.tolist(), "mean": float(rates.mean())})
        writer.write("eval", step, {"success": rates.mean(-1), **{f"success/{t}": rates[:, i] for i, t in enumerate(tasks)}})
        log(f"[eval] step {step}: mean {'success' if suite.name == 'mt10' else 'normalised return'} {rates.mean():.3f} (per seed {np.round(rates.mean(-1), 3).tolist()})")
        return rates

    def after_rl_chunk(done, states, keys):
        if cfg.eval.every_steps and done % cfg.eval.every_steps < r.chunk_steps and done < rl_total:
            run_eval(done, states)
        if ckpt.due(done, rl_total, r.chunk_steps):
            tree = {"rl": states, "keys": keys, **({"encoder_params": enc_params} if enc_params is not None else {})}
            ckpt.save(enc_total + done, tree, state_meta("rl", done, curve))
            log(f"[checkpoint] {learner.name} step {done}")

    log(f"{learner.name} ({method['network']} networks{', loss balancing' if method['loss_balancing'] else ''}): "
        f"{rl_total} steps, batch {r.batch_size}")
    rl_chunk = train.make_chunk(learner.update, learner.sampler, r.chunk_steps, strategy,
                                on_nonfinite=cfg.on_nonfinite, mesh=mesh)
    rl_states, rl_keys = run_chunks(rl_chunk, rl_states, rl_keys, rl_total, r.chunk_steps, device_data, per_seed,
                                    phase=learner.name, writer=writer, log=log, start=rl_start,
                                    after_chunk=after_rl_chunk, on_fault=on_fault(learner.name))
    rates = run_eval(rl_total, rl_states)
    summary = reporting.summarize(rates, tasks, assignment, curve, cfg, metric=suite.metric)
    summary["device"] = devices.describe(mesh)
    if devices.is_primary():
        reporting.write_json(summary_path, summary)
    writer.close()
    log(reporting.console_table(summary))
    return summary


def _check_fingerprints(meta: dict, prints: dict, resuming) -> None:
    """Refuses to resume from a checkpoint made with other data, normalisation or augmentation."""
    if not resuming:
        return
    for name, value in prints.items():
        saved = meta.get("fingerprints", {}).get(name)
        if saved is not None and saved != value:
            raise checkpointing.ResumeError(
                f"cannot resume: the {name} differs from the checkpointed run's (fingerprint {value} vs {saved}); "
                "the data files or the code that builds them changed. Start a new workdir.")


def encoder_steps(cfg, num_transitions: int) -> int:
    e = cfg.encoder
    return _round_up(math.ceil(e.epochs * num_transitions / e.batch_size), e.chunk_steps)


def trained_encoder(cfg, workdir: str, seed: int = 0):
    """A run's training data and seed `seed`'s trained encoder from its latest checkpoint, rebuilt as the run had
    them -> (EpisodeDataset, DeviceData with the states normalised by the whole dataset's statistics, encoder
    networks, encoder params {'skill', 'task'})."""
    _, data = load_training_data(cfg, log=lambda *_: None)
    device_data = windows.to_device(data, windows.make_normalizer(data), cfg.data.reward_type, cfg.data.reward_scale)
    nets, _, _ = encoder_parts(cfg, resolve(cfg), data.observations.shape[-1])
    return data, device_data, nets, checkpointing.latest_encoder_params(workdir, seed)


def encoder_parts(cfg, method, obs_dim: int):
    """(networks, update, init(key) -> EncoderState) of the skill and task WAEs (Algorithm 1)."""
    e = cfg.encoder
    action_dim = suites.get(cfg.suite).action_dim
    enc_nets = make_encoder_networks(obs_dim, action_dim, e.latent_dim, e.skill_hidden, e.task_hidden)
    enc_opt = optax.adam(e.learning_rate)
    scales = kernels.wae_scales(e.latent_dim) if e.multi_scale else tuple(e.kernel_scales)
    enc_update = train.make_encoder_update(
        enc_nets, enc_opt, latent_dim=e.latent_dim, mmd_weight=e.mmd_weight,
        skill_reg_weight=e.skill_reg_weight if method["skill_reg"] else 0.0,
        quality_weighted=method["quality_weighted"], kernel=e.kernel, scales=scales, weight_decay=e.weight_decay)
    init = lambda k: train_state.init_encoder_state(k, enc_nets, enc_opt, obs_dim, action_dim, e.latent_dim, e.n)
    return enc_nets, enc_update, init


def run_encoder_phase(cfg, enc_update, enc_states, enc_keys, device_data, strategy, writer, log, *, mesh=None,
                      start: int = 0, after_chunk=None, on_fault=None):
    """Phase 1 (Algorithm 1) from step `start` to its end as jitted chunks over the seed axis. -> states"""
    e = cfg.encoder
    transitions = device_data.obs.shape[0] * device_data.obs.shape[1]
    enc_total = encoder_steps(cfg, transitions)
    log(f"encoder: {enc_total} steps ({e.epochs} epochs of {transitions} transitions, batch {e.batch_size})")
    enc_chunk = train.make_chunk(enc_update, train.window_sampler(e.batch_size, e.n), e.chunk_steps, strategy,
                                 on_nonfinite=cfg.on_nonfinite, mesh=mesh)
    enc_states, _ = run_chunks(enc_chunk, enc_states, enc_keys, enc_total, e.chunk_steps, device_data, None,
                               phase="encoder", writer=writer, log=log, start=start, after_chunk=after_chunk,
                               on_fault=on_fault)
    return enc_states


def train_encoders(cfg, method, device_data, enc_keys, obs_dim, strategy, writer, log):
    """Phase 1 alone, without checkpoints (for studies that need trained encoders). -> (networks, params)"""
    enc_nets, enc_update, enc_init = encoder_parts(cfg, method, obs_dim)
    enc_states = run_encoder_phase(cfg, enc_update, train.stack_states(enc_init, enc_keys), enc_keys, device_data,
                                   strategy, writer, log)
    return enc_nets, enc_states.params


def _augment(cfg, kind, enc_nets, enc_params, device_data, cond, keys, strategy="vmap", mesh=None):
    """Seed-stacked augmentation table (jitted, over the seed axis): 'imaginary' (from the trained
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
    return jax.jit(train.over_seeds(fn, (True, True, False), strategy, mesh))(per_seed, keys, device_data)


def _round_up(steps: int, chunk: int) -> int:
    return max(chunk, int(math.ceil(steps / chunk)) * chunk)
