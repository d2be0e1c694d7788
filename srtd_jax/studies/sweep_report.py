"""A sweep's results: every seed's per-task score as JSON, the layout of the paper's table for the suite (Table 1
for MT10, Table 2 for drone navigation) with the paper's numbers beside ours, the ablation table, a Figure-5-style
plot and learning curves."""
from __future__ import annotations

import os

import numpy as np

from srtd_jax.benchmarks import registry
from srtd_jax.core import atomic
from srtd_jax.data import mixtures
from srtd_jax.runtime import reporting
from srtd_jax.runtime.config_check import (
    RESULT_EQUIVALENT_FIELDS,
    ConfigError,
    ConfigMismatchError,
    as_dict,
    config_diff,
    read_json,
)
from srtd_jax.runtime.reporting import mean_ci95
from srtd_jax.studies import statistics, sweep

LABELS = {"td3bc": "TD3+BC", "pcgrad": "PCGrad", "softmod": "SoftMod", "srtd": "SRTD", "srtd_id": "SRTD+ID",
          "te": "TE", "srtd_q": "SRTD-Q", "srtd_n": "SRTD+N"}
BASELINES = ("td3bc", "pcgrad", "softmod")
FIGURE5 = (("(a) skill regularisation", ("te", "srtd_q", "srtd")),
           ("(b) augmentation", ("srtd", "srtd_n", "srtd_id")))
def collect(bcfg, all_cells: list, root: str) -> tuple[list[dict], list[str]]:
    """Records of the finished cells (Student t 95% CI over seeds of the mean score over tasks) and the names
    of the cells that have not finished."""
    records, missing, suite = [], [], bcfg.base.suite
    for cell in all_cells:
        workdir = sweep.cell_workdir(root, cell)
        summary = sweep.finished_summary(sweep.cell_config(bcfg, cell), workdir)
        if summary is None:
            missing.append(cell.name)
            continue
        tasks = list(summary["per_task"])
        success = np.array([summary["per_task"][t]["per_seed"] for t in tasks]).T  # (seeds, tasks)
        mean, ci = mean_ci95(success.mean(1))
        command_path = os.path.join(workdir, "command.txt")
        commands = []
        if os.path.exists(command_path):
            with open(command_path) as f:
                commands = f.read().split("\n")
        configuration = sweep.slug(cell.configuration)
        records.append({
            "cell": cell.name, "configuration": configuration, "counts": list(mixtures.parse(cell.configuration, None)),
            "method": cell.method, "groups": list(cell.groups), "num_seeds": int(success.shape[0]),
            "episodes_per_task": summary["episodes_per_task"], "success_definition": summary["success_definition"],
            "tasks": tasks, "kinds": [summary["per_task"][t]["kind"] for t in tasks],
            "success_per_seed_task": success.tolist(), "per_seed_mean": success.mean(1).tolist(),
            "mean": mean, "ci95": ci, "paper": registry.declaration(suite).published(configuration, cell.method),
            "learning_curve": [{"step": p["step"], "per_seed_mean": np.mean(p["success"], axis=1).tolist()}
                               for p in summary["learning_curve"]],
            "device": summary.get("device"), "workdir": workdir,
            "command": next((c for c in reversed(commands) if c.strip()), None),
            "config": as_dict(sweep.runnable_config(bcfg, cell, root)),  # the encoders it took, as it ran
            **({"imagination": summary["imagination"]} if "imagination" in summary else {})})
    return records, missing


def kept_records(bcfg, all_cells: list, missing: list[str], path: str) -> list[dict]:
    """Records of an earlier results.json (path) for cells whose workdir is gone (a fresh machine, a cleaned
    runs/): rewriting the tables must not lose finished results. A kept record must come from the same sweep:
    its config (older records: the sweep's budget and seed count) equal to the cell's now, else
    ConfigMismatchError; an unreadable file raises ConfigError instead of being overwritten."""
    old = read_json(path, "write new tables")
    if old is None:
        return []
    by_name = {c.name: c for c in all_cells}
    kept = []
    for record in old.get("records", []):
        cell = by_name.get(record.get("cell"))
        if cell is None or cell.name not in missing:
            continue
        if "config" in record:
            diff = config_diff(record["config"], as_dict(sweep.cell_config(bcfg, cell)), RESULT_EQUIVALENT_FIELDS)
        else:
            diff = [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in (("budget", bcfg.budget), ("num_seeds", bcfg.num_seeds))
                    if old.get(k) != v]
        if diff:
            raise ConfigMismatchError(
                f"{path} holds a result of cell {cell.name} (its workdir is gone) made with a different config; "
                "differing fields:\n  " + "\n  ".join(diff) + "\nMove the file away or use another results_dir.")
        kept.append(dict(record, kept_from=path))
    return kept


def kept_cells(bcfg, all_cells: list, root: str, out_dir: str) -> list[str]:
    """Names of the cells finished only in out_dir's results.json (workdir gone, record kept, config checked as
    in kept_records): a sweep run skips them like cells finished in their workdirs. A workdir of another config
    is not such a cell: running it must still raise ConfigMismatchError."""
    missing = [c.name for c in all_cells if sweep.state(bcfg, c, root) == "not finished"]
    return [r["cell"] for r in kept_records(bcfg, all_cells, missing, os.path.join(out_dir, "results.json"))]


STAND_IN_MARK = " †"


def stand_in_records(spec: str, records: list[dict], configurations: list[str]) -> list[dict]:
    """For each `method:results_dir` of spec, that method's records in results_dir/results.json on the given
    configurations where this sweep has none: another sweep's numbers, shown in the table with STAND_IN_MARK so a
    column is not empty while its cells wait for compute. Each carries 'stand_in_from' (the file) and what differs
    from this sweep's cells ('stand_in_budget', 'num_seeds', 'stand_in_recipe'). They are never used in the
    ordering, the statistics, the curves or the verdicts. A missing or unreadable file is a ConfigError."""
    have = {(r["configuration"], r["method"]) for r in records}
    out = []
    for method, folder in sweep.parse_stand_ins(spec).items():
        path = os.path.join(folder, "results.json")
        other = read_json(path, "show stand-in cells")
        if other is None:
            raise ConfigError(f"stand_ins: {path} does not exist")
        for r in other.get("records", []):
            if (r["method"] != method or r["configuration"] not in configurations
                    or (r["configuration"], method) in have):
                continue
            recipe = r.get("config", {}).get("data", {}).get("recipe", "ladder")  # before the field: the ladder
            out.append(dict(r, stand_in_from=path, stand_in_budget=other.get("budget"), stand_in_recipe=recipe))
    return out


def counted(n: int, noun: str) -> str:
    """'1 cell', '2 cells' (noun 'cell'): a count as the tables' notes and the benchmark rows print it."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def stand_in_note(stand_ins: list[dict], records: list[dict]) -> list[str]:
    """The table's note on its stand-in cells: where they come from and what differs from the sweep's own
    records (budget, seeds, data, and the score's definition where that differs too)."""
    if not stand_ins:
        return []
    ours = {r.get("success_definition") for r in records}
    scored = sorted({r.get("success_definition") for r in stand_ins} - ours - {None})
    sources = sorted({(r["stand_in_from"], r["stand_in_budget"], r["num_seeds"], r["stand_in_recipe"])
                      for r in stand_ins})
    parts = "; ".join(f"`{path}` (budget `{budget}`, {counted(seeds, 'seed')}, {recipe} data)"
                      for path, budget, seeds, recipe in sources)
    cells = ", ".join(r["cell"] for r in stand_ins)
    return [f"**{STAND_IN_MARK.strip()} Stand-ins ({counted(len(stand_ins), 'cell')}: {cells}):** not run in this "
            f"sweep; the table shows another sweep's numbers from {parts}. Their budget, seeds and data differ from "
            "this sweep's, a confound: they are not bold and take no part in the ordering, the interval statistics, "
            "the curves or the verdicts."
            + (" They are also scored differently: " + "; ".join(scored) + "." if scored else ""), ""]


def _pct(mean: float, ci: float) -> str:
    return f"{100 * mean:.1f} ± {100 * ci:.1f}%"


def markdown_table(records: list[dict], configurations: list[str], methods: list[str], with_paper: bool,
           suite: str) -> list[str]:
    """Rows of configurations, columns of methods; best mean of a row in bold; paper's number beside ours. A
    stand-in record (stand_in_records) is marked with STAND_IN_MARK and never bold."""
    by = {(r["configuration"], r["method"]): r for r in records}
    head = "| MR | RP | ME | " + " | ".join(LABELS.get(m, m) for m in methods) + " |"
    lines = [head, "|---|---|---|" + "---|" * len(methods)]
    for conf in configurations:
        row = [by.get((conf, m)) for m in methods]
        means = [r["mean"] for r in row if r and not r.get("stand_in_from")]
        best = max(means) if means else None
        cells = []
        for m, r in zip(methods, row):
            text = "not run" if r is None else _pct(r["mean"], r["ci95"])
            if r is not None and r.get("stand_in_from"):
                text += STAND_IN_MARK
            elif r is not None and r["mean"] == best:
                text = f"**{text}**"
            paper = registry.declaration(suite).published(conf, m)
            if with_paper:
                text += f"<br>paper {paper[0]:.1f} ± {paper[1]:.1f}%" if paper else "<br>paper —"
            cells.append(text)
        counts = mixtures.parse(conf, None)
        lines.append(f"| {counts[0]} | {counts[1]} | {counts[2]} | " + " | ".join(cells) + " |")
    return lines


def ordering(records: list[dict], configurations: list[str]) -> list[dict]:
    """Whether the paper's ordering SRTD+ID >= SRTD > best of (SoftMod, PCGrad, TD3+BC) holds per configuration,
    on seed means; also whether SRTD's margin over the best baseline, either way, exceeds the sum of their 95%
    half-widths (the two intervals do not overlap: SRTD clearly above, or clearly below). A row needs
    SRTD+ID, SRTD and at least one baseline; the baselines it lacks are named under 'baselines_missing'."""
    by = {(r["configuration"], r["method"]): r for r in records}
    out = []
    for conf in configurations:
        sid, s = by.get((conf, "srtd_id")), by.get((conf, "srtd"))
        base = [by[(conf, m)] for m in BASELINES if (conf, m) in by]
        if not (sid and s and base):
            continue
        best = max(base, key=lambda r: r["mean"])
        out.append({"configuration": conf, "srtd_id_ge_srtd": sid["mean"] >= s["mean"],
                    "baselines_missing": [m for m in BASELINES if (conf, m) not in by],
                    "srtd_gt_baselines": s["mean"] > best["mean"], "best_baseline": best["method"],
                    "margin": s["mean"] - best["mean"],
                    "margin_beyond_ci": abs(s["mean"] - best["mean"]) > s["ci95"] + best["ci95"]})
    return out


PROPOSED, BASELINES = ("srtd", "srtd_id"), ("td3bc", "pcgrad", "softmod")
BOOTSTRAP_REPS = 2000  # resamples per interval of the sweep tables


def interval_statistics(records: list[dict], configurations: list[str], reps: int = BOOTSTRAP_REPS) -> dict:
    """{configuration: {'iqm': {method: [IQM, lower, upper]}, 'improvement': {'<proposed>><baseline>': [P, lower,
    upper]}}} from every finished cell's per-seed, per-task scores (studies/statistics.py: stratified bootstrap 95%
    intervals, seeded)."""
    out = {}
    for conf in configurations:
        cells = {r["method"]: np.asarray(r["success_per_seed_task"]) for r in records if r["configuration"] == conf}
        if not cells:
            continue
        pairs = {f"{x}>{y}": list(statistics.improvement(cells[x], cells[y], reps=reps))
                 for x in PROPOSED for y in BASELINES if x in cells and y in cells}
        out[conf] = {"iqm": {m: list(statistics.iqm_interval(v, reps=reps)) for m, v in cells.items()},
                     "improvement": pairs}
    return out


def interval_lines(stats: dict, methods: list[str]) -> list[str]:
    """The markdown of interval_statistics: an IQM table in % and a probability-of-improvement table."""
    shown = [m for m in methods if any(m in s["iqm"] for s in stats.values())]
    lines = ["## Interquartile mean and probability of improvement (rliable)", "",
             "IQM: the mean of the middle 50% of all seed x task scores, in %; P(X > Y): the probability that a seed "
             "of X scores above a seed of Y on a task (ties half), averaged over tasks. Brackets: stratified bootstrap "
             f"95% intervals (seeds resampled within each task, {BOOTSTRAP_REPS:,} resamples).", "",
             "| configuration | " + " | ".join(LABELS.get(m, m) for m in shown) + " |",
             "|---|" + "---|" * len(shown)]
    cell = lambda v, scale, fmt: f"{fmt.format(scale * v[0])} [{fmt.format(scale * v[1])}, {fmt.format(scale * v[2])}]"
    for conf, s in stats.items():
        lines.append(f"| {conf} | " + " | ".join(cell(s["iqm"][m], 100, "{:.1f}") if m in s["iqm"] else "—"
                                                  for m in shown) + " |")
    pairs = list(dict.fromkeys(p for s in stats.values() for p in s["improvement"]))
    if pairs:
        name = lambda p: "P(" + " > ".join(LABELS.get(m, m) for m in p.split(">")) + ")"
        lines += ["", "| configuration | " + " | ".join(name(p) for p in pairs) + " |", "|---|" + "---|" * len(pairs)]
        for conf, s in stats.items():
            lines.append(f"| {conf} | " + " | ".join(cell(s["improvement"][p], 1, "{:.2f}") if p in s["improvement"]
                                                      else "—" for p in pairs) + " |")
    return lines + [""]


def write(bcfg, all_cells: list, root: str, out_dir: str, command: str, budget_note: str = "",
          rebuild_command: str = "") -> dict:
    """Writes results.json, the table (table1.md for MT10, table2.md for the drone), figure5.png (if an ablation
    group has finished cells beside SRTD's: figure5_panels) and curves.png under out_dir. -> the JSON written, with
    the table's file name under 'table'. command: the command writing them now (a sweep's tables are rewritten as
    its cells finish, often by a command that ran one cell); rebuild_command, if given: the command that writes
    them again from every finished cell, cited beside it."""
    records, missing = collect(bcfg, all_cells, root)
    kept = kept_records(bcfg, all_cells, missing, os.path.join(out_dir, "results.json"))
    order = {c.name: i for i, c in enumerate(all_cells)}
    records = sorted(records + kept, key=lambda r: order[r["cell"]])
    kept_names = {r["cell"] for r in kept}
    missing = [name for name in missing if name not in kept_names]
    suite = bcfg.base.suite
    decl = registry.declaration(suite)
    what = decl.cell_text_for(bcfg.base.data.recipe)
    table, episode_start, y_label = decl.table_name, decl.episode_text, decl.y_label
    table_file = table.lower().replace(" ", "") + ".md"
    os.makedirs(out_dir, exist_ok=True)
    main_confs = list(dict.fromkeys(sweep.slug(c) for c in bcfg.configurations))
    abl_confs = list(dict.fromkeys(sweep.slug(c) for c in bcfg.ablation_configurations))
    stand_ins = stand_in_records(bcfg.stand_ins, records, main_confs)
    verdicts = ordering(records, main_confs)
    stats = interval_statistics(records, main_confs + [c for c in abl_confs if c not in main_confs])
    result = {"command": command, **({"rebuild_command": rebuild_command} if rebuild_command else {}),
              "suite": suite, "table": table_file, "budget": bcfg.budget, "num_seeds": bcfg.num_seeds,
              "records": records, "not_finished": missing, "ordering": verdicts, "interval_statistics": stats,
              "stand_ins": [{k: r[k] for k in ("cell", "mean", "ci95", "num_seeds", "stand_in_from",
                                               "stand_in_budget", "stand_in_recipe")} for r in stand_ins]}
    reporting.write_json(os.path.join(out_dir, "results.json"), result, indent=1)

    episodes = sorted({r["episodes_per_task"] for r in records}) or ["?"]
    lines = [f"Made by: `{command}`", ""]
    if rebuild_command:
        lines += [f"Rebuilt from every finished cell (each cell's own command under \"Runs\") by `{rebuild_command}`.",
                  ""]
    lines += [f"Budget `{bcfg.budget}`. {budget_note}".rstrip(), "",
              f"{what}; {'/'.join(map(str, episodes))} evaluation episodes per task and seed, {episode_start}; "
              f"mean over the {len(decl.tasks)} tasks, then mean ± Student t 95% interval over "
              f"{counted(bcfg.num_seeds, 'seed')}. Best mean of a row in bold. `paper` = the paper's {table} "
              "(3 seeds, the paper's budget).", ""]
    if missing:
        lines += [f"**Not finished ({counted(len(missing), 'cell')}):** " + ", ".join(missing), ""]
    if kept:
        lines += ["Kept from the earlier results.json (workdirs gone, configs checked equal; "
                  f"{counted(len(kept), 'cell')}): " + ", ".join(r["cell"] for r in kept), ""]
    elsewhere = [r for r in records if r.get("device") and not r["device"].startswith("cpu")]
    if elsewhere:  # same config, other arithmetic: the numbers are not bit-identical to a CPU run's
        lines += [f"Run on an accelerator ({counted(len(elsewhere), 'cell')}; same config, not bit-identical to a CPU "
                  "run): " + ", ".join(f"{r['cell']} ({r['device']})" for r in elsewhere), ""]
    lines += stand_in_note(stand_ins, records)
    lines += [f"## {table} layout", ""]
    lines += markdown_table(records + stand_ins, main_confs, list(bcfg.methods), True, suite) + [""]
    if verdicts:
        lines += ["## The paper's ordering (SRTD+ID ≥ SRTD > SoftMod, PCGrad, TD3+BC), on our seed means", "",
                  "margin: SRTD's mean minus the best baseline's; CIs apart: their 95% intervals do not overlap (a clear "
                  "difference, in either direction).", "",
                  "| configuration | SRTD+ID ≥ SRTD | SRTD > best baseline | best baseline | margin | CIs apart "
                  "| baselines not run |", "|---|---|---|---|---|---|---|"]
        for v in verdicts:
            yn = lambda b: "yes" if b else "no"
            lines.append(f"| {v['configuration']} | {yn(v['srtd_id_ge_srtd'])} | {yn(v['srtd_gt_baselines'])} | "
                         f"{LABELS[v['best_baseline']]} | {100 * v['margin']:+.1f} pts | "
                         f"{yn(v['margin_beyond_ci'])} | "
                         f"{', '.join(LABELS[m] for m in v['baselines_missing']) or '—'} |")
        lines.append("")
    if abl_confs and bcfg.ablation_methods:
        lines += ["## Ablations (Figure 5: the paper prints no values)", ""]
        lines += markdown_table(records, abl_confs, list(bcfg.ablation_methods), False, suite) + [""]
    if stats:
        lines += interval_lines(stats, list(dict.fromkeys([*bcfg.methods, *bcfg.ablation_methods])))
    lines += ["## Runs", ""] + [f"- `{r['cell']}`: `{r['command']}`" for r in records]
    atomic.write_text(os.path.join(out_dir, table_file), "\n".join(lines) + "\n")
    if abl_confs and bcfg.ablation_methods:
        figure5 = os.path.join(out_dir, "figure5.png")
        _remove_unless_drawn(plot_figure5(records, abl_confs, figure5, y_label), figure5)
    curves = os.path.join(out_dir, "curves.png")
    _remove_unless_drawn(plot_curves(records, main_confs + [c for c in abl_confs if c not in main_confs], curves,
                                     y_label), curves)
    return result


def _remove_unless_drawn(drawn: bool, path: str) -> None:
    """A figure with nothing to draw: an earlier write's file (of cells no longer among the records) does not stay."""
    if not drawn and os.path.exists(path):
        os.remove(path)


def clipped_band(mean, ci):
    """(lower, upper) of mean ± ci in percent, clipped to [0, 100]: a success rate outside that range is impossible,
    so an interval drawn beyond it would only show the t interval's symmetry. A mean outside it is no rate (the
    drone's normalised return can be negative or beat its reference): its interval is kept as it is. mean, ci:
    arrays in percent."""
    mean, ci = np.asarray(mean, float), np.asarray(ci, float)
    rate = (mean >= 0.0) & (mean <= 100.0)
    return (np.where(rate, np.clip(mean - ci, 0.0, 100.0), mean - ci),
            np.where(rate, np.clip(mean + ci, 0.0, 100.0), mean + ci))


def curve_panels(records, configurations) -> list:
    """The configurations that have a learning curve to draw, in the given order (no empty panels)."""
    return [c for c in configurations if any(r["configuration"] == c and r["learning_curve"] for r in records)]


def _legend_below(fig, axes) -> None:
    """One legend for the figure, under its panels, with every method once."""
    seen = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    fig.legend(list(seen.values()), list(seen), loc="lower center", ncol=min(len(seen), 6), fontsize=8,
               frameon=False)


def figure5_panels(records, configurations) -> list:
    """The Figure 5 groups worth a panel: those where a method other than SRTD (shared by both) has finished a cell
    of `configurations`, each with its methods that have. -> [(title, methods)]"""
    have = {r["method"] for r in records if r["configuration"] in configurations}
    return [(title, [m for m in methods if m in have]) for title, methods in FIGURE5
            if any(m in have for m in methods if m != "srtd")]


def plot_figure5(records, configurations, path, y_label) -> bool:
    """Figure 5's bars for `configurations`: a panel per ablation group that has cells (figure5_panels), one colour
    per method in both panels, intervals clipped to [0, 100]%. -> whether anything was drawn (no file otherwise)."""
    panels = figure5_panels(records, configurations)
    if not panels:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {(r["configuration"], r["method"]): r for r in records}
    colour = {m: f"C{i}" for i, m in enumerate(dict.fromkeys(m for _, ms in FIGURE5 for m in ms))}
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), sharey=True, squeeze=False)
    for ax, (title, methods) in zip(axes[0], panels):
        width = 0.8 / len(methods)
        for j, m in enumerate(methods):
            xs = [i - 0.4 + (j + 0.5) * width for i, c in enumerate(configurations) if (c, m) in by]
            rs = [by[(c, m)] for c in configurations if (c, m) in by]
            mean = np.array([100 * r["mean"] for r in rs])
            lower, upper = clipped_band(mean, [100 * r["ci95"] for r in rs])
            ax.bar(xs, mean, width, yerr=[mean - lower, upper - mean], capsize=3, label=LABELS[m], color=colour[m])
        ax.set_xticks(range(len(configurations)), configurations)
        ax.set_title(title)
        ax.set_ylim(0, 100)
    axes[0][0].set_ylabel(y_label)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    _legend_below(fig, axes[0])
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return True


def plot_curves(records, configurations, path, y_label) -> bool:
    """Learning curves, one panel per configuration that has one, on a shared 0–100% axis, one legend below.
    -> whether anything was drawn (no file when no record has a curve, e.g. before any cell has finished)."""
    configurations = curve_panels(records, configurations)
    if not configurations:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(configurations))
    rows = -(-len(configurations) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows + 0.6), squeeze=False, sharey=True)
    for ax, conf in zip(axes.flat, configurations):
        for r in (r for r in records if r["configuration"] == conf):
            steps = [p["step"] for p in r["learning_curve"]]
            stats = [mean_ci95(p["per_seed_mean"]) for p in r["learning_curve"]]
            mean = np.array([100 * s[0] for s in stats])
            ci = np.array([100 * s[1] for s in stats])
            ax.plot(steps, mean, marker="o", ms=3, label=LABELS.get(r["method"], r["method"]))
            ax.fill_between(steps, *clipped_band(mean, ci), alpha=0.15)
        ax.set_title(conf)
        ax.set_xlabel("offline RL step")
        ax.set_ylabel(y_label)
        ax.set_ylim(0, 100)
    for ax in list(axes.flat)[len(configurations):]:
        ax.axis("off")
    fig.tight_layout(rect=(0, 0.6 / (3.2 * rows + 0.6), 1, 1))
    _legend_below(fig, list(axes.flat))
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return True


def compare_machines(reference: list[dict], other: list[dict]) -> list[dict]:
    """The same cells run on two machines (experiments/compare_machines.py): rows for the cells of `other` that
    `reference` also has, with both means and 95% half-widths, the difference (other - reference) and whether it
    lies within the sum of the half-widths (the intervals overlap). A cell whose config differs between the two
    is refused: its numbers would not be comparable (a record of an older results.json keeps no config; then
    its seeds, episodes and tasks must agree)."""
    by_cell = {r["cell"]: r for r in reference}
    rows = []
    for r in other:
        ref = by_cell.get(r["cell"])
        if ref is None:
            continue
        if "config" in ref and "config" in r:
            diff = config_diff(ref["config"], r["config"])
        else:  # older records keep no config: their seeds, episodes and tasks must agree
            diff = [f"{k}: {ref[k]!r} -> {r[k]!r}" for k in ("num_seeds", "episodes_per_task", "tasks") if ref[k] != r[k]]
        if diff:
            raise ValueError(f"cell {r['cell']}: the two results.json files hold different configs for it; "
                             "differing fields:\n  " + "\n  ".join(diff))
        diff = r["mean"] - ref["mean"]
        rows.append(dict(cell=r["cell"], reference_device=ref.get("device") or "not recorded",
                         other_device=r.get("device"), reference=[ref["mean"], ref["ci95"]],
                         other=[r["mean"], r["ci95"]], difference=diff,
                         intervals_overlap=abs(diff) <= ref["ci95"] + r["ci95"]))
    return rows
