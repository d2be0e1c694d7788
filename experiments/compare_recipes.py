"""The MT10 datasets of the two recipes side by side: per task and kind the success rate and return, each task's
learning run with its MR / ME cut points, and what tells the recipes apart (uniform-random actions, lag-1 action
autocorrelation, how well an MLP predicts held-out actions from the state).

  python -m experiments.compare_recipes --config=configs/paper.py --out=results/datasets_learning_run

Missing files of either recipe are generated first (the paper size: about 5 minutes for the ladder and 10 for the
learning runs on 2 cores).
"""
import json
import os

import numpy as np
from absl import app, flags
from ml_collections import config_flags

from experiments import commands, config_cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/paper.py", "Run configuration (its data block).", lock_config=True)
flags.DEFINE_string("out", "results/datasets_learning_run", "Output path without extension (.json, .md, .png).")
flags.DEFINE_integer("regressor_steps", 3000, "Adam steps of the state -> action MLP per recipe and kind.")

RECIPES = ("ladder", "learning_run")


def _load(data_cfg, recipe):
    """{(task, kind): (EpisodeDataset, meta)} of one recipe, generated where missing."""
    from srtd_jax.benchmarks.mt10 import generate
    from srtd_jax.benchmarks.mt10.env import MT10_TASKS
    from srtd_jax.data import dataset as ds
    from srtd_jax.data import ladder
    data_cfg = data_cfg.copy_and_resolve_references()
    data_cfg.recipe = recipe
    settings = generate.settings_from_config(data_cfg)
    out = {}
    for kind in ladder.KINDS:
        generate.ensure_datasets({t: kind for t in MT10_TASKS}, settings, data_cfg.data_dir, data_cfg.num_workers)
        for task in MT10_TASKS:
            out[task, kind] = ds.load(ladder.file_path(data_cfg.data_dir, settings, task, kind))
    return out


def _diagnostics(files, recipe, num_rungs, steps):
    from srtd_jax.data import diagnostics
    rows = {}
    for kind in ("MR", "RP", "ME"):
        parts = [d for (_, k), (d, _) in files.items() if k == kind]
        obs = np.concatenate([d.observations for d in parts])
        actions = np.concatenate([d.actions for d in parts])
        held_out = np.random.default_rng(0).random(len(obs)) < 0.1
        rungs = np.concatenate([d.rungs[:, 0] for d in parts])
        rows[kind] = {"uniform_share": diagnostics.uniform_share(rungs, num_rungs) if recipe == "ladder" else 0.0,
                      "lag1_autocorrelation": diagnostics.lag1_autocorrelation(actions),
                      "regressor": diagnostics.regressor_error(obs, actions, held_out, steps=steps)}
    return rows


def _plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 5, figsize=(16, 5.6), sharey=True)
    for ax, (task, c) in zip(axes.flat, curves.items()):
        x = np.arange(len(c["success"]))
        ax.plot(x, 100 * np.asarray(c["success"]), marker=".", label="snapshot success")
        ax.axhline(100 * c["expert_success"], color="grey", linestyle=":", label="scripted expert")
        ax.axvline(c["medium"], color="tab:red", linestyle="--", label="MR ends, ME begins")
        ax.set(title=task, xlabel="snapshot", ylim=(-3, 103))
    axes[0, 0].set_ylabel("success (%)")
    axes[1, 0].set_ylabel("success (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv):
    del argv
    from srtd_jax.benchmarks.mt10.env import MT10_TASKS
    cfg = FLAGS.config.data
    files = {recipe: _load(cfg, recipe) for recipe in RECIPES}
    per_kind = {recipe: {f"{t}/{k}": {"success": float(d.successes.any(1).mean()),
                                      "return": float(d.episode_returns[:, 0].mean())}
                         for (t, k), (d, _) in files[recipe].items()} for recipe in RECIPES}
    curves = {}
    for task in MT10_TASKS:
        meta = files["learning_run"][task, "RP"][1]
        curves[task] = {"success": meta["run_success"], "returns": meta["run_returns"],
                        "medium": meta["medium_snapshot"], "expert_success": meta["expert_success"]}
    diag = {recipe: _diagnostics(files[recipe], recipe, cfg.num_rungs, FLAGS.regressor_steps) for recipe in RECIPES}
    command = commands.this_command()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    with open(FLAGS.out + ".json", "w") as f:
        json.dump({"command": command, "per_task_kind": per_kind, "learning_runs": curves, "diagnostics": diag}, f,
                  indent=2)
    _plot(curves, FLAGS.out + ".png")
    lines = [f"Made by: `{command}`", "",
             f"MT10 at the paper's size ({cfg.episodes_mr} / {cfg.episodes_rp} / {cfg.episodes_me} episodes of "
             f"{cfg.episode_length} steps per task for MR / RP / ME). Success = the success flag at any step; return "
             "= undiscounted raw reward. Learning runs and cut points: "
             f"`{os.path.basename(FLAGS.out)}.png`.", "",
             "## Per task and kind: learning run (ladder)", "",
             "| task | MR success | RP success | ME success | MR return | RP return | ME return | medium snapshot "
             "| last snapshot's success (scripted expert's) |",
             "|---|---|---|---|---|---|---|---|---|"]
    cell = lambda t, k, f, fmt: (f"{fmt.format(per_kind['learning_run'][f'{t}/{k}'][f])} "
                                 f"({fmt.format(per_kind['ladder'][f'{t}/{k}'][f])})")
    for t in MT10_TASKS:
        c = curves[t]
        lines.append(f"| {t} | " + " | ".join(cell(t, k, "success", "{:.2f}") for k in ("MR", "RP", "ME")) + " | "
                     + " | ".join(cell(t, k, "return", "{:.0f}") for k in ("MR", "RP", "ME"))
                     + f" | {c['medium']} of {len(c['success']) - 1} | {c['success'][-1]:.1f} "
                       f"({c['expert_success']:.1f}) |")
    mean = lambda r, k, f: np.mean([per_kind[r][f"{t}/{k}"][f] for t in MT10_TASKS])
    lines.append("| **mean** | " + " | ".join(f"{mean('learning_run', k, 'success'):.2f} ({mean('ladder', k, 'success'):.2f})"
                                               for k in ("MR", "RP", "ME")) + " | "
                 + " | ".join(f"{mean('learning_run', k, 'return'):.0f} ({mean('ladder', k, 'return'):.0f})"
                              for k in ("MR", "RP", "ME")) + " | | |")
    lines += ["", "## What tells the recipes apart (per kind, pooled over the ten tasks)", "",
              "Uniform share: the expected share of uniformly random actions (the ladder draws one with probability "
              "1 − q; a learning run never does). Lag-1: the correlation of a_t with a_{t+1} within episodes, mean "
              "over action dimensions. Regressor: the held-out squared action error (summed over the 4 dimensions) "
              f"of an MLP (256, 256) fitted from the state on 90% of the episodes ({FLAGS.regressor_steps} Adam "
              "steps), over the held-out actions' variance (1 = the state says nothing).", "",
              "| recipe | kind | uniform share | lag-1 autocorrelation | regressor error / variance |",
              "|---|---|---|---|---|"]
    for recipe in RECIPES:
        for kind, row in diag[recipe].items():
            reg = row["regressor"]
            lines.append(f"| {recipe} | {kind} | {row['uniform_share']:.2f} | {row['lag1_autocorrelation']:.2f} | "
                         f"{reg['mse']:.3f} / {reg['variance']:.3f} = {reg['ratio']:.2f} |")
    with open(FLAGS.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
