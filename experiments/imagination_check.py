"""The imagination diagnostics of finished SRTD+ID runs (README, "Imagination diagnostics and the deviation study")
with each run's score and final critic loss: the run's own summary entry where it has one, otherwise recomputed
for seed 0 from its checkpoint (srtd_jax/studies/imagination.py).

  python -m experiments.imagination_check --workdirs=runs/a,runs/b --out=results/drone/imagination_check
"""
import json
import os

import numpy as np
from absl import app, flags

from experiments import commands

FLAGS = flags.FLAGS
flags.DEFINE_list("workdirs", None, "Finished run workdirs of methods with a task encoder.", required=True)
flags.DEFINE_string("out", None, "Output path without extension (.json and .md are written).", required=True)
flags.DEFINE_integer("starts", 1000, "Dataset steps rolled from, where a run's summary has no diagnostics.")
flags.DEFINE_integer("relabel_starts", 25, "Rollouts relabelled (MT10), where a run's summary has no diagnostics.")


def _final_critic_loss(workdir: str):
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    rl = [r for r in rows if r["phase"] in ("td3bc", "cql") and "critic_loss" in r]
    return float(np.mean(rl[-1]["critic_loss"])) if rl else None


def main(argv):
    del argv
    from srtd_jax.runtime.config_check import ConfigError, read_run_config
    from srtd_jax.runtime.reporting import imagination_lines
    from srtd_jax.studies import imagination
    rows = []
    for wd in FLAGS.workdirs:
        for name in ("config.json", "summary.json"):
            if not os.path.exists(os.path.join(wd, name)):
                raise SystemExit(f"{wd}: no {name} (not a finished run)")
        try:
            cfg = read_run_config(os.path.join(wd, "config.json"))
        except ConfigError as err:
            raise SystemExit(str(err)) from None
        summary = json.load(open(os.path.join(wd, "summary.json")))
        cmd_file = os.path.join(wd, "command.txt")
        command = open(cmd_file).read().strip().splitlines()[-1] if os.path.exists(cmd_file) else None
        print(f"[imagination_check] {wd}", flush=True)
        diagnosis = summary.get("imagination") or imagination.diagnose_run(
            cfg, wd, starts=FLAGS.starts, relabel_starts=FLAGS.relabel_starts)
        rows.append(dict(workdir=wd, command=command, method=cfg.method, encoder_epochs=cfg.encoder.epochs,
                         score=summary["mean_success"], ci95=summary["ci95"], metric=summary["success_definition"],
                         final_critic_loss=_final_critic_loss(wd), from_summary="imagination" in summary,
                         diagnosis=diagnosis))
    me = commands.this_command()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    json.dump({"command": me, "rows": rows}, open(FLAGS.out + ".json", "w"), indent=2)
    lines = [f"Made by: `{me}`, from runs made by:", ""] + [f"- `{r['workdir']}`: `{r['command']}`" for r in rows] + [
        "", "| run | method | encoder epochs | score | final critic loss | diagnostics |", "|---|---|---|---|---|---|"]
    lines += [f"| `{r['workdir']}` | {r['method']} | {r['encoder_epochs']:g} | {100 * r['score']:.1f} ± "
              f"{100 * r['ci95']:.1f}% | {r['final_critic_loss']:.3g} | "
              f"{'all seeds (summary)' if r['from_summary'] else 'seed 0 (recomputed)'} |" for r in rows]
    for r in rows:
        lines += ["", f"## `{r['workdir']}`", "", "```", *imagination_lines(r["diagnosis"]), "```"]
    open(FLAGS.out + ".md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
