"""The paper-budget column estimate of the accelerator job: dataset sizes, encoder steps and phase times checked
against numbers worked out by hand."""
import pytest

from configs import benchmark_mt10
from srtd_jax.studies import column_cost

EPISODES = {"MR": 150, "RP": 100, "ME": 50}


def test_transitions_of_configurations():
    got = column_cost.configuration_transitions(("mr10", "rp10", "me10", "mr5_rp3_me2", "MR 4, RP 3, ME 3"),
                                                EPISODES, 200, 10)
    # tasks x episodes per task x 200 steps: (5 * 150 + 3 * 100 + 2 * 50) * 200 = 230,000
    assert got == {"mr10": 300_000, "rp10": 200_000, "me10": 100_000, "mr5_rp3_me2": 230_000,
                   "MR 4, RP 3, ME 3": 210_000}
    with pytest.raises(ValueError, match="assigns 9 tasks, expected 10"):
        column_cost.configuration_transitions(("mr9",), EPISODES, 200, 10)


def test_encoder_steps_at_the_papers_budget():
    sweep = benchmark_mt10.get_config("paper")
    d = sweep.base.data
    steps = column_cost.encoder_steps_by_configuration(
        sweep.configurations, {"MR": d.episodes_mr, "RP": d.episodes_rp, "ME": d.episodes_me}, d.episode_length, 10,
        sweep.base.encoder)
    assert len(steps) == 10
    # 300 epochs of 300,000 transitions at batch 2048 = 43,945.3 updates, rounded up to chunks of 100
    assert steps["mr10"] == 44_000
    # 300 * 200,000 / 2048 = 29,296.9 -> 29,300; 300 * 150,000 / 2048 = 21,972.7 -> 22,000
    assert steps["rp10"] == 29_300 and steps["rp5_me5"] == 22_000
    assert max(steps.values()) == steps["mr10"]


def test_column_seconds_packed_and_one_after_another():
    # two cells of 3 seeds: 6 replicas; encoder rate 600, RL rate 6,000 replica-updates/s
    packed = column_cost.column_seconds([44_000, 29_300], 1_000_000, 3, 600.0, 6_000.0, packed=True)
    # the packed encoder phase runs to the longest cell: 44,000 * 6 / 600 = 440 s; RL 1e6 * 6 / 6,000 = 1,000 s
    assert packed == pytest.approx((440.0, 1000.0))
    alone = column_cost.column_seconds([44_000, 29_300], 1_000_000, 3, 600.0, 6_000.0, packed=False)
    # each cell its own steps over its 3 seeds: (44,000 + 29,300) * 3 / 600 = 366.5 s; RL 2 * 1e6 * 3 / 6,000
    assert alone == pytest.approx((366.5, 1000.0))
    # a cell without encoders (0 steps) adds RL only
    assert column_cost.column_seconds([0, 0], 10, 1, 1.0, 5.0, packed=False) == pytest.approx((0.0, 4.0))
    with pytest.raises(ValueError, match="rates must be positive"):
        column_cost.column_seconds([1], 1, 1, 0.0, 1.0, packed=True)
    with pytest.raises(ValueError, match="need >= 1 cell"):
        column_cost.column_seconds([], 1, 1, 1.0, 1.0, packed=True)


def _row(part, strategy, cells, packed, alone, seeds=3, shape="paper"):
    return dict(part=part, shape=shape, replicas=cells * seeds, cells=cells, seeds_per_cell=seeds,
                strategy=strategy, packed_replica_updates_per_s=packed, one_by_one_replica_updates_per_s=alone)


def test_estimates_pair_the_parts_of_one_strategy_at_the_columns_cell_count():
    steps = {"a": 1_000, "b": 500}
    rows = [_row("td3bc", "vmap", 2, 600.0, 60.0), _row("encoder", "vmap", 2, 30.0, 6.0),
            _row("td3bc", "vmap", 1, 1.0, 1.0), _row("encoder", "vmap", 1, 1.0, 1.0),  # another cell count
            _row("td3bc", "map", 2, 50.0, 50.0),  # no encoder row for map: no estimate
            {"part": "encoder", "shape": "paper", "replicas": 6, "cells": 2, "strategy": "vmap2"}]  # older layout
    (est,) = column_cost.column_estimates(rows, steps, 10_000)
    assert (est["strategy"], est["cells"], est["seeds"]) == ("vmap", 2, 3)
    # packed: encoders 1,000 * 6 / 30 = 200 s, RL 10,000 * 6 / 600 = 100 s
    assert (est["packed_encoder_s"], est["packed_rl_s"], est["packed_s"]) == pytest.approx((200.0, 100.0, 300.0))
    # alone: encoders (1,000 + 500) * 3 / 6 = 750 s, RL 2 * 10,000 * 3 / 60 = 1,000 s
    assert est["one_by_one_s"] == pytest.approx(1750.0)
    assert est["speedup"] == pytest.approx(1750.0 / 300.0)
    assert column_cost.column_estimates(rows[2:], steps, 10_000) == []
