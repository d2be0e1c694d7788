"""The imagination diagnostics of an SRTD+ID run for its summary: agents/imagination_quality.py over the seed axis,
and on a benchmark with its own reward function the Figure-4 measure (imagined steps relabelled against the real
steps they stand in for)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.agents import imagination_quality
from srtd_jax.core import devices
from srtd_jax.data.dataset import EpisodeDataset
from srtd_jax.data.windows import DeviceData, Normalizer


def diagnostic_episodes(data: EpisodeDataset, enc_episodes: np.ndarray, held_out: np.ndarray):
    """Where the diagnostics draw their starts, and their trivial action, from the encoder phase's split:
    -> (episodes (K,): the held-out ones, or the training ones when none is held out; whether they are held out;
    mean_action (A,) over the training episodes)."""
    mean_action = data.actions[enc_episodes][data.step_mask()[enc_episodes]].mean(0)  # over real steps
    return (held_out, True, mean_action) if len(held_out) else (enc_episodes, False, mean_action)


def imagination_summary(enc_params, device_data: DeviceData, episodes: np.ndarray, held_out: bool,
                        mean_action: np.ndarray, keys, *, over_seeds, networks, n: int, horizon: int, z_noise: float,
                        noise_target: str, starts: int, relabel=None, relabel_starts: int = 0,
                        data: EpisodeDataset | None = None, normalizer: Normalizer | None = None) -> dict:
    """The summary's "imagination" entry. enc_params: seed-stacked {'skill', 'task'}; episodes (K,): where the
    starts are drawn (held out of the encoder phase when held_out); mean_action (A,): the training episodes' mean
    action; keys (seeds, 2). relabel: the suite's reward function (None: no relabelling); relabel_starts rollouts
    per seed are relabelled from the raw `data` (imagined states de-normalised by `normalizer`).

    -> {'episodes': 'held out' | 'training', 'num_episodes', 'starts', 'horizon', 'rollout': {field: (horizon,)
    mean over seeds}, 'rollout_per_seed': {field: (seeds, horizon)}, 'one_step': {field: mean over seeds},
    'one_step_per_seed': {field: (seeds,)}, 'beats_trivial': {part: bool} of the seed means, and with relabelling
    'relabelled': {'imagined', 'real', 'relative', 'imagined_per_seed', 'real_per_seed', 'rows'} (raw rewards)}."""
    episodes_j, mean_j = jnp.asarray(episodes), jnp.asarray(mean_action)
    fn = lambda p, k, d: imagination_quality.diagnose(p, d, episodes_j, mean_j, k, networks=networks, n=n,
                                                      horizon=horizon, z_noise=z_noise, noise_target=noise_target,
                                                      num=starts)
    out = devices.to_host(jax.jit(over_seeds(fn, (True, True, False)))(enc_params, keys, device_data))
    rollout = {k: np.asarray(v, np.float64) for k, v in out["rollout"].items()}
    one_step = {k: np.asarray(v, np.float64) for k, v in out["one_step"].items()}
    mean_rollout = {k: v.mean(0) for k, v in rollout.items()}
    mean_one_step = {k: float(v.mean()) for k, v in one_step.items()}
    summary = {"episodes": "held out" if held_out else "training", "num_episodes": int(len(episodes)),
               "starts": starts, "horizon": horizon,
               "rollout": {k: v.tolist() for k, v in mean_rollout.items()},
               "rollout_per_seed": {k: v.tolist() for k, v in rollout.items()},
               "one_step": mean_one_step, "one_step_per_seed": {k: v.tolist() for k, v in one_step.items()},
               "beats_trivial": {k: bool(v) for k, v in
                                 imagination_quality.verdicts(mean_one_step, mean_rollout).items()}}
    if relabel is not None and relabel_starts > 0:
        summary["relabelled"] = relabelled_rewards(out, relabel, min(relabel_starts, starts), data, normalizer)
    return summary


def relabelled_rewards(out: dict, relabel, rows: int, data: EpisodeDataset, normalizer: Normalizer) -> dict:
    """Mean reward of the first `rows` rollouts of every seed, imagined and real, by the suite's reward function.

    out: the rollouts, with starts {'e', 't'} (seeds, >= rows), alive (seeds, >= rows, H), imagined_next_obs
    (seeds, >= rows, H, S) and imagined_action (seeds, >= rows, H, A); relabel(task_ids, first_obs, next_obs,
    action) -> rewards (N,), NaN where the reward function refuses a state. NaNs are left out of the means and
    counted under 'unscored'."""
    e, t = np.asarray(out["starts"]["e"])[:, :rows], np.asarray(out["starts"]["t"])[:, :rows]  # (seeds, rows)
    alive = np.asarray(out["alive"])[:, :rows] > 0                                            # (seeds, rows, H)
    horizon = alive.shape[-1]
    steps = t[..., None] + np.arange(horizon)
    episode = np.broadcast_to(e[..., None], steps.shape)
    seeds = np.broadcast_to(np.arange(e.shape[0])[:, None, None], steps.shape)
    sel = lambda x: x[alive]
    imagined_obs = np.asarray(out["imagined_next_obs"])[:, :rows] * normalizer.std + normalizer.mean
    first = data.observations[sel(episode), 0]
    task_ids = data.task_ids[sel(episode), 0]
    imagined = relabel(task_ids, first, sel(imagined_obs), sel(np.asarray(out["imagined_action"])[:, :rows]))
    real = relabel(task_ids, first, data.next_observations[sel(episode), sel(steps)],
                   data.actions[sel(episode), sel(steps)])
    owner = sel(seeds)
    # NaN: a state the reward function refuses (RewardRelabeler.reward); the means leave it out and count it
    per_seed = lambda r: [float(np.nanmean(r[owner == s])) for s in range(e.shape[0])]
    im, re = float(np.nanmean(imagined)), float(np.nanmean(real))
    return {"imagined": im, "real": re, "relative": im / re - 1.0 if re else None,
            "imagined_per_seed": per_seed(imagined), "real_per_seed": per_seed(real), "rows": int(alive.sum()),
            "unscored": {"imagined": int(np.isnan(imagined).sum()), "real": int(np.isnan(real).sum())}}
