"""How good SRTD+ID's imaginary demonstrations (eq. 9) are, measured on real data the decoders can be checked on.

From real dataset steps (e, t), the decoders roll `horizon` imagined steps exactly as the augmentation table
does (same z noise); step h is compared with what the data did at t + h, beside the trivial predictors a model
has to beat: the dataset's mean action for the action, "nothing moves" (s' = s_t, the last state known at the
start) for the next state, and 0 for the reward. One-step errors with real inputs then say which part fails:
the skill decoder from the task embedding z or from the skill embedding b of the same step, the transition and
reward decoders, and how far z lies from b (L_SR pulls them together). Squared errors are summed over the state
or action dimensions, on the normalised states and the training reward.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.agents import augmentation, srtd
from srtd_jax.core.networks import EncoderNetworks
from srtd_jax.data.windows import DeviceData, task_window, windows_at


def _weighted_mean(x, w, axis=0):
    return jnp.sum(x * w, axis) / jnp.maximum(jnp.sum(w, axis), 1.0)


def diagnose(enc_params, data: DeviceData, episodes: jax.Array, mean_action: jax.Array, key: jax.Array, *,
             networks: EncoderNetworks, n: int, horizon: int, z_noise: float, noise_target: str, num: int) -> dict:
    """Rollout and one-step errors of one seed's decoders from `num` steps drawn uniformly from `episodes`.

    enc_params: {'skill', 'task'} of one seed; data: E episodes of L >= horizon steps; episodes: (K,) episode
    indices to draw from (held out from the encoder phase, or all); mean_action: (A,) the trivial action.
    Returns {'rollout': {field: (horizon,)} for action, next_state, reward and each one's <field>_trivial,
    'one_step': {field: ()} for action_from_z, action_from_b, action_trivial, next_state(_trivial), reward(_trivial)
    and z_to_b,
    'starts': {'e', 't'} (num,), 'imagined_next_obs' (num, horizon, S), 'imagined_action' (num, horizon, A),
    'alive' (num, horizon)}; a rollout step after a terminal or past the end of the real episode has no real
    counterpart and counts 0 (alive)."""
    length, obs_dim = data.obs.shape[1], data.obs.shape[-1]
    if horizon > length:
        raise ValueError(f"imagination diagnostics: horizon {horizon} is longer than the {length}-step episodes")
    k_e, k_t, k_roll = jax.random.split(key, 3)
    e = episodes[jax.random.randint(k_e, (num,), 0, episodes.shape[0])]
    if data.lengths is None:
        t = jax.random.randint(k_t, (num,), 0, length - horizon + 1)
    else:  # a start that leaves the episode too few steps is cut short where its real steps end
        room = jnp.maximum(data.lengths[e] - horizon + 1, 1)
        t = jnp.floor(jax.random.uniform(k_t, (num,)) * room).astype(jnp.int32)
    steps = t[:, None] + jnp.arange(horizon)
    real_a, real_s2, real_r = (x[e[:, None], steps] for x in (data.actions, data.next_obs, data.rewards))
    ended = data.terminals[e[:, None], steps]
    alive = jnp.cumprod(jnp.concatenate([jnp.ones((num, 1)), 1.0 - ended[:, :-1]], 1), 1)
    if data.lengths is not None:
        alive = alive * (steps < data.lengths[e][:, None])
    s0, tau0 = data.obs[e, t], task_window(data, e, t, n)

    img = augmentation.imagine(enc_params, s0, tau0, k_roll, networks=networks, horizon=horizon, z_noise=z_noise,
                               gamma=1.0, noise_target=noise_target)
    per_step = lambda x: x.reshape((num, horizon) + x.shape[1:])  # rollouts are laid out start-major
    img_a, img_s2, img_r = per_step(img.action), per_step(img.next_obs[:, :obs_dim]), per_step(img.reward)
    sq = lambda x: jnp.sum(jnp.square(x), -1)
    errors = {"action": sq(img_a - real_a), "action_trivial": sq(mean_action - real_a),
              "next_state": sq(img_s2 - real_s2), "next_state_trivial": sq(s0[:, None] - real_s2),
              "reward": jnp.square(img_r - real_r), "reward_trivial": jnp.square(real_r)}

    z = srtd.task_embed(enc_params["task"]["encoder"], tau0, networks=networks)
    b = srtd.skill_embed(enc_params["skill"]["encoder"], windows_at(data, e, t, n), networks=networks)
    skill = lambda c: networks.skill_decoder.apply(enc_params["skill"]["decoder"], jnp.concatenate([s0, c], -1))
    pred = srtd.task_decode(enc_params["task"]["decoder"], jnp.concatenate([s0, real_a[:, 0], z], -1),
                            networks=networks)
    a0, s1, r0 = real_a[:, 0], real_s2[:, 0], real_r[:, 0]
    one_step = {"action_from_z": sq(skill(z) - a0), "action_from_b": sq(skill(b) - a0),
                "action_trivial": sq(mean_action - a0), "next_state": sq(pred[:, :obs_dim] - s1),
                "next_state_trivial": sq(s0 - s1), "reward": jnp.square(pred[:, obs_dim] - r0),
                "reward_trivial": jnp.square(r0), "z_to_b": sq(z - b)}
    return {"rollout": {k: _weighted_mean(v, alive) for k, v in errors.items()},
            "one_step": {k: jnp.mean(v) for k, v in one_step.items()},
            "starts": {"e": e, "t": t}, "imagined_next_obs": img_s2, "imagined_action": img_a, "alive": alive}


def verdicts(one_step: dict, rollout: dict) -> dict:
    """Which parts beat their trivial predictor (host floats of one seed or a mean over seeds) -> {part: bool}; a
    rollout beats it only at every step."""
    beats = lambda errors, field, trivial: bool(np.all(np.asarray(errors[field]) < np.asarray(errors[trivial])))
    return {"skill decoder (z)": beats(one_step, "action_from_z", "action_trivial"),
            "skill decoder (b)": beats(one_step, "action_from_b", "action_trivial"),
            "transition decoder": beats(one_step, "next_state", "next_state_trivial"),
            "reward decoder": beats(one_step, "reward", "reward_trivial"),
            **{f"imagined rollout, {name}": beats(rollout, field, field + "_trivial")
               for name, field in (("action", "action"), ("next state", "next_state"), ("reward", "reward"))}}
