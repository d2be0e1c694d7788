"""A run's own figure, curves.png in its workdir: the evaluation score and every phase's losses over steps."""
from __future__ import annotations

import os

import numpy as np

from srtd_jax.runtime.metric_log import read_metrics


def phase_series(rows: list[dict]) -> dict:
    """{phase: {metric: (steps (K,), seed means (K,))}} of the metrics.jsonl rows; per-seed lists are averaged
    over the finite entries; the 'time' entries are left out."""
    out: dict = {}
    for row in rows:
        for key, value in row.items():
            if key in ("phase", "step", "time"):
                continue
            v = np.asarray([np.nan if x is None else x for x in np.atleast_1d(value)], np.float64)
            if np.isfinite(v).any():
                steps, means = out.setdefault(row["phase"], {}).setdefault(key, ([], []))
                steps.append(row["step"])
                means.append(float(np.nanmean(v)))
    return {p: {k: (np.asarray(s), np.asarray(m)) for k, (s, m) in metrics.items()} for p, metrics in out.items()}


def plot_run(workdir: str, declaration) -> str | None:
    """Draws <workdir>/curves.png from its metrics.jsonl: the evaluation score (seed mean, in % for MT10's success,
    as the declaration's y label says) and, per training phase, its losses on a symmetric log axis. Returns the
    path, or None when nothing was logged."""
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    series = phase_series(read_metrics(path))
    phases = [p for p in series if p != "eval"]
    panels = (["eval"] if "eval" in series else []) + phases
    if not panels:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, phase in zip(axes[0], panels):
        if phase == "eval":
            steps, mean = series["eval"]["success"]
            ax.plot(steps, 100 * mean, marker="o")
            ax.set(title="evaluation", xlabel="RL step", ylabel=declaration.y_label)
            continue
        losses = {k: v for k, v in series[phase].items() if "loss" in k or k.endswith(("_mmd", "_recon", "_reg"))}
        for name, (steps, mean) in sorted(losses.items()):
            ax.plot(steps, mean, label=name, linewidth=1)
        ax.set(title=phase, xlabel="step", yscale="symlog")
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)
    fig.tight_layout()
    out = os.path.join(workdir, "curves.png")
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return out
