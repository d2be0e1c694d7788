"""A run's metrics over time: JSON lines (metrics.jsonl, the record the tools read), TensorBoard (scalars, the config
as text, hyperparameters with the final score) and, when asked, Weights & Biases."""
from __future__ import annotations

import json
import os
import time
import uuid
from typing import NamedTuple

import numpy as np

from srtd_jax.runtime.config_check import flatten


class WandbSettings(NamedTuple):
    """The `logging` block's W&B settings."""

    project: str
    mode: str  # 'online' | 'offline' (kept under <workdir>/wandb; `wandb sync` uploads it) | 'disabled'


def flat_config(tree: dict) -> dict:
    """{'rl.steps': 100, 'rl.actor_hidden': '(256, 256)'}: a nested config dict flattened to the scalar values
    TensorBoard's hyperparameters take (tuples, lists and anything else not a scalar as text)."""
    scalar = lambda v: v if isinstance(v, (bool, int, float, str)) else str(tuple(v)) if isinstance(v, list) else str(v)
    return {name: scalar(value) for name, value in flatten(tree).items()}


class MetricWriter:
    """Appends {'phase', 'step', metric: per-seed list, 'time': {'wall': unix seconds, 'steps_per_second'}} lines
    to metrics.jsonl, and seed means to TensorBoard (and W&B).

    keep_lines: on resume, metrics.jsonl is cut back in place to the lines written before the checkpoint (None:
    every whole line is kept), so a resumed run's file equals an uninterrupted run's but for the times; the file is
    truncated and appended to, never replaced. TensorBoard may show the re-run steps twice.
    config: the run's config dict, written to TensorBoard as text (and to W&B) on a fresh start.
    wandb: W&B settings (None: no W&B); the run's id is kept in <workdir>/wandb_id, so a resumed run continues it.
    enabled=False (non-primary hosts of a multi-host run) writes nothing."""

    def __init__(self, workdir: str, keep_lines: int | None = None, enabled: bool = True, *,
                 config: dict | None = None, wandb: WandbSettings | None = None):
        self.enabled, self.lines, self._wandb = enabled, 0, None
        if not enabled:
            return
        from tensorboardX import SummaryWriter
        self.workdir = workdir
        path = os.path.join(workdir, "metrics.jsonl")
        size = 0
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n") or (keep_lines is not None and self.lines >= keep_lines):
                        break  # a line cut by a kill, or one written after the checkpoint
                    size += len(line)
                    self.lines += 1
            os.truncate(path, size)
        self._jsonl = open(path, "a")
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
        self._config = config
        if config is not None and not self.lines:
            self._tb.add_text("config", "```\n" + json.dumps(config, indent=2, sort_keys=True) + "\n```", 0)
        if wandb is not None:
            self._wandb = _wandb_run(workdir, config or {}, wandb)

    def write(self, phase: str, step: int, metrics: dict, steps_per_second: float | None = None):
        if not self.enabled:
            return
        self.lines += 1
        row = {"phase": phase, "step": int(step)}
        means = {}
        for k, v in metrics.items():
            v = np.asarray(v, np.float64)
            row[k] = np.where(np.isfinite(v), v, None).tolist()
            if np.isfinite(v).any():
                means[f"{phase}/{k}"] = float(np.nanmean(v))
        row["time"] = {"wall": round(time.time(), 3)}
        if steps_per_second is not None:
            row["time"]["steps_per_second"] = round(float(steps_per_second), 3)
            means[f"{phase}/steps_per_second"] = float(steps_per_second)
        for tag, value in means.items():
            self._tb.add_scalar(tag, value, int(step))
        if self._wandb is not None:
            self._wandb.log(means, step=int(step))
        self._jsonl.write(json.dumps(row) + "\n")
        self._jsonl.flush()

    def finish(self, summary: dict):
        """The end of a run: its final score as TensorBoard hyperparameters beside the config, and as W&B summary."""
        if not self.enabled:
            return
        final = {"final/mean_score": summary["mean_success"], "final/ci95": summary["ci95"]}
        if self._config is not None:
            self._tb.add_hparams(flat_config(self._config), final, name="hparams")
        if self._wandb is not None:
            self._wandb.summary.update(final)

    def close(self):
        if not self.enabled:
            return
        self._jsonl.close()
        self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None


def _wandb_run(workdir: str, config: dict, settings: WandbSettings):
    import wandb  # optional: check_config refuses logging.wandb=True when it is missing
    id_path = os.path.join(workdir, "wandb_id")
    if os.path.exists(id_path):
        with open(id_path) as f:
            run_id = f.read().strip()
    else:
        run_id = uuid.uuid4().hex[:12]
        with open(id_path, "w") as f:
            f.write(run_id + "\n")
    return wandb.init(project=settings.project, mode=settings.mode, dir=workdir, id=run_id, resume="allow",
                      name=os.path.basename(os.path.normpath(workdir)), config=config)


def read_metrics(path: str) -> list[dict]:
    """The whole lines of a metrics.jsonl (a line cut by a kill is skipped)."""
    rows = []
    with open(path) as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def without_times(rows: list[dict]) -> list[dict]:
    """metrics.jsonl rows without their 'time' entries: what two runs of the same config and seed share exactly."""
    return [{k: v for k, v in row.items() if k != "time"} for row in rows]
