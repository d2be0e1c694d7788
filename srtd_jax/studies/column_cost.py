"""What training one column of a benchmark's table takes at a budget, from measured update rates: the extrapolation
behind the accelerator job's "one Table 1 column at the paper's budget" (experiments/bench_throughput.py, packing
section; experiments/accelerator.sh).

A column is every configuration of the table for one method, `seeds` seeds each. Its training is an encoder phase
per cell (`encoder_phase.encoder_steps` of the cell's transitions) and an RL phase of `rl_steps` per cell. Rates are
replica-updates/s (a replica is one seed of one cell) as the packing section measures them: the cells packed into
one program, or the same cells one after another. Not counted: evaluation and the embedding of every dataset step
(once per cell, bound by the environments and a single pass), and compilation (once per program)."""
from __future__ import annotations

from srtd_jax.data import ladder, mixtures
from srtd_jax.runtime.encoder_phase import encoder_steps


def configuration_transitions(configurations, episodes: dict, episode_length: int, num_tasks: int) -> dict:
    """{configuration: transitions of its dataset}: tasks of each kind x that kind's episodes per task x steps.
    configurations: names like 'mr5_rp3_me2' (or 'MR 5, RP 3, ME 2'); episodes: {'MR': 150, 'RP': 100, 'ME': 50}."""
    out = {}
    for spec in configurations:
        counts = mixtures.parse(spec, num_tasks)
        out[spec] = sum(n * episodes[kind] for n, kind in zip(counts, ladder.KINDS)) * episode_length
    return out


def encoder_steps_by_configuration(configurations, episodes: dict, episode_length: int, num_tasks: int,
                                   enc) -> dict:
    """{configuration: encoder updates of a cell on it}; enc: the `encoder` block of a run config (epochs,
    batch_size, chunk_steps)."""
    transitions = configuration_transitions(configurations, episodes, episode_length, num_tasks)
    return {name: encoder_steps(enc, n) for name, n in transitions.items()}


def column_seconds(encoder_steps, rl_steps: int, seeds: int, encoder_rate: float, rl_rate: float, *,
                   packed: bool) -> tuple[float, float]:
    """(encoder seconds, RL seconds) of a column whose cells have `encoder_steps` (one count per cell; 0 where a
    cell trains no encoders) and `rl_steps` each, `seeds` seeds per cell; rates in replica-updates/s.

    packed: one program over all cells x seeds (R replicas); its encoder phase runs to the longest cell's count
    (srtd_jax/run_packed.py), so encoders take max(steps) * R / rate and RL rl_steps * R / rate.
    One after another: each cell runs its own counts over its seeds, so encoders take sum(steps) * seeds / rate and
    RL cells * rl_steps * seeds / rate."""
    steps = [int(s) for s in encoder_steps]
    if not steps or min(steps) < 0 or rl_steps < 0 or seeds < 1:
        raise ValueError(f"column_seconds: need >= 1 cell, non-negative steps and >= 1 seed (got encoder_steps "
                         f"{steps}, rl_steps {rl_steps}, seeds {seeds})")
    if encoder_rate <= 0 or rl_rate <= 0:
        raise ValueError(f"column_seconds: rates must be positive (encoder {encoder_rate}, RL {rl_rate})")
    cells = len(steps)
    if packed:
        replicas = cells * seeds
        return max(steps) * replicas / encoder_rate, rl_steps * replicas / rl_rate
    return sum(steps) * seeds / encoder_rate, cells * rl_steps * seeds / rl_rate


def column_estimates(rows, encoder_steps: dict, rl_steps: int) -> list[dict]:
    """One estimate per seed-axis strategy for which the packing rows (bench_throughput's 'packing' records) hold a
    TD3+BC row and an encoder row whose cells equal the column's configurations (`encoder_steps`: {configuration:
    steps}). Each: strategy, shape, cells, seeds, the four phase times (s), packed_s, one_by_one_s and speedup
    (one_by_one_s / packed_s, the column's throughput gain from packing)."""
    cells = len(encoder_steps)
    found = {}
    for r in rows:
        if r.get("cells") == cells and "seeds_per_cell" in r:
            found[(r["strategy"], r["shape"], r["seeds_per_cell"], r["part"])] = r
    out = []
    for (strategy, shape, seeds, part), enc in sorted(found.items()):
        rl = found.get((strategy, shape, seeds, "td3bc"))
        if part != "encoder" or rl is None:
            continue
        args = (list(encoder_steps.values()), rl_steps, seeds)
        pe, pr = column_seconds(*args, enc["packed_replica_updates_per_s"], rl["packed_replica_updates_per_s"],
                                packed=True)
        oe, orl = column_seconds(*args, enc["one_by_one_replica_updates_per_s"],
                                 rl["one_by_one_replica_updates_per_s"], packed=False)
        out.append(dict(strategy=strategy, shape=shape, cells=cells, seeds=seeds, rl_steps=rl_steps,
                        encoder_steps=dict(encoder_steps), packed_encoder_s=pe, packed_rl_s=pr, packed_s=pe + pr,
                        one_by_one_encoder_s=oe, one_by_one_rl_s=orl, one_by_one_s=oe + orl,
                        speedup=(oe + orl) / (pe + pr)))
    return out
