"""The learning_run recipe: the policy's loss by hand, snapshots per kind, a tiny MT10 run end to end (deterministic,
cached, its files checked like the ladder's), and the diagnostics that tell the recipes apart."""
import os

import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.benchmarks.mt10 import generate
from srtd_jax.benchmarks.mt10 import learning_run as mt10_run
from srtd_jax.data import dataset as ds
from srtd_jax.data import diagnostics, ladder
from srtd_jax.data import learning_run as lr
from tests.tiny import tiny_config


def test_snapshots_of_each_kind():
    assert lr.episode_snapshots("MR", 6, 2, 10).tolist() == [0, 0, 1, 1, 2, 2]
    assert lr.episode_snapshots("ME", 9, 2, 10).tolist() == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert lr.episode_snapshots("RP", 4, 2, 3).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="unknown dataset kind 'XX'"):
        lr.episode_snapshots("XX", 3, 1, 4)
    assert lr.medium_snapshot(np.array([0.0, 0.2, 0.5, 0.4, 1.0]), 0.5) == 2
    assert lr.medium_snapshot(np.array([0.0, 0.2]), 0.5) == 1  # none reaches it: the last


def test_batches_draw_their_demo_share_from_the_expert_steps():
    settings = lr.LearnerSettings(updates_per_round=400, batch_size=10, demo_share=0.3)
    idx = lr.batch_indices(np.random.default_rng(0), settings, num_expert=50, filled=1000)
    assert idx.shape == (400, 10)
    assert idx[:, :3].max() < 50 and idx[:, :3].min() >= 0  # 3 of 10 rows: the expert episodes' steps
    assert idx[:, 3:].max() >= 900 and idx[:, 3:].max() < 1000  # the rest: every labelled step
    plain = lr.batch_indices(np.random.default_rng(0), lr.LearnerSettings(updates_per_round=400, batch_size=10,
                                                                          demo_share=0.0), 50, 1000)
    assert plain.shape == (400, 10) and (plain >= 50).mean() > 0.9  # DAgger's uniform draw


def test_an_episode_asks_each_policy_once_per_step():
    """Meta-World's scripted policies can keep state between calls: an expert episode that is also its own label
    asks the expert once per step, not twice."""
    from srtd_jax.benchmarks.mt10 import env as mw
    calls = {"expert": 0, "learner": 0}

    def policy(name):
        def act(obs):
            calls[name] += 1
            return np.full(4, 0.1 * calls[name], np.float32)  # a different action at every call
        return act
    expert = policy("expert")
    ep = generate.record_episode(mw.MT10Env("reach"), 0, 5, expert, expert)
    assert calls["expert"] == 5 and np.array_equal(ep["act"], ep["label"])
    generate.record_episode(mw.MT10Env("reach"), 0, 5, policy("learner"), expert)  # DAgger: each asked once
    assert calls == {"expert": 10, "learner": 5}


def test_policy_loss_by_hand_and_the_untrained_policy():
    rng = np.random.default_rng(0)
    policy = lr.init_policy(rng, 3, 2, (4,), np.zeros(3), np.ones(3))
    obs = rng.normal(size=(5, 3)).astype(np.float32)
    targets = rng.normal(size=(5, 2)).astype(np.float32)
    h = np.maximum(obs @ policy.layers[0][0] + policy.layers[0][1], 0)
    out = h @ policy.layers[1][0] + policy.layers[1][1]
    mu, log_std = out[:, :2], np.clip(out[:, 2:], lr.LOG_STD_MIN, lr.LOG_STD_MAX)
    by_hand = np.mean(np.sum(0.5 * (targets - mu) ** 2 / np.exp(2 * log_std) + log_std, -1))
    jax_policy = lr.Policy(tuple((jnp.asarray(w), jnp.asarray(b)) for w, b in policy.layers),
                           jnp.asarray(policy.obs_mean), jnp.asarray(policy.obs_std))
    assert float(lr.nll_loss(jax_policy, jnp.asarray(obs), jnp.asarray(targets))) == pytest.approx(by_hand, rel=1e-5)
    assert np.abs(mu).max() < 0.1 and np.abs(log_std).max() < 0.1  # untrained: mu ~ 0, sigma ~ 1
    actions = np.stack([lr.act(policy, o, rng) for o in obs])
    assert actions.shape == (5, 2) and np.abs(actions).max() < 1.0
    np.testing.assert_allclose(np.tanh(lr.pre_tanh(np.array([0.3, -1.0, 1.0]))), [0.3, -0.995, 0.995], rtol=1e-5)
    back = lr.unflatten_snapshots(lr.flatten_snapshots([policy, policy]))
    assert len(back) == 2 and all(np.array_equal(a, b) for a, b in zip(back[1].layers[1], policy.layers[1]))


def test_training_rounds_fit_an_expert():
    """A linear 'expert' in the tanh's input space: a few rounds of the trainer bring the NLL down and mu to it."""
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(512, 3)).astype(np.float32)
    u = (obs @ np.array([[1.0, -0.5], [0.3, 0.2], [0.0, 1.0]])).astype(np.float32)
    settings = lr.LearnerSettings(hidden=(32,), batch_size=64, learning_rate=3e-3)
    init_opt, train = lr.make_trainer(settings)
    policy = lr.init_policy(rng, 3, 2, (32,), obs.mean(0), obs.std(0))
    state = init_opt(policy)
    losses = []
    for _ in range(3):
        policy, state, loss = train(policy, state, obs, u, rng.integers(0, 512, (200, 64)))
        losses.append(float(loss))
    assert losses[0] > losses[-1]
    mu, _ = lr.policy_head(lr.to_numpy(policy), obs)
    assert np.mean((mu - u) ** 2) < 0.05 * np.mean(u ** 2)
    np.testing.assert_array_equal(lr.to_numpy(policy).obs_mean, obs.mean(0))  # the standardisation is not trained


def _tiny_settings(**learner):
    cfg = tiny_config("unused").data
    cfg.recipe, cfg.episodes_mr, cfg.episodes_rp, cfg.episodes_me = "learning_run", 3, 2, 2
    cfg.learner.update(dict(rounds=2, episodes_per_round=2, expert_episodes=1, updates_per_round=20, hidden=(16,),
                            batch_size=32), **learner)
    return generate.settings_from_config(cfg)


@pytest.mark.slow
def test_a_tiny_mt10_learning_run_makes_checked_cached_deterministic_files(tmp_path, monkeypatch):
    settings = _tiny_settings()
    assert settings.key("reach", "MR")["learner"]["hidden"] == [16]  # the learner is in the cache key
    assert ladder.file_path("d", settings, "reach", "MR") != ladder.file_path("d", _tiny_settings(rounds=3),
                                                                              "reach", "MR")
    paths = generate.ensure_datasets({"reach": "MR"}, settings, str(tmp_path / "a"), num_workers=1)
    data, meta = ds.load(paths["reach"])
    run_file = mt10_run.run_path(str(tmp_path / "a"), settings, "reach")
    assert os.path.exists(run_file) and meta["recipe"] == "learning_run" and len(meta["run_success"]) == 3
    medium = meta["medium_snapshot"]
    assert data.rungs[:, 0].tolist() == lr.episode_snapshots("MR", 3, medium, 2).tolist()  # each episode's snapshot
    assert data.observations.shape == (3, 20, 39) and np.abs(data.actions).max() <= 1.0

    # the other kinds come from the cached run: no second training
    monkeypatch.setattr(mt10_run, "train_run", lambda *a: pytest.fail("the cached run was trained again"))
    generate.ensure_datasets({"reach": "ME"}, settings, str(tmp_path / "a"), num_workers=1)
    monkeypatch.undo()

    again = generate.ensure_datasets({"reach": "MR"}, settings, str(tmp_path / "b"), num_workers=1)
    for x, y in zip(data, ds.load(again["reach"])[0]):  # deterministic per seed
        assert (x is None and y is None) or np.array_equal(x, y)

    raw = open(run_file, "rb").read()
    with open(run_file, "wb") as f:  # a truncated run is set aside and trained again
        f.write(raw[: len(raw) // 2])
    os.remove(paths["reach"])
    generate.ensure_datasets({"reach": "MR"}, settings, str(tmp_path / "a"), num_workers=1)
    assert os.path.exists(run_file + ".invalid") and mt10_run.load_run(run_file, mt10_run.run_key(settings, "reach"))

    other = _tiny_settings(updates_per_round=21)  # a file of other learner settings, when generation is off
    os.replace(paths["reach"], ladder.file_path(str(tmp_path / "a"), other, "reach", "MR"))
    with pytest.raises(ds.DatasetError, match="does not match the requested settings: learner="):
        generate.ensure_datasets({"reach": "MR"}, other, str(tmp_path / "a"), num_workers=1, generate=False)


def test_diagnostics_by_hand():
    assert diagnostics.uniform_share(np.array([0, 5, 10]), 11) == pytest.approx(0.5)
    rng = np.random.default_rng(2)
    a = np.zeros((40, 200, 2))
    for t in range(1, 200):  # AR(1) with rho 0.8
        a[:, t] = 0.8 * a[:, t - 1] + rng.normal(size=(40, 2))
    assert diagnostics.lag1_autocorrelation(a) == pytest.approx(0.8, abs=0.03)
    assert abs(diagnostics.lag1_autocorrelation(rng.normal(size=(40, 200, 2)))) < 0.03
    obs = rng.normal(size=(30, 20, 3)).astype(np.float32)
    held = np.arange(30) >= 25
    fitted = diagnostics.regressor_error(obs, np.tanh(obs[..., :2]), held, hidden=(32,), steps=400)
    noise = diagnostics.regressor_error(obs, rng.uniform(-1, 1, (30, 20, 2)), held, hidden=(32,), steps=400)
    assert fitted["ratio"] < 0.1 and noise["ratio"] > 0.9
