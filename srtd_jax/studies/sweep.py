"""A benchmark sweep as data: its cells (dataset configuration x method), the launcher config of each cell, its
workdir, cell selection for schedulers, and running cells (each resumable, finished ones never re-run)."""
from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import traceback

import ml_collections

from srtd_jax.agents.methods import METHODS, resolve
from srtd_jax.benchmarks import registry
from srtd_jax.data import mixtures
from srtd_jax.runtime.config_check import (
    RESULT_EQUIVALENT_FIELDS,
    ConfigError,
    ConfigMismatchError,
    check_config,
    check_workdir_config,
    read_json,
)
from srtd_jax.runtime.errors import user_errors

# Groups of a sweep: (name, config field of its configurations, config field of its methods).
GROUPS = (("main", "configurations", "methods"), ("ablation", "ablation_configurations", "ablation_methods"),
          ("embedding", "embedding_configurations", "embedding_methods"))


@dataclasses.dataclass(frozen=True)
class Cell:
    configuration: str   # a table's name ('mr5_rp3_me2', 'rp6') or a spec ('MR 5, RP 3, ME 2')
    method: str
    groups: tuple        # the sweep groups that list this cell

    @property
    def name(self) -> str:
        return f"{slug(self.configuration)}/{self.method}"


def slug(configuration: str) -> str:
    """A configuration's directory name: the tables' names stay, 'MR 5, RP 3, ME 2' -> 'mr5_rp3_me2'."""
    counts = mixtures.parse(configuration, num_tasks=None)  # sweep.check holds the counts to the suite's tasks
    return "_".join(f"{k.lower()}{n}" for k, n in zip(("MR", "RP", "ME"), counts) if n) or "empty"


def cells(bcfg) -> list[Cell]:
    """Every cell of the sweep in a fixed order (main group first); a cell listed by several groups once."""
    order, groups = [], {}
    for group, conf_field, method_field in GROUPS:
        for configuration in bcfg[conf_field]:
            for method in bcfg[method_field]:
                key = (slug(configuration), method)
                if key not in groups:
                    order.append((configuration, method))
                    groups[key] = []
                groups[key].append(group)
    return [Cell(c, m, tuple(groups[(slug(c), m)])) for c, m in order]


def check(bcfg) -> None:
    """Names every unknown method or configuration and every bad field of the sweep before anything runs."""
    try:
        num_tasks = len(registry.task_names(bcfg.base.suite))
    except ValueError as err:
        raise ConfigError(f"base.suite: {err}") from None
    for _, conf_field, method_field in GROUPS:
        for method in bcfg[method_field]:
            if method not in METHODS:
                raise ConfigError(f"{method_field}: unknown method {method!r}; valid: {', '.join(METHODS)}")
        for configuration in bcfg[conf_field]:
            try:
                mixtures.parse(configuration, num_tasks)
            except ValueError as err:
                raise ConfigError(f"{conf_field}: {err}") from None
    if bcfg.num_seeds < 1:
        raise ConfigError(f"num_seeds must be >= 1, got {bcfg.num_seeds}")
    try:
        parse_stand_ins(bcfg.stand_ins)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    unknown = set(bcfg.per_method) - set(METHODS)
    if unknown:
        raise ConfigError(f"per_method: unknown method(s) {sorted(unknown)}; valid: {', '.join(METHODS)}")
    for cell in cells(bcfg):  # a bad base or per_method field stops the sweep before its first cell, not at the cell
        try:
            check_config(_own_config(bcfg, cell))
        except ConfigError as err:
            raise ConfigError(f"cell {cell.name}: {err}") from None


def parse_stand_ins(spec: str) -> dict[str, str]:
    """The sweep's stand_ins, 'method:results_dir,...' (another sweep's cells shown where this one has none:
    sweep_report.stand_in_records) -> {method: results_dir}; a ValueError names a bad part or an unknown method."""
    out = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        method, sep, folder = part.partition(":")
        if not sep or not folder:
            raise ValueError(f"stand_ins: expected method:results_dir, got {part!r}")
        if method not in METHODS:
            raise ValueError(f"stand_ins: unknown method {method!r}; valid: {', '.join(METHODS)}")
        out[method] = folder
    return out


def select(all_cells: list[Cell], spec: str) -> list[Cell]:
    """Cells picked by `spec`: 'all', indices and ranges ('0,3-5', e.g. a scheduler's array index), or name
    patterns ('mr10/*', '*/srtd_id'), comma-separated and mixed. Raises ValueError naming what matched nothing."""
    if spec.strip() in ("", "all"):
        return list(all_cells)
    picked = set()
    for part in (p.strip() for p in spec.split(",")):
        if part.replace("-", "").isdigit():
            lo, _, hi = part.partition("-")
            idx = range(int(lo), int(hi or lo) + 1)
            if not idx or idx[-1] >= len(all_cells):
                raise ValueError(f"--cells: {part!r} is out of range; the sweep has cells 0-{len(all_cells) - 1}")
            picked.update(idx)
        else:
            hits = [i for i, c in enumerate(all_cells) if fnmatch.fnmatchcase(c.name, part)]
            if not hits:
                raise ValueError(f"--cells: {part!r} matches no cell; cells are "
                                 + ", ".join(c.name for c in all_cells))
            picked.update(hits)
    return [all_cells[i] for i in sorted(picked)]


def merge_overrides(target: ml_collections.ConfigDict, overrides) -> None:
    """Writes the (nested) fields of `overrides` into `target`; an unknown field raises ConfigError."""
    for key, value in overrides.items():
        if key not in target:
            raise ConfigError(f"per_method override: unknown launcher field {key!r}")
        if isinstance(value, ml_collections.ConfigDict):
            merge_overrides(target[key], value)
        else:
            target[key] = value


def cell_config(bcfg, cell: Cell) -> ml_collections.ConfigDict:
    """The launcher config of a cell: the sweep's base config, the method's per_method overrides, the method,
    the configuration, the seeds; with bcfg.reuse_encoders, the encoders of its encoder_source."""
    cfg = _own_config(bcfg, cell)
    source = encoder_source(bcfg, cell)
    if source is not None:
        cfg.encoder.reuse_from = cell_workdir(bcfg.workdir, source)
    return cfg


def _own_config(bcfg, cell: Cell) -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict(bcfg.base.to_dict())
    if cell.method in bcfg.per_method:
        merge_overrides(cfg, bcfg.per_method[cell.method])
    cfg.method, cfg.data.configuration = cell.method, cell.configuration
    cfg.num_seeds, cfg.seed = bcfg.num_seeds, bcfg.seed
    return cfg


def encoder_source(bcfg, cell: Cell) -> Cell | None:
    """With bcfg.reuse_encoders: the first cell before `cell` in the sweep's order, on the same configuration, whose
    encoder phase is the same computation as its own (SRTD for SRTD+ID and SRTD+N), so the cell takes its trained
    encoders instead of training them again (encoder.reuse_from: the same numbers). None: it trains its own. The
    source must have finished when the cell starts; the sweep's order runs it first."""
    if not bcfg.get("reuse_encoders", False) or not METHODS[cell.method].encoders:
        return None
    from srtd_jax.runtime.encoder_reuse import why_not_shared  # loads JAX: only when a sweep reuses encoders

    cfg = _own_config(bcfg, cell)
    method = resolve(cfg.method, cfg.rl.learner, cfg.rl.network)
    for other in cells(bcfg):
        if other.name == cell.name:
            return None
        if slug(other.configuration) == slug(cell.configuration) and METHODS[other.method].encoders \
                and why_not_shared(cfg, method, _own_config(bcfg, other)) is None:
            return other
    return None


def runnable_config(bcfg, cell: Cell, root: str, scheduled=(), log=None) -> ml_collections.ConfigDict:
    """cell_config with the encoders the cell actually runs with. A cell that has started keeps the choice in its
    workdir's config.json. Otherwise it takes its encoder_source's encoders only if that source has finished in
    its workdir or is in `scheduled` (workdirs of cells that run before it). A source whose workdir is gone (a new
    machine; its result kept in results.json) leaves the cell to train its own encoders: the same computation, so
    the same numbers (tests/runtime/test_encoder_reuse.py), at the cost of the encoder phase. log: told when the
    cell trains its own encoders although its config names a source."""
    cfg = cell_config(bcfg, cell)
    source = cfg.encoder.reuse_from
    if not source:
        return cfg
    started = read_json(os.path.join(cell_workdir(root, cell), "config.json"), "start the cell again")
    if started is not None:
        cfg.encoder.reuse_from, why = started.get("encoder", {}).get("reuse_from", ""), "as it started"
    elif not (os.path.isfile(os.path.join(source, "summary.json")) or source in scheduled):
        cfg.encoder.reuse_from, why = "", f"{source} has not finished and does not run first"
    if log and not cfg.encoder.reuse_from:
        log(f"[sweep] cell {cell.name}: trains its own encoders ({why}; the same numbers as taking its encoders)")
    return cfg


def cell_workdir(root: str, cell: Cell) -> str:
    return os.path.join(root, slug(cell.configuration), cell.method)


def finished_summary(cfg, workdir: str):
    """The summary of a finished cell (None if it has not finished). Raises ConfigMismatchError when the
    workdir was made with another config."""
    path = os.path.join(workdir, "summary.json")
    if not os.path.exists(path):
        return None
    check_workdir_config(cfg, os.path.join(workdir, "config.json"), allow_change=False,
                         ignore=RESULT_EQUIVALENT_FIELDS)
    with open(path) as f:
        return json.load(f)


class SweepError(RuntimeError):
    """Some cells of a sweep failed (keep_going=True); the message names each cell and its error."""


def run_cells(bcfg, selected: list[Cell], root: str, log=print, command_for=None, keep_going: bool = False,
              pack: bool = False) -> dict:
    """Runs the selected cells one after the other; finished cells are skipped, interrupted ones resume.

    command_for(cell) gives the command recorded in the cell's command.txt. keep_going: a failing cell (or packed
    group) is logged and the others still run, then SweepError names every failure. pack: unfinished cells of one
    method that differ only in their dataset train as one program (packed_groups; srtd_jax/run_packed.py); the
    others run alone. -> {cell name: summary}"""
    from srtd_jax.run import train_and_evaluate  # jax loads only when cells run
    from srtd_jax.run_packed import train_packed

    out, failed, todo = {}, [], []
    for i, cell in enumerate(selected):
        cfg, workdir = cell_config(bcfg, cell), cell_workdir(root, cell)
        try:
            summary = finished_summary(cfg, workdir)
        except Exception as err:  # noqa: BLE001 -- reported below, with the cell's name
            _failed(cell.name, err, keep_going, log, failed)
            continue
        if summary is not None:
            log(f"[sweep] cell {i + 1}/{len(selected)} {cell.name}: finished earlier, mean success "
                f"{summary['mean_success']:.3f}")
            out[cell.name] = summary
        else:
            todo.append(cell)
    configs = {}
    for k, cell in enumerate(todo):
        try:  # reads the cell's config.json if it has started: a corrupt one fails this cell only
            configs[cell.name] = runnable_config(bcfg, cell, root, {cell_workdir(root, c) for c in todo[:k]}, log)
        except Exception as err:  # noqa: BLE001 -- reported below, with the cell's name
            _failed(cell.name, err, keep_going, log, failed)
    todo = [cell for cell in todo if cell.name in configs]
    groups = packed_groups(bcfg, todo, configs) if pack else [[cell] for cell in todo]
    for group in groups:
        names = ", ".join(c.name for c in group)
        try:
            cfgs, workdirs = [configs[c.name] for c in group], [cell_workdir(root, c) for c in group]
            commands = [command_for(c) if command_for else None for c in group]
            if len(group) > 1:
                log(f"[sweep] {len(group)} cells packed into one program: {names}")
                summaries = train_packed(cfgs, workdirs, root, log=log, commands=commands)
            else:
                log(f"[sweep] cell {selected.index(group[0]) + 1}/{len(selected)} {names}: running in {workdirs[0]}")
                summaries = [train_and_evaluate(cfgs[0], workdirs[0], log=log, command=commands[0])]
        except Exception as err:  # noqa: BLE001 -- reported below, with the cells' names
            _failed(names, err, keep_going, log, failed, what="")
            continue
        out.update({c.name: s for c, s in zip(group, summaries)})
    if failed:
        raise SweepError(f"{len(failed)} of {len(selected)} cells failed:\n  " + "\n  ".join(failed))
    return out


def _failed(names: str, err: Exception, keep_going: bool, log, failed: list, what: str = "cell ") -> None:
    """A cell (or packed group: what='') failed: raises err again unless keep_going, else logs it and adds it to
    failed."""
    if not keep_going:
        raise err
    log(f"[sweep] {what}{names} FAILED: {type(err).__name__}: {err}")
    if not isinstance(err, user_errors()):  # a bug, not bad input: where it happened, before the sweep goes on
        log("".join(traceback.format_exception(err)).rstrip())
    failed.append(f"{names}: {type(err).__name__}: {err}")


def packed_groups(bcfg, selected: list[Cell], configs: dict | None = None) -> list[list[Cell]]:
    """The selected cells in groups that can train as one program (srtd_jax/run_packed.py): cells whose configs
    (configs[cell name], default cell_config) differ only in the dataset, of a method packing supports; every other
    cell is a group of its own. Groups keep the order of their first cell."""
    from srtd_jax.run_packed import group_signature, why_not_packable  # jax loads only when cells run

    groups: dict = {}
    for cell in selected:
        cfg = configs[cell.name] if configs else cell_config(bcfg, cell)
        packable = why_not_packable(cfg, resolve(cfg.method, cfg.rl.learner, cfg.rl.network)) is None
        key = group_signature(cfg) if packable else cell.name
        groups.setdefault(key, []).append(cell)
    return list(groups.values())


def state(bcfg, cell: Cell, root: str) -> str:
    """'finished', 'not finished', or 'config differs' (the workdir was made with another config)."""
    try:
        return "finished" if finished_summary(cell_config(bcfg, cell), cell_workdir(root, cell)) else "not finished"
    except ConfigMismatchError:
        return "config differs"


def last_logged(workdir: str) -> str | None:
    """'<phase> step <n>' of the last whole line of a workdir's metrics.jsonl (None: nothing logged yet), to
    show how far an unfinished cell has got; a line cut by a kill is skipped."""
    try:
        with open(os.path.join(workdir, "metrics.jsonl")) as f:
            lines = f.readlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            row = json.loads(line)
            return f"{row['phase']} step {row['step']}"
        except (ValueError, KeyError, TypeError):
            continue
    return None
