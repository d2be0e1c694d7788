"""A run's working directory: its config.json and command log, and the fingerprints that keep a resumed run on the
same data."""
from __future__ import annotations

import os

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
