"""The imagination diagnostics: held-out episodes, rollout and one-step errors recomputed by hand from the returned
starts, the relabelled Figure-4 measure, and their place in an SRTD+ID run's summary."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.agents import augmentation, imagination_quality, srtd
from srtd_jax.data import windows
from srtd_jax.data.dataset import EpisodeDataset
from srtd_jax.data.splits import holdout_split
from srtd_jax.runtime import reporting
from srtd_jax.runtime.imagination_report import imagination_summary
from tests.tiny import encoder_params

E, L, S, A, Z, N, H = 5, 8, 3, 2, 2, 2, 3


def _data():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(E, L + 1, S)).astype(np.float32)
    terminals = np.zeros((E, L), np.float32)
    terminals[1, 3] = 1.0  # episode 1 ends after step 3: later steps have no real counterpart
    return windows.DeviceData(obs=jnp.asarray(obs[:, :-1]), actions=jnp.asarray(np.tanh(rng.normal(size=(E, L, A))),
                                                                               jnp.float32),
                              rewards=jnp.asarray(rng.normal(size=(E, L)), jnp.float32), next_obs=jnp.asarray(obs[:, 1:]),
                              terminals=jnp.asarray(terminals), quality=jnp.linspace(0, 1, E), task_ids=jnp.arange(E) % 2)


def _enc():
    return encoder_params(S, A, Z, N, skill_hidden=(8,), seed=2)


def test_holdout_split_by_hand():
    task_ids = np.array([0] * 10 + [1] * 4 + [2] * 1)
    train, held = holdout_split(task_ids, 0.2, seed=3)
    assert [int((task_ids[held] == t).sum()) for t in range(3)] == [2, 1, 0]  # round(2), at least 1, never all
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(15)) and not set(train) & set(held)
    np.testing.assert_array_equal(holdout_split(task_ids, 0.2, seed=3)[1], held)  # deterministic
    assert not np.array_equal(holdout_split(task_ids, 0.2, seed=4)[1], held)
    train, held = holdout_split(task_ids, 0.0, seed=3)
    assert held.size == 0 and train.tolist() == list(range(15))
    with pytest.raises(ValueError, match="holdout fraction"):
        holdout_split(task_ids, 1.0, seed=0)


def test_rollout_and_one_step_errors_by_hand():
    nets, params = _enc()
    d = _data()
    episodes, mean_action, num = jnp.array([1, 3]), jnp.array([0.1, -0.2]), 16
    # jitted, as the launcher runs them: op by op, each primitive would compile a program of its own
    out = jax.jit(lambda p, k: imagination_quality.diagnose(p, d, episodes, mean_action, k, networks=nets, n=N,
                                                            horizon=H, z_noise=0.2, noise_target="all", num=num))(
        params, jax.random.PRNGKey(5))
    e, t = np.asarray(out["starts"]["e"]), np.asarray(out["starts"]["t"])
    assert set(e) <= {1, 3} and t.min() >= 0 and t.max() <= L - H
    # the same rollouts again, from the key that diagnose gives imagination
    img = jax.jit(lambda p, k: augmentation.imagine(p, d.obs[e, t], windows.task_window(d, e, t, N), k, networks=nets,
                                                    horizon=H, z_noise=0.2, gamma=1.0))(
        params, jax.random.split(jax.random.PRNGKey(5), 3)[2])
    img_a, img_s2 = np.asarray(img.action).reshape(num, H, A), np.asarray(img.next_obs)[:, :S].reshape(num, H, S)
    img_r = np.asarray(img.reward).reshape(num, H)
    acts, nxt, rew, term = (np.asarray(x) for x in (d.actions, d.next_obs, d.rewards, d.terminals))
    for h in range(H):
        alive = np.array([all(term[ei, ti + k] == 0 for k in range(h)) for ei, ti in zip(e, t)], float)
        real_a, real_s2, real_r = acts[e, t + h], nxt[e, t + h], rew[e, t + h]
        mean = lambda x: (x * alive).sum() / alive.sum()
        r = out["rollout"]
        np.testing.assert_allclose(r["action"][h], mean(((img_a[:, h] - real_a) ** 2).sum(-1)), rtol=1e-5)
        np.testing.assert_allclose(r["action_trivial"][h], mean(((np.asarray(mean_action) - real_a) ** 2).sum(-1)),
                                   rtol=1e-5)
        np.testing.assert_allclose(r["next_state"][h], mean(((img_s2[:, h] - real_s2) ** 2).sum(-1)), rtol=1e-5)
        np.testing.assert_allclose(r["next_state_trivial"][h],
                                   mean(((np.asarray(d.obs)[e, t] - real_s2) ** 2).sum(-1)), rtol=1e-5)
        np.testing.assert_allclose(r["reward"][h], mean((img_r[:, h] - real_r) ** 2), rtol=1e-5)
        np.testing.assert_allclose(r["reward_trivial"][h], mean(real_r ** 2), rtol=1e-5)
        np.testing.assert_array_equal(np.asarray(out["alive"])[:, h], alive)
    # one step from real inputs, without noise
    s0, a0 = np.asarray(d.obs)[e, t], acts[e, t]

    @jax.jit
    def nets_at_the_starts(p):
        z = srtd.task_embed(p["task"]["encoder"], windows.task_window(d, e, t, N), networks=nets)
        b = srtd.skill_embed(p["skill"]["encoder"], windows.windows_at(d, e, t, N), networks=nets)
        dec = lambda c: nets.skill_decoder.apply(p["skill"]["decoder"], jnp.concatenate([s0, c], -1))
        return z, b, dec(z), dec(b), srtd.task_decode(p["task"]["decoder"], jnp.concatenate([s0, a0, z], -1),
                                                       networks=nets)
    z, b, dec_z, dec_b, pred = (np.asarray(x) for x in nets_at_the_starts(params))
    o = out["one_step"]
    np.testing.assert_allclose(o["action_from_z"], ((dec_z - a0) ** 2).sum(-1).mean(), rtol=1e-5)
    np.testing.assert_allclose(o["action_from_b"], ((dec_b - a0) ** 2).sum(-1).mean(), rtol=1e-5)
    np.testing.assert_allclose(o["next_state"], ((pred[:, :S] - nxt[e, t]) ** 2).sum(-1).mean(), rtol=1e-5)
    np.testing.assert_allclose(o["reward"], ((pred[:, S] - rew[e, t]) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(o["z_to_b"], ((z - b) ** 2).sum(-1).mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="horizon 9 is longer than the 8-step episodes"):
        imagination_quality.diagnose(params, d, episodes, mean_action, jax.random.PRNGKey(0), networks=nets, n=N,
                                     horizon=9, z_noise=0.0, noise_target="all", num=4)


def test_summary_relabels_imagined_and_real_steps_and_prints_them():
    """Relabelling by a stand-in reward function (first coordinate of the raw next state plus the task id) checks
    which rows reach it: the imagined ones de-normalised, the real ones from the raw dataset, dead steps left out."""
    nets, params = _enc()
    d = _data()
    rng = np.random.default_rng(1)
    mean, std = rng.normal(size=S).astype(np.float32), rng.uniform(1, 2, size=S).astype(np.float32)
    raw_obs = np.concatenate([np.asarray(d.obs), np.asarray(d.next_obs)[:, -1:]], 1) * std + mean
    zeros = np.zeros((E, L), np.float32)
    raw = EpisodeDataset(observations=raw_obs[:, :-1], actions=np.asarray(d.actions), raw_rewards=zeros,
                         rewards=zeros, next_observations=raw_obs[:, 1:], terminals=np.asarray(d.terminals) > 0,
                         timeouts=zeros > 0, successes=zeros > 0,
                         task_ids=np.repeat(np.asarray(d.task_ids)[:, None], L, 1), episode_ids=zeros.astype(int),
                         episode_returns=zeros, rungs=zeros.astype(int))
    calls = []

    def relabel(task_ids, first_obs, next_obs, actions):
        calls.append((task_ids, first_obs, next_obs, actions))
        return next_obs[:, 0] + task_ids

    seeded = jax.tree.map(lambda x: jnp.stack([x, x]), params)
    keys = jnp.stack([jax.random.PRNGKey(0), jax.random.PRNGKey(1)])
    over_seeds = lambda fn, seeded_args: jax.vmap(fn, in_axes=tuple(0 if s else None for s in seeded_args))
    s = imagination_summary(seeded, d, np.array([0, 1, 4]), True, np.zeros(A), keys, over_seeds=over_seeds,
                            networks=nets, n=N, horizon=H, z_noise=0.0, noise_target="all", starts=8, relabel=relabel,
                            relabel_starts=3, data=raw, normalizer=windows.Normalizer(mean, std))
    assert s["episodes"] == "held out" and s["num_episodes"] == 3 and len(s["rollout"]["action"]) == H
    assert np.array(s["rollout_per_seed"]["reward"]).shape == (2, H)
    imagined, real = calls
    assert len(imagined[0]) == s["relabelled"]["rows"] <= 2 * 3 * H
    np.testing.assert_array_equal(imagined[0], real[0])  # the same rows, by task
    for task_id, first in zip(real[0], real[1]):  # each row's first observation is its episode's
        assert any(np.allclose(first, raw_obs[i, 0]) and raw.task_ids[i, 0] == task_id for i in (0, 1, 4))
    real_rows = {tuple(np.round(x, 5)) for x in raw_obs[[0, 1, 4], 1:].reshape(-1, S)}
    assert all(tuple(np.round(x, 5)) in real_rows for x in real[2])  # real next states straight from the raw data
    assert not any(tuple(np.round(x, 5)) in real_rows for x in imagined[2])  # imagined ones are not
    expected = (real[2][:, 0] + real[0]).mean()
    np.testing.assert_allclose(s["relabelled"]["real"], expected, rtol=1e-6)
    np.testing.assert_allclose(s["relabelled"]["relative"], s["relabelled"]["imagined"] / expected - 1, rtol=1e-6)
    lines = reporting.imagination_lines(s)
    assert lines[0].startswith("imagination on 8 steps per seed of the 3 held out episodes")
    assert len([line for line in lines if line[:1].isdigit()]) == H
    assert lines[-1].startswith(f"relabelled reward (the benchmark's own, raw) over {s['relabelled']['rows']} steps")
