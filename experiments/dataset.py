"""Inspect, export and import datasets.

  python -m experiments.dataset info   --config=configs/quick.py            # a run config's training data
  python -m experiments.dataset info   --path=data/imported/mine.npz        # any dataset file
  python -m experiments.dataset export --config=configs/quick.py --format=npz --output=exports/quick.npz
  python -m experiments.dataset export --config=configs/quick.py --format=minari --output=srtd/mt10-quick-v0
  python -m experiments.dataset import --format=episodes --source=my_episodes/ --suite=mt10 --output=data/mine.npz
  python -m experiments.dataset import --format=minari --source=srtd/mt10-quick-v0 --suite=mt10 --output=data/q.npz
  python -m experiments.main --config=configs/quick.py --config.data.dataset=data/mine.npz --workdir=runs/mine

Formats: `npz` (D4RL-style flat arrays: observations, actions, rewards, next_observations, terminals, timeouts,
infos/*), `minari` (a Minari dataset id, stored under $MINARI_DATASETS_PATH, or a dataset folder), `episodes` (a
directory of per-episode .npz files; see srtd_jax/data/exchange.py: read_episode_dir). Imported tasks must be tasks
of the benchmark named by --suite (any subset, any order); episodes may differ in length.
"""
import os
import sys

from absl import app, flags
from ml_collections import config_flags

from experiments import config_cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/quick.py", "Run configuration (its suite and data block).",
                                lock_config=True)
flags.DEFINE_string("path", None, "info / export: a dataset file instead of the config's training data.")
flags.DEFINE_enum("format", "npz", ["npz", "minari", "episodes"], "export / import: the outside format.")
flags.DEFINE_string("output", None, "export: the .npz file or Minari dataset id; import: the dataset file to write.")
flags.DEFINE_string("source", None, "import: the .npz file, episode directory, or Minari dataset id or folder.")
flags.DEFINE_string("suite", "mt10", "import: the benchmark the data belongs to (sizes and evaluation).")
flags.DEFINE_list("tasks", None, "import: task names for the task ids of a source that names none.")
flags.DEFINE_bool("force", False, "Replace an existing --output.")
COMMANDS = ("info", "export", "import")


def _training_data(cfg):
    """(data, task names, kinds, metadata) of --path or of the config's training data."""
    from srtd_jax.benchmarks import registry
    from srtd_jax.benchmarks.loading import load_training_data
    from srtd_jax.data import dataset as ds
    if FLAGS.path:
        data, meta = ds.load(FLAGS.path)
        suite = meta.get("suite", "mt10")
        kinds = meta.get("kinds") or ({meta["task"]: meta["kind"]} if "task" in meta else {})
        return data, registry.task_names(suite), kinds, dict(meta, suite=suite)
    assignment, data = load_training_data(cfg.suite, cfg.data, 1, log=lambda *_: None, run_seed=cfg.seed)
    meta = {"suite": cfg.suite, "configuration": cfg.data.configuration, "kinds": assignment,
            "recipe": "ladder", "data": cfg.data.to_dict()}
    return data, registry.task_names(cfg.suite), assignment, meta


def _refuse_existing(path: str):
    if path and os.path.exists(path) and not FLAGS.force:
        raise ValueError(f"{path} exists; pass --force to replace it")


def _info(cfg):
    from srtd_jax.data import describe
    data, tasks, kinds, meta = _training_data(cfg)
    print(f"{FLAGS.path or 'the training data of --config'}: {meta['suite']}, {data.num_episodes} episodes, "
          f"{data.num_steps} steps, {data.observations.shape[-1]}-d observations, {data.actions.shape[-1]}-d actions")
    print(describe.markdown(describe.per_task(data, tasks, kinds)))


def _export(cfg):
    from srtd_jax.data import exchange
    if not FLAGS.output:
        raise ValueError("export needs --output (a .npz path, or a Minari dataset id such as srtd/mt10-quick-v0)")
    data, tasks, _, meta = _training_data(cfg)
    if FLAGS.format == "npz":
        _refuse_existing(FLAGS.output)
        exchange.export_npz(FLAGS.output, data, tasks, meta)
    elif FLAGS.format == "minari":
        exchange.export_minari(FLAGS.output, data, tasks, meta)
    else:
        raise ValueError("export writes --format=npz or --format=minari")
    print(f"exported {data.num_episodes} episodes ({data.num_steps} steps) to {FLAGS.output} ({FLAGS.format})")


def _import():
    from srtd_jax.benchmarks import registry
    from srtd_jax.data import dataset as ds
    from srtd_jax.data import exchange
    if not FLAGS.source or not FLAGS.output:
        raise ValueError("import needs --source and --output")
    _refuse_existing(FLAGS.output)
    suite_tasks = registry.task_names(FLAGS.suite)  # an unknown suite: one line naming the valid ones
    given = tuple(FLAGS.tasks) if FLAGS.tasks else None
    if FLAGS.format == "episodes":
        episodes, names, meta = (*exchange.read_episode_dir(FLAGS.source), {})
    elif FLAGS.format == "npz":
        episodes, names, meta = exchange.read_npz(FLAGS.source, given)
    else:
        episodes, names, meta = exchange.read_minari(FLAGS.source, given)
    outside = [t for t in names if t not in suite_tasks]
    if outside:
        raise ds.DatasetError(f"{FLAGS.source}: tasks {outside} are not {FLAGS.suite} tasks ({', '.join(suite_tasks)})")
    used = {ep["task"] for ep in episodes}
    data = exchange.from_episodes(episodes, suite_tasks, where=FLAGS.source)
    kinds = exchange.kinds_of(episodes, meta)
    tasks = tuple(t for t in suite_tasks if t in used)
    ds.save(FLAGS.output, data, exchange.imported_meta(FLAGS.suite, tasks, kinds, os.path.abspath(FLAGS.source),
                                                       FLAGS.format))
    print(f"imported {data.num_episodes} episodes ({data.num_steps} steps) of {len(tasks)} tasks into "
          f"{FLAGS.output}; train on it with --config.suite={FLAGS.suite} --config.data.dataset={FLAGS.output}")


def main(argv):
    from srtd_jax.data.dataset import DatasetError
    commands = argv[1:]
    if len(commands) != 1 or commands[0] not in COMMANDS:
        raise app.UsageError(f"give one command: {' | '.join(COMMANDS)}")
    try:
        {"info": lambda: _info(FLAGS.config), "export": lambda: _export(FLAGS.config), "import": _import}[commands[0]]()
    except (DatasetError, ValueError) as err:  # bad input: one line, no traceback
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
