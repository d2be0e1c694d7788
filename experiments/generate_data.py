"""Generate MT10 datasets (MR / RP / ME) for a configuration, or all kinds for all tasks.

  python -m experiments.generate_data --config=configs/quick.py [--all_kinds] [--report=results/datasets_quick.md]
"""
import dataclasses
import json
import os

from absl import app, flags
from ml_collections import config_flags

from experiments import commands, config_cli

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/quick.py", "Run configuration (its data block is used).", lock_config=True)
flags.DEFINE_bool("all_kinds", False, "Generate every kind for every task instead of the configured mixture.")
flags.DEFINE_string("report", None, "Write a Markdown + JSON table of success rate and return per task and kind here.")


def main(argv):
    del argv
    from srtd_jax.benchmarks.mt10 import generate
    from srtd_jax.benchmarks.mt10.env import MT10_TASKS
    from srtd_jax.data import dataset as ds
    from srtd_jax.data import ladder, mixtures

    cfg = FLAGS.config.data
    settings = generate.settings_from_config(cfg)
    if FLAGS.all_kinds:
        wanted = [(t, k) for k in ladder.KINDS for t in MT10_TASKS]
    else:
        wanted = list(mixtures.assign(cfg.configuration, cfg.assignment_seed, MT10_TASKS).items())
    for kind in sorted({k for _, k in wanted}):  # one call per kind: a task maps to one kind per call
        generate.ensure_datasets({t: k for t, k in wanted if k == kind}, settings, cfg.data_dir, cfg.num_workers)
    if FLAGS.report:
        rows = []
        for task, kind in wanted:
            data, meta = ds.load(ladder.file_path(cfg.data_dir, settings, task, kind))
            rows.append(dict(task=task, kind=kind, episodes=data.num_episodes, medium_rung=meta.get("medium_rung", meta.get("medium_snapshot")),
                             success=float(data.successes.any(1).mean()),
                             mean_return=float(data.episode_returns[:, 0].mean())))
        _write_report(FLAGS.report, rows, settings)


def _write_report(path, rows, settings):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    command = commands.this_command()
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump({"command": command, "settings": dataclasses.asdict(settings), "rows": rows}, f, indent=2)
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    by = {(r["task"], r["kind"]): r for r in rows}
    lines = [f"Made by: `{command}`", "",
             f"Episodes of {settings.episode_length} steps; success = success flag at any step; return = undiscounted "
             "sum of Meta-World's raw reward. Medium rung in brackets.", "",
             "| task | " + " | ".join(f"{k} success | {k} return" for k in kinds) + " |",
             "|---|" + "---|---|" * len(kinds)]
    for t in tasks:
        cells = []
        for k in kinds:
            r = by.get((t, k))
            cells += [f"{r['success']:.2f}", f"{r['mean_return']:.0f} [{r['medium_rung']}]"] if r else ["", ""]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    means = []
    for k in kinds:
        ks = [r for r in rows if r["kind"] == k]
        means += [f"{sum(r['success'] for r in ks) / len(ks):.2f}", f"{sum(r['mean_return'] for r in ks) / len(ks):.0f}"]
    lines.append("| **mean** | " + " | ".join(means) + " |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
