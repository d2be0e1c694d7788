"""Train and evaluate one method on MT10 or drone navigation (configs/drone.py) for several seeds; re-running
the same command resumes.

  python -m experiments.main --config=configs/quick.py --workdir=runs/quick [--config.num_seeds=5 ...]

Multi-host: start the same command on every host with --coordinator_address=HOST:PORT --num_processes=N
--process_id=i (or the SRTD_* environment variables; see srtd_jax/core/devices.py).
"""
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import commands, config_cli
from srtd_jax.runtime import termination

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/quick.py", "Run configuration.", lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for the run's outputs (required unless --print_config).")
flags.DEFINE_bool("allow_config_change", False,
                  "Resume a workdir whose config.json differs from --config (the differences are printed).")
flags.DEFINE_bool("print_config", False, "Print the resolved config (file and --config.* overrides), then exit.")
flags.DEFINE_string("coordinator_address", None, "Multi-host: host:port of process 0 (jax.distributed).")
flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # progress is printed; keep library INFO logs (orbax) out of it
    if FLAGS.print_config:
        print(FLAGS.config)
        return
    if not FLAGS.workdir:
        raise app.UsageError("--workdir is required")
    from srtd_jax.core import devices
    # a bad input or a busy workdir: one line that names it, no traceback; SIGTERM saves the chunk in flight
    with config_cli.one_line_errors(), termination.sigterm_raises():
        devices.initialize_distributed(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
        from srtd_jax.run import train_and_evaluate
        command = commands.this_command()
        log = print if devices.is_primary() else (lambda *_: None)
        train_and_evaluate(FLAGS.config, FLAGS.workdir, log=log, allow_config_change=FLAGS.allow_config_change,
                           command=command)


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
