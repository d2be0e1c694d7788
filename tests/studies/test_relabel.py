"""Reward relabelling with Meta-World's reward function and the Figure-4 study on tiny data."""
import glob
import json
import types

import jax
import numpy as np
import pytest

from srtd_jax.benchmarks import registry
from srtd_jax.benchmarks.mt10.env import OBS_DIM
from srtd_jax.benchmarks.mt10.relabel import RewardRelabeler
from srtd_jax.data import dataset as ds
from srtd_jax.runtime import checkpointing
from srtd_jax.runtime.encoder_phase import train_encoders
from srtd_jax.studies.trained import encoder_of_run
from tests.tiny import tiny_config


@pytest.mark.parametrize("task", ["drawer-open", "window-close", "reach"])
def test_relabelled_rewards_match_the_recorded_ones(task, tiny_data_dir):
    """On real transitions the simulator recorded Meta-World's reward; setting the simulator from the
    observation alone must give it back (tolerance: 2% of the 0..10 reward range on average)."""
    data, _ = ds.load(sorted(glob.glob(f"{tiny_data_dir}/{task}_ME_*.npz"))[0])
    relabeler = RewardRelabeler(task)
    got, recorded, rows = [], [], []
    for e in range(data.num_episodes):
        goal = relabeler.goal_of(data.observations[e, 0])
        for t in range(0, data.episode_length, 4):
            got.append(relabeler.reward(goal, data.next_observations[e, t], data.actions[e, t]))
            recorded.append(data.raw_rewards[e, t])
            rows.append((e, t))
    got, recorded = np.array(got), np.array(recorded)
    assert recorded.std() > 0  # the check is not on a constant
    assert np.abs(got - recorded).mean() < 0.2
    if task == "reach":  # the suite's hook (the imagination diagnostics' relabelling): the same rewards by rows
        e, t = np.array(rows).T
        hook = registry.get("mt10").relabel(data.task_ids[e, 0], data.observations[e, 0], data.next_observations[e, t],
                                            data.actions[e, t])
        np.testing.assert_allclose(hook, got, rtol=1e-6)


def test_goal_is_recovered_from_the_first_observation():
    relabeler = RewardRelabeler("push")
    for goal in (0, 17, 49):
        assert relabeler.goal_of(relabeler.env.reset(goal)) == goal


def test_a_state_metaworld_refuses_has_no_reward_and_is_counted_apart(monkeypatch):
    """Meta-World's reward raises ValueError when a term it combines leaves [0, 1], as imagined states can make it."""
    from srtd_jax.runtime.imagination_report import relabelled_rewards
    relabeler = RewardRelabeler("push")
    obs = relabeler.env.reset(0)
    assert np.isfinite(relabeler.reward(0, obs, np.zeros(4)))
    def refuse(obs, action):
        raise ValueError("a (1.2) and b (1.2) must range between 0 and 1")
    monkeypatch.setattr(relabeler.env.env, "evaluate_state", refuse)
    assert np.isnan(relabeler.reward(0, obs, np.zeros(4)))
    # in a run's imagination report: left out of the means, counted
    seeds, rows, horizon, S, A = 2, 1, 2, 3, 1
    out = {"starts": {"e": np.zeros((seeds, rows), int), "t": np.zeros((seeds, rows), int)},
           "alive": np.ones((seeds, rows, horizon)), "imagined_next_obs": np.zeros((seeds, rows, horizon, S)),
           "imagined_action": np.zeros((seeds, rows, horizon, A))}
    data = types.SimpleNamespace(observations=np.zeros((1, 4, S)), next_observations=np.zeros((1, 4, S)),
                                 actions=np.zeros((1, 4, A)), task_ids=np.zeros((1, 4), int))
    imagined_rewards = iter([np.array([1.0, np.nan, 3.0, np.nan]), np.array([2.0, 2.0, 4.0, 4.0])])
    report = relabelled_rewards(out, lambda *_: next(imagined_rewards), rows, data,
                                types.SimpleNamespace(mean=np.zeros(S), std=np.ones(S)))
    assert report["imagined"] == 2.0 and report["imagined_per_seed"] == [1.0, 3.0] and report["real"] == 3.0
    assert report["unscored"] == {"imagined": 2, "real": 0} and report["rows"] == 4


@pytest.mark.slow
def test_figure4_study_writes_its_table_and_plot(tiny_data_dir, tmp_path, monkeypatch):
    from srtd_jax.studies import relabel
    from srtd_jax.studies.relabel import SETS, run_study
    from srtd_jax.studies.relabel_report import PAPER, write_outputs
    cfg = tiny_config(tiny_data_dir)
    cfg.num_seeds = 1
    trained = []
    monkeypatch.setattr(relabel, "train_encoders", lambda *a, **k: trained.append(train_encoders(*a, **k)) or trained[-1])
    result = run_study(cfg, str(tmp_path), samples_per_set=6, expert_episodes_per_task=1, log=lambda *_: None)
    assert result["encoders"] == {"trained_here": True, "method": "srtd", "epochs": cfg.encoder.epochs}
    assert result["sources"]  # the default mixture has MR tasks
    for s in SETS:
        assert 0.0 <= result["average_reward"][s] <= 10.0 * cfg.data.reward_scale
    task = result["sources"][0]
    assert {s: len(v) for s, v in result["pca"][task].items()} == {s: 6 for s in SETS}
    assert all(len(p) == 2 for p in result["pca"][task]["imaginary"])
    out = str(tmp_path / "fig")
    write_outputs(result, out, "python -m experiments.relabel_rewards --samples_per_set=6")
    saved = json.load(open(out + ".json"))
    assert saved["command"].startswith("python -m experiments.relabel_rewards")
    assert saved["paper"] == PAPER and saved["average_reward"] == result["average_reward"]
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in open(out + ".md").read().splitlines()
            if line.startswith(("| ours |", "| paper |"))}
    for label, numbers in (("ours", result["average_reward"]), ("paper", PAPER)):
        assert [float(x) for x in rows[label]] == pytest.approx([numbers[s] for s in SETS], abs=5e-5)
    assert (tmp_path / "fig.png").stat().st_size > 1000

    # the same study from a finished run's checkpoint: seed 1 holds the encoders trained above, seed 0 zeros
    params = trained[0][1]
    run = tmp_path / "run"
    checkpointing.save_debug(str(run / "checkpoints" / "7" / "state"), {"encoder_params": jax.tree.map(
        lambda x: np.stack([np.zeros_like(x[0]), np.asarray(x[0])]), params)})
    cfg.num_seeds = 2
    again = run_study(cfg, None, samples_per_set=6, expert_episodes_per_task=1, log=lambda *_: None,
                      trained_run=str(run), seed=1)
    assert again["encoders"] == {"trained_run": str(run), "seed": 1}
    assert again["per_task"] == result["per_task"] and again["average_reward"] == result["average_reward"]
    _, chosen = encoder_of_run(cfg, str(run), OBS_DIM, seed=0)
    assert all(not np.any(np.asarray(x)) for x in jax.tree.leaves(chosen))  # seed 0's zeros, not seed 1's
    with pytest.raises(ValueError, match=r"seed 2 is not in \[0, num_seeds=2\)"):
        encoder_of_run(cfg, str(run), OBS_DIM, seed=2)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        encoder_of_run(cfg, str(tmp_path / "none"), OBS_DIM)
    cfg.method = "td3bc"
    with pytest.raises(ValueError, match="method 'td3bc' trains no encoders"):
        encoder_of_run(cfg, str(run), OBS_DIM)


def test_the_study_checks_the_run_it_is_given(tiny_data_dir, tmp_path):
    from srtd_jax.runtime.config_check import ConfigError
    from srtd_jax.studies.relabel import trained_run_config
    cfg = tiny_config(tiny_data_dir)
    with pytest.raises(ConfigError, match="no config.json there"):
        trained_run_config(str(tmp_path), 0)
    for field, value, error in (("method", "td3bc", "method 'td3bc' trains no encoders"),
                                ("suite", "drone", "a drone run; the study relabels with Meta-World's reward"),
                                ("num_seeds", 2, r"seed 3 is not in \[0, num_seeds=2\)")):
        bad = cfg.copy_and_resolve_references()
        setattr(bad, field, value)
        (tmp_path / "config.json").write_text(bad.to_json())
        with pytest.raises(ValueError, match=error):
            trained_run_config(str(tmp_path), 3)
    (tmp_path / "config.json").write_text(cfg.to_json())
    assert trained_run_config(str(tmp_path), 0).method == cfg.method
