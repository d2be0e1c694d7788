"""A benchmark's datasets of the two recipes side by side: per task and kind the success rate and return, each task's
learning run with its MR / ME cut points, and what tells the recipes apart (uniform-random actions, lag-1 action
autocorrelation, how well an MLP predicts held-out actions from the state).

  python -m experiments.compare_recipes --config=configs/paper.py --out=results/datasets_learning_run
  python -m experiments.compare_recipes --config=configs/drone.py --out=results/datasets_learning_run_drone

Missing files of either recipe are generated first (MT10 at the paper size: about 5 minutes for the ladder and 10
for the learning runs on 2 cores; the drone's online runs about 10-20).
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


def _load(suite, data_cfg, recipe):
    """{(task, kind): (EpisodeDataset, meta)} of one recipe, generated where missing."""
    from srtd_jax.data import dataset as ds
    from srtd_jax.data import ladder
    data_cfg = data_cfg.copy_and_resolve_references()
    data_cfg.recipe = recipe
    settings = suite.settings(data_cfg)
    out = {}
    for kind in ladder.KINDS:
        paths = suite.ensure({t: kind for t in suite.tasks}, settings, data_cfg)
        for task in suite.tasks:
            out[task, kind] = ds.load(paths[task])
    return out


def _curve(meta) -> dict:
    """A learning run's curve from a file's metadata: MT10's success per snapshot, the drone's mean return."""
    if "run_success" in meta:  # MT10
        return {"points": meta["run_success"], "returns": meta["run_returns"], "medium": meta["medium_snapshot"],
                "reference": meta["expert_success"]}
    return {"points": meta["run_returns"], "returns": meta["run_returns"], "medium": meta["medium_snapshot"],
            "reference": meta["reference"], "best": meta["best_snapshot"]}


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


def _plot(curves, path, success: bool, expert_returns=None):
    """Each task's curve with its cut point. success: MT10's success rates (%) against the scripted expert's;
    otherwise mean returns against the trained agent's reference and the noise-free expert's (expert_returns)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cols = 5 if len(curves) > 6 else 3
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), sharey=True, squeeze=False)
    for i, (ax, (task, c)) in enumerate(zip(axes.flat, curves.items())):
        x = np.arange(len(c["points"]))
        scale = 100 if success else 1
        ax.plot(x, scale * np.asarray(c["points"]), marker=".", label="snapshot " + ("success" if success else
                                                                                    "mean return"))
        if success:
            ax.axhline(100 * c["reference"], color="grey", linestyle=":", label="scripted expert")
        else:
            ax.axhline(c["reference"], color="tab:green", linestyle=":", label="trained agent's best (normaliser)")
            ax.axhline(expert_returns[i], color="grey", linestyle=":", label="noise-free expert's best")
        ax.axvline(c["medium"], color="tab:red", linestyle="--", label="MR ends, ME begins")
        ax.set(title=task, xlabel="snapshot", **({"ylim": (-3, 103)} if success else {}))
    for ax in axes.flat[len(curves):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("success (%)" if success else "return")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv):
    del argv
    from srtd_jax.benchmarks import registry
    suite = registry.get(FLAGS.config.suite)
    tasks, mt10 = suite.tasks, suite.name == "mt10"
    cfg = FLAGS.config.data
    files = {recipe: _load(suite, cfg, recipe) for recipe in RECIPES}
    per_kind = {recipe: {f"{t}/{k}": {"success": float(d.successes.any(1).mean()),
                                      "return": float(d.episode_returns[:, 0].mean())}
                         for (t, k), (d, _) in files[recipe].items()} for recipe in RECIPES}
    curves = {task: _curve(files["learning_run"][task, "RP"][1]) for task in tasks}
    expert_returns = None
    if not mt10:
        from srtd_jax.benchmarks.drone import generate
        expert_returns = generate.expert_reference(cfg.episode_length).tolist()
    diag = {recipe: _diagnostics(files[recipe], recipe, cfg.num_rungs, FLAGS.regressor_steps) for recipe in RECIPES}
    command = commands.this_command()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    with open(FLAGS.out + ".json", "w") as f:
        json.dump({"command": command, "suite": suite.name, "per_task_kind": per_kind, "learning_runs": curves,
                   "expert_returns": expert_returns, "diagnostics": diag}, f, indent=2)
    _plot(curves, FLAGS.out + ".png", mt10, expert_returns)
    size = (f"{cfg.episodes_mr} / {cfg.episodes_rp} / {cfg.episodes_me} episodes of {cfg.episode_length} steps per "
            "task for MR / RP / ME")
    lines = [f"Made by: `{command}`", "",
             (f"MT10 at the paper's size ({size}). Success = the success flag at any step; return = undiscounted raw "
              "reward." if mt10 else
              f"Drone navigation ({size}). Success = at least one goal reached; return = the undiscounted progress "
              "reward."), f"Learning runs and cut points: `{os.path.basename(FLAGS.out)}.png`.", "",
             "## Per task and kind: learning run (ladder)", "",
             "| task | MR success | RP success | ME success | MR return | RP return | ME return | medium snapshot "
             + ("| last snapshot's success (scripted expert's) |" if mt10 else
                "| best snapshot's mean return: trained agent's best noise-free return (noise-free expert's) |"),
             "|---|---|---|---|---|---|---|---|---|"]
    cell = lambda t, k, f, fmt: (f"{fmt.format(per_kind['learning_run'][f'{t}/{k}'][f])} "
                                 f"({fmt.format(per_kind['ladder'][f'{t}/{k}'][f])})")
    for i, t in enumerate(tasks):
        c = curves[t]
        last = (f"{c['points'][-1]:.1f} ({c['reference']:.1f})" if mt10 else
                f"{c['points'][c['best']]:.1f} (snapshot {c['best']}): {c['reference']:.1f} ({expert_returns[i]:.1f})")
        lines.append(f"| {t} | " + " | ".join(cell(t, k, "success", "{:.2f}") for k in ("MR", "RP", "ME")) + " | "
                     + " | ".join(cell(t, k, "return", "{:.0f}") for k in ("MR", "RP", "ME"))
                     + f" | {c['medium']} of {len(c['points']) - 1} | {last} |")
    mean = lambda r, k, f: np.mean([per_kind[r][f"{t}/{k}"][f] for t in tasks])
    lines.append("| **mean** | " + " | ".join(f"{mean('learning_run', k, 'success'):.2f} ({mean('ladder', k, 'success'):.2f})"
                                               for k in ("MR", "RP", "ME")) + " | "
                 + " | ".join(f"{mean('learning_run', k, 'return'):.0f} ({mean('ladder', k, 'return'):.0f})"
                              for k in ("MR", "RP", "ME")) + " | | |")
    lines += ["", f"## What tells the recipes apart (per kind, pooled over the {len(tasks)} tasks)", "",
              "Uniform share: the expected share of uniformly random actions (the ladder draws one with probability "
              "1 − q; a learning run never does). Lag-1: the correlation of a_t with a_{t+1} within episodes, mean "
              "over action dimensions. Regressor: the held-out squared action error (summed over the "
              f"{suite.action_dim} dimensions) "
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
