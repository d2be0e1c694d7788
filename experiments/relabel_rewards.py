"""Figure 4: average relabelled reward of source / expert / imaginary / Gaussian-noise data, and their
state-action distributions in 2-D (PCA).

  python -m experiments.relabel_rewards --config=configs/quick.py --out=results/relabel/figure4 \
      [--samples_per_set=200 --config.encoder.epochs=20 ...]
  python -m experiments.relabel_rewards --run=runs/mt10_cpu5_learning_run/mr5_rp3_me2/srtd --out=...

With --run the study takes a finished MT10 run's config, data and trained encoders (seed --seed_index) instead
of training its own, so it speaks about the encoders that run trained (its data recipe and defaults).

Writes OUT.json (everything, with the command), OUT.md (the table beside the paper's) and OUT.png.
"""
import json
import os

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import commands, config_cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/quick.py", "Run configuration (data mixture, encoder).",
                                lock_config=True)
flags.DEFINE_string("out", "results/relabel/figure4", "Output path without extension.")
flags.DEFINE_string("workdir", "runs/relabel", "Directory for the encoder phase's metrics.")
flags.DEFINE_integer("samples_per_set", 200, "Relabelled transitions per set and source task.")
flags.DEFINE_integer("expert_episodes", 5, "Scripted-expert episodes per source task for the expert set.")
flags.DEFINE_string("run", None, "A finished MT10 run's workdir whose config and trained encoders the study uses "
                    "(--config and --workdir are then not used).")
flags.DEFINE_integer("seed_index", 0, "With --run: whose seed's encoders.")

PAPER = {"source": 0.2471, "expert": 0.5845, "imaginary": 0.3947, "noise": 0.2519}
TITLES = {"source": "(a) source dataset", "expert": "(b) expert dataset", "imaginary": "(c) imaginary demo.",
          "noise": "(d) by Gaussian noise"}


def _encoders_line(encoders: dict) -> str:
    if encoders.get("trained_run"):
        return (f"Encoders: seed {encoders['seed']} of the finished run `{encoders['trained_run']}` "
                "(its config, data and checkpoint).")
    return "Encoders: SRTD's, trained here on the config's mixture (one seed)."


def write_outputs(result: dict, out: str, command: str) -> None:
    """OUT.json, OUT.md and OUT.png from a `relabel_study.run_study` result."""
    from srtd_jax.studies.relabel import SETS
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    result = dict(result, command=command, paper=PAPER)
    with open(out + ".json", "w") as f:
        json.dump(result, f)
    scale = result["reward_scale"]
    lines = ["# Figure 4: average reward by relabelling with Meta-World's reward function", "",
             f"Command: `{command}`", "",
             f"Source tasks (MR in the mixture): {', '.join(result['sources'])}. Rewards are Meta-World's raw reward "
             f"x {scale:g} (the released code's scale), averaged over the relabelled transitions of every source task.",
             "", _encoders_line(result.get("encoders", {})), "",
             "| | " + " | ".join(TITLES[s] for s in SETS) + " |", "|---" * (len(SETS) + 1) + "|",
             "| ours | " + " | ".join(f"{result['average_reward'][s]:.4f}" for s in SETS) + " |",
             "| paper | " + " | ".join(f"{PAPER[s]:.4f}" for s in SETS) + " |", "",
             "## Per source task (relabelled; recorded in brackets where the simulator recorded one)", "",
             "| task | " + " | ".join(SETS) + " |", "|---" * (len(SETS) + 1) + "|"]
    for task, row in result["per_task"].items():
        cells = []
        for s in SETS:
            cell = f"{row[s]['relabelled_raw'] * scale:.4f}"
            if "recorded_raw" in row[s]:
                cell += f" ({row[s]['recorded_raw'] * scale:.4f})"
            cells.append(cell)
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    err = result["relabel_abs_error_raw"]
    lines += ["", "Relabelling error on transitions whose reward the simulator recorded (mean |relabelled - recorded|,"
              f" scaled): source {err['source'] * scale:.4f}, expert {err['expert'] * scale:.4f}.", ""]
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    task = result["sources"][0]
    pts = result["pca"][task]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharex=True, sharey=True)
    for ax, s in zip(axes, SETS):
        xy = pts[s]
        ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=4, alpha=0.5)
        ax.set_title(f"{TITLES[s]}\navg reward {result['per_task'][task][s]['relabelled_raw'] * scale:.3f}")
        ax.set_xlabel("PC 1")
    axes[0].set_ylabel("PC 2")
    fig.suptitle(f"(s, a) distributions on {task}, PCA fitted to the union of the four sets")
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=90)
    plt.close(fig)


def _run_config(run: str, seed: int):
    """The config of the finished run `run`, checked for what the study needs; a one-line UsageError otherwise."""
    from srtd_jax.runtime.config_check import ConfigError, read_workdir_config
    from srtd_jax.studies.trained import check_has_encoders
    try:
        cfg = read_workdir_config(run)
    except ConfigError as err:
        raise app.UsageError(f"--run={err}") from None
    if cfg.suite != "mt10":
        raise app.UsageError(f"--run={run}: a {cfg.suite} run; the study relabels with Meta-World's reward (mt10 only)")
    try:
        check_has_encoders(cfg, run, seed)
    except ValueError as err:
        raise app.UsageError(f"--run={err}") from None
    return cfg


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from srtd_jax.runtime.config_check import check_config
    from srtd_jax.studies.relabel import run_study
    if FLAGS.run:
        cfg = _run_config(FLAGS.run, FLAGS.seed_index)
    else:
        cfg = FLAGS.config
        check_config(cfg)
        os.makedirs(FLAGS.workdir, exist_ok=True)
    command = commands.this_command()
    result = run_study(cfg, None if FLAGS.run else FLAGS.workdir, samples_per_set=FLAGS.samples_per_set,
                       expert_episodes_per_task=FLAGS.expert_episodes, trained_run=FLAGS.run, seed=FLAGS.seed_index)
    write_outputs(result, FLAGS.out, command)
    print(open(FLAGS.out + ".md").read())


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
