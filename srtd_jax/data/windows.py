"""On-device dataset and window gathering (all jit-able, no Python loops over steps)."""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.core.options import FIRST_REWARDS, QUALITY_WEIGHTS
from srtd_jax.core.types import Transition, WindowBatch
from srtd_jax.data.dataset import EpisodeDataset


class DeviceData(NamedTuple):
    """The training view of a dataset, on device. E episodes of L steps.

    obs, next_obs: (E, L, S) normalised states; actions: (E, L, A); rewards: (E, L) training reward;
    terminals: (E, L) float; quality: (E,) normalised episode return in [0, 1]; task_ids: (E,) int32;
    lengths: (E,) int32 real steps of each episode, or None when all L steps of every episode are real (its
    absence keeps the samplers' arithmetic of equal-length data).
    """

    obs: jax.Array
    actions: jax.Array
    rewards: jax.Array
    next_obs: jax.Array
    terminals: jax.Array
    quality: jax.Array
    task_ids: jax.Array
    lengths: jax.Array | None = None


def select_episodes(data: DeviceData, episodes) -> DeviceData:
    """The episodes `episodes` (K,) of every field."""
    return DeviceData(*(None if x is None else x[episodes] for x in data))


def num_steps(data: DeviceData) -> int:
    """Real steps over all episodes (host int; `data` must be concrete, not traced)."""
    return int(data.lengths.sum()) if data.lengths is not None else data.obs.shape[0] * data.obs.shape[1]


def draw_steps(data: DeviceData, key: jax.Array, num: int):
    """`num` steps drawn uniformly over all real (episode, time) pairs: (episode (num,), time (num,)). The one place
    where a batch's steps are drawn."""
    num_e, length = data.obs.shape[:2]
    if data.lengths is None:
        idx = jax.random.randint(key, (num,), 0, num_e * length)
        return idx // length, idx % length
    ends = jnp.cumsum(data.lengths)
    idx = jax.random.randint(key, (num,), 0, ends[-1])
    e = jnp.searchsorted(ends, idx, side="right")
    return e, idx - (ends[e] - data.lengths[e])


class Normalizer(NamedTuple):
    """State normalisation s -> (s - mean) / std, from the offline dataset. mean, std: (S,)."""

    mean: np.ndarray
    std: np.ndarray

    def __call__(self, obs):
        return (obs - self.mean) / self.std


def make_normalizer(data: EpisodeDataset, eps: float = 1e-3) -> Normalizer:
    """Mean and std (plus eps) of the dataset's real steps' observations."""
    flat = data.observations[data.step_mask()].astype(np.float64)
    return Normalizer(flat.mean(0).astype(np.float32), (flat.std(0) + eps).astype(np.float32))


def training_rewards(data: EpisodeDataset, reward_type: str, first_reward: str = "zero") -> np.ndarray:
    """(E, L) rewards before scaling: 'relative' r_t - r_{t-1} (at t = 0: 0 as recorded, or r_0 with
    first_reward='raw') or 'raw'."""
    if reward_type not in ("relative", "raw"):
        raise ValueError(f"unknown reward_type {reward_type!r}; valid: relative, raw")
    if first_reward not in FIRST_REWARDS:
        raise ValueError(f"unknown first_reward {first_reward!r}; valid: {', '.join(FIRST_REWARDS)}")
    if reward_type == "raw":
        return data.raw_rewards
    if first_reward == "zero":
        return data.rewards
    return np.concatenate([data.raw_rewards[:, :1], data.rewards[:, 1:]], axis=1)


def relative_reward(raw, previous_raw, first_reward: str = "zero"):
    """r_t - r_{t-1} of raw rewards (any shape) as an agent sees them online; at t = 0 (previous_raw None): 0, as the
    datasets record it, or r_0 (first_reward='raw')."""
    if previous_raw is not None:
        return raw - previous_raw
    return raw if first_reward == "raw" else raw - raw


def quality_weights(data: EpisodeDataset, rewards: np.ndarray, kind: str = "minmax_return",
                    gamma: float = 0.99) -> np.ndarray:
    """(E,) the quality weight R~ of every episode. 'minmax_return': the raw-reward episode return min-max
    normalised over the dataset to [0, 1]; 'discounted_clipped': the episode's discounted return of the training
    reward `rewards` (E, L), sum_t gamma^t r_t, clipped below at 0 (not normalised)."""
    if kind == "minmax_return":
        returns = data.episode_returns[:, 0].astype(np.float64)
        span = returns.max() - returns.min()
        return (returns - returns.min()) / span if span > 0 else np.ones_like(returns)
    if kind == "discounted_clipped":
        discount = gamma ** np.arange(rewards.shape[1], dtype=np.float64)
        return np.maximum(np.asarray(rewards, np.float64) @ discount, 0.0)
    raise ValueError(f"unknown quality weight {kind!r}; valid: {', '.join(QUALITY_WEIGHTS)}")


def to_device(data: EpisodeDataset, normalizer: Normalizer, reward_type: str, reward_scale: float, *,
              quality: str = "minmax_return", gamma: float = 0.99, first_reward: str = "zero") -> DeviceData:
    """Normalises states, picks the training reward (reward_type, first_reward; times reward_scale) and the quality
    weights (quality, gamma: see quality_weights)."""
    rewards = training_rewards(data, reward_type, first_reward)
    quality = quality_weights(data, rewards * reward_scale, quality, gamma)
    return DeviceData(
        obs=jnp.asarray(normalizer(data.observations)), actions=jnp.asarray(data.actions),
        rewards=jnp.asarray(rewards * reward_scale, jnp.float32),
        next_obs=jnp.asarray(normalizer(data.next_observations)),
        terminals=jnp.asarray(data.terminals, jnp.float32), quality=jnp.asarray(quality, jnp.float32),
        task_ids=jnp.asarray(data.task_ids[:, 0]),
        lengths=None if data.lengths is None else jnp.asarray(data.lengths))


def device_data(data: EpisodeDataset, normalizer: Normalizer, data_cfg, quality: str, gamma: float) -> DeviceData:
    """to_device with the settings of a run config: data_cfg is its `data` block; quality its
    encoder.quality_weight; gamma its rl.gamma (the quality weight's discount)."""
    return to_device(data, normalizer, data_cfg.reward_type, data_cfg.reward_scale, quality=quality, gamma=gamma,
                     first_reward=data_cfg.first_relative_reward)


def _gather(arr, e, k, valid):
    """arr: (E, L, ...); e: (B,), k, valid: (B, W) -> (B, W, ...) with invalid positions zeroed."""
    out = arr[e[:, None], jnp.clip(k, 0, arr.shape[1] - 1)]
    return out * valid.reshape(valid.shape + (1,) * (out.ndim - 2)).astype(out.dtype)


def task_window(data: DeviceData, e: jax.Array, t: jax.Array, n: int) -> jax.Array:
    """tau_t: (a_k, s_{k+1}, r_k) for k = t-n .. t-1, zero before the episode start.

    e, t: (B,) with 0 <= t <= L (t = L is the window after the last step). -> (B, n, A + S + 1)
    """
    k = t[:, None] + jnp.arange(-n, 0)
    valid = k >= 0
    return jnp.concatenate([_gather(data.actions, e, k, valid), _gather(data.next_obs, e, k, valid),
                            _gather(data.rewards, e, k, valid)[..., None]], axis=-1)


def append_step(history, action, next_obs, reward):
    """The task window slid by one step: `history` (..., n, A + S + 1) without its oldest entry, then (a, s', r).
    action (..., A), next_obs (..., S) normalised, reward (...) training reward. NumPy arrays stay NumPy (host
    loops); JAX arrays and tracers use jnp. The one place where a window grows, in training and evaluation alike."""
    xp = np if isinstance(history, np.ndarray) else jnp
    step = xp.concatenate([action, next_obs, reward[..., None]], -1).astype(history.dtype)
    return xp.concatenate([history[..., 1:, :], step[..., None, :]], axis=-2)


def sample_windows(data: DeviceData, key: jax.Array, batch_size: int, n: int) -> WindowBatch:
    """Samples B steps uniformly over all real (episode, time) pairs and gathers their windows."""
    return windows_at(data, *draw_steps(data, key, batch_size), n)


def windows_at(data: DeviceData, e: jax.Array, t: jax.Array, n: int) -> WindowBatch:
    """The windows of the steps (e, t), each (B,) with 0 <= t < the episode's length."""
    length = data.obs.shape[1] if data.lengths is None else data.lengths[e][:, None]
    ks = t[:, None] + jnp.arange(-n, n)
    skill_valid = (ks >= 0) & (ks < length)
    kr = t[:, None] + jnp.arange(-n, 1)
    recon_valid = kr >= 0
    return WindowBatch(
        skill_obs=_gather(data.obs, e, ks, skill_valid), skill_actions=_gather(data.actions, e, ks, skill_valid),
        skill_mask=skill_valid.astype(jnp.float32), task_window=task_window(data, e, t, n),
        recon_obs=_gather(data.obs, e, kr, recon_valid), recon_actions=_gather(data.actions, e, kr, recon_valid),
        recon_next_obs=_gather(data.next_obs, e, kr, recon_valid),
        recon_rewards=_gather(data.rewards, e, kr, recon_valid), recon_mask=recon_valid.astype(jnp.float32),
        quality=data.quality[e])


def transition_at(data: DeviceData, cond: jax.Array, e: jax.Array, t: jax.Array, gamma: float) -> Transition:
    """The transitions at episode/time indices e, t (any equal shapes) on [s, c]; imagined = 0."""
    return Transition(
        obs=jnp.concatenate([data.obs[e, t], cond[e, t]], -1), action=data.actions[e, t],
        reward=data.rewards[e, t], next_obs=jnp.concatenate([data.next_obs[e, t], cond[e, t + 1]], -1),
        discount=gamma * (1.0 - data.terminals[e, t]), imagined=jnp.zeros(e.shape))


def sample_transitions(data: DeviceData, cond: jax.Array, key: jax.Array, batch_size: int, gamma: float,
                       aug=None, aug_count: int = 0, aug_size=None) -> Transition:
    """TD3+BC batch on [s, c]: cond (E, L + 1, C) is the per-step conditioning (z_t or one-hot task),
    cond[:, t + 1] conditions the next state. With an augmentation table `aug` (Transitions with
    imagined = 1), `aug_count` of the batch_size rows come from it, the rest from the dataset. aug_size: how many
    of the table's rows are real (a scalar, possibly traced: a padded table of packed cells); None: all of them."""
    augmented = aug is not None and aug_count > 0
    # without augmentation the key is used whole, so plain batches do not depend on whether tables exist
    k_data, k_aug = jax.random.split(key) if augmented else (key, None)
    e, t = draw_steps(data, k_data, batch_size - aug_count)
    batch = transition_at(data, cond, e, t, gamma)
    if not augmented:
        return batch
    j = jax.random.randint(k_aug, (aug_count,), 0, aug.obs.shape[0] if aug_size is None else aug_size)
    return jax.tree.map(lambda x, y: jnp.concatenate([x, y[j]]), batch, aug)
