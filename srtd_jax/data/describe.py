"""What a dataset holds, per task and kind: episodes, steps, success and return (`experiments.dataset info`)."""
from __future__ import annotations

import numpy as np

from srtd_jax.data.dataset import EpisodeDataset


def per_task(data: EpisodeDataset, tasks: tuple, kinds: dict) -> list[dict]:
    """One row per task present in `data`, in task-id order: {task, kind, episodes, steps, shortest, longest,
    success (share of episodes with the success flag at any step), mean_return, min_return, max_return (raw-reward
    episode returns)}. tasks: names indexed by task id; kinds: {task: kind} ('?' where absent)."""
    task_ids = data.task_ids[:, 0]
    lengths = data.step_mask().sum(1)
    rows = []
    for tid in np.unique(task_ids):
        own = task_ids == tid
        returns = data.episode_returns[own, 0].astype(np.float64)
        name = tasks[int(tid)]
        rows.append({"task": name, "kind": kinds.get(name, "?"), "episodes": int(own.sum()),
                     "steps": int(lengths[own].sum()), "shortest": int(lengths[own].min()),
                     "longest": int(lengths[own].max()), "success": float(data.successes[own].any(1).mean()),
                     "mean_return": float(returns.mean()), "min_return": float(returns.min()),
                     "max_return": float(returns.max())})
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows of per_task as a Markdown table with an all-tasks line."""
    lines = ["| task | kind | episodes | steps | length | success | return (min .. max) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        length = str(r["shortest"]) if r["shortest"] == r["longest"] else f"{r['shortest']}..{r['longest']}"
        lines.append(f"| {r['task']} | {r['kind']} | {r['episodes']} | {r['steps']} | {length} | {r['success']:.2f} "
                     f"| {r['mean_return']:.1f} ({r['min_return']:.1f} .. {r['max_return']:.1f}) |")
    episodes = sum(r["episodes"] for r in rows)
    success = sum(r["success"] * r["episodes"] for r in rows) / episodes
    mean_return = sum(r["mean_return"] * r["episodes"] for r in rows) / episodes
    lines.append(f"| **all** | | {episodes} | {sum(r['steps'] for r in rows)} | | {success:.2f} | {mean_return:.1f} |")
    return "\n".join(lines)
