"""Copies what the lent accelerator needs to train some sweep cells, and cannot make itself, into one folder that
travels with the working tree (the device tool's carry; README, "Throughput"): every file the cells' runs read,
their datasets and the files their evaluation reads (the drone's learning runs), made here where missing.

  python -m experiments.stage_accelerator --config=configs/benchmark_drone.py:paper --cells='rp6/*'

The data folder's files go to --out/data/<suite>/ (accel/data/drone/..., where experiments/accelerator.sh looks)
wherever data.data_dir is: point the runs there with --config.base.data.data_dir=accel/data/<suite>
--config.base.data.generate=False. A dataset file outside the data folder (data.dataset) goes to --out/ by its
name. Refuses, before copying, a set larger than --limit_mib (the carry holds 64 MiB in all, the wheels included).
"""
import os
import shutil

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import config_cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/benchmark_drone.py:paper", "Sweep configuration.",
                                lock_config=True)
flags.DEFINE_string("cells", "rp6/*", "Cells whose files are staged (indices, ranges or name patterns).")
flags.DEFINE_string("out", "accel", "The folder to carry (git-ignored).")
flags.DEFINE_float("limit_mib", 56.0, "Largest staged total, MiB.")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from srtd_jax.benchmarks.loading import data_files
    from srtd_jax.studies import sweep

    bcfg = FLAGS.config
    sweep.check(bcfg)
    targets, suites = {}, set()  # file -> where it goes under --out
    for cell in sweep.select(sweep.cells(bcfg), FLAGS.cells):
        cfg = sweep.cell_config(bcfg, cell)  # a run's seeds share its data (and its assignment: run_seed=cfg.seed)
        suites.add(cfg.suite)
        for f in data_files(cfg.suite, cfg.data, run_seed=cfg.seed):
            targets.setdefault(f, staged_path(f, cfg.data.data_dir, cfg.suite, FLAGS.out))
    files = list(targets)
    total = sum(os.path.getsize(f) for f in files) / 2 ** 20
    if total > FLAGS.limit_mib:
        raise app.UsageError(f"the cells' {len(files)} files hold {total:.1f} MiB, over --limit_mib="
                             f"{FLAGS.limit_mib:g}; stage fewer cells")
    for f, target in targets.items():
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(f, target)
    folders = ", ".join(os.path.join(FLAGS.out, "data", s) for s in sorted(suites))
    print(f"staged {len(files)} files, {total:.1f} MiB, under {FLAGS.out}/ (data_dir there: {folders})")


def staged_path(path: str, data_dir: str, suite: str, out: str) -> str:
    """Where a file a run reads goes under `out`: a file of the data folder `data_dir` to out/data/<suite>/ at its
    path inside that folder (a relative path of the working tree would climb out of `out` for a data folder
    outside it), any other file to out/ by its name."""
    inside = os.path.relpath(os.path.abspath(path), os.path.abspath(data_dir))
    if inside.startswith(os.pardir + os.sep) or os.path.isabs(inside):
        return os.path.join(out, os.path.basename(path))
    return os.path.join(out, "data", suite, inside)


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
