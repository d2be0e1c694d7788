"""The final summary with 95% CIs, and the console table."""
from __future__ import annotations

import json

import numpy as np

from srtd_jax.benchmarks import registry
from srtd_jax.core import atomic
from srtd_jax.runtime.config_check import ADDED_FIELDS


def write_json(path: str, obj, indent: int | None = 2) -> None:
    """Atomic JSON write (see `atomic.replacing`)."""
    with atomic.replacing(path) as tmp, open(tmp, "w") as f:
        json.dump(obj, f, indent=indent)


def mean_ci95(values) -> tuple:
    """Mean and half-width of the Student t 95% interval over seeds (0 for a single seed)."""
    v = np.asarray(values, np.float64)
    if v.size < 2:
        return float(v.mean()), 0.0
    from scipy import stats  # here, not at the top: importing it costs every process that imports the launcher 0.6 s
    return float(v.mean()), float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))


def summarize(rates: np.ndarray, tasks, assignment: dict, curve: list, *, method: str, configuration: str,
              suite: str, episodes_per_task: int, metric: str) -> dict:
    """rates: (seeds, tasks) scores -> a JSON-ready summary. `metric` says what a score is: MT10's success rate
    (the 'success' keys keep that name for every suite) or the drone's normalised return."""
    mean, ci = mean_ci95(rates.mean(1))
    per_task = {}
    for i, task in enumerate(tasks):
        m, c = mean_ci95(rates[:, i])
        per_task[task] = {"kind": assignment.get(task), "mean": m, "ci95": c, "per_seed": rates[:, i].tolist()}
    return {"method": method, "configuration": configuration, "num_seeds": int(rates.shape[0]),
            "episodes_per_task": episodes_per_task,
            "suite": suite, "success_definition": metric,
            "mean_success": mean, "ci95": ci, "per_seed_mean": rates.mean(1).tolist(), "per_task": per_task,
            "learning_curve": curve}


def console_table(summary: dict) -> str:
    """A fixed-width per-task success table for the end of a run."""
    label = registry.declaration(summary.get("suite", ADDED_FIELDS["suite"])).column
    lines = [f"{'task':<22}{'kind':<6}{label:>9}  {'95% CI':>8}   per seed"]
    for task, row in summary["per_task"].items():
        seeds = " ".join(f"{s:.2f}" for s in row["per_seed"])
        lines.append(f"{task:<22}{row['kind'] or '':<6}{row['mean']:>9.3f}  ±{row['ci95']:>7.3f}   {seeds}")
    seeds = " ".join(f"{s:.2f}" for s in summary["per_seed_mean"])
    lines.append(f"{'MEAN':<28}{summary['mean_success']:>9.3f}  ±{summary['ci95']:>7.3f}   {seeds}")
    skipped = {phase: counts for phase, counts in summary.get("nonfinite_skipped", {}).items() if any(counts)}
    if skipped:
        lines.append("non-finite updates skipped per seed: "
                     + "; ".join(f"{phase} {' '.join(map(str, counts))}" for phase, counts in skipped.items()))
    if "imagination" in summary:
        lines += imagination_lines(summary["imagination"])
    return "\n".join(lines)


def versus(error: float, trivial: float) -> str:
    """'error (trivial predictor's error)', 3 significant digits: rewards are small on MT10's training scale."""
    return f"{error:.3g} ({trivial:.3g})"


def imagination_lines(d: dict) -> list[str]:
    """The imagination diagnostics of a summary as text: squared errors of the imagined steps against the real
    ones, the trivial predictor's in brackets, then the one-step errors of each decoder and the relabelled reward."""
    r, o = d["rollout"], d["one_step"]
    lines = [f"imagination on {d['starts']} steps per seed of the {d['num_episodes']} {d['episodes']} episodes "
             "(squared error; trivial predictor in brackets):",
             f"{'step':<6}{'action (mean a)':>22}{'next state (s)':>22}{'reward (0)':>22}"]
    lines += [f"{h + 1:<6}{versus(r['action'][h], r['action_trivial'][h]):>22}"
              f"{versus(r['next_state'][h], r['next_state_trivial'][h]):>22}"
              f"{versus(r['reward'][h], r['reward_trivial'][h]):>22}" for h in range(d["horizon"])]
    lines.append(f"one step from real inputs: action from z {o['action_from_z']:.3g}, from b {o['action_from_b']:.3g} "
                 f"(mean a {o['action_trivial']:.3g}); next state {versus(o['next_state'], o['next_state_trivial'])}; "
                 f"reward {versus(o['reward'], o['reward_trivial'])}; |z - b|^2 {o['z_to_b']:.3g}")
    failing = [part for part, ok in d["beats_trivial"].items() if not ok]
    lines.append("worse than the trivial predictor: " + (", ".join(failing) if failing else "nothing"))
    if "relabelled" in d:
        rel = d["relabelled"]
        change = f" ({100 * rel['relative']:+.0f}%)" if rel["relative"] is not None else ""
        lines.append(f"relabelled reward (the benchmark's own, raw) over {rel['rows']} steps: imagined "
                     f"{rel['imagined']:.3f}, real {rel['real']:.3f}{change}")
    return lines
