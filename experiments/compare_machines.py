"""The same sweep cells on two machines: cell by cell, the mean ± 95% CI of each and whether they agree.

The same config and seed give the same numbers only on the same kind of machine (float arithmetic differs
between XLA's CPU and GPU back ends, and a trajectory that diverges once stays diverged). This shows how far
apart two machines' runs of identical cells are, next to the seed-to-seed spread, before their cells are put
in one table.

  python -m experiments.compare_machines --reference=results/drone/results.json \
      --other=results/drone/h200_reruns/results.json --out=results/drone/machine_check
"""
import os

from absl import app, flags

from experiments import commands

FLAGS = flags.FLAGS
flags.DEFINE_string("reference", None, "A sweep's results.json (e.g. the CPU runs).", required=True)
flags.DEFINE_string("other", None, "A results.json of some of the same cells run on another machine.", required=True)
flags.DEFINE_string("out", None, "Output path without extension (.json and .md are written).", required=True)


def main(argv):
    del argv
    from srtd_jax.core import atomic
    from srtd_jax.runtime import reporting
    from srtd_jax.runtime.config_check import read_json
    from srtd_jax.studies.sweep_report import compare_machines

    reference, other = (read_json(p, "check the path") for p in (FLAGS.reference, FLAGS.other))
    if reference is None or other is None:
        raise SystemExit(f"no such file: {FLAGS.reference if reference is None else FLAGS.other}")
    if reference["budget"] != other["budget"]:
        raise SystemExit(f"the files are of different budgets ({reference['budget']} vs {other['budget']})")
    rows = compare_machines(reference["records"], other["records"])
    if not rows:
        raise SystemExit("the two files have no cell in common")
    me = commands.this_command()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    reporting.write_json(FLAGS.out + ".json", {"command": me, "reference": FLAGS.reference, "other": FLAGS.other,
                                               "rows": rows})
    pct = lambda m_ci: f"{100 * m_ci[0]:.1f} ± {100 * m_ci[1]:.1f}"
    lines = [f"Made by: `{me}`", "",
             f"The same cells (same config and seeds) from `{FLAGS.reference}` and `{FLAGS.other}`: mean over "
             "tasks, then mean ± Student t 95% interval over seeds, in %. Overlap: the difference is within the "
             "sum of the two half-widths.", "",
             "| cell | reference | its machine | other | its machine | difference | overlap |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {pct(r['reference'])} | {r['reference_device']} | {pct(r['other'])} | "
                     f"{r['other_device']} | {100 * r['difference']:+.1f} pts | "
                     f"{'yes' if r['intervals_overlap'] else 'no'} |")
    atomic.write_text(FLAGS.out + ".md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
