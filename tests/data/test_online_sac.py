"""Online SAC of the drone's learning_run recipe: its losses against NumPy by hand, learning on a one-step toy task,
and a tiny drone run end to end (cached, deterministic, checked files; the trained agents as the drone's score
normaliser)."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srtd_jax.benchmarks import loading
from srtd_jax.benchmarks.drone import evaluation, generate, maps
from srtd_jax.benchmarks.drone import learning_run as drone_run
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder
from srtd_jax.data import learning_run as lr
from srtd_jax.data import online_sac as sac
from srtd_jax.runtime.config_check import check_config
from tests.tiny import tiny_config

S, A = 3, 2


def _np_mlp(layers, x):
    for w, b in layers[:-1]:
        x = np.maximum(x @ np.asarray(w) + np.asarray(b), 0.0)
    w, b = layers[-1]
    return x @ np.asarray(w) + np.asarray(b)


def _setup():
    k = jax.random.split(jax.random.PRNGKey(0), 4)
    mean, std = jnp.array([0.5, -1.0, 0.0]), jnp.array([2.0, 1.0, 0.5])
    policy = lr.Policy(sac.init_mlp(k[0], (S, 8, 2 * A), 0.5), mean, std)
    critics = (sac.init_mlp(k[1], (S + A, 8, 1)), sac.init_mlp(k[2], (S + A, 8, 1)))
    targets = jax.tree.map(lambda x: 0.9 * x, critics)
    rng = np.random.default_rng(1)
    batch = tuple(jnp.asarray(x, jnp.float32) for x in (rng.normal(size=(5, S)), rng.uniform(-1, 1, (5, A)),
                                                         rng.normal(size=5), rng.normal(size=(5, S))))
    return policy, critics, targets, batch


def _np_sample(policy, obs, key):
    """tanh-Gaussian sample and log density in NumPy, from the same standard normal draw as sample_action."""
    out = _np_mlp(policy.layers, (np.asarray(obs) - np.asarray(policy.obs_mean)) / np.asarray(policy.obs_std))
    mu, log_std = out[:, :A], np.clip(out[:, A:], lr.LOG_STD_MIN, lr.LOG_STD_MAX)
    eps = np.asarray(jax.random.normal(key, mu.shape))
    u = mu + np.exp(log_std) * eps
    logp = np.sum(-0.5 * ((u - mu) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
                  - np.log(1 - np.tanh(u) ** 2), -1)
    return np.tanh(u), logp


def _np_q(critics, policy, obs, actions):
    x = np.concatenate([(np.asarray(obs) - np.asarray(policy.obs_mean)) / np.asarray(policy.obs_std), actions], -1)
    return np.stack([_np_mlp(c, x)[:, 0] for c in critics])


def test_sac_losses_by_hand():
    policy, critics, targets, (obs, act, rew, nxt) = _setup()
    key, log_alpha = jax.random.PRNGKey(7), jnp.float32(np.log(0.3))
    a, logp = sac.sample_action(policy, obs, key)
    a_np, logp_np = _np_sample(policy, obs, key)
    np.testing.assert_allclose(a, a_np, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logp, logp_np, rtol=1e-4, atol=1e-4)

    next_a, next_logp = _np_sample(policy, nxt, key)
    y = np.asarray(rew) + sac.GAMMA * (_np_q(targets, policy, nxt, next_a).min(0) - 0.3 * next_logp)
    expected = np.mean((_np_q(critics, policy, obs, np.asarray(act)) - y[None]) ** 2)
    got = sac.critic_loss(critics, targets, policy, log_alpha, (obs, act, rew, nxt), key)
    assert float(got) == pytest.approx(expected, rel=1e-4)

    loss, mean_logp = sac.actor_loss(policy, critics, log_alpha, obs, key)
    assert float(loss) == pytest.approx(np.mean(0.3 * logp_np - _np_q(critics, policy, obs, a_np).min(0)), rel=1e-4)
    assert float(mean_logp) == pytest.approx(logp_np.mean(), rel=1e-4)
    # the temperature's gradient: -(mean log pi + target); below the target entropy alpha grows
    grad = jax.grad(sac.alpha_loss)(log_alpha, jnp.float32(-1.0), -2.0)
    assert float(grad) == pytest.approx(-(-1.0 - 2.0))


@pytest.mark.slow
def test_sac_learns_a_one_step_task():
    """Reward -|a - (0.5, -0.5)|^2 whatever the state: a few hundred updates move the policy's mean action there."""
    goal = jnp.array([0.5, -0.5])
    env = sac.Env(reset=lambda key, task: jax.random.normal(key, (S,)),
                  step=lambda s, a: (s, -jnp.sum(jnp.square(a - goal)), {}), observe=lambda s: s)
    settings = sac.OnlineLearnerSettings(rounds=3, envs=8, updates_per_round=300, hidden=(32,), batch_size=64,
                                         learning_rate=3e-3)
    policy = lr.Policy(sac.init_mlp(jax.random.PRNGKey(0), (S, 32, 2 * A), 1e-2), jnp.zeros(S), jnp.ones(S))
    state = sac.init_state(jax.random.PRNGKey(1), policy, settings, S, A, capacity=3 * 8 * 4)
    one_round = jax.jit(sac.make_round(env, settings, 4, A))
    returns = []
    for r in range(settings.rounds):
        state, ret, metrics = one_round(state, 0, jax.random.PRNGKey(10 + r))
        returns.append(float(ret))
    mu, _ = lr.policy_head(state.policy, jnp.zeros((1, S)), jnp)
    np.testing.assert_allclose(np.tanh(np.asarray(mu[0])), goal, atol=0.15)
    assert returns[-1] > returns[0] and int(state.filled) == 3 * 8 * 4
    assert all(np.isfinite(float(v)) for v in metrics.values())


def _tiny_drone_data(data_dir, **learner):
    cfg = tiny_config(data_dir)
    from configs.benchmark_drone import use_drone_data
    use_drone_data(cfg)
    d = cfg.data
    d.data_dir, d.recipe, d.episode_length = data_dir, "learning_run", 12
    d.episodes_mr = d.episodes_rp = d.episodes_me = 2  # one recording program for every kind
    d.online_learner.update(dict(rounds=2, envs=3, updates_per_round=5, hidden=(8,), batch_size=8), **learner)
    d.data_dir = data_dir
    return cfg


@pytest.mark.slow
def test_a_tiny_drone_learning_run_makes_checked_cached_deterministic_files(tmp_path, monkeypatch):
    cfg = _tiny_drone_data(str(tmp_path / "a"))
    check_config(cfg)  # the recipe is built for the drone
    settings = generate.settings_from_config(cfg.data)
    assert settings.key("indoor-gt", "MR")["learner"]["envs"] == 3  # the online learner is in the cache key
    assignment = {t: k for t, k in zip(maps.DRONE_TASKS[:2], ("MR", "ME"))}
    paths = generate.ensure_datasets(assignment, settings, cfg.data.data_dir)
    runs = {t: drone_run.load_run(drone_run.run_path(cfg.data.data_dir, settings, t), drone_run.run_key(settings, t))
            for t in assignment}
    for task, kind in assignment.items():
        data, meta = ds.load(paths[task], expected_meta=settings.key(task, kind))
        run = runs[task]
        assert meta["recipe"] == "learning_run" and len(meta["run_returns"]) == 3 and meta["best_snapshot"] == run["best"]
        which = lr.episode_snapshots(kind, settings.episodes_for(kind), meta["medium_snapshot"], 2)
        assert data.rungs[:, 0].tolist() == which.tolist()  # each episode's snapshot
        assert data.observations.shape[1:] == (12, 27) and np.abs(data.actions).max() <= 1.0
        np.testing.assert_array_equal(data.next_observations[:, :-1], data.observations[:, 1:])
        assert run["reference"] == pytest.approx(drone_run.reference_return(run["snapshots"][run["best"]],
                                                                            maps.task_index(task), 12))

    # the trained agents normalise the drone's scores under this recipe; the other tasks' runs train on demand
    ref = drone_run.references(settings, cfg.data.data_dir)
    assert ref.shape == (len(maps.DRONE_TASKS),) and ref[0] == runs[maps.DRONE_TASKS[0]]["reference"]
    monkeypatch.setattr(drone_run, "train_runs", lambda *a, **k: pytest.fail("a cached run was trained again"))
    from srtd_jax.benchmarks.drone.suite import SUITE
    seen = []
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, reference, **k: seen.append(reference))
    for recipe in ("learning_run", "ladder"):
        cfg.data.recipe = recipe
        SUITE.evaluate(None, None, None, reward_type="raw", first_reward="zero", env_workers=1, data_cfg=cfg.data)
    cfg.data.recipe = "learning_run"
    np.testing.assert_array_equal(seen[0], ref)
    assert seen[1] is None  # the ladder's scores: the noise-free expert's reference (evaluation's default)
    # what a machine that cannot make the data needs: the mixture's six datasets and every task's learning run
    files = loading.data_files("drone", cfg.data)
    runs_read = sorted(drone_run.run_path(cfg.data.data_dir, settings, t) for t in maps.DRONE_TASKS)
    assert len(files) == 12 and sorted(files[6:]) == runs_read and all(os.path.isfile(f) for f in files)

    # other kinds come from the cached runs; the same settings elsewhere give the same files
    generate.ensure_datasets({maps.DRONE_TASKS[0]: "RP"}, settings, cfg.data.data_dir)
    monkeypatch.undo()
    again = generate.ensure_datasets(assignment, settings, str(tmp_path / "b"))
    for task in assignment:
        for x, y in zip(ds.load(paths[task])[0], ds.load(again[task])[0]):
            assert (x is None and y is None) or np.array_equal(x, y)

    run_file = drone_run.run_path(cfg.data.data_dir, settings, maps.DRONE_TASKS[0])
    raw = open(run_file, "rb").read()
    with open(run_file, "wb") as f:  # a truncated run is named, set aside and trained again
        f.write(raw[: len(raw) // 2])
    with pytest.raises(ds.DatasetError, match="learning-run file .*_run_.*npz"):
        drone_run.load_run(run_file, drone_run.run_key(settings, maps.DRONE_TASKS[0]))
    drone_run.cached_runs([maps.DRONE_TASKS[0]], settings, cfg.data.data_dir, log=lambda *_: None)
    assert os.path.exists(run_file + ".invalid")
    with pytest.raises(ds.DatasetError, match="does not match the requested settings: learner="):
        other = generate.settings_from_config(_tiny_drone_data(cfg.data.data_dir, updates_per_round=6).data)
        os.replace(paths[maps.DRONE_TASKS[0]], ladder.file_path(cfg.data.data_dir, other, maps.DRONE_TASKS[0], "MR"))
        generate.ensure_datasets({maps.DRONE_TASKS[0]: "MR"}, other, cfg.data.data_dir, generate=False)
