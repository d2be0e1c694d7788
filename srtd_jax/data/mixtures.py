"""Mixed dataset configurations: which dataset kind (MR / RP / ME) each MT10 task gets."""
from __future__ import annotations

import re

import numpy as np

from srtd_jax.envs.metaworld_mt10 import MT10_TASKS

# The 10 configurations of the paper's Table 1, as (MR, RP, ME) task counts.
TABLE1 = {
    "mr10": (10, 0, 0), "rp10": (0, 10, 0), "me10": (0, 0, 10), "mr7_me3": (7, 0, 3),
    "mr5_rp3_me2": (5, 3, 2), "mr5_me5": (5, 0, 5), "mr4_rp3_me3": (4, 3, 3),
    "mr3_me7": (3, 0, 7), "rp7_me3": (0, 7, 3), "rp5_me5": (0, 5, 5),
}
# The 6 configurations of the paper's Table 2 (drone navigation, 6 tasks).
TABLE2 = {"mr6": (6, 0, 0), "rp6": (0, 6, 0), "me6": (0, 0, 6), "mr2_rp2_me2": (2, 2, 2), "mr1_rp2_me3": (1, 2, 3),
          "mr3_rp2_me1": (3, 2, 1)}
_SPEC = re.compile(r"^\s*(MR|RP|ME)\s*(\d+)\s*$", re.IGNORECASE)
_SLUG = re.compile(r"^(?:mr(\d+))?_?(?:rp(\d+))?_?(?:me(\d+))?$")


def parse(spec: str, num_tasks: int | None = len(MT10_TASKS)) -> tuple:
    """'MR 5, RP 3, ME 2' or a name in the tables' style ('mr5_rp3_me2', 'rp6') -> (5, 3, 2). Kinds left out
    count 0. The counts must add up to num_tasks (None: any total)."""
    slug = _SLUG.match(spec.strip().lower())
    if slug and any(slug.groups()):
        counts = tuple(int(g or 0) for g in slug.groups())
    else:
        found = {"MR": 0, "RP": 0, "ME": 0}
        for part in spec.split(","):
            m = _SPEC.match(part)
            if not m:
                raise ValueError(f"bad dataset configuration {spec!r}: expected e.g. 'MR 5, RP 3, ME 2' "
                                 f"or one of {', '.join(TABLE1)}")
            found[m.group(1).upper()] = int(m.group(2))
        counts = (found["MR"], found["RP"], found["ME"])
    if num_tasks is not None and sum(counts) != num_tasks:
        raise ValueError(f"dataset configuration {spec!r} assigns {sum(counts)} tasks, expected {num_tasks}")
    return counts


def assign(spec: str, seed: int, tasks=MT10_TASKS) -> dict:
    """Seeded shuffle of tasks into kinds: returns {task: 'MR' | 'RP' | 'ME'} in task order."""
    counts = parse(spec, len(tasks))
    kinds = np.array(["MR"] * counts[0] + ["RP"] * counts[1] + ["ME"] * counts[2])
    order = np.random.default_rng(seed).permutation(len(tasks))
    return {task: str(kinds[order[i]]) for i, task in enumerate(tasks)}
