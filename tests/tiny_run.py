"""The tiny test config's full run in its own process, for the kill-and-resume and multi-device tests, and what
those tests read back from such a run.

  python -m tests.tiny_run DATA_DIR WORKDIR '{"rl.steps": 40, ...}'

Prints the run's log line by line and, at the end, one line 'SUMMARY <json>'."""
import json
import os
import sys

from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime import checkpointing
from tests.tiny import tiny_config

# srtd_id: encoder phase, imaginary data rebuilt on resume, TD3+BC with periodic evaluation. 40 + 40 steps.
RESUME_OVERRIDES = {"method": "srtd_id", "num_seeds": 4, "encoder.epochs": 2.0, "rl.steps": 40,
                    "eval.every_steps": 20, "eval.tasks": ["reach", "push"], "checkpoint.every_steps": 10,
                    "checkpoint.every_seconds": 0.0, "checkpoint.keep": 2}


def finish(proc) -> tuple[str, dict]:
    """Waits for a run started in a subprocess -> (its output, its summary); a failed run fails the test."""
    out = proc.stdout.read()
    assert proc.wait() == 0, out[-4000:]
    summary = [line for line in out.splitlines() if line.startswith("SUMMARY ")]
    return out, json.loads(summary[-1][len("SUMMARY "):])


def final_state(workdir):
    """(step, saved tree) of a run's latest checkpoint."""
    return checkpointing.latest_state(os.path.join(workdir, "checkpoints"))


def config(data_dir: str, overrides: str):
    """The tiny config with the fields of the JSON object `overrides` ('rl.steps': 40, ...) replaced."""
    cfg = tiny_config(data_dir)
    for field, value in json.loads(overrides).items():
        section, _, name = field.rpartition(".")
        node = cfg
        for part in filter(None, section.split(".")):
            node = node[part]
        node[name] = value
    return cfg


def main(data_dir: str, workdir: str, overrides: str) -> None:
    summary = train_and_evaluate(config(data_dir, overrides), workdir, log=lambda line: print(line, flush=True))
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
