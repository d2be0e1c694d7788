"""The deviation study: SRTD and SRTD+ID under the paper's reading where it is silent (the defaults), under each
choice of the authors' released code alone, and under all of them together; as data (cells and their launcher
configs), a runner that keeps every finished cell's record, and the table.

A cell is (suite, dataset configuration, setting, method). A setting is a named set of config overrides. Settings
with `data.assignment_per_seed` run each seed as its own one-seed run (the assignment of tasks to kinds is drawn
per seed, and one run's seeds share one dataset); their records join the runs' seeds."""
from __future__ import annotations

import copy
import dataclasses
import os
import time

import ml_collections
import numpy as np

from srtd_jax.runtime import reporting
from srtd_jax.runtime.config_check import ConfigError, set_field
from srtd_jax.studies import sweep


@dataclasses.dataclass(frozen=True)
class Cell:
    suite: str
    configuration: str
    setting: str
    method: str
    overrides: tuple          # ((field, value), ...)

    @property
    def name(self) -> str:
        return f"{self.suite}/{self.configuration}/{self.setting}/{self.method}"

    @property
    def per_seed_runs(self) -> bool:
        return dict(self.overrides).get("data.assignment_per_seed", False)


def plan(rows: list, switches: dict, authors: dict, acts_on: dict, chosen: dict | None = None) -> list[Cell]:
    """Cells of the study, on a base config with the paper's reading of every switch. rows: [(suite, configuration,
    single_switches: bool)]; switches: {name: {field: value}} each alone; authors: {field: value} all together;
    acts_on: {switch name: methods it can change} (others: all); chosen: {field: value} of the defaults (None: no
    such setting). Every row gets 'default' (the paper's reading), 'authors' and, with chosen, 'chosen' for SRTD
    and SRTD+ID; rows with single_switches also every switch alone for the methods it acts on."""
    out = []
    for suite, configuration, single in rows:
        settings = [("default", {}), *(switches.items() if single else ()), ("authors", authors),
                    *((("chosen", chosen),) if chosen is not None else ())]
        for setting, fields in settings:
            for method in ("srtd", "srtd_id"):
                if method in acts_on.get(setting, (method,)):
                    out.append(Cell(suite, configuration, setting, method, tuple(sorted(fields.items()))))
    return out


def select(cells: list[Cell], spec: str) -> list[Cell]:
    """'all', 'none', or the benchmark sweep's selection (studies/sweep.py: indices, ranges, name patterns such as
    'mt10/rp10/*/srtd_id'), in plan order; ConfigError names what matched nothing."""
    if spec == "none":
        return []
    try:
        return sweep.select(cells, spec)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def runs(cell: Cell, base, num_seeds: int, root: str) -> list[tuple]:
    """[(launcher config, workdir)] of a cell: one run of num_seeds seeds, or one per seed for per-seed settings."""
    cfg = ml_collections.ConfigDict(copy.deepcopy(base.to_dict()))
    for field, value in cell.overrides:
        try:
            set_field(cfg, field, value)
        except ConfigError as err:
            raise ConfigError(f"deviation setting: {err}") from None
    cfg.method, cfg.data.configuration = cell.method, cell.configuration
    workdir = os.path.join(root, cell.name)
    if not cell.per_seed_runs:
        cfg.num_seeds = num_seeds
        return [(cfg, workdir)]
    out = []
    for k in range(num_seeds):
        one = ml_collections.ConfigDict(copy.deepcopy(cfg.to_dict()))
        one.num_seeds, one.seed = 1, cfg.seed + k
        out.append((one, os.path.join(workdir, f"seed{cfg.seed + k}")))
    return out


def record(cell: Cell, summaries: list[dict], seconds: float | None, encoders_from: list | None = None) -> dict:
    """One record per cell from its runs' summaries (seeds joined): scores per seed and task, the imagination
    diagnostics per seed, the cell's wall time where it ran in one go, and per run the run whose trained
    encoders it took (None: its own)."""
    per_seed = [v for s in summaries for v in s["per_seed_mean"]]
    mean, ci = reporting.mean_ci95(per_seed)
    rec = {"cell": cell.name, "suite": cell.suite, "configuration": cell.configuration, "setting": cell.setting,
           "method": cell.method, "overrides": dict(cell.overrides), "num_seeds": len(per_seed), "mean": mean,
           "ci95": ci, "per_seed": per_seed, "metric": summaries[0]["success_definition"],
           "kinds": [{t: row["kind"] for t, row in s["per_task"].items()} for s in summaries],
           "seconds": seconds, "encoders_from": encoders_from}
    images = [s["imagination"] for s in summaries if "imagination" in s]
    if images:
        join = lambda part: {k: [v for d in images for v in d[part][k]] for k in images[0][part]}
        rec["imagination"] = {"episodes": images[0]["episodes"], "starts": images[0]["starts"],
                              "rollout_per_seed": join("rollout_per_seed"), "one_step_per_seed": join("one_step_per_seed")}
        relabelled = [d["relabelled"] for d in images if "relabelled" in d]
        if relabelled:
            rec["imagination"]["relabelled_per_seed"] = {
                k: [v for d in relabelled for v in d[k + "_per_seed"]] for k in ("imagined", "real")}
    return rec


def run_cell(cell: Cell, base, num_seeds: int, root: str, log=print, command: str | None = None) -> dict:
    """Trains a cell's runs (each resumable; finished ones are read back) -> its record. A run whose encoder phase
    equals a finished run's under `root` (SRTD beside SRTD+ID, a switch that acts only after the encoders) takes
    that run's trained encoders (encoder.reuse_from): the same numbers, without training them again."""
    from srtd_jax.agents.methods import resolve
    from srtd_jax.run import train_and_evaluate  # jax loads only when cells run
    from srtd_jax.runtime.config_check import read_run_config
    from srtd_jax.runtime.encoder_reuse import find_source
    start, resumed, summaries, sources = time.time(), False, [], []
    for cfg, workdir in runs(cell, base, num_seeds, root):
        earlier = os.path.join(workdir, "config.json")
        resumed |= os.path.exists(earlier)
        method = resolve(cfg.method, cfg.rl.learner, cfg.rl.network)
        cfg.encoder.reuse_from = (read_run_config(earlier).encoder.reuse_from if os.path.exists(earlier)
                                  else find_source(cfg, method, root) or "")
        sources.append(cfg.encoder.reuse_from or None)
        summaries.append(train_and_evaluate(cfg, workdir, log=log, command=command))
    rec = record(cell, summaries, None if resumed else time.time() - start, sources)
    rec["budget"] = {"encoder_epochs": cfg.encoder.epochs, "holdout_fraction": cfg.encoder.holdout_fraction,
                     "rl_steps": cfg.rl.steps, "eval_episodes_per_task": cfg.eval.episodes_per_task}
    return rec


def _fmt(mean: float, ci: float) -> str:
    return f"{100 * mean:.1f} ± {100 * ci:.1f}%"


def table(records: dict, cells: list[Cell]) -> list[str]:
    """Markdown: one row per (suite, configuration, setting), SRTD and SRTD+ID side by side (mean ± 95% t
    interval over seeds), then the imagination diagnostics of every SRTD+ID cell."""
    lines = ["| suite | configuration | setting | SRTD | SRTD+ID | SRTD+ID − SRTD |", "|---|---|---|---|---|---|"]
    rows = []
    for c in cells:
        key = (c.suite, c.configuration, c.setting)
        if key not in rows:
            rows.append(key)
    for suite, conf, setting in rows:
        recs = {m: records.get(f"{suite}/{conf}/{setting}/{m}") for m in ("srtd", "srtd_id")}
        cell = lambda r: _fmt(r["mean"], r["ci95"]) if r else ("—" if r is None else "")
        diff = ""
        if recs["srtd"] and recs["srtd_id"] and len(recs["srtd"]["per_seed"]) == len(recs["srtd_id"]["per_seed"]):
            diff = _fmt(*reporting.mean_ci95(np.subtract(recs["srtd_id"]["per_seed"], recs["srtd"]["per_seed"])))
        lines.append(f"| {suite} | {conf} | {setting} | {cell(recs['srtd'])} | {cell(recs['srtd_id'])} | {diff} |")
    lines += ["", "Imagination of the SRTD+ID cells (squared errors, mean over seeds; trivial predictor in brackets: "
              "the mean action, s' = s, reward 0):", "",
              "| cell | episodes | one-step action from z | from b | next state | reward | ‖z − b‖² | rollout action, "
              "step 1 … H | rollout next state, step 1 … H | relabelled imagined / real |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        rec = records.get(c.name)
        if not rec or "imagination" not in rec:
            continue
        im = rec["imagination"]
        o = {k: float(np.mean(v)) for k, v in im["one_step_per_seed"].items()}
        r = {k: np.mean(np.asarray(v), 0) for k, v in im["rollout_per_seed"].items()}
        steps = lambda f: " · ".join(reporting.versus(a, b) for a, b in zip(r[f], r[f + "_trivial"]))
        rel = im.get("relabelled_per_seed")
        rel_text = f"{np.mean(rel['imagined']):.3f} / {np.mean(rel['real']):.3f}" if rel else "—"
        lines.append(f"| {c.name} | {im['episodes']} | {reporting.versus(o['action_from_z'], o['action_trivial'])} | "
                     f"{o['action_from_b']:.3g} | {reporting.versus(o['next_state'], o['next_state_trivial'])} | "
                     f"{reporting.versus(o['reward'], o['reward_trivial'])} | {o['z_to_b']:.3g} | {steps('action')} | "
                     f"{steps('next_state')} | {rel_text} |")
    return lines
