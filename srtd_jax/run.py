"""train_and_evaluate: one run as named stages in order, data → encoders → conditioning → augmentation → learner →
evaluation → summary. The config is read here; the stages below take explicit arguments."""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np

from srtd_jax.agents import augmentation, conditioning, srtd
from srtd_jax.agents.learners import Learner, make_learner
from srtd_jax.agents.methods import Method, resolve
from srtd_jax.benchmarks import registry
from srtd_jax.benchmarks.loading import load_training_data
from srtd_jax.core import chunks, devices
from srtd_jax.core.seeds import run_keys, seed_axis_strategy
from srtd_jax.data import windows
from srtd_jax.data.splits import holdout_split
from srtd_jax.runtime import checkpointing, encoder_reuse, metric_log, reporting, run_plot
from srtd_jax.runtime.config_check import as_dict, check_against_data, check_config, check_workdir_config
from srtd_jax.runtime.encoder_phase import encoder_parts, encoder_steps, run_encoder_phase
from srtd_jax.runtime.imagination_report import diagnostic_episodes, imagination_summary
from srtd_jax.runtime.loop import NonFiniteGuard, evaluation_due, round_up, run_chunks
from srtd_jax.runtime.workdir import check_fingerprints, locked, prepare_workdir


class _Run(NamedTuple):
    """What every stage of one run shares: where it writes, how its seeds are laid out, where it resumes."""

    workdir: str
    log: Callable
    mesh: Any
    strategy: str
    on_nonfinite: str
    skip_limit: float
    ckpt: checkpointing.RunCheckpointer
    progress: int             # the checkpoint to resume from (0: none)
    meta: dict                # its metadata: phase, phase_step, metrics_lines, curve, fingerprints
    resuming: bool
    writer: metric_log.MetricWriter
    prints: dict              # fingerprints of the data, normaliser and augmentation
    skipped: dict             # non-finite updates skipped so far, per phase and seed

    def on_fault(self, phase: str):
        return NonFiniteGuard(self.on_nonfinite, self.skip_limit, self.workdir, phase, self.log, self.skipped)

    def state_meta(self, phase: str, step: int, curve=()) -> dict:
        return {"phase": phase, "phase_step": step, "metrics_lines": self.writer.lines, "curve": list(curve),
                "fingerprints": self.prints, "skipped": self.skipped}

    def seeded(self, tree):
        return devices.put(tree, devices.seed_sharding(self.mesh))


def train_and_evaluate(cfg, workdir: str, log=print, *, allow_config_change: bool = False,
                       command: str | None = None) -> dict:
    """Trains cfg.num_seeds seeds of the configured method and evaluates them on the config's suite (MT10 or drone
    navigation); resumable.

    Every input is validated before anything is written: the config (ConfigError), the workdir's earlier config
    (ConfigMismatchError unless allow_config_change), the data (DatasetError). Then the workdir is locked: another
    live launcher on it raises WorkdirInUseError. Re-running on a workdir resumes from its latest checkpoint and
    ends with the same numbers as an uninterrupted run; a finished run returns its summary. Writes into workdir:
    .lock, config.json, command.txt (appended), metrics.jsonl, TensorBoard events, checkpoints/ (orbax),
    summary.json. Returns the summary dict."""
    check_config(cfg)
    check_workdir_config(cfg, os.path.join(workdir, "config.json"), allow_config_change)  # fail early
    method = resolve(cfg.method, cfg.rl.learner, cfg.rl.network)
    if cfg.encoder.reuse_from:
        encoder_reuse.check_source(cfg, method)
    suite = registry.get(cfg.suite)
    strategy = seed_axis_strategy(cfg.seed_axis)
    mesh = devices.seed_mesh(cfg.num_seeds, cfg.devices)
    e = cfg.encoder

    # data
    assignment, data = load_training_data(cfg.suite, cfg.data, e.n + 1, log, run_seed=cfg.seed)
    check_against_data(cfg, method, data.num_steps, data.episode_length)
    with (locked(workdir, log) if devices.is_primary() else contextlib.nullcontext()):
        # again under the lock: another launcher may have written the workdir since the first check
        diff = check_workdir_config(cfg, os.path.join(workdir, "config.json"), allow_config_change)
        return _stages(cfg, workdir, log, command, diff, method, suite, strategy, mesh, assignment, data)


def _stages(cfg, workdir, log, command, diff, method, suite, strategy, mesh, assignment, data) -> dict:
    """The stages, once the inputs are checked and the workdir is locked."""
    e, r, a = cfg.encoder, cfg.rl, cfg.augment
    rl_total = round_up(r.steps, r.chunk_steps)
    prepare_workdir(cfg, workdir, diff, command, log)
    ckpt = checkpointing.RunCheckpointer(os.path.join(workdir, "checkpoints"), every_steps=cfg.checkpoint.every_steps,
                                         every_seconds=cfg.checkpoint.every_seconds, keep=cfg.checkpoint.keep)
    try:
        resume = ckpt.latest()
        summary_path = os.path.join(workdir, "summary.json")
        if resume and resume[1]["phase"] == "rl" and resume[1]["phase_step"] >= rl_total \
                and os.path.exists(summary_path):
            log(f"{workdir}: run already complete ({summary_path})")
            with open(summary_path) as f:
                summary = json.load(f)
            log(reporting.console_table(summary))
            return summary
        progress, meta = resume or (0, {"phase": "encoder", "phase_step": 0, "metrics_lines": 0, "curve": []})
        log(f"method {cfg.method}, {cfg.num_seeds} seeds over {mesh.size} {jax.default_backend()} device(s) "
            f"({strategy} over the seeds of a device), {jax.process_count()} process(es)"
            + (f"; resuming {meta['phase']} at step {meta['phase_step']}" if resume else ""))
        normalizer = windows.make_normalizer(data)
        device_data = devices.put(windows.device_data(data, normalizer, cfg.data, e.quality_weight, r.gamma),
                                  devices.replicated(mesh))
        prints = {"data": checkpointing.fingerprint(data), "normalizer": checkpointing.fingerprint(normalizer)}
        check_fingerprints(meta, prints, resume)
        run = _Run(workdir, log, mesh, strategy, cfg.on_nonfinite, cfg.nonfinite_skip_limit, ckpt, progress, meta,
                   bool(resume),
                   metric_writer(cfg, workdir, meta["metrics_lines"]),
                   prints, dict(meta.get("skipped", {})))
        keys = run_keys(cfg.seed, cfg.num_seeds, cfg.key_streams)  # host keys of every random use
        obs_dim, task_ids = data.observations.shape[-1], data.task_ids[:, 0]
        transitions = data.num_steps
        cond_dim = e.latent_dim if method.encoders else len(suite.tasks)
        learner, aug_count = learner_stage(cfg, method, suite, obs_dim, cond_dim, task_ids)

        # encoders (methods conditioned on z), and the learner's state: both as the checkpoint left them. The
        # encoders may leave out some episodes of each task, to check their imagination on data they never fit.
        enc_nets, enc_params = None, None
        enc_episodes, held_out = holdout_split(task_ids, e.holdout_fraction if method.encoders else 0.0, cfg.data.seed)
        enc_data = windows.select_episodes(device_data, enc_episodes) if len(held_out) else device_data
        enc_transitions = windows.num_steps(enc_data)
        if method.encoders:
            if len(held_out):
                log(f"encoders: {len(held_out)} of {data.num_episodes} episodes held out (encoder.holdout_fraction)")
            enc_nets, enc_params = _encoders(run, e, method, keys.encoder_init, keys.encoder_chain, enc_data,
                                             obs_dim, suite.action_dim, enc_transitions)
        rl_states, rl_keys, enc_params, rl_start, curve = _learner_state(run, learner, keys.rl_init, keys.rl_chain,
                                                                         enc_params)

        # conditioning: z_t of every dataset step (or the one-hot task), and what the policy recomputes online
        cond, cond_params, conditioner = conditioning_stage(method, enc_nets, enc_params, device_data, e.n,
                                                            task_ids, cond_dim, cfg.num_seeds, data.episode_length,
                                                            strategy, mesh)

        # augmentation (SRTD+ID, SRTD+N): a table per seed that a share of every batch draws from
        over_seeds = lambda fn, seeded: chunks.over_seeds(fn, seeded, strategy, mesh)
        per_seed = cond
        if method.augmentation:
            aug = augmentation_stage(cfg, method, enc_nets, enc_params, cond, device_data,
                                     run.seeded(keys.augmentation), over_seeds)
            prints["augmentation"] = checkpointing.fingerprint(devices.to_host(aug))
            check_fingerprints(meta, prints, resume and meta["phase"] == "rl")
            per_seed = (cond, aug)
            log(f"augmentation ({method.augmentation}): {aug.obs.shape[1]} transitions per seed "
                f"({a.size_ratio:g} x the {transitions} offline ones); {aug_count} "
                f"of every {r.batch_size}-row batch are augmented")

        # learner, with evaluation along the way
        tasks = eval_tasks(cfg, assignment)
        act = conditioning.make_policy(learner.networks.actor.apply, conditioner)
        evaluate_actor = make_evaluate(cfg, suite, act, devices.to_host(cond_params), normalizer, tasks,
                                       cfg.eval.episode_length or data.episode_length, run.writer, curve, log)
        evaluate = lambda step, states: evaluate_actor(step, states.actor_params)

        log(f"{learner.name} ({method.network} networks{', loss balancing' if method.loss_balancing else ''}): "
            f"{rl_total} steps, batch {r.batch_size}")
        enc_total = encoder_steps(e, enc_transitions) if method.encoders and not e.reuse_from else 0
        rl_states = _train_learner(run, learner, rl_states, rl_keys, rl_start, rl_total, r.chunk_steps, device_data,
                                   per_seed, enc_params, enc_total, curve, evaluate, cfg.eval.every_steps)

        # evaluation and summary
        rates = evaluate(rl_total, rl_states)
        summary = summarize(cfg, suite, method, learner.name, rates, tasks, assignment, curve, run.skipped, mesh)
        if method.augmentation == "imaginary" and cfg.eval.imagination_starts:
            summary["imagination"] = imagination_stage(cfg, enc_nets, enc_params, device_data, data, normalizer,
                                                       enc_episodes, held_out, run.seeded(keys.diagnostics), suite,
                                                       over_seeds)
        write_summary(workdir, summary, run.writer, suite, log)
        return summary
    finally:
        ckpt.close()


def metric_writer(cfg, workdir: str, keep_lines: int) -> metric_log.MetricWriter:
    """metrics.jsonl, TensorBoard with the config, and W&B when logging.wandb (primary process only)."""
    g = cfg.logging
    return metric_log.MetricWriter(workdir, keep_lines=keep_lines, enabled=devices.is_primary(), config=as_dict(cfg),
                                   wandb=metric_log.WandbSettings(g.wandb_project, g.wandb_mode) if g.wandb else None)


def _encoders(run: _Run, enc, method: Method, init_keys, chain_keys, device_data, obs_dim: int, action_dim: int,
              num_transitions: int):
    """Phase 1 (Algorithm 1) from where the checkpoint left it. -> (networks, seed-stacked params); past phase 1
    the params are the initial ones until _learner_state restores the trained ones beside the learner's state."""
    nets, update, init = encoder_parts(enc, method, obs_dim, action_dim)
    if enc.reuse_from:
        run.log(f"encoders: the trained ones of {enc.reuse_from} (encoder.reuse_from)")
        return nets, run.seeded(encoder_reuse.load(enc.reuse_from, len(init_keys)))
    states = run.seeded(chunks.stack_states(init, init_keys))
    if run.meta["phase"] != "encoder":
        return nets, states.params
    keys = run.seeded(chain_keys)
    if run.resuming:
        restored = run.ckpt.restore_state(run.progress, {"encoder": states, "keys": keys})
        states, keys = restored["encoder"], restored["keys"]
    total = encoder_steps(enc, num_transitions)

    def save(done, states, keys):
        if run.ckpt.save(done, {"encoder": states, "keys": keys}, run.state_meta("encoder", done)):
            run.log(f"[checkpoint] encoder step {done}")

    def save_if_due(done, states, keys):
        if run.ckpt.due(done, total, enc.chunk_steps):
            save(done, states, keys)

    states = run_encoder_phase(enc, run.on_nonfinite, update, states, keys, device_data, run.strategy, run.writer,
                               run.log, mesh=run.mesh, start=run.meta["phase_step"], after_chunk=save_if_due,
                               on_fault=run.on_fault("encoder"), on_stop=save)
    return nets, states.params


def _learner_state(run: _Run, learner: Learner, init_keys, chain_keys, enc_params):
    """The learner's seed-stacked state and keys, initial or from a checkpoint of the RL phase (with the trained
    encoder params saved beside them). -> (states, keys, encoder params, start step, evaluation curve)"""
    saved = {"rl": run.seeded(chunks.stack_states(learner.init, init_keys)), "keys": run.seeded(chain_keys),
             **({"encoder_params": enc_params} if enc_params is not None else {})}
    start, curve = 0, []
    if run.meta["phase"] == "rl":
        saved = run.ckpt.restore_state(run.progress, saved)
        start, curve = run.meta["phase_step"], list(run.meta["curve"])
    return saved["rl"], saved["keys"], saved.get("encoder_params"), start, curve


def learner_stage(cfg, method: Method, suite, obs_dim: int, cond_dim: int, task_ids) -> tuple[Learner, int]:
    """The method's learner on [s, c], and how many rows of every batch come from the augmentation table."""
    r, a = cfg.rl, cfg.augment
    share = a.batch_share or a.size_ratio / (1.0 + a.size_ratio)  # 0: uniform over offline + augmented data
    aug_count = int(round(r.batch_size * share)) if method.augmentation else 0
    learner = make_learner(method, r, cfg.cql, obs_dim=obs_dim, cond_dim=cond_dim, action_dim=suite.action_dim,
                           task_ids=task_ids, num_tasks=len(suite.tasks), aug_count=aug_count)
    return learner, aug_count


def augmentation_stage(cfg, method: Method, enc_nets, enc_params, cond, device_data, keys, over_seeds):
    """The seed-stacked augmentation table (SRTD+ID: imagined; SRTD+N: noise), Transitions (seeds, N, ...)."""
    a = cfg.augment
    return augmentation.augmentation_table(
        method.augmentation, enc_params, cond, device_data, keys, over_seeds=over_seeds, networks=enc_nets,
        n=cfg.encoder.n, size_ratio=a.size_ratio, horizon=a.horizon, z_noise=a.z_noise, state_std=a.state_std,
        action_std=a.action_std, gamma=cfg.rl.gamma, noise_target=a.z_noise_target)


def conditioning_stage(method: Method, nets, enc_params, device_data, n: int, task_ids, num_tasks: int,
                       num_seeds: int, episode_length: int, strategy: str, mesh):
    """The per-step conditioning of every dataset step per seed (z_t, or the one-hot task), its parameters, and the
    conditioner the policy recomputes online. -> (cond (seeds, E, L + 1, C), cond params, conditioner)"""
    if method.encoders:
        return z_conditioning(nets, enc_params, device_data, n, strategy, mesh)
    return one_hot_conditioning(task_ids, num_tasks, num_seeds, episode_length, mesh)


def z_conditioning(nets, enc_params, device_data, n: int, strategy: str, mesh, *, cells: bool = False):
    """z_t = q_θ(τ_t) of every dataset step per seed, (seeds, E, L + 1, Z); the task encoder's params; and the
    conditioner that recomputes z from the agent's own last n steps. cells: params (cells, seeds, ...) and data
    (cells, ...) of packed cells, -> (cells, seeds, E, L + 1, Z) in one program (the episodes are embedded one
    after another, so padding a cell's episode count leaves its real episodes' values as they are alone)."""
    # the dataset is an argument, not a closure, so it is not baked into the compiled program as a constant
    one = lambda p, d: conditioning.embed_dataset(p, d, networks=nets, n=n)
    embed = jax.jit(chunks.over_cells_and_seeds(one, (True, False), (True, True), strategy, mesh) if cells
                    else chunks.over_seeds(one, (True, False), strategy, mesh))
    task_params = enc_params["task"]["encoder"]
    conditioner = lambda p, history, task_ids: srtd.task_embed(p, history, networks=nets)
    return embed(task_params, device_data), task_params, conditioner


def one_hot_conditioning(task_ids, num_tasks: int, num_seeds: int, episode_length: int, mesh):
    """The one-hot task id of every dataset step per seed, (seeds, E, L + 1, T); no parameters."""
    one_hot = jax.nn.one_hot(task_ids, num_tasks)[:, None, :]
    cond = devices.put(np.broadcast_to(one_hot, (num_seeds, task_ids.shape[0], episode_length + 1, num_tasks)),
                       devices.seed_sharding(mesh))
    conditioner = lambda p, history, ids: jax.nn.one_hot(ids, num_tasks)
    return cond, np.zeros((num_seeds,)), conditioner


def eval_tasks(cfg, assignment) -> tuple:
    """The tasks evaluated: eval.tasks, or the data's (all of the suite's unless a dataset was imported)."""
    return tuple(cfg.eval.tasks) or tuple(assignment)


def make_evaluate(cfg, suite, act, host_cond_params, normalizer, tasks: tuple, episode_length: int, writer,
                  curve: list, log):
    """-> evaluate(step, seed-stacked actor params) -> (seeds, tasks) success rates (MT10) or normalised returns
    (drone); each call appends to `curve` and writes an 'eval' row."""
    def evaluate(step, actor_params):
        scores = suite.evaluate(act, devices.to_host(actor_params), host_cond_params, num_seeds=cfg.num_seeds,
                                normalizer=normalizer, n=cfg.encoder.n, tasks=tasks,
                                episodes_per_task=cfg.eval.episodes_per_task, episode_length=episode_length,
                                seed=cfg.eval.seed, reward_type=cfg.data.reward_type,
                                first_reward=cfg.data.first_relative_reward, reward_scale=cfg.data.reward_scale,
                                env_workers=cfg.eval.env_workers, data_cfg=cfg.data, log=log)
        rates = scores.mean(-1)
        curve.append({"step": step, "success": rates.tolist(), "mean": float(rates.mean())})
        writer.write("eval", step, {"success": rates.mean(-1),
                                    **{f"success/{t}": rates[:, i] for i, t in enumerate(tasks)}})
        log(f"[eval] step {step}: mean {suite.score_name} {rates.mean():.3f} "
            "(per seed " + " ".join(f"{x:.3f}" for x in rates.mean(-1)) + ")")
        return rates

    return evaluate


def summarize(cfg, suite, method: Method, learner_name: str, rates, tasks: tuple, assignment, curve: list,
              skipped: dict, mesh) -> dict:
    """The summary of a finished run (before the imagination diagnostics)."""
    summary = reporting.summarize(rates, tasks, assignment, curve, method=cfg.method,
                                  configuration=cfg.data.dataset or cfg.data.configuration, suite=cfg.suite,
                                  episodes_per_task=cfg.eval.episodes_per_task,
                                  metric=suite.declaration.metric_for(cfg.data.recipe))
    summary["device"] = devices.describe(mesh)
    summary["nonfinite_skipped"] = {phase: skipped.get(phase, [0] * cfg.num_seeds)
                                    for phase in (["encoder"] if method.encoders else []) + [learner_name]}
    return summary


def imagination_stage(cfg, enc_nets, enc_params, device_data, data, normalizer, enc_episodes, held_out, keys, suite,
                      over_seeds) -> dict:
    """The summary's imagination diagnostics (SRTD+ID) on the episodes the encoders did not fit."""
    v, a = cfg.eval, cfg.augment
    return imagination_summary(
        enc_params, device_data, *diagnostic_episodes(data, enc_episodes, held_out), keys, over_seeds=over_seeds,
        networks=enc_nets, n=cfg.encoder.n, horizon=a.horizon, z_noise=a.z_noise, noise_target=a.z_noise_target,
        starts=v.imagination_starts, relabel=suite.relabel, relabel_starts=v.relabel_starts, data=data,
        normalizer=normalizer)


def write_summary(workdir: str, summary: dict, writer, suite, log) -> None:
    """summary.json, the run's plot and the console table; closes the metric writer."""
    writer.finish(summary)
    writer.close()
    if devices.is_primary():
        reporting.write_json(os.path.join(workdir, "summary.json"), summary)
        run_plot.plot_run(workdir, suite.declaration)
    log(reporting.console_table(summary))


def _train_learner(run: _Run, learner: Learner, states, keys, start: int, total: int, chunk_steps: int, device_data,
                   per_seed, enc_params, enc_total: int, curve: list, evaluate, eval_every: int):
    """Phase 2 from `start` to `total` steps: evaluations every `eval_every` steps, checkpoints as due. -> states"""
    def save(done, states, keys):
        tree = {"rl": states, "keys": keys, **({"encoder_params": enc_params} if enc_params is not None else {})}
        if run.ckpt.save(enc_total + done, tree, run.state_meta("rl", done, curve)):
            run.log(f"[checkpoint] {learner.name} step {done}")

    def after_chunk(done, states, keys):
        if evaluation_due(done, total, chunk_steps, eval_every):
            evaluate(done, states)
        if run.ckpt.due(done, total, chunk_steps):
            save(done, states, keys)

    chunk = chunks.make_chunk(learner.update, learner.sampler, chunk_steps, run.strategy,
                              on_nonfinite=run.on_nonfinite, mesh=run.mesh)
    states, _ = run_chunks(chunk, states, keys, total, chunk_steps, device_data, per_seed, phase=learner.name,
                           writer=run.writer, log=run.log, start=start, after_chunk=after_chunk,
                           on_fault=run.on_fault(learner.name), on_stop=save)
    return states
