"""The switches that set SRTD as the authors' released code runs it (README, "Choices the paper leaves open"): each
against a value computed by hand, and all of them together in a run."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import authors
from srtd_jax.agents import augmentation, srtd
from srtd_jax.benchmarks.mt10.env import MT10_TASKS
from srtd_jax.core import seeds
from srtd_jax.core.networks import make_encoder_networks
from srtd_jax.data import mixtures, windows
from srtd_jax.data.dataset import EpisodeDataset
from srtd_jax.run import train_and_evaluate
from tests.tiny import tiny_config

E, L, S, A, Z, N = 3, 4, 2, 1, 2, 2


def _episodes():
    raw = np.array([[1.0, 2.0, 4.0, 3.0], [0.5, 0.5, 0.5, 0.5], [2.0, 1.0, 0.0, 0.0]], np.float32)
    rel = np.diff(raw, axis=1, prepend=raw[:, :1])
    full = lambda v, dtype=np.float32: np.broadcast_to(np.asarray(v, dtype)[:, None], (E, L)).copy()
    return EpisodeDataset(
        observations=np.zeros((E, L, S), np.float32), actions=np.zeros((E, L, A), np.float32), raw_rewards=raw,
        rewards=rel, next_observations=np.zeros((E, L, S), np.float32), terminals=np.zeros((E, L), bool),
        timeouts=np.zeros((E, L), bool), successes=np.zeros((E, L), bool), task_ids=np.zeros((E, L), np.int32),
        episode_ids=full(np.arange(E), np.int32), episode_returns=full(raw.sum(1)), rungs=np.zeros((E, L), np.int32))


def test_the_first_relative_reward_is_zero_or_r0():
    data = _episodes()
    assert windows.training_rewards(data, "relative")[:, 0].tolist() == [0.0, 0.0, 0.0]
    with_r0 = windows.training_rewards(data, "relative", "raw")
    assert with_r0[:, 0].tolist() == [1.0, 0.5, 2.0] and (with_r0[:, 1:] == data.rewards[:, 1:]).all()
    raw = np.array([3.0, -1.0])  # online, as evaluation computes it
    assert windows.relative_reward(raw, None, "zero").tolist() == [0.0, 0.0]
    assert windows.relative_reward(raw, None, "raw").tolist() == [3.0, -1.0]
    assert windows.relative_reward(raw, np.array([1.0, 1.0]), "raw").tolist() == [2.0, -2.0]


def test_quality_weights_by_hand():
    data = _episodes()
    # raw returns 10, 2, 3: min-max over the mixture
    np.testing.assert_allclose(windows.quality_weights(data, data.rewards, "minmax_return"), [1.0, 0.0, 1 / 8])
    r = windows.training_rewards(data, "relative", "raw") * 0.1  # r_0 then differences, scaled
    # episode 0: 0.1 + 0.9 * 0.1 + 0.81 * 0.2 - 0.729 * 0.1; episode 2: 0.2 - 0.9 * 0.1 - 0.81 * 0.1, clipped below at 0
    expected = [0.1 + 0.09 + 0.162 - 0.0729, 0.05, max(0.2 - 0.09 - 0.081, 0.0)]
    np.testing.assert_allclose(windows.quality_weights(data, r, "discounted_clipped", gamma=0.9), expected, rtol=1e-6)
    clipped = windows.quality_weights(data, -np.abs(r), "discounted_clipped")
    assert (clipped == 0).all()  # a negative return weighs 0


def test_independent_key_streams_share_no_key():
    shared, independent = seeds.run_keys(0, 2, "shared"), seeds.run_keys(0, 2, "independent")
    np.testing.assert_array_equal(shared.rl_init, shared.rl_chain)  # the overlap the switch removes:
    actor_init = jax.vmap(lambda k: jax.random.split(k)[0])(shared.rl_init)
    chain_next = jax.vmap(lambda k: jax.random.split(k, 3)[0])(shared.rl_chain)
    np.testing.assert_array_equal(actor_init, chain_next)  # split(k, n)[i] == fold_in(k, i)
    used = [k for field in independent for k in np.asarray(field)]
    used += [np.asarray(jax.random.split(k, 3)) for k in independent.rl_chain]  # the chain's first draws
    flat = {tuple(np.ravel(k)[i:i + 2]) for k in used for i in range(0, np.size(k), 2)}
    assert len(flat) == len(independent) * 2 + 2 * 3  # all different (every field holds 2 seeds' keys)
    np.testing.assert_array_equal(shared.diagnostics, independent.diagnostics)  # measuring is not training
    for field in ("encoder_init", "encoder_chain", "rl_init", "rl_chain", "augmentation"):
        assert not (np.asarray(getattr(shared, field)) == np.asarray(shared.diagnostics)).all(-1).any()


def _encoder(separate):
    nets = make_encoder_networks(S, A, Z, (8,), (8,), separate_reward=separate)
    # jitted here and below: op by op, each primitive would compile a program of its own
    state = jax.jit(lambda k: srtd.init_encoder_state(k, nets, optax.adam(1e-3), S, A, Z, N))(jax.random.PRNGKey(0))
    return nets, state.params


def test_a_separate_reward_decoder_predicts_the_reward_column():
    nets, params = _encoder(True)
    decoder = params["task"]["decoder"]
    assert set(decoder) == {"transition", "reward"}
    x = jax.random.normal(jax.random.PRNGKey(1), (5, S + A + Z))
    out = srtd.task_decode(decoder, x, networks=nets)
    np.testing.assert_array_equal(out[:, :S], nets.task_decoder.apply(decoder["transition"], x))
    np.testing.assert_array_equal(out[:, S], nets.reward_decoder.apply(decoder["reward"], x)[:, 0])
    joint_nets, joint = _encoder(False)
    assert srtd.task_decode(joint["task"]["decoder"], x, networks=joint_nets).shape == (5, S + 1)


def test_weight_decay_as_mean_squares_by_hand():
    nets, params = _encoder(False)
    batch = jax.jit(lambda k: windows.sample_windows(windows.DeviceData(
        jnp.ones((E, L, S)), jnp.zeros((E, L, A)), jnp.zeros((E, L)), jnp.ones((E, L, S)), jnp.zeros((E, L)),
        jnp.ones(E), jnp.zeros(E, jnp.int32)), k, 4, N))(jax.random.PRNGKey(2))
    loss = lambda **kw: jax.jit(lambda p: srtd.encoder_loss(
        p, batch, jax.random.PRNGKey(3), networks=nets, latent_dim=Z, mmd_weight=1.0, skill_reg_weight=1.0,
        quality_weighted=True, kernel="imq", scales=(16.0,), **kw)[0])(params)
    leaves = jax.tree.leaves(params)
    by_sum = sum(float(np.sum(np.square(w))) for w in leaves)
    by_mean = sum(float(np.mean(np.square(w))) for w in leaves)
    base = float(loss())
    np.testing.assert_allclose(float(loss(weight_decay=0.5)) - base, 0.5 * by_sum, rtol=1e-4)
    np.testing.assert_allclose(float(loss(weight_decay=0.5, weight_decay_mean=True)) - base, 0.5 * by_mean, rtol=1e-4)


def test_imagination_noise_on_the_skill_decoder_only():
    nets, params = _encoder(False)
    s0 = jax.random.normal(jax.random.PRNGKey(4), (6, S))
    tau0 = jax.random.normal(jax.random.PRNGKey(5), (6, N, A + S + 1))
    roll = lambda target: augmentation.imagine(params, s0, tau0, jax.random.PRNGKey(6), networks=nets, horizon=2,
                                               z_noise=5.0, gamma=0.99, noise_target=target)
    clean = srtd.task_embed(params["task"]["encoder"], tau0, networks=nets)
    first = lambda t: t.obs.reshape(6, 2, -1)[:, 0, S:]  # the stored z of each rollout's first step
    np.testing.assert_allclose(first(roll("skill_decoder")), clean, rtol=1e-6)  # stored z without noise
    assert np.abs(np.asarray(first(roll("all")) - clean)).max() > 1.0  # the noisy z is stored
    with pytest.raises(ValueError, match="unknown noise target 'both'"):
        roll("both")


def test_authors_config_sets_every_switch():
    c = authors.get_config()
    assert (c.encoder.separate_reward_decoder, c.encoder.skill_reg_weight, c.encoder.weight_decay,
            c.encoder.weight_decay_mean, c.encoder.quality_weight, c.augment.z_noise_target,
            c.data.first_relative_reward, c.key_streams, c.data.assignment_per_seed, c.num_seeds) == (
        True, 1e-2, 1e-3, True, "discounted_clipped", "skill_decoder", "raw", "independent", True, 1)
    assert authors.get_config("quick").rl.steps == 6000  # the quick job's sizes


def test_assignment_per_seed_moves_the_kinds_with_the_seed(tiny_data_dir):
    from srtd_jax.benchmarks.loading import load_training_data
    from srtd_jax.runtime.config_check import ConfigError, check_config
    cfg = tiny_config(tiny_data_dir)
    cfg.data.configuration, cfg.data.assignment_seed = "mr5_rp3_me2", 3
    fixed = [load_training_data("mt10", cfg.data, 3, log=lambda *_: None, run_seed=s)[0] for s in (0, 1)]
    assert fixed[0] == fixed[1]  # by default every seed trains on the same assignment
    cfg.data.assignment_per_seed = True
    moved = [load_training_data("mt10", cfg.data, 3, log=lambda *_: None, run_seed=s)[0] for s in (0, 1)]
    assert moved[0] == fixed[0] != moved[1]  # seed s uses the shuffle of assignment_seed + s
    assert moved[1] == mixtures.assign("mr5_rp3_me2", 4, MT10_TASKS)
    assert sorted(moved[1].values()) == sorted(fixed[0].values())  # the same counts of each kind
    with pytest.raises(ConfigError, match="assignment_per_seed=True needs num_seeds=1, got 2"):
        check_config(cfg)


@pytest.mark.slow
def test_a_run_with_every_switch_the_authors_way(tiny_data_dir, tmp_path):
    cfg = authors.apply(tiny_config(tiny_data_dir))
    cfg.method, cfg.augment.batch_share = "srtd_id", 0.25
    summary = train_and_evaluate(cfg, str(tmp_path), log=lambda *_: None)
    assert np.isfinite(summary["mean_success"])
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    fractions = [v for r in rows if r["phase"] == "td3bc" for v in r["imagined_fraction"]]
    assert fractions and all(f == pytest.approx(8 / 32) for f in fractions)  # batch_share of the 32-row batches


def test_the_ladder_presets_keep_the_paper_reading_and_the_learning_run_the_defaults():
    from configs import benchmark_drone, benchmark_mt10, default
    from srtd_jax.runtime.config_check import flatten
    ours = flatten(default.get_config().to_dict())
    assert any(ours[f] != v for f, v in authors.PAPER_READING.items())  # the defaults are not the paper's reading
    for preset in (benchmark_mt10, benchmark_drone):
        ladder, learning_run = preset.get_config("cpu-ladder"), preset.get_config("cpu")
        flat_ladder, flat_run = flatten(ladder.base.to_dict()), flatten(learning_run.base.to_dict())
        assert {f: flat_ladder[f] for f in authors.PAPER_READING} == authors.PAPER_READING  # its tables' reading
        assert {f: flat_run[f] for f in authors.PAPER_READING} == {f: ours[f] for f in authors.PAPER_READING}
        assert "paper_reading" in ladder.budget_note and "paper_reading" not in learning_run.budget_note
    quick = authors.get_config("paper_reading-quick")
    assert quick.rl.steps == 6000 and {f: flatten(quick.to_dict())[f] for f in authors.PAPER_READING} == \
        authors.PAPER_READING
    with pytest.raises(ValueError, match="unknown spec 'paper'"):
        authors.get_config("paper")


def test_a_records_reading_of_the_choices():
    from configs import default
    assert authors.reading_of(authors.get_config("paper_reading").to_dict()) == {}
    assert authors.reading_of(default.get_config().to_dict()) == authors.chosen()
    old = default.get_config().to_dict()
    del old["key_streams"]  # a config from before the switch existed: the paper's reading for that field
    old["encoder"]["weight_decay"] = 0.0
    reading = authors.reading_of(old)
    assert "key_streams" not in reading and "encoder.weight_decay" not in reading
    assert reading["encoder.separate_reward_decoder"] is True
