"""A run's working directory: the lock that gives it one launcher at a time, its config.json and command log, and the
fingerprints that keep a resumed run on the same data."""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket

from srtd_jax.core import atomic, devices
from srtd_jax.runtime import checkpointing


def prepare_workdir(cfg, workdir: str, diff: list, command: str | None, log) -> None:
    """Writes config.json (keeping an earlier one, which differs from cfg by the allowed `diff`, as
    config.<k>.json) and appends the command. Runs only after every input has been validated."""
    path = os.path.join(workdir, "config.json")
    if not devices.is_primary():
        return
    os.makedirs(workdir, exist_ok=True)
    if diff:
        k = 1
        while os.path.exists(os.path.join(workdir, f"config.{k}.json")):
            k += 1
        os.replace(path, os.path.join(workdir, f"config.{k}.json"))
        log(f"config changed on resume (allowed; the earlier one is config.{k}.json): " + "; ".join(diff))
    if not os.path.exists(path):
        atomic.write_text(path, cfg.to_json_best_effort(indent=2))
    if command:
        with open(os.path.join(workdir, "command.txt"), "a") as f:
            f.write(command + "\n")


def check_fingerprints(meta: dict, prints: dict, resuming) -> None:
    """Refuses to resume from a checkpoint made with other data, normalisation or augmentation."""
    if not resuming:
        return
    for name, value in prints.items():
        saved = meta.get("fingerprints", {}).get(name)
        if saved is not None and saved != value:
            raise checkpointing.ResumeError(
                f"cannot resume: the {name} differs from the checkpointed run's (fingerprint {value} vs {saved}); "
                "the data files or the code that builds them changed. Start a new workdir.")


LOCK_FILE = ".lock"


class WorkdirInUseError(RuntimeError):
    """Another live process holds the workdir's lock; the message names it."""


@contextlib.contextmanager
def locked(workdir: str, log):
    """Holds an exclusive OS lock (flock) on <workdir>/.lock while the block runs, so that two launchers never write
    one workdir. A second launcher raises WorkdirInUseError at once: "workdir W is in use by PID P on host H since T".
    The lock dies with its process, so a workdir left by a killed run is taken over, with a message naming the
    process that had it. The lock file records the holder and is emptied when the block ends, by an exception
    too."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, LOCK_FILE)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _holder(handle.read())
        handle.close()
        raise WorkdirInUseError(f"workdir {workdir} is in use by PID {holder.get('pid', '?')} on host "
                                f"{holder.get('host', '?')} since {holder.get('since', '?')}") from None
    try:
        handle.seek(0)
        stale = _holder(handle.read())
        if stale:
            log(f"{workdir}: taking over the lock of PID {stale.get('pid', '?')} on host {stale.get('host', '?')} "
                f"(since {stale.get('since', '?')}), which is no longer running")
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "since": datetime.datetime.now().isoformat(timespec="seconds")}
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(me))
        handle.flush()
        yield
    finally:
        # emptied however the block ends (an exception or a stop included): only a killed process leaves its record,
        # so "taking over the lock of PID ..." always means a run that did not get to clean up
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _holder(text: str) -> dict:
    try:
        holder = json.loads(text)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}
