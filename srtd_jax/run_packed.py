"""train_packed: cells of one method that differ only in their dataset (data.configuration / data.dataset) trained as
one program, for accelerators that a single cell leaves mostly idle (results/packing_*.md).

Every training array carries two leading axes, cells then seeds. Each cell's dataset is padded to the group's
largest episode count and length (srtd_jax/data/packing.py), so its seeds draw from its own real steps only; the
encoder phase runs to the longest cell's step count, each cell's state frozen once it has done its own; the task
embedding of every dataset step is one program over the packed data; the augmentation tables are padded to the
largest and each seed draws below its own table's size; task-stratified methods (PCGrad, SoftMod) draw from each
cell's own task table, padded; cells may each take another run's trained encoders (encoder.reuse_from), all of a
group or none. Augmentation, evaluation and the imagination diagnostics
run cell by cell through the single-run stages of srtd_jax/run.py: they run once per cell (evaluation is bound by
the environments), and cell by cell they are the same computation as a cell run alone.

With strategy 'map' each seed of each cell does the arithmetic of its cell run alone (tests/runtime/test_packed.py
checks the summaries, metrics and final checkpoints against single runs).

While a group trains, its checkpoints live in its own directory; each cell's workdir has its config.json,
command.txt, metrics.jsonl and TensorBoard events from the start. At the end every cell gets its summary.json, its
plot and a final checkpoint laid out as a single run's, so the launcher sees the cell finished, its encoders can be
reused, and studies read it like any other run. An interrupted group resumes from its directory on the same call.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax import run as stages
from srtd_jax.agents import conditioning
from srtd_jax.agents.methods import Method, resolve
from srtd_jax.benchmarks import registry
from srtd_jax.benchmarks.loading import load_training_data
from srtd_jax.core import atomic, chunks, devices
from srtd_jax.core.seeds import run_keys, seed_axis_strategy
from srtd_jax.data import packing, samplers, windows
from srtd_jax.data.splits import holdout_split
from srtd_jax.runtime import checkpointing, encoder_reuse
from srtd_jax.runtime.config_check import (
    ConfigError,
    as_dict,
    check_against_data,
    check_config,
    check_workdir_config,
    flatten,
)
from srtd_jax.runtime.encoder_phase import encoder_parts, encoder_steps
from srtd_jax.runtime.loop import NonFiniteGuard, evaluation_due, round_up, run_chunks
from srtd_jax.runtime.workdir import check_fingerprints, locked, prepare_workdir

# The data fields in which the cells of one packed group may differ (and encoder.reuse_from: each its own source).
CELL_FIELDS = ("configuration", "dataset")


class PackError(ConfigError):
    """Cells that cannot train as one program; the message says why."""


def why_not_packable(cfg, method: Method) -> str | None:
    """Why a cell cannot join a packed group (None: it can)."""
    if method.stratified and method.augmentation:
        return f"method {cfg.method!r} has both task-stratified batches and augmentation, which packing does not join"
    if jax.process_count() > 1:
        return "packed groups run on one host"
    return None


def group_signature(cfg) -> str:
    """The config without the fields cells of a group may differ in: equal signatures pack together."""
    d = as_dict(cfg)
    d["data"] = {k: v for k, v in d["data"].items() if k not in CELL_FIELDS}
    # each cell may take another run's encoders (its own row's), but either all cells of a group do or none does
    d["encoder"] = {**d["encoder"], "reuse_from": bool(d["encoder"]["reuse_from"])}
    return json.dumps(d, sort_keys=True, default=str)


def group_dir(root: str, cfgs: list, workdirs: list[str]) -> str:
    """Where a group keeps its own checkpoints: <root>/packed/<method>_<digest of its cells and config>."""
    digest = hashlib.sha256((group_signature(cfgs[0]) + "\n".join(workdirs)).encode()).hexdigest()[:12]
    return os.path.join(root, "packed", f"{cfgs[0].method}_{digest}")


class Limited(NamedTuple):
    """A train state that stops changing after `limit` updates (a cell with fewer encoder steps than its group)."""

    state: Any
    limit: jax.Array


def limited(update):
    """`update` on Limited states: updates at step >= limit leave the state as it was and report NaN metrics."""
    def step(s: Limited, batch, key, step):
        new, metrics = update(s.state, batch, key, step)
        keep = step < s.limit
        state = jax.tree.map(lambda n, o: jnp.where(keep, n, o), new, s.state)
        metrics = jax.tree.map(lambda m: jnp.where(keep, m, jnp.nan) if jnp.issubdtype(m.dtype, jnp.inexact) else m,
                               metrics)
        return Limited(state, s.limit), metrics
    return step


class CellWriters:
    """A MetricWriter per cell behind one `write`: cell c gets its slice of (cells, seeds) metrics, and only for steps
    up to its own phase total (`totals`; None: every step)."""

    def __init__(self, writers: list, totals: list[int] | None = None):
        self.writers, self.totals = writers, totals

    def write(self, phase: str, step: int, metrics: dict, steps_per_second: float | None = None):
        for c, w in enumerate(self.writers):
            if self.totals is None or step <= self.totals[c]:
                w.write(phase, step, {k: np.asarray(v)[c] for k, v in metrics.items()}, steps_per_second)


def _cell(tree, c: int):
    return jax.tree.map(lambda x: x[c], tree)


def _stack(trees: list):
    return jax.tree.map(lambda *x: jnp.stack(x), *trees)


def _flat_fault(guard: NonFiniteGuard, num_seeds: int):
    """on_fault over (cells, seeds) arrays for a guard that names replicas: replica r is cell r // S, seed r % S."""
    flat = lambda x: jax.tree.map(lambda a: np.reshape(a, (-1,) + np.shape(a)[2:]), x)
    return lambda done, states, keys, fault, counts: guard(done, states, keys, flat(fault), flat(counts))


def train_packed(cfgs: list, workdirs: list[str], root: str, log=print, *, commands: list | None = None) -> list[dict]:
    """Trains the cells (launcher configs `cfgs`, one workdir each) as one program; -> their summaries, in order.

    Every input is checked before anything is written, as train_and_evaluate checks one cell's; PackError when the
    cells differ in more than CELL_FIELDS or one cannot be packed (why_not_packable). root: where the group's
    directory goes (group_dir). Re-running the same call resumes an interrupted group."""
    if not cfgs or len(cfgs) != len(workdirs):
        raise PackError(f"train_packed needs one workdir per config, got {len(cfgs)} configs and {len(workdirs)} "
                        "workdirs")
    if len(set(map(os.path.abspath, workdirs))) != len(workdirs):
        raise PackError("train_packed: two cells share a workdir")
    for cfg, workdir in zip(cfgs, workdirs):
        check_config(cfg)
        check_workdir_config(cfg, os.path.join(workdir, "config.json"), False)
    finished = [w for w in workdirs if os.path.exists(os.path.join(w, "summary.json"))]
    if finished:  # a finished cell is never trained again; the sweep leaves it out of its groups
        raise PackError(f"cells already finished (summary.json): {', '.join(finished)}; leave them out of the group")
    first = group_signature(cfgs[0])
    for cfg, workdir in zip(cfgs[1:], workdirs[1:]):
        if group_signature(cfg) != first:
            a, b = flatten(json.loads(first)), flatten(json.loads(group_signature(cfg)))
            differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            raise PackError(f"cells {workdirs[0]} and {workdir} differ in more than data.configuration / "
                            f"data.dataset / encoder.reuse_from (in {', '.join(differ)}); they cannot train as one "
                            "program")
    cfg0 = cfgs[0]
    method = resolve(cfg0.method, cfg0.rl.learner, cfg0.rl.network)
    reason = why_not_packable(cfg0, method)
    if reason:
        raise PackError(f"cannot pack: {reason}")
    for cfg in cfgs:
        if cfg.encoder.reuse_from:
            encoder_reuse.check_source(cfg, method)
    loaded = [load_training_data(c.suite, c.data, c.encoder.n + 1, log, run_seed=c.seed) for c in cfgs]
    for cfg, (_, data) in zip(cfgs, loaded):
        check_against_data(cfg, method, data.num_steps, data.episode_length)
    directory = group_dir(root, cfgs, workdirs)
    with contextlib.ExitStack() as stack:
        for path in [directory, *workdirs]:
            stack.enter_context(locked(path, log))
        return _packed_stages(cfgs, workdirs, directory, log, commands or [None] * len(cfgs), method, loaded)


def _packed_stages(cfgs, workdirs, directory, log, commands, method: Method, loaded) -> list[dict]:
    cfg0 = cfgs[0]
    e, r = cfg0.encoder, cfg0.rl
    C, S = len(cfgs), cfg0.num_seeds
    suite = registry.get(cfg0.suite)
    strategy = seed_axis_strategy(cfg0.seed_axis)
    mesh = devices.seed_mesh(C, cfg0.devices)        # the cells axis is split over devices
    cell_mesh = devices.seed_mesh(S, cfg0.devices)   # the per-cell stages run as a single cell would
    rl_total = round_up(r.steps, r.chunk_steps)
    for cfg, workdir, command in zip(cfgs, workdirs, commands):
        prepare_workdir(cfg, workdir, [], command, log)
    atomic.write_text(os.path.join(directory, "cells.json"), json.dumps(workdirs, indent=2))
    ckpt = checkpointing.RunCheckpointer(os.path.join(directory, "checkpoints"),
                                         every_steps=cfg0.checkpoint.every_steps,
                                         every_seconds=cfg0.checkpoint.every_seconds, keep=cfg0.checkpoint.keep)
    try:
        resume = ckpt.latest()
        progress, meta = resume or (0, {"phase": "encoder", "phase_step": 0, "metrics_lines": [0] * C,
                                        "curves": [[] for _ in range(C)]})
        log(f"packed: method {cfg0.method}, {C} cells x {S} seeds over {mesh.size} {jax.default_backend()} "
            f"device(s) ({strategy}); group directory {directory}"
            + (f"; resuming {meta['phase']} at step {meta['phase_step']}" if resume else ""))
        datas = [data for _, data in loaded]
        normalizers = [windows.make_normalizer(d) for d in datas]
        host_data = [windows.device_data(d, nz, c.data, e.quality_weight, r.gamma)
                     for d, nz, c in zip(datas, normalizers, cfgs)]
        prints = [{"data": checkpointing.fingerprint(d), "normalizer": checkpointing.fingerprint(nz)}
                  for d, nz in zip(datas, normalizers)]
        for c in range(C):
            check_fingerprints({"fingerprints": meta.get("fingerprints", [{}] * C)[c]}, prints[c], resume)
        writers = [stages.metric_writer(cfg, wd, meta["metrics_lines"][c])
                   for c, (cfg, wd) in enumerate(zip(cfgs, workdirs))]
        skipped = dict(meta.get("skipped", {}))
        curves = [list(x) for x in meta["curves"]]
        cell_keys = [run_keys(c.seed, S, c.key_streams) for c in cfgs]
        keys = _stack(cell_keys)  # (C, S, 2) per use
        seeded = lambda tree: devices.put(tree, devices.seed_sharding(mesh))
        obs_dim = datas[0].observations.shape[-1]
        task_ids = [d.task_ids[:, 0] for d in datas]
        cond_dim = e.latent_dim if method.encoders else len(suite.tasks)
        learner, aug_count = stages.learner_stage(cfg0, method, suite, obs_dim, cond_dim, task_ids[0])

        splits = [holdout_split(t, e.holdout_fraction if method.encoders else 0.0, c.data.seed)
                  for t, c in zip(task_ids, cfgs)]
        enc_parts = [windows.select_episodes(d, ep) if len(held) else d for d, (ep, held) in zip(host_data, splits)]
        reuse = bool(e.reuse_from)  # every cell takes its source's trained encoders: no encoder phase
        enc_totals = [encoder_steps(e, windows.num_steps(d)) if method.encoders and not reuse else 0
                      for d in enc_parts]
        enc_max = max(enc_totals)

        def save(phase, done, tree):
            state_meta = {"phase": phase, "phase_step": done, "metrics_lines": [w.lines for w in writers],
                          "curves": curves, "fingerprints": prints, "skipped": skipped}
            if ckpt.save(done if phase == "encoder" else enc_max + done, tree, state_meta):
                log(f"[checkpoint] packed {phase} step {done}")

        # encoders: every cell's own episodes (less its held-out ones), padded; each cell stops at its own total
        enc_nets, enc_params = None, None
        if method.encoders and reuse:
            enc_nets = encoder_parts(e, method, obs_dim, suite.action_dim)[0]
            log("encoders: each cell's from its encoder.reuse_from")
            enc_params = seeded(_stack([encoder_reuse.load(c.encoder.reuse_from, S) for c in cfgs]))
        elif method.encoders:
            enc_nets, enc_params = _packed_encoders(
                e, method, obs_dim, suite.action_dim, [k.encoder_init for k in cell_keys], keys.encoder_chain,
                enc_parts, enc_totals, meta, progress if resume else 0, ckpt, save, seeded, strategy, mesh, writers,
                NonFiniteGuard(cfg0.on_nonfinite, cfg0.nonfinite_skip_limit, directory, "encoder", log, skipped),
                cfg0.on_nonfinite, log)

        # the learner's state, initial or from the group's RL checkpoint (with the trained encoders beside it)
        saved = {"rl": seeded(_stack([chunks.stack_states(learner.init, k.rl_init) for k in cell_keys])),
                 "keys": seeded(keys.rl_chain), **({"encoder_params": enc_params} if method.encoders else {})}
        rl_start = 0
        if meta["phase"] == "rl":
            saved = ckpt.restore_state(progress, saved)
            rl_start = meta["phase_step"]
        enc_params = saved.get("encoder_params")

        # conditioning, task tables and augmentation tables: what the learner's batches draw from
        rl_data = seeded(packing.pack(host_data))
        per_seed, cond_params, conditioner = _learner_inputs(
            cfgs, method, suite, rl_data, host_data, datas, task_ids, enc_nets, enc_params, cell_keys, prints,
            meta.get("fingerprints", [{}] * C), bool(resume) and meta["phase"] == "rl", strategy, mesh, cell_mesh,
            seeded, log)
        if method.augmentation:
            log(f"augmentation: {aug_count} of every {r.batch_size}-row batch are augmented")

        # the learner, all cells at once, with each cell's evaluations along the way
        act = conditioning.make_policy(learner.networks.actor.apply, conditioner)
        tasks = [stages.eval_tasks(cfg, assignment) for cfg, (assignment, _) in zip(cfgs, loaded)]
        evaluators = [stages.make_evaluate(cfg, suite, act, cond_params[c], normalizers[c], tasks[c],
                                    cfg.eval.episode_length or datas[c].episode_length, writers[c], curves[c], log)
                      for c, cfg in enumerate(cfgs)]
        evaluate = lambda step, states: [ev(step, _cell(states.actor_params, c)) for c, ev in enumerate(evaluators)]
        eval_every = cfg0.eval.every_steps

        def save_rl(done, states, keys):
            encoders = {"encoder_params": enc_params} if method.encoders else {}
            save("rl", done, {"rl": states, "keys": keys, **encoders})

        def after_rl_chunk(done, states, keys):
            if evaluation_due(done, rl_total, r.chunk_steps, eval_every):
                evaluate(done, states)
            if ckpt.due(done, rl_total, r.chunk_steps):
                save_rl(done, states, keys)

        log(f"{learner.name} ({method.network} networks): {rl_total} steps, batch {r.batch_size}, {C} cells")
        chunk = chunks.make_chunk(learner.update, learner.sampler, r.chunk_steps, strategy,
                                  on_nonfinite=cfg0.on_nonfinite, mesh=mesh, cells=True)
        guard = NonFiniteGuard(cfg0.on_nonfinite, cfg0.nonfinite_skip_limit, directory, learner.name, log, skipped)
        rl_states, rl_keys = run_chunks(chunk, saved["rl"], saved["keys"], rl_total, r.chunk_steps,
                                        rl_data, per_seed, phase=learner.name,
                                        writer=CellWriters(writers), log=log, start=rl_start,
                                        after_chunk=after_rl_chunk, on_fault=_flat_fault(guard, S), on_stop=save_rl)

        # each cell's final checkpoint, evaluation and summary, as if it had run alone
        cell_skipped = [_cell_skipped(skipped, c, S) for c in range(C)]
        for c, (cfg, workdir) in enumerate(zip(cfgs, workdirs)):
            tree = {"rl": _cell(rl_states, c), "keys": _cell(rl_keys, c),
                    **({"encoder_params": _cell(enc_params, c)} if method.encoders else {})}
            _final_checkpoint(cfg, workdir, enc_totals[c] + rl_total, tree,
                              {"phase": "rl", "phase_step": rl_total, "metrics_lines": writers[c].lines,
                               "curve": list(curves[c]), "fingerprints": prints[c],
                               "skipped": cell_skipped[c]})
        rates = evaluate(rl_total, rl_states)
        summaries = []
        for c, (cfg, workdir) in enumerate(zip(cfgs, workdirs)):
            summary = stages.summarize(cfg, suite, method, learner.name, rates[c], tasks[c], loaded[c][0], curves[c],
                                       cell_skipped[c], cell_mesh)
            if method.augmentation == "imaginary" and cfg.eval.imagination_starts:
                ep, held = splits[c]
                summary["imagination"] = stages.imagination_stage(
                    cfg, enc_nets, _cell(enc_params, c), devices.put(host_data[c], devices.replicated(cell_mesh)),
                    datas[c], normalizers[c], ep, held,
                    devices.put(cell_keys[c].diagnostics, devices.seed_sharding(cell_mesh)), suite,
                    lambda fn, flags: chunks.over_seeds(fn, flags, strategy, cell_mesh))
            summary["packed_with"] = [w for w in workdirs if w != workdir]
            stages.write_summary(workdir, summary, writers[c], suite, log)
            summaries.append(summary)
        return summaries
    finally:
        ckpt.close()


def _packed_encoders(e, method: Method, obs_dim: int, action_dim: int, init_keys: list, chain_keys, enc_parts: list,
                     enc_totals: list[int], meta: dict, progress: int, ckpt, save, seeded, strategy: str, mesh,
                     writers: list, guard: NonFiniteGuard, on_nonfinite: str, log):
    """Phase 1 of every cell at once, from where the group's checkpoint left it (progress 0: from the start). e: the
    `encoder` block; init_keys: per cell (S, 2); chain_keys (C, S, 2); enc_parts: each cell's host data for the
    phase. -> (networks, params (C, S, ...)); past phase 1 the params are the initial ones, as in a single run."""
    C, S = len(enc_parts), len(init_keys[0])
    enc_max = max(enc_totals)
    nets, update, init = encoder_parts(e, method, obs_dim, action_dim)
    states = seeded(Limited(_stack([chunks.stack_states(init, k) for k in init_keys]),
                            jnp.broadcast_to(jnp.asarray(enc_totals, jnp.int32)[:, None], (C, S))))
    chain = seeded(chain_keys)
    if meta["phase"] != "encoder":
        return nets, states.state.params
    if progress:
        restored = ckpt.restore_state(progress, {"encoder": states, "keys": chain})
        states, chain = restored["encoder"], restored["keys"]
    log(f"encoder: {enc_max} steps for the longest cell (per cell: {enc_totals}; {e.epochs} epochs at batch "
        f"{e.batch_size})")
    chunk = chunks.make_chunk(limited(update), samplers.window_sampler(e.batch_size, e.n), e.chunk_steps, strategy,
                              on_nonfinite=on_nonfinite, mesh=mesh, cells=True)

    save_encoder = lambda done, states, keys: save("encoder", done, {"encoder": states, "keys": keys})

    def after_chunk(done, states, keys):
        if ckpt.due(done, enc_max, e.chunk_steps):
            save_encoder(done, states, keys)

    states, _ = run_chunks(chunk, states, chain, enc_max, e.chunk_steps, seeded(packing.pack(enc_parts)), None,
                           phase="encoder", writer=CellWriters(writers, enc_totals), log=log,
                           start=meta["phase_step"], after_chunk=after_chunk, on_fault=_flat_fault(guard, S),
                           on_stop=save_encoder)
    return nets, states.state.params


def _learner_inputs(cfgs: list, method: Method, suite, rl_data, host_data: list, datas: list, task_ids: list,
                    enc_nets, enc_params, cell_keys: list, prints: list, saved_prints: list, resuming_rl: bool,
                    strategy: str, mesh, cell_mesh, seeded, log):
    """What the learner's batches draw from besides the data, with leading (cells, seeds) axes: the conditioning of
    every dataset step (z in one program over the packed data `rl_data`, or each cell's one-hot task), each cell's
    task table (task-stratified methods) and each cell's augmentation table, made as a single run makes it, padded,
    with its real size. Adds each table's fingerprint to `prints` (checked against `saved_prints` when resuming the
    learner's phase). -> (per_seed, per-cell host conditioning params, conditioner)"""
    e, C, S = cfgs[0].encoder, len(cfgs), cfgs[0].num_seeds
    num_e, steps = rl_data.obs.shape[1], rl_data.obs.shape[2] + 1
    if method.encoders:
        cond, packed_params, conditioner = stages.z_conditioning(enc_nets, enc_params, rl_data, e.n, strategy, mesh,
                                                                 cells=True)
        cond_params = [devices.to_host(_cell(packed_params, c)) for c in range(C)]
    else:
        parts = [stages.one_hot_conditioning(t, len(suite.tasks), S, d.episode_length, cell_mesh)
                 for t, d in zip(task_ids, datas)]
        cond = seeded(jnp.stack([packing.pad_axes(p[0], (S, num_e, steps)) for p in parts]))
        cond_params, conditioner = [p[1] for p in parts], parts[0][2]
    per_cell = lambda x: jnp.broadcast_to(jnp.asarray(x)[:, None], (C, S) + np.shape(x)[1:])
    per_seed = cond
    if method.stratified:  # every cell's own task table (PCGrad, SoftMod)
        tables, counts = zip(*[samplers.stratified_table(t, len(suite.tasks)) for t in task_ids])
        width = max(t.shape[1] for t in tables)
        per_seed = (per_seed, per_cell(np.stack([np.pad(t, ((0, 0), (0, width - t.shape[1]))) for t in tables])),
                    per_cell(np.stack(counts)), per_cell(np.array([d.lengths is None for d in datas])))
    if method.augmentation:
        over_cell = lambda fn, flags: chunks.over_seeds(fn, flags, strategy, cell_mesh)
        tables = []
        for c, cfg in enumerate(cfgs):
            data_c = devices.put(host_data[c], devices.replicated(cell_mesh))
            cond_c = _cell(cond, c)[:, :host_data[c].obs.shape[0], :host_data[c].obs.shape[1] + 1]
            table = stages.augmentation_stage(cfg, method, enc_nets, _cell(enc_params, c) if method.encoders else None,
                                              cond_c, data_c, devices.put(cell_keys[c].augmentation,
                                                                          devices.seed_sharding(cell_mesh)), over_cell)
            prints[c]["augmentation"] = checkpointing.fingerprint(devices.to_host(table))
            check_fingerprints({"fingerprints": saved_prints[c]}, prints[c], resuming_rl)
            tables.append(table)
        sizes = [t.obs.shape[1] for t in tables]
        padded = [jax.tree.map(lambda x: packing.pad_axes(x, (S, max(sizes))), t) for t in tables]
        per_seed = (per_seed, _stack(padded), per_cell(np.asarray(sizes, np.int32)))
        log(f"augmentation ({method.augmentation}): {sizes} transitions per seed of each cell")
    return seeded(per_seed), cond_params, conditioner


def _cell_skipped(skipped: dict, c: int, num_seeds: int) -> dict:
    """Cell c's per-seed counts of skipped non-finite updates from the group's per-replica counts."""
    return {phase: np.reshape(v, (-1, num_seeds))[c].tolist() for phase, v in skipped.items()}


def _final_checkpoint(cfg, workdir: str, progress: int, tree, meta: dict) -> None:
    """The cell's last checkpoint, laid out as a single run's."""
    c = cfg.checkpoint
    cell_ckpt = checkpointing.RunCheckpointer(os.path.join(workdir, "checkpoints"), keep=c.keep)
    try:
        cell_ckpt.save(progress, tree, meta)
    finally:
        cell_ckpt.close()
