"""The Figure-4 study: how good are imaginary demonstrations compared with the source data, expert data and
Gaussian-noise augmentation, by Meta-World's own reward (relabelled) and by their state-action distribution.

Four sets per source task (a task whose data in the mixture is MR, the low-quality kind):
(a) source: transitions of that task's episodes in the training data;
(b) expert: episodes of the scripted expert (quality 1) on the same task, generated here;
(c) imaginary: eq. 9 rollouts of the trained skill/task decoders from (a)'s states;
(d) noise: Gaussian-noise copies of (a)'s transitions (the SRTD+N augmentation).
Each set's (s', a) pairs are relabelled by `RewardRelabeler`; (a) and (b) also carry the rewards recorded by
the simulator, so the relabelling error is measured on them.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.agents import augmentation
from srtd_jax.agents.methods import METHODS
from srtd_jax.benchmarks.loading import load_training_data
from srtd_jax.benchmarks.mt10 import env as mw
from srtd_jax.benchmarks.mt10 import generate
from srtd_jax.benchmarks.mt10.relabel import RewardRelabeler
from srtd_jax.core.seeds import phase_keys
from srtd_jax.data import windows
from srtd_jax.runtime import metric_log
from srtd_jax.runtime.config_check import read_workdir_config
from srtd_jax.runtime.encoder_phase import train_encoders
from srtd_jax.studies.embedding_map import pca_2d
from srtd_jax.studies.trained import check_has_encoders, encoder_of_run

SETS = ("source", "expert", "imaginary", "noise")


def trained_run_config(run: str, seed: int):
    """The config of the finished run in the folder `run`, checked for what the study needs: an MT10 run (the study
    relabels with Meta-World's reward) whose method trains encoders and has seed `seed`. A ValueError (a ConfigError
    for a missing or unreadable config.json) names the problem otherwise, before any data is loaded."""
    cfg = read_workdir_config(run)
    if cfg.suite != "mt10":
        raise ValueError(f"{run}: a {cfg.suite} run; the study relabels with Meta-World's reward (mt10 only)")
    check_has_encoders(cfg, run, seed)
    return cfg


def expert_episodes(task: str, num: int, settings, seed: int):
    """`num` episodes of the scripted expert at quality 1: (obs (N, L, S), actions, raw rewards, next obs)."""
    env, expert = mw.MT10Env(task), mw.scripted_expert(task)
    rng = np.random.default_rng([seed, mw.task_index(task), 7])
    eps = [generate.run_episode(env, expert, int(rng.integers(env.num_goals)), 1.0, settings, rng)
           for _ in range(num)]
    return tuple(np.stack([e[k] for e in eps]) for k in ("obs", "act", "raw", "next"))


def run_study(cfg, workdir: str | None, *, samples_per_set: int, expert_episodes_per_task: int, log=print,
              trained_run: str | None = None, seed: int = 0) -> dict:
    """Trains SRTD's encoders on cfg's mixture (one seed; encoder metrics go to workdir), or takes seed `seed`'s
    trained encoders from the finished run `trained_run` (cfg: that run's config; nothing is trained or written),
    builds the four sets for every MR task and relabels `samples_per_set` transitions of each. Returns a JSON-able
    dict with per-task and overall average rewards (raw 0..10 and x reward_scale), the relabelling error on recorded
    rewards, 2-D PCA coordinates of (s, a) for the plot, and where the encoders came from."""
    assignment, data = load_training_data(cfg.suite, cfg.data, cfg.encoder.n + 1, log, run_seed=cfg.seed)
    sources = [t for t, k in assignment.items() if k == "MR"]
    if not sources:
        raise ValueError(f"configuration {cfg.data.configuration!r} has no MR task to use as the source dataset")
    normalizer = windows.make_normalizer(data)
    device_data = windows.device_data(data, normalizer, cfg.data, cfg.encoder.quality_weight, cfg.rl.gamma)
    enc_keys, rl_keys = phase_keys(cfg.seed, 1)
    aug_key = rl_keys[0]
    obs_dim = data.observations.shape[-1]
    if trained_run is None:
        writer = metric_log.MetricWriter(workdir)
        enc_nets, params = train_encoders(cfg.encoder, cfg.on_nonfinite, METHODS["srtd"], device_data, enc_keys,
                                          obs_dim, mw.ACTION_DIM, "map", writer, log)
        writer.close()
        params = jax.tree.map(lambda x: x[0], params)
    else:
        enc_nets, params = encoder_of_run(cfg, trained_run, obs_dim, seed)
    n, a = cfg.encoder.n, cfg.augment
    horizon = a.horizon
    settings = generate.settings_from_config(cfg.data)
    rng = np.random.default_rng(cfg.seed)
    result = {"sources": sources, "per_task": {}, "pca": {},
              "encoders": {"trained_run": trained_run, "seed": seed} if trained_run else
              {"trained_here": True, "method": "srtd", "epochs": cfg.encoder.epochs}}
    pooled = {s: [] for s in SETS}
    recorded_err = {s: [] for s in ("source", "expert")}
    denorm = lambda x: np.asarray(x)[:, :obs_dim] * normalizer.std + normalizer.mean
    no_cond = jnp.zeros((data.num_episodes, data.episode_length + 1, 0))  # noise copies of bare states
    for task in sources:
        tid = mw.task_index(task)
        eps = np.flatnonzero(data.task_ids[:, 0] == tid)
        starts = -(-samples_per_set // horizon)
        e = jnp.asarray(rng.choice(eps, starts))
        t = jnp.asarray(rng.integers(0, data.episode_length, starts))
        k_img, k_noise, aug_key = jax.random.split(aug_key, 3)
        img = augmentation.imagine(params, device_data.obs[e, t], windows.task_window(device_data, e, t, n), k_img,
                                   networks=enc_nets, horizon=horizon, z_noise=a.z_noise, gamma=cfg.rl.gamma)
        img_e = np.repeat(np.asarray(e), horizon)[:samples_per_set]
        src_e = rng.choice(eps, samples_per_set)  # distinct draws (not the imaginary starts repeated)
        src_t = rng.integers(0, data.episode_length, samples_per_set)
        noise = augmentation.noise_transitions(device_data, no_cond, jnp.asarray(src_e), jnp.asarray(src_t), k_noise,
                                               state_std=a.state_std, action_std=a.action_std, gamma=cfg.rl.gamma)
        ex_obs, ex_act, ex_raw, ex_next = expert_episodes(task, expert_episodes_per_task, settings, cfg.data.seed)
        ex_e = rng.integers(0, ex_obs.shape[0], samples_per_set)
        ex_t = rng.integers(0, ex_obs.shape[1], samples_per_set)
        relabeler = RewardRelabeler(task)
        goal = {int(i): relabeler.goal_of(data.observations[i, 0]) for i in eps}  # per source episode
        ex_goal = [relabeler.goal_of(first) for first in ex_obs[:, 0]]
        sets = {  # (s, a, s', goal per row, recorded reward or None)
            "source": (data.observations[src_e, src_t], data.actions[src_e, src_t], data.next_observations[src_e, src_t],
                       [goal[i] for i in src_e], data.raw_rewards[src_e, src_t]),
            "expert": (ex_obs[ex_e, ex_t], ex_act[ex_e, ex_t], ex_next[ex_e, ex_t], [ex_goal[i] for i in ex_e],
                       ex_raw[ex_e, ex_t]),
            "imaginary": (denorm(img.obs)[:samples_per_set], np.asarray(img.action)[:samples_per_set],
                          denorm(img.next_obs)[:samples_per_set], [goal[i] for i in img_e], None),
            "noise": (denorm(noise.obs), np.asarray(noise.action), denorm(noise.next_obs), [goal[i] for i in src_e],
                      None),
        }
        row = {}
        for name, (s, act, s2, goals, recorded) in sets.items():
            rewards = np.array([relabeler.reward(g, s2[i], act[i]) for i, g in enumerate(goals)])
            # NaN: a state Meta-World's reward function refuses (RewardRelabeler.reward), left out and counted
            row[name] = {"relabelled_raw": float(np.nanmean(rewards)), "unscored": int(np.isnan(rewards).sum())}
            if recorded is not None:
                row[name]["recorded_raw"] = float(np.mean(recorded))
                err = np.abs(rewards - recorded)
                row[name]["relabel_abs_error"] = float(np.nanmean(err))
                recorded_err[name].extend(err[~np.isnan(err)].tolist())
            pooled[name].append(rewards)
            result["pca"].setdefault(task, {})[name] = np.concatenate([normalizer(s), act], -1)
        result["per_task"][task] = row
        log(f"relabelled {task}: " + ", ".join(f"{k} {v['relabelled_raw'] * cfg.data.reward_scale:.4f}"
                                               for k, v in row.items()))
    scale = cfg.data.reward_scale
    pooled = {s: np.concatenate(pooled[s]) for s in SETS}
    result["average_reward"] = {s: float(np.nanmean(pooled[s]) * scale) for s in SETS}
    result["unscored"] = {s: int(np.isnan(pooled[s]).sum()) for s in SETS}
    result["relabel_abs_error_raw"] = {s: float(np.mean(v)) for s, v in recorded_err.items()}
    result["reward_scale"] = scale
    result["pca"] = {task: _pca2(sets) for task, sets in result["pca"].items()}
    return result


def _pca2(sets: dict) -> dict:
    """Projects every set's (s, a) rows onto the first two principal axes of their union."""
    points = pca_2d(np.concatenate(list(sets.values())))
    ends = np.cumsum([len(x) for x in sets.values()])
    return {name: part.tolist() for name, part in zip(sets, np.split(points, ends[:-1]))}
