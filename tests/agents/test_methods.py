"""Imaginary demonstrations, Gaussian-noise augmentation, the augmented sampler, and every method end to end."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.agents import augmentation, srtd
from srtd_jax.agents.methods import METHODS
from srtd_jax.benchmarks.mt10.env import MT10_TASKS
from srtd_jax.core.networks import make_encoder_networks
from srtd_jax.core.types import Transition
from srtd_jax.data import windows
from srtd_jax.run import train_and_evaluate
from srtd_jax.runtime.config_check import ConfigError
from tests.tiny import tiny_config

E, L, S, A, Z, N = 4, 9, 3, 2, 2, 3


def _data():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(E, L + 1, S)).astype(np.float32)
    return windows.DeviceData(obs=jnp.asarray(obs[:, :-1]), actions=jnp.asarray(np.tanh(rng.normal(size=(E, L, A))), jnp.float32),
                              rewards=jnp.asarray(rng.normal(size=(E, L)), jnp.float32), next_obs=jnp.asarray(obs[:, 1:]),
                              terminals=jnp.zeros((E, L)), quality=jnp.linspace(0, 1, E), task_ids=jnp.arange(E))


def _enc():
    nets = make_encoder_networks(S, A, Z, (8,), (8,))
    ks = jax.random.split(jax.random.PRNGKey(2), 3)
    params = {"skill": {"decoder": nets.skill_decoder.init(ks[0], jnp.zeros((1, S + Z)))},
              "task": {"encoder": nets.task_encoder.init(ks[1], jnp.zeros((1, N * (A + S + 1)))),
                       "decoder": nets.task_decoder.init(ks[2], jnp.zeros((1, S + A + Z)))}}
    return nets, params


@pytest.mark.parametrize("z_noise", [0.0, 0.3])
def test_imaginary_rollout_chains_and_slides_its_window(z_noise):
    nets, params = _enc()
    d = _data()
    e, t = jnp.array([0, 2, 3]), jnp.array([0, 4, 8])
    s0, tau0 = d.obs[e, t], windows.task_window(d, e, t, N)
    H = 4
    out = jax.jit(lambda k: augmentation.imagine(params, s0, tau0, k, networks=nets, horizon=H, z_noise=z_noise, gamma=0.9))(jax.random.PRNGKey(0))
    assert out.obs.shape == (3 * H, S + Z) and out.action.shape == (3 * H, A) and out.reward.shape == (3 * H,)
    assert np.isfinite(np.asarray(out.obs)).all() and np.abs(np.asarray(out.action)).max() <= 1.0
    obs, nxt = np.asarray(out.obs).reshape(3, H, -1), np.asarray(out.next_obs).reshape(3, H, -1)
    np.testing.assert_allclose(obs[:, 0, :S], s0, rtol=1e-6)
    # step k's next state and next z are step k+1's state and z (the window slid over the imagined step)
    np.testing.assert_allclose(nxt[:, :-1], obs[:, 1:], rtol=1e-5, atol=1e-6)
    z0 = np.asarray(srtd.task_embed(params["task"]["encoder"], tau0, networks=nets))
    if z_noise == 0.0:
        np.testing.assert_allclose(obs[:, 0, S:], z0, rtol=1e-5, atol=1e-6)
        a0 = nets.skill_decoder.apply(params["skill"]["decoder"], jnp.concatenate([s0, z0], -1))
        np.testing.assert_allclose(np.asarray(out.action).reshape(3, H, A)[:, 0], a0, rtol=1e-5, atol=1e-6)
        # step 1's z is q_theta of the window ending with the imagined step 0
        step0 = jnp.concatenate([a0, jnp.asarray(nxt[:, 0, :S]), jnp.asarray(out.reward).reshape(3, H)[:, :1]], -1)
        tau1 = jnp.concatenate([tau0[:, 1:], step0[:, None]], 1)
        np.testing.assert_allclose(obs[:, 1, S:], srtd.task_embed(params["task"]["encoder"], tau1, networks=nets), rtol=1e-5, atol=1e-6)
    else:
        assert not np.allclose(obs[:, 0, S:], z0)


def test_imaginary_dataset_size_and_noise_dataset_statistics():
    nets, params = _enc()
    d = _data()
    out = augmentation.imaginary_dataset(params, d, jax.random.PRNGKey(1), networks=nets, n=N, num_transitions=10,
                                         horizon=4, z_noise=0.1, gamma=0.99)
    assert out.obs.shape[0] == 12  # rounded up to whole rollouts
    cond = jnp.zeros((E, L + 1, Z))
    same = augmentation.noise_dataset(d, cond, jax.random.PRNGKey(2), num_transitions=500, state_std=0.0, action_std=0.0, gamma=0.99)
    flat = np.concatenate([np.asarray(d.obs).reshape(-1, S), np.zeros((E * L, Z))], -1)
    assert all(any(np.allclose(row, f) for f in flat) for row in np.asarray(same.obs)[:20])  # copies of dataset rows
    noisy = augmentation.noise_dataset(d, cond, jax.random.PRNGKey(2), num_transitions=500, state_std=0.5, action_std=0.0, gamma=0.99)
    diff = np.asarray(noisy.obs - same.obs)[:, :S]
    assert abs(diff.std() - 0.5) < 0.05 and abs(diff.mean()) < 0.05
    np.testing.assert_allclose(noisy.action, same.action)
    np.testing.assert_allclose(noisy.obs[:, S:], 0.0)  # conditioning unchanged


def test_augmented_batches_hold_the_flagged_share():
    d = _data()
    cond = jnp.zeros((E, L + 1, 1))
    aug = Transition(jnp.full((7, S + 1), 9.0), jnp.zeros((7, A)), jnp.full((7,), 5.0),
                     jnp.full((7, S + 1), 9.0), jnp.full((7,), 0.9), jnp.ones(7))
    batch = windows.sample_transitions(d, cond, jax.random.PRNGKey(0), 16, 0.9, aug=aug, aug_count=5)
    flags = np.asarray(batch.imagined)
    assert flags.sum() == 5 and batch.obs.shape == (16, S + 1)
    np.testing.assert_allclose(np.asarray(batch.reward)[flags == 1], 5.0)
    assert not np.isclose(np.asarray(batch.reward)[flags == 0], 5.0).any()


@pytest.mark.slow
@pytest.mark.parametrize("method,learner", [(m, "auto") for m in METHODS if m != "srtd"]  # srtd: resume tests
                         + [("softmod", "td3bc"), ("srtd", "cql")])
def test_every_method_trains_and_evaluates(method, learner, tiny_data_dir, tmp_path):
    cfg = tiny_config(tiny_data_dir)
    cfg.method, cfg.num_seeds, cfg.rl.learner = method, 3, learner
    cfg.encoder.holdout_fraction = 0.3  # the imagination diagnostics end to end, on held-out episodes
    summary = train_and_evaluate(cfg, str(tmp_path), log=lambda *_: None)
    assert summary["method"] == method and len(summary["per_seed_mean"]) == 3
    assert list(summary["per_task"]) == list(MT10_TASKS)
    assert all(0.0 <= v <= 1.0 for v in summary["per_seed_mean"])
    rows = [json.loads(l) for l in open(tmp_path / "metrics.jsonl")]
    expected_learner = METHODS[method].learner if learner == "auto" else learner
    rl = [r for r in rows if r["phase"] == expected_learner]
    assert rl and all(np.isfinite(v) for r in rl for v in r["critic_loss"])
    if expected_learner == "cql":  # the learned entropy temperature(s) stay positive and finite
        assert all(np.isfinite(v) and v > 0 for r in rl for v in r["alpha"])
    frac = np.mean([v for r in rl for v in r["imagined_fraction"]])
    if METHODS[method].augmentation:
        assert frac == pytest.approx(11 / 32)  # round(32 * 0.5 / 1.5) rows of a 32-row batch
    else:
        assert frac == 0.0
    assert any(r["phase"] == "encoder" for r in rows) == METHODS[method].encoders
    assert ("imagination" in summary) == (METHODS[method].augmentation == "imaginary")
    if method == "srtd_id":  # the trained decoders' imaginary data against the real data
        img = summary["imagination"]
        assert img["episodes"] == "held out" and img["num_episodes"] == 10  # of each task's 2-3 episodes, 1
        assert np.array(img["rollout_per_seed"]["next_state"]).shape == (3, cfg.augment.horizon)
        assert "relabelled" not in img  # eval.relabel_starts = 0 (tests/studies/test_relabel.py checks the hook)
        assert all(np.isfinite(v) for v in img["one_step"].values())
        from srtd_jax.studies import imagination
        again = imagination.diagnose_run(cfg, str(tmp_path), seed=2)  # from the checkpoint
        for part in ("one_step", "rollout"):
            for k, v in again[part + "_per_seed"].items():  # seed 2 of the run, recomputed alone
                np.testing.assert_allclose(v[0], img[part + "_per_seed"][k][2], rtol=1e-4, atol=1e-6)


def test_pcgrad_with_cql_is_refused_before_training(tiny_data_dir, tmp_path):
    cfg = tiny_config(tiny_data_dir)
    cfg.method, cfg.rl.learner = "pcgrad", "cql"
    with pytest.raises(ConfigError, match="rl.learner"):
        train_and_evaluate(cfg, str(tmp_path / "wd"), log=lambda *_: None)
    assert not (tmp_path / "wd").exists()
