"""Mixed dataset configurations: which dataset kind (MR / RP / ME) each task of a benchmark gets."""
from __future__ import annotations

import re

import numpy as np

_SPEC = re.compile(r"^\s*(MR|RP|ME)\s*(\d+)\s*$", re.IGNORECASE)
_SLUG = re.compile(r"^(?:mr(\d+))?_?(?:rp(\d+))?_?(?:me(\d+))?$")


def parse(spec: str, num_tasks: int | None) -> tuple:
    """'MR 5, RP 3, ME 2' or a name in the tables' style ('mr5_rp3_me2', 'rp6') -> (5, 3, 2). Kinds left out
    count 0. The counts must add up to num_tasks (None: any total)."""
    slug = _SLUG.match(spec.strip().lower())
    if slug and any(slug.groups()):
        counts = tuple(int(g or 0) for g in slug.groups())
    else:
        found = {"MR": 0, "RP": 0, "ME": 0}
        seen = set()
        for part in spec.split(","):
            m = _SPEC.match(part)
            if not m:
                raise ValueError(f"bad dataset configuration {spec!r}: expected e.g. 'MR 5, RP 3, ME 2' "
                                 "or a name like 'mr5_rp3_me2'")
            kind = m.group(1).upper()
            if kind in seen:
                raise ValueError(f"bad dataset configuration {spec!r}: {kind} is given twice")
            seen.add(kind)
            found[kind] = int(m.group(2))
        counts = (found["MR"], found["RP"], found["ME"])
    if num_tasks is not None and sum(counts) != num_tasks:
        raise ValueError(f"dataset configuration {spec!r} assigns {sum(counts)} tasks, expected {num_tasks}")
    return counts


def assignment_seed(data_cfg, run_seed: int) -> int:
    """The shuffle seed of a run: data.assignment_seed, plus the run's seed with data.assignment_per_seed."""
    return data_cfg.assignment_seed + (run_seed if data_cfg.assignment_per_seed else 0)


def assign(spec: str, seed: int, tasks: tuple) -> dict:
    """Seeded shuffle of tasks into kinds: returns {task: 'MR' | 'RP' | 'ME'} in task order."""
    counts = parse(spec, len(tasks))
    kinds = np.array(["MR"] * counts[0] + ["RP"] * counts[1] + ["ME"] * counts[2])
    order = np.random.default_rng(seed).permutation(len(tasks))
    return {task: str(kinds[order[i]]) for i, task in enumerate(tasks)}
