"""Train and evaluate one method on MT10 for several seeds.

  python -m experiments.main --config=configs/quick.py --workdir=runs/quick [--config.num_seeds=5 ...]
"""
from absl import app, flags, logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/quick.py", "Run configuration.", lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for the run's outputs.", required=True)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # progress is printed; keep library INFO logs (orbax) out of it
    import os
    import shlex
    import sys
    from srtd_jax.run import train_and_evaluate
    from srtd_jax.config_check import check_config
    check_config(FLAGS.config)  # before anything is written
    os.makedirs(FLAGS.workdir, exist_ok=True)
    with open(os.path.join(FLAGS.workdir, "command.txt"), "w") as f:
        f.write("python -m experiments.main " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "\n")
    train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
    app.run(main)
