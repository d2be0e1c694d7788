"""The deviation study (README, "Choices the paper leaves open"): SRTD and SRTD+ID under the paper's literal reading
of every choice (setting 'default', configs/authors.py:paper_reading), under each choice of the authors' released
code alone (MT10 rp10), under all of them (setting 'authors', configs/authors.py) and under the defaults the study
led to (setting 'chosen', configs/default.py), on MT10 rp10 and mr5_rp3_me2 and the drone's rp6; 5 seeds at the
`cpu` budget with 30 encoder epochs, encoders trained with 5% of each task's episodes held out, on which SRTD+ID's
imagination is checked.

  python -m experiments.deviations --list                                # the cells and which have finished
  python -m experiments.deviations --cells='mt10/rp10/default/*,mt10/rp10/authors/*'   # run cells
  python -m experiments.deviations --cells=none                          # the table only

Each cell's record goes into results/deviations/results.json as soon as it finishes, so a lost runs/ costs only
unfinished cells; cells recorded there are not run again. An interrupted cell resumes from its checkpoints.
"""
import json
import os

from absl import app, flags

from experiments import commands, config_cli
from srtd_jax.runtime import termination

FLAGS = flags.FLAGS
flags.DEFINE_string("cells", "none", "Cells to run: 'all', 'none', or comma-separated name patterns "
                    "(suite/configuration/setting/method).")
flags.DEFINE_bool("list", False, "Print the cells with their state, then exit.")
flags.DEFINE_integer("num_seeds", 5, "Seeds per cell.")
flags.DEFINE_float("encoder_epochs", 30.0, "Encoder epochs of every cell.")
flags.DEFINE_float("holdout_fraction", 0.05, "Share of each task's episodes held out of the encoder phase.")
flags.DEFINE_string("workdir", "runs/deviations", "Root of the cells' workdirs.")
flags.DEFINE_string("results_dir", "results/deviations", "Where results.json and table.md go.")

ROWS = (("mt10", "rp10", True), ("mt10", "mr5_rp3_me2", False), ("drone", "rp6", False))
ACTS_ON = {"augment.z_noise_target": ("srtd_id",)}  # imagination's noise: only SRTD+ID imagines
PER_SEED = "data.assignment_per_seed"  # acts only where tasks hold different kinds


def base_config(suite: str):
    from configs import benchmark_drone, benchmark_mt10
    # the ladder's data, where the study's first cells ran, with the paper's literal reading of every switch
    base = (benchmark_mt10 if suite == "mt10" else benchmark_drone).get_config("cpu-ladder").base
    base.encoder.epochs = FLAGS.encoder_epochs
    base.encoder.holdout_fraction = FLAGS.holdout_fraction
    base.eval.every_steps = 0
    return base


def main(argv):
    del argv
    from configs.authors import chosen
    from configs.authors import switches as authors_switches
    from srtd_jax.data import mixtures
    from srtd_jax.runtime.reporting import write_json
    from srtd_jax.studies import deviations

    switches, authors = authors_switches()
    chosen_fields = chosen()
    single = {k: v for k, v in switches.items() if k != PER_SEED}  # it acts only on mixed rows
    cells = []
    for suite, conf, with_switches in ROWS:
        mixed = sum(1 for n in mixtures.parse(conf, None) if n) > 1
        theirs = {k: v for k, v in authors.items() if mixed or k != PER_SEED}
        cells += deviations.plan([(suite, conf, with_switches)], single, theirs, ACTS_ON, chosen_fields)
    path = os.path.join(FLAGS.results_dir, "results.json")
    store = json.load(open(path)) if os.path.exists(path) else {"records": {}}
    if FLAGS.list:
        for i, c in enumerate(cells):
            rec = store["records"].get(c.name)
            state = "not finished"
            if rec:
                state = f"finished: {100 * rec['mean']:.1f}%" + (f", {rec['seconds'] / 60:.0f} min" if rec["seconds"]
                                                                 else "")
            print(f"{i:3d} {c.name:<58} {state}")
        return
    me = commands.this_command()
    os.makedirs(FLAGS.results_dir, exist_ok=True)
    # bad input: one line; SIGTERM: the cell in flight saves its last chunk (README, "Resuming")
    with config_cli.one_line_errors(), termination.sigterm_raises():
        for cell in deviations.select(cells, FLAGS.cells):
            if cell.name in store["records"]:
                print(f"[deviations] {cell.name}: recorded in {path}")
                continue
            print(f"[deviations] {cell.name}: running", flush=True)
            rec = deviations.run_cell(cell, base_config(cell.suite), FLAGS.num_seeds, FLAGS.workdir, command=me)
            rec["command"] = me
            store["records"][cell.name] = rec
            write_json(path, store)
    _write_table(store, cells, me, chosen_fields)


def _write_table(store, cells, me, chosen: dict) -> None:
    from srtd_jax.core import atomic
    from srtd_jax.studies import deviations
    commands = sorted({r["command"] for r in store["records"].values()})
    lines = ["# The deviation study: the paper's reading against the authors' released code", "",
             f"Tables made by: `{me}`. Cells made by: " + ", ".join(f"`{c}`" for c in commands) + ".", "",
             f"{FLAGS.num_seeds} seeds per cell; the `cpu` budget of configs/benchmark_mt10.py (drone: "
             f"configs/benchmark_drone.py) with encoders trained for {FLAGS.encoder_epochs:g} epochs on all but "
             f"{100 * FLAGS.holdout_fraction:g}% of each task's episodes (held out for the imagination check). Score: "
             "MT10 success rate, drone normalised return; mean ± Student t 95% interval over seeds. — : not run yet.",
             "", "Settings: `default` is the paper's literal reading of every choice "
             "(configs/authors.py:paper_reading, the defaults before this study); a field name is that one choice of "
             "the released code on it; `authors` is every choice of the released code (configs/authors.py); `chosen` "
             "is the defaults the study led to (configs/default.py: the paper where it speaks, the released code "
             "where it is silent; fields " + ", ".join(f"`{k}`" for k in chosen) + ").", ""]
    lines += deviations.table(store["records"], cells)
    atomic.write_text(os.path.join(FLAGS.results_dir, "table.md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
