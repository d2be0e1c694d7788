"""Figure 4: average relabelled reward of source / expert / imaginary / Gaussian-noise data, and their
state-action distributions in 2-D (PCA).

  python -m experiments.relabel_rewards --config=configs/quick.py --out=results/relabel/figure4 \
      [--samples_per_set=200 --config.encoder.epochs=20 ...]
  python -m experiments.relabel_rewards --run=runs/mt10_cpu5_learning_run/mr5_rp3_me2/srtd --out=...

With --run the study takes a finished MT10 run's config, data and trained encoders (seed --seed_index) instead
of training its own, so it speaks about the encoders that run trained (its data recipe and defaults).

Writes OUT.json (everything, with the command), OUT.md (the table beside the paper's) and OUT.png.
"""
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

def _run_config(run: str, seed: int):
    """studies.relabel.trained_run_config, its error as a one-line UsageError."""
    from srtd_jax.studies.relabel import trained_run_config
    try:
        return trained_run_config(run, seed)
    except ValueError as err:
        raise app.UsageError(f"--run={err}") from None


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from srtd_jax.runtime.config_check import check_config
    from srtd_jax.studies.relabel import run_study
    from srtd_jax.studies.relabel_report import write_outputs
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
