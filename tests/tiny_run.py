"""The tiny test config's full run in its own process, for the kill-and-resume and multi-device tests.

  python -m tests.tiny_run DATA_DIR WORKDIR '{"rl.steps": 40, ...}'

Prints the run's log line by line and, at the end, one line 'SUMMARY <json>'."""
import json
import sys

from srtd_jax.run import train_and_evaluate
from tests.conftest import tiny_config


def main(data_dir: str, workdir: str, overrides: str) -> None:
    cfg = tiny_config(data_dir)
    for field, value in json.loads(overrides).items():
        section, _, name = field.rpartition(".")
        node = cfg
        for part in filter(None, section.split(".")):
            node = node[part]
        node[name] = value
    summary = train_and_evaluate(cfg, workdir, log=lambda line: print(line, flush=True))
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
