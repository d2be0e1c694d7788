"""The host loop over jitted chunks: progress with time left, metrics per chunk, and what happens when a chunk met a
non-finite update."""
from __future__ import annotations

import math
import os
import time

import jax.numpy as jnp
import numpy as np

from srtd_jax.core import devices
from srtd_jax.runtime import checkpointing, reporting, termination


class NonFiniteError(FloatingPointError):
    """A training update produced non-finite values; the message names phase, step, seed and loss."""


def run_chunks(chunk_fn, states, keys, total_steps: int, chunk_steps: int, shared, per_seed, *, phase: str,
               writer, log, start: int = 0, after_chunk=None, on_fault=None, on_stop=None):
    """Runs steps `start` .. `total_steps` as jitted chunks, logging seed-mean metrics and throughput per chunk
    (`writer`: a metric_log.MetricWriter).

    after_chunk(done, states, keys) runs after every chunk (evaluation, checkpoints);
    on_fault(done, states, keys, fault, counts) runs when a seed met a non-finite update in the chunk; counts: how
    many of the chunk's updates of each seed were non-finite;
    on_stop(done, states, keys) runs when a SIGTERM arrived (termination.sigterm_raises) once the chunk in flight
    and its after_chunk are done, to save them; then Terminated is raised. On a multi-host run every process stops
    at the chunk where process 0 saw its SIGTERM."""
    done, t0 = start, time.time()
    last, first = t0, None  # first: (step, time) at the end of the first chunk, which includes its compilation
    with termination.deferred() as pending:
        while done < total_steps:
            states, keys, metrics, fault = chunk_fn(states, keys, jnp.int32(done), shared, per_seed)
            done += chunk_steps
            metrics, fault = devices.to_host((metrics, fault))
            now = time.time()
            # for the time left: the rate since the first chunk, whose compilation would otherwise make every
            # estimate of a long phase pessimistic; the first chunk has only its own
            rate = (done - start) / (now - t0) if first is None else (done - first[0]) / max(now - first[1], 1e-9)
            writer.write(phase, done, metrics, steps_per_second=chunk_steps / (now - last))  # compile included
            last = now
            tenth = done % max(chunk_steps, total_steps // 10) < chunk_steps
            if done - start == chunk_steps or done >= total_steps or tenth:
                shown = ", ".join(f"{k} {seed_mean(v):.4g}" for k, v in sorted(metrics.items()))
                left = f", {duration(max(total_steps - done, 0) / rate)} left" if done < total_steps else ""
                log(f"[{phase}] step {done}/{total_steps} ({rate:.0f} steps/s per seed-batch{left}): {shown}")
            if (fault["step"] >= 0).any() and on_fault:
                on_fault(done, states, keys, fault, metrics["nonfinite_updates"])
            try:
                if after_chunk:
                    after_chunk(done, states, keys)
            except Exception as err:  # e.g. evaluation workers that the same SIGTERM stopped
                if pending():  # this process's own signal: no collective on an error path
                    raise termination.Terminated(f"stopped by SIGTERM at {phase} step {done}, where "
                                                 f"{type(err).__name__}: {err}; the last checkpoint stands") from err
                raise
            if devices.agreed(pending()):
                log(f"[stop] SIGTERM: {phase} stops at step {done}")
                if on_stop:
                    on_stop(done, states, keys)
                saved = "saved; the same command resumes from there" if on_stop else "not saved"
                raise termination.Terminated(f"stopped by SIGTERM at {phase} step {done}, {saved}")
            if first is None:
                first = (done, time.time())
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


class NonFiniteGuard:
    """on_fault for run_chunks in one phase, keeping the per-seed count of skipped updates in `skipped[phase]`.

    'stop': saves every seed's state and key as they were just before its first non-finite update, writes what went
    wrong, and raises NonFiniteError. 'skip': logs the skipped updates and goes on, until some seed has skipped more
    than `limit` of the phase's updates so far; then it stops as 'stop' does, with the states as they are."""

    def __init__(self, on_nonfinite: str, limit: float, workdir: str, phase: str, log, skipped: dict):
        self.on_nonfinite, self.limit, self.workdir, self.phase, self.log = on_nonfinite, limit, workdir, phase, log
        self.skipped = skipped

    def __call__(self, done, states, keys, fault, counts):
        counts = np.asarray(counts, np.int64)
        total = np.asarray(self.skipped.get(self.phase, np.zeros_like(counts)), np.int64) + counts
        self.skipped[self.phase] = total.tolist()
        seeds = np.flatnonzero(fault["step"] >= 0)
        where = []
        for s in seeds:
            bad = [k for k, v in fault["metrics"].items() if not np.isfinite(v[s])]
            losses_txt = ", ".join(f"{k}={fault['metrics'][k][s]}" for k in bad) or "metrics finite, state not"
            where.append(f"seed {s} at step {fault['step'][s]} ({losses_txt})")
        if self.on_nonfinite == "skip":
            self.log(f"[{self.phase}] WARNING non-finite updates skipped up to step {done}: first of "
                     + "; ".join(where) + f" (skipped so far per seed: {total.tolist()})")
            over = np.flatnonzero(total > self.limit * done)
            if not over.size:
                return
            share = ", ".join(f"seed {s}: {total[s]} of {done}" for s in over)
            self._stop(done, states, keys, fault, f"skipped_step{done}",
                       f"{self.phase}: more than {self.limit:g} of the updates were skipped as non-finite ({share}). "
                       "The states and keys at the end of this chunk are saved in {path} (report beside it); the last "
                       "regular checkpoint is kept. Raise nonfinite_skip_limit to go on skipping.",
                       "states/keys: every seed at the end of the chunk that passed the skip limit")
        first = int(fault["step"][seeds].min())
        self._stop(done, states, keys, fault, f"step{first}",
                   f"{self.phase}: non-finite update: " + "; ".join(where) + ". The states and keys before it are "
                   "saved in {path} (report beside it); the last regular checkpoint is kept. Set "
                   "on_nonfinite='skip' to drop such updates instead.",
                   "states/keys: each faulty seed as it was just before its first non-finite update; that update is "
                   "chunk(states, keys, step) with one step from the saved key")

    def _stop(self, done, states, keys, fault, name, message, note):
        path = os.path.join(self.workdir, "nonfinite", f"{self.phase}_{name}")
        checkpointing.save_debug(path, {"states": states, "keys": keys})
        report = {"phase": self.phase, "chunk_end": done, "seeds": np.flatnonzero(fault["step"] >= 0).tolist(),
                  "step": fault["step"].tolist(), "skipped": self.skipped.get(self.phase),
                  "metrics": {k: [float(x) if np.isfinite(x) else str(x) for x in v]
                              for k, v in fault["metrics"].items()}, "note": note}
        if devices.is_primary():
            reporting.write_json(path + ".json", report)
        raise NonFiniteError(message.format(path=path))


def evaluation_due(done: int, total: int, chunk_steps: int, every: int) -> bool:
    """Whether the chunk that ended at `done` crossed a multiple of `every` (0: never) before the phase's end, where
    the final evaluation follows anyway."""
    return bool(every) and done % every < chunk_steps and done < total


def round_up(steps: int, chunk: int) -> int:
    """steps rounded up to a whole number of chunks (at least one)."""
    return max(chunk, int(math.ceil(steps / chunk)) * chunk)
