"""The paper's claims as verdicts on finished sweeps, one column per data recipe.

A claim "X > Y" pools every configuration where both methods ran: the per-seed, per-task scores of each
configuration become tasks of one (seeds, configurations x tasks) array, and the verdict is the probability of
improvement P(X > Y) with its stratified bootstrap 95% interval (studies/statistics.py). It holds when the
interval lies above 0.5, is contradicted when it lies below, and is undecided when it contains 0.5 (the intervals
do not separate). "X ≥ Y" reads the same numbers: an interval above 0.5 makes it hold, one below contradicts it,
and one containing 0.5 leaves it "not contradicted" (equal methods are consistent with it, but the data do not show
it). Figure 4's claim (imaginary demonstrations are relabelled closer to the expert's reward than noise-perturbed
ones) is the mean over source tasks of the imaginary set's relabelled reward minus the noise set's, with a Student t
interval over tasks.
"""
from __future__ import annotations

import numpy as np

from srtd_jax.runtime.reporting import mean_ci95
from srtd_jax.studies import statistics

# (claim, X, Y, 'gt' | 'ge')
CLAIMS = (("SRTD+ID ≥ SRTD", "srtd_id", "srtd", "ge"),
          ("SRTD > TD3+BC", "srtd", "td3bc", "gt"),
          ("SRTD > PCGrad", "srtd", "pcgrad", "gt"),
          ("SRTD > SoftMod", "srtd", "softmod", "gt"),
          ("SRTD > TE (Figure 5a)", "srtd", "te", "gt"),
          ("TE > SRTD-Q (Figure 5a)", "te", "srtd_q", "gt"),
          ("SRTD+ID > SRTD+N (Figure 5b)", "srtd_id", "srtd_n", "gt"))
FIGURE4_CLAIM = "imaginary closer to expert than noise (Figure 4)"


def pooled(records: list[dict], x: str, y: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """(X scores, Y scores, configurations): (seeds, configurations x tasks) over every configuration where both
    ran, or None when there is none."""
    by = {(r["configuration"], r["method"]): np.asarray(r["success_per_seed_task"], float) for r in records}
    confs = sorted({c for c, m in by if m == x and (c, y) in by})
    if not confs:
        return None
    seeds = {(c, m): by[c, m].shape[0] for c in confs for m in (x, y)}
    if len({seeds[c, x] for c in confs}) > 1 or len({seeds[c, y] for c in confs}) > 1:
        raise ValueError(f"cannot pool {x} and {y} over configurations with different seed counts: {seeds}")
    return (np.concatenate([by[c, x] for c in confs], 1), np.concatenate([by[c, y] for c in confs], 1), confs)


def claim_verdict(records: list[dict], x: str, y: str, kind: str, reps: int = 2000) -> dict:
    """{'verdict', 'p', 'interval', 'configurations'} of the claim X > Y (kind 'gt') or X ≥ Y ('ge')."""
    scores = pooled(records, x, y)
    if scores is None:
        return {"verdict": "not run"}
    p, lo, hi = statistics.improvement(scores[0], scores[1], reps=reps)
    if hi < 0.5:
        verdict = "contradicted"
    elif lo > 0.5:
        verdict = "holds"
    else:  # X = Y is inside the interval: consistent with "X ≥ Y" but no evidence for it
        verdict = "not contradicted" if kind == "ge" else "undecided"
    return {"verdict": verdict, "p": p, "interval": [lo, hi], "configurations": scores[2],
            "separate": lo > 0.5 or hi < 0.5}


def figure4_verdict(figure4: dict | None) -> dict:
    """The Figure 4 claim from a relabelling study's JSON (experiments/relabel_rewards)."""
    if not figure4:
        return {"verdict": "not run"}
    diffs = np.array([figure4["per_task"][t]["imaginary"]["relabelled_raw"] - figure4["per_task"][t]["noise"]
                      ["relabelled_raw"] for t in figure4["sources"]])
    mean, ci = mean_ci95(diffs)
    lo, hi = mean - ci, mean + ci
    verdict = "holds" if lo > 0 else "contradicted" if hi < 0 else "undecided"
    return {"verdict": verdict, "difference": float(mean), "interval": [float(lo), float(hi)],
            "tasks": list(figure4["sources"]), "separate": lo > 0 or hi < 0}


def verdicts(records: list[dict], figure4: dict | None = None, reps: int = 2000) -> dict:
    """{claim: verdict dict} for every claim on one recipe's records."""
    out = {claim: claim_verdict(records, x, y, kind, reps) for claim, x, y, kind in CLAIMS}
    out[FIGURE4_CLAIM] = figure4_verdict(figure4)
    return out


def markdown(by_recipe: dict) -> list[str]:
    """The verdict table: one row per claim, one column per recipe ({recipe: verdicts(...)})."""
    def cell(v):
        if v["verdict"] == "not run":
            return "not run"
        lo, hi = v["interval"]
        what = (f"P = {v['p']:.3f} [{lo:.3f}, {hi:.3f}]" if "p" in v else
                f"{v['difference']:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        return f"**{v['verdict']}**: {what}" + ("" if v["separate"] else " (intervals do not separate)")

    recipes = list(by_recipe)
    lines = ["| claim | " + " | ".join(recipes) + " |", "|---|" + "---|" * len(recipes)]
    for claim in [c for c, *_ in CLAIMS] + [FIGURE4_CLAIM]:
        lines.append(f"| {claim} | " + " | ".join(cell(by_recipe[r][claim]) for r in recipes) + " |")
    return lines
