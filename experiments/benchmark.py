"""A benchmark sweep (MT10's Table 1 or the drone's Table 2): (dataset configuration x method) cells, each a
resumable launcher run with all its seeds, then the tables and plots under the config's results_dir.

  python -m experiments.benchmark --config=configs/benchmark_mt10.py:cpu
  python -m experiments.benchmark --config=configs/benchmark_mt10.py:cpu --cells=3      # one cell (a job array)
  python -m experiments.benchmark --config=configs/benchmark_mt10.py:cpu --list          # cells and their state
  python -m experiments.benchmark --config=configs/benchmark_mt10.py:cpu --cells=none    # tables only
  python -m experiments.benchmark --config=configs/benchmark_drone.py:cpu                 # Table 2, results/drone/
  python -m experiments.benchmark --config=configs/benchmark_mt10.py:paper --pack        # on an accelerator

A killed sweep resumes where it stopped on the same command; finished cells are never re-run, also those whose
workdirs are gone but whose results are kept in results.json (`--rerun_kept` runs them again). Cells may run in
separate processes or on separate machines sharing the workdir (any scheduler); each writes only its own
workdir, and the tables are made from whatever cells have finished.
"""
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import commands, config_cli
from srtd_jax.runtime import termination

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", "configs/benchmark_mt10.py", "Sweep configuration.", lock_config=True)
flags.DEFINE_string("cells", "all", "Cells to run: 'all', 'none' (tables only), indices and ranges ('0,3-5'), or "
                    "name patterns ('mr10/*', '*/srtd_id'); comma-separated.")
flags.DEFINE_bool("list", False, "Print the cells with their index and state, then exit (only those --cells "
                  "selects, when it is given); with --pack, also the groups of unfinished cells it would pack.")
flags.DEFINE_bool("tables", True, "Write the tables and plots after running the selected cells.")
flags.DEFINE_bool("rerun_kept", False, "Also run selected cells whose results are kept in results.json but whose "
                  "workdirs are gone (e.g. to get their checkpoints back); by default they count as finished.")
flags.DEFINE_bool("pack", False, "Train the selected unfinished cells of one method that differ only in their "
                  "dataset as one program (srtd_jax/run_packed.py: for accelerators); each cell still gets its own "
                  "workdir, checkpoint and summary.")
flags.DEFINE_bool("keep_going", False, "Run the other cells when one fails, then exit with the failures named.")
flags.DEFINE_bool("embeddings", True, "Also draw the embedding maps (from the embedding cells' checkpoints, or the "
                  "panels stored under <results_dir>/embedding_points/ once a workdir is gone).")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    from srtd_jax.studies.sweep import SweepError
    # a bad config, a missing dataset: one line that names it; --keep_going's failures, each logged as it happened.
    # SIGTERM (a time limit, preemption): the cell in flight saves its last chunk, then the tables are written
    with config_cli.one_line_errors(SweepError), termination.sigterm_raises():
        _main()


def _main() -> None:
    from srtd_jax.studies import sweep, sweep_report

    bcfg = FLAGS.config
    sweep.check(bcfg)
    all_cells = sweep.cells(bcfg)
    kept = set(sweep_report.kept_cells(bcfg, all_cells, bcfg.workdir, bcfg.results_dir))
    if FLAGS.list:
        shown = set(sweep.select(all_cells, FLAGS.cells)) if FLAGS.cells not in ("all", "none") else set(all_cells)
        todo = []
        for i, cell in enumerate(all_cells):
            if cell not in shown:
                continue
            state = "finished (kept in results.json)" if cell.name in kept else sweep.state(bcfg, cell, bcfg.workdir)
            progress = state == "not finished" and sweep.last_logged(sweep.cell_workdir(bcfg.workdir, cell))
            if progress:
                state += f" (last logged: {progress})"
            print(f"{i:3d} {cell.name:<28} {'+'.join(cell.groups):<24} {state}")
            if state.startswith("not finished"):
                todo.append(cell)
        if FLAGS.pack:  # what --pack would train as one program
            for group in sweep.packed_groups(bcfg, todo):
                if len(group) > 1:
                    print(f"[pack] one program: {', '.join(c.name for c in group)}")
        return
    selected = [] if FLAGS.cells == "none" else sweep.select(all_cells, FLAGS.cells)
    skipped = [c.name for c in selected if c.name in kept and not FLAGS.rerun_kept]
    if skipped:  # finished on another machine or before runs/ was cleaned: not worth hours to redo
        print(f"[sweep] skipping {len(skipped)} cell(s) finished in {bcfg.results_dir}/results.json whose workdirs "
              f"are gone (--rerun_kept runs them again): {', '.join(skipped)}")
        selected = [c for c in selected if c.name not in skipped]
    base_command = _base_command()
    print(f"[sweep] {len(selected)} of {len(all_cells)} cells, {bcfg.num_seeds} seeds each, budget {bcfg.budget}, "
          f"workdirs under {bcfg.workdir}; a cell alone: {base_command} --cells=<name>")
    try:
        sweep.run_cells(bcfg, selected, bcfg.workdir, keep_going=FLAGS.keep_going, pack=FLAGS.pack,
                        command_for=lambda cell: f"{base_command} --cells={commands.quote(cell.name)}")
    except BaseException:  # the tables of whatever finished, also when a cell failed; the cell's error is the one
        if FLAGS.tables:   # reported, so a table that cannot be written then is named without replacing it
            try:
                _tables(bcfg, all_cells, base_command)
            except Exception as err:
                print(f"[sweep] the tables were not rewritten: {type(err).__name__}: {err}")
        raise
    if FLAGS.tables:
        _tables(bcfg, all_cells, base_command)


def _base_command() -> str:
    """This sweep's command without its cell selection and launcher flags: the config file and its overrides as
    parsed (either flag spelling). Each cell's command.txt adds --cells=<name>; the tables cite it with --cells=none,
    the command that rebuilds them from the finished cells."""
    config_arg = f"--config={config_flags.get_config_filename(FLAGS['config'])}"
    overrides = [f"--config.{k}={v}" for k, v in config_flags.get_override_values(FLAGS["config"]).items()]
    return commands.command_line("experiments.benchmark", [config_arg, *overrides])


def _tables(bcfg, all_cells, base_command: str) -> None:
    """results.json, the table (table1.md / table2.md) and the plots from every finished cell; the embedding maps
    if asked and the sweep has an embedding group. base_command: _base_command(), cited with --cells=none as the
    command that rebuilds them."""
    import os

    from srtd_jax.studies import embedding_map, sweep_report

    command = commands.this_command()
    result = sweep_report.write(bcfg, all_cells, bcfg.workdir, bcfg.results_dir, command,
                                budget_note=bcfg.budget_note, rebuild_command=f"{base_command} --cells=none")
    print(f"[sweep] {len(result['records'])} finished cells written to {bcfg.results_dir}/{result['table']} "
          f"({len(result['not_finished'])} not finished)")
    if FLAGS.embeddings and bcfg.embedding_configurations and bcfg.embedding_methods:
        drawn = embedding_map.draw(bcfg, all_cells, bcfg.workdir, os.path.join(bcfg.results_dir, "embeddings.png"),
                                   finished={r["cell"] for r in result["records"]})
        print(f"[sweep] embedding maps: {drawn or 'not drawn (no finished embedding cell, or a kept one without its stored panel)'}")


if __name__ == "__main__":
    app.run(main, flags_parser=config_cli.parse)
