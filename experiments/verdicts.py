"""The paper's claims as verdicts on finished sweeps, one column per data recipe (srtd_jax/studies/verdicts.py).

  python -m experiments.verdicts --results=ladder:results/mt10,learning_run:results/mt10_learning_run \
      --figure4=ladder:results/relabel/figure4.json --out=results/verdicts_mt10

A recipe whose results.json is missing, or a claim whose methods have not both run, reads "not run".
"""
import collections
import json
import os

from absl import app, flags

from configs import authors
from experiments import commands

FLAGS = flags.FLAGS
flags.DEFINE_list("results", ["ladder:results/mt10", "learning_run:results/mt10_learning_run"],
                  "recipe:results_dir pairs, one column each (the sweep's results.json in each folder).")
flags.DEFINE_list("figure4", ["ladder:results/relabel/figure4.json"],
                  "recipe:path pairs of relabelling studies (experiments/relabel_rewards) for Figure 4's claim.")
flags.DEFINE_integer("reps", 2000, "Bootstrap resamples per interval.")
flags.DEFINE_string("out", "results/verdicts_mt10", "Output path without extension (.json, .md).")


def _pairs(flag: str, values) -> dict:
    out = {}
    for item in values:
        recipe, sep, path = item.partition(":")
        if not sep or not recipe or not path:
            raise app.UsageError(f"--{flag}: expected recipe:path, got {item!r}")
        out[recipe] = path
    return out


def _read(path: str, what: str):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as err:
        raise app.UsageError(f"{what} {path} cannot be read: {err}") from None


def _readings(records: list) -> str:
    """How the choices the paper leaves open were set in a recipe's cells (README, "Choices the paper leaves open"),
    as 'n cells: reading' parts."""
    kinds = collections.Counter()
    for rec in records:
        if "config" not in rec:  # records keep their config since before the defaults left the paper's reading
            kinds["the paper's reading (records without a config, made before the defaults changed)"] += 1
            continue
        differs = authors.reading_of(rec["config"])
        kinds["the paper's reading" if not differs else
              "the paper's reading except " + ", ".join(f"{f}={v!r}" for f, v in differs.items())] += 1
    return "; ".join(f"{n} cell{'' if n == 1 else 's'}: {reading}" for reading, n in kinds.items()) or "no cells"


def main(argv):
    del argv
    from srtd_jax.studies import verdicts
    results, figure4 = _pairs("results", FLAGS.results), _pairs("figure4", FLAGS.figure4)
    unknown = sorted(set(figure4) - set(results))
    if unknown:
        raise app.UsageError(f"--figure4 names recipes without --results: {unknown}")
    by_recipe, sources = {}, {}
    for recipe, folder in results.items():
        sweep = _read(os.path.join(folder, "results.json"), "results file")
        records = sweep["records"] if sweep else []
        study = _read(figure4[recipe], "relabelling study") if recipe in figure4 else None
        by_recipe[recipe] = verdicts.verdicts(records, study, reps=FLAGS.reps)
        sources[recipe] = {"results": os.path.join(folder, "results.json") if sweep else None,
                           "cells": len(records), "figure4": figure4.get(recipe) if study else None,
                           "choices": _readings(records)}
    command = commands.this_command()
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    with open(FLAGS.out + ".json", "w") as f:
        json.dump({"command": command, "sources": sources, "verdicts": by_recipe}, f, indent=1)
    lines = [f"Made by: `{command}`", "",
             "One row per claim of the paper, one column per data recipe. P: the probability that a seed of the "
             "first method scores above a seed of the second on a task (ties half), pooled over every configuration "
             "where both ran, with its stratified bootstrap 95% interval; a claim holds when the interval lies above "
             "0.5 and is contradicted when it lies below; otherwise a > claim is undecided and a ≥ claim not "
             "contradicted. "
             "Figure 4: the imaginary set's relabelled reward minus the noise set's, mean over source tasks with a "
             "Student t 95% interval.", "",
             "Sources: " + "; ".join(f"{r}: {s['cells']} cells from {s['results'] or 'no results.json'}"
                                     + (f", Figure 4 from {s['figure4']}" if s["figure4"] else "")
                                     for r, s in sources.items()), "",
             "How the choices the paper leaves open were set (the columns differ in these as well as in their "
             "data): " + "; ".join(f"{r}: {s['choices']}" for r, s in sources.items() if s["cells"]), ""]
    lines += verdicts.markdown(by_recipe)
    with open(FLAGS.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
