"""The host loop over jitted chunks: progress with time left, metrics per chunk, and what happens when a chunk met a
non-finite update."""
from __future__ import annotations

import math
import os
import time

import jax.numpy as jnp
import numpy as np

from srtd_jax.core import devices
from srtd_jax.runtime import checkpointing, reporting


class NonFiniteError(FloatingPointError):
    """A training update produced non-finite values; the message names phase, step, seed and loss."""


def run_chunks(chunk_fn, states, keys, total_steps: int, chunk_steps: int, shared, per_seed, *, phase: str,
               writer, log, start: int = 0, after_chunk=None, on_fault=None):
    """Runs steps `start` .. `total_steps` as jitted chunks, logging seed-mean metrics and throughput per chunk.

    after_chunk(done, states, keys) runs after every chunk (evaluation, checkpoints);
    on_fault(done, states, keys, fault) runs when a seed met a non-finite update in the chunk."""
    done, t0 = start, time.time()
    while done < total_steps:
        states, keys, metrics, fault = chunk_fn(states, keys, jnp.int32(done), shared, per_seed)
        done += chunk_steps
        metrics, fault = devices.to_host((metrics, fault))
        writer.write(phase, done, metrics)
        rate = (done - start) / (time.time() - t0)
        if done - start == chunk_steps or done >= total_steps or done % max(chunk_steps, total_steps // 10) < chunk_steps:
            shown = ", ".join(f"{k} {seed_mean(v):.4g}" for k, v in sorted(metrics.items()))
            left = f", {duration(max(total_steps - done, 0) / rate)} left" if done < total_steps else ""
            log(f"[{phase}] step {done}/{total_steps} ({rate:.0f} steps/s per seed-batch{left}): {shown}")
        if (fault["step"] >= 0).any() and on_fault:
            on_fault(done, states, keys, fault)
        if after_chunk:
            after_chunk(done, states, keys)
    return states, keys


def duration(seconds: float) -> str:
    """A rough time for progress lines: '45 s', '12 min', '1 h 05 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def seed_mean(values) -> float:
    """Mean over seeds ignoring NaN (a part an update skipped on purpose); NaN when every entry is NaN."""
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def nonfinite_handler(on_nonfinite: str, workdir: str, phase: str, log):
    """on_fault for run_chunks: 'stop' saves every seed's state and key as they were just before its first
    non-finite update, writes what went wrong, and raises NonFiniteError; 'skip' logs the skipped updates."""
    def handle(done, states, keys, fault):
        seeds = np.flatnonzero(fault["step"] >= 0)
        where = []
        for s in seeds:
            bad = [k for k, v in fault["metrics"].items() if not np.isfinite(v[s])]
            losses_txt = ", ".join(f"{k}={fault['metrics'][k][s]}" for k in bad) or "metrics finite, state not"
            where.append(f"seed {s} at step {fault['step'][s]} ({losses_txt})")
        if on_nonfinite == "skip":
            log(f"[{phase}] WARNING non-finite updates skipped up to step {done}: first of " + "; ".join(where))
            return
        first = int(fault["step"][seeds].min())
        path = os.path.join(workdir, "nonfinite", f"{phase}_step{first}")
        checkpointing.save_debug(path, {"states": states, "keys": keys})
        report = {"phase": phase, "chunk_end": done, "seeds": seeds.tolist(),
                  "step": fault["step"].tolist(),
                  "metrics": {k: [float(x) if np.isfinite(x) else str(x) for x in v] for k, v in fault["metrics"].items()},
                  "note": "states/keys: each faulty seed as it was just before its first non-finite update; "
                          "that update is chunk(states, keys, step) with one step from the saved key"}
        if devices.is_primary():
            reporting.write_json(os.path.join(workdir, "nonfinite", f"{phase}_step{first}.json"), report)
        raise NonFiniteError(
            f"{phase}: non-finite update: " + "; ".join(where) + f". The states and keys before it are saved in "
            f"{path} (report beside it); the last regular checkpoint is kept. Set on_nonfinite='skip' to drop "
            "such updates instead.")
    return handle


def round_up(steps: int, chunk: int) -> int:
    """steps rounded up to a whole number of chunks (at least one)."""
    return max(chunk, int(math.ceil(steps / chunk)) * chunk)
