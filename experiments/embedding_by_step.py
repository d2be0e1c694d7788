"""How well finished runs' task embeddings z_t name the task at each point of an episode (k-NN task accuracy of z_t
by the number of steps its window holds; srtd_jax/studies/embedding_by_step.py).

  python -m experiments.embedding_by_step \
      --runs=runs/mt10_cpu5_learning_run/rp10/srtd,runs/mt10_cpu5_learning_run/rp10/te \
      --out=results/embedding_by_step/mt10_rp10

Each run is one of a run's workdir or label:workdir (the label defaults to the workdir's last two folders). Writes
OUT.json (everything, with the command), OUT.md (mean ± sd over seeds per step range) and OUT.png.
"""
import os

import numpy as np
from absl import app, flags, logging

from experiments import commands

FLAGS = flags.FLAGS
flags.DEFINE_list("runs", None, "Finished runs' workdirs (or label:workdir) of methods that train encoders.")
flags.DEFINE_list("seeds", None, "Seeds of every run to score (default: all of each run's seeds).")
flags.DEFINE_list("starts", ["1", "2", "3", "4", "6", "21", "51"],
                  "First step of each range of steps; the last range ends with the episode.")
flags.DEFINE_integer("episodes_per_task", 20, "Dataset episodes of each task embedded (the same for every seed).")
flags.DEFINE_integer("k", 10, "Neighbours of the k-NN vote.")
flags.DEFINE_string("out", "results/embedding_by_step/study", "Output path without extension (.json, .md, .png).")


def _parse_runs(items) -> dict:
    """{label: workdir}; a one-line UsageError for an empty or repeated label."""
    runs = {}
    for item in items or ():
        label, sep, workdir = item.rpartition(":")
        if not sep:
            workdir = item
            label = "/".join(os.path.normpath(item).split(os.sep)[-2:])
        if not label or not workdir:
            raise app.UsageError(f"--runs: expected workdir or label:workdir, got {item!r}")
        if label in runs:
            raise app.UsageError(f"--runs: label {label!r} given twice")
        runs[label] = workdir
    if not runs:
        raise app.UsageError("--runs: give at least one finished run's workdir")
    return runs


def _parse_ints(flag: str, values) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise app.UsageError(f"--{flag}: expected integers, got {','.join(values)!r}") from None


def _checked(runs: dict, seeds):
    """{label: (config, seeds)} after every check that needs no data: a config.json, a method that trains
    encoders, seeds among the run's, a checkpoint."""
    from srtd_jax.runtime.config_check import ConfigError, read_workdir_config
    from srtd_jax.studies.trained import check_has_encoders
    out = {}
    for label, workdir in runs.items():
        try:
            cfg = read_workdir_config(workdir)
        except ConfigError as err:
            raise app.UsageError(f"--runs: {err}") from None
        chosen = list(range(cfg.num_seeds)) if seeds is None else seeds
        try:
            for seed in chosen:
                check_has_encoders(cfg, workdir, seed)
        except ValueError as err:
            raise app.UsageError(f"--runs: {err}") from None
        if not os.path.isdir(os.path.join(workdir, "checkpoints")):
            raise app.UsageError(f"--runs: {workdir} has no checkpoints (the run has not trained its encoders)")
        out[label] = (cfg, chosen)
    return out


def write_outputs(result: dict, out: str) -> None:
    """OUT.json, OUT.md and OUT.png of a study result (see main)."""
    from srtd_jax.core import atomic
    from srtd_jax.runtime import reporting
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    reporting.write_json(out + ".json", result)
    runs = result["runs"]
    heads = [f"t = {a}" if a == b else f"t = {a}-{b}" for a, b in next(iter(runs.values()))["ranges"]]
    lines = ["# Task accuracy of z_t by episode step", "", f"Command: `{result['command']}`", "",
             f"The share of z_t whose task is the majority task of their {result['k']} nearest z among a sample of "
             "every step of the same episodes (srtd_jax/studies/embedding_by_step.py). z_t is the task encoder's "
             "embedding of the window of the n transitions before step t, zeros where t < n: the conditioning the "
             "policy gets at step t of an evaluation episode. Mean ± sd over seeds.", "",
             "| run | method | n | seeds | " + " | ".join(heads) + " |", "|---" * (len(heads) + 4) + "|"]
    for label, run in runs.items():
        acc = np.asarray(run["per_seed"])
        cells = [f"{m:.3f} ± {s:.3f}" for m, s in zip(acc.mean(0), acc.std(0, ddof=1) if len(acc) > 1 else 0 * acc[0])]
        lines.append(f"| {label} | {run['method']} | {run['n']} | {len(acc)} | " + " | ".join(cells) + " |")
    chance = sorted({round(1 / run["tasks"], 3) for run in runs.values()})
    episodes = "; ".join(f"{label} {run['episodes']} of {run['episode_length']} steps each"
                         for label, run in runs.items())
    lines += ["", f"Chance: {', '.join(map(str, chance))} (one over the number of tasks). Episodes: {episodes}.", ""]
    atomic.write_text(out + ".md", "\n".join(lines))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for label, run in runs.items():
        acc = np.asarray(run["per_seed"])
        ax.errorbar(np.arange(len(heads)), acc.mean(0), yerr=acc.std(0, ddof=1) if len(acc) > 1 else None,
                    marker="o", capsize=3, label=label)
    for level in chance:
        ax.axhline(level, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(np.arange(len(heads)), [h.removeprefix("t = ") for h in heads])
    ax.set_xlabel("t: episode step (the window holds the min(t, n) steps before it)")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(f"{result['k']}-NN task accuracy of z_t")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=90)
    plt.close(fig)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from srtd_jax.studies import embedding_by_step
    runs = _parse_runs(FLAGS.runs)
    seeds = None if FLAGS.seeds is None else _parse_ints("seeds", FLAGS.seeds)
    starts = _parse_ints("starts", FLAGS.starts)
    try:
        embedding_by_step.buckets(starts, max(starts))
    except ValueError as err:
        raise app.UsageError(f"--starts: {err}") from None
    if FLAGS.k < 1:
        raise app.UsageError(f"--k={FLAGS.k}: needs at least one neighbour")
    if FLAGS.episodes_per_task < 1:
        raise app.UsageError(f"--episodes_per_task={FLAGS.episodes_per_task}: needs at least one episode per task")
    checked = _checked(runs, seeds)
    result = {"command": commands.this_command(), "k": FLAGS.k, "episodes_per_task": FLAGS.episodes_per_task,
              "runs": {}}
    for label, (cfg, chosen) in checked.items():
        print(f"{label}: seeds {chosen}", flush=True)
        try:
            run = embedding_by_step.run_accuracies(cfg, runs[label], chosen, starts, FLAGS.episodes_per_task, FLAGS.k)
        except ValueError as err:
            raise app.UsageError(f"{runs[label]}: {err}") from None
        result["runs"][label] = {"workdir": runs[label], "method": cfg.method, "suite": cfg.suite,
                                 "configuration": cfg.data.configuration, "seeds": chosen, **run}
        print("  " + "  ".join(f"{a}-{b}: {m:.3f}" for (a, b), m in
                               zip(run["ranges"], np.mean(run["per_seed"], 0))), flush=True)
    write_outputs(result, FLAGS.out)
    print(f"wrote {FLAGS.out}.json, .md, .png")


if __name__ == "__main__":
    app.run(main)
