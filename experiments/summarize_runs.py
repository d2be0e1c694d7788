"""Collects finished run workdirs into one JSON and a Markdown table (mean score with 95% CI; the score is the
MT10 success rate or the drone's normalised return, as each run's summary says).

  python -m experiments.summarize_runs --workdirs=runs/quick,runs/quick_srtd_id --out=results/methods_quick
"""
import json
import os

from absl import app, flags

from experiments import commands

FLAGS = flags.FLAGS
flags.DEFINE_list("workdirs", None, "Run workdirs holding summary.json.", required=True)
flags.DEFINE_string("out", None, "Output path without extension.", required=True)
flags.DEFINE_bool("bold_across", False, "Mark the best run even when the runs' configs differ beyond method and seed.")


def run_settings(config: dict, summary: dict) -> dict:
    """The settings of a run that two compared runs should share: every field of its config.json (fields added
    since filled in) except its method, its seed and the operational fields, and from its summary the seeds and
    evaluation episodes; 'config.json' says whether the workdir has one."""
    from srtd_jax.runtime.config_check import OPERATIONAL_FIELDS, flatten, with_added_fields
    flat = flatten(with_added_fields(config)) if config else {}
    out = {k: v for k, v in flat.items() if k not in ("method", "seed") + OPERATIONAL_FIELDS}
    return {**out, "num_seeds": summary["num_seeds"], "eval.episodes_per_task": summary["episodes_per_task"],
            "config.json": "recorded" if config else "not recorded"}


def differing(settings: list[dict]) -> dict:
    """{field: sorted distinct values as text} of the fields every run records and whose values differ."""
    fields = sorted(set.intersection(*(set(s) for s in settings)))
    values = {k: sorted({s[k] if isinstance(s[k], str) else json.dumps(s[k]) for s in settings}) for k in fields}
    return {k: v for k, v in values.items() if len(v) > 1}


def main(argv):
    del argv
    from srtd_jax.runtime.reporting import mean_ci95

    rows = []
    for wd in FLAGS.workdirs:
        path = os.path.join(wd, "summary.json")
        if not os.path.exists(path):
            raise SystemExit(f"{wd}: no summary.json (the run has not finished)")
        s = json.load(open(path))
        cmd_file = os.path.join(wd, "command.txt")
        # the latest command that ran on the workdir (a resumed run lists one per line)
        command = open(cmd_file).read().strip().splitlines()[-1] if os.path.exists(cmd_file) else None
        config_file = os.path.join(wd, "config.json")
        config = json.load(open(config_file)) if os.path.exists(config_file) else {}
        by_kind = {}
        for kind in ("MR", "RP", "ME"):
            seeds = [[row["per_seed"][i] for row in s["per_task"].values() if row["kind"] == kind]
                     for i in range(s["num_seeds"])]
            if seeds[0]:
                by_kind[kind] = mean_ci95([sum(v) / len(v) for v in seeds])
        rows.append(dict(workdir=wd, command=command, method=s["method"], configuration=s["configuration"],
                         num_seeds=s["num_seeds"], episodes_per_task=s["episodes_per_task"],
                         suite=s.get("suite", "mt10"), metric=s["success_definition"],
                         mean=s["mean_success"], ci95=s["ci95"], per_seed=s["per_seed_mean"], by_kind=by_kind,
                         settings=run_settings(config, s)))
    me = commands.this_command()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    json.dump({"command": me, "rows": rows}, open(FLAGS.out + ".json", "w"), indent=2)
    # a best run is only named among runs that differ in nothing but their method and seed, unless asked
    differ = differing([r["settings"] for r in rows])
    best = max(r["mean"] for r in rows) if not differ or FLAGS.bold_across else None
    named = "; ".join(f"{k} ({', '.join(v)})" for k, v in differ.items())
    cell = lambda m, c: f"{100 * m:.1f} ± {100 * c:.1f}%"
    lines = [f"Made by: `{me}`, from runs made by:", ""] + [f"- `{r['command']}`" for r in rows] + [
        "", f"Score in % = {'; '.join(sorted({r['metric'] for r in rows}))}; "
        f"{'/'.join(sorted({str(r['episodes_per_task']) for r in rows}))} evaluation episodes per task and seed; "
        "mean ± Student t 95% CI over seeds; by kind = mean over the tasks holding that kind of data."
        + (f" The runs' configs differ in {named}." if differ else "")
        + (" The best score is in bold." if best is not None else
           " No run is marked best (--bold_across marks one anyway)."), "",
        "| run | method | configuration | seeds | score | MR tasks | RP tasks | ME tasks | per seed |",
        "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kinds = [cell(*r["by_kind"][k]) if k in r["by_kind"] else "" for k in ("MR", "RP", "ME")]
        main_cell = cell(r["mean"], r["ci95"])
        lines.append(f"| `{r['workdir']}` | {r['method']} | {r['configuration']} | {r['num_seeds']} | "
                     f"{'**' + main_cell + '**' if r['mean'] == best else main_cell} | " + " | ".join(kinds) +
                     " | " + " ".join(f"{v:.2f}" for v in r["per_seed"]) + " |")
    open(FLAGS.out + ".md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
