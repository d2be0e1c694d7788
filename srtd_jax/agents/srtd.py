"""The SRTD encoders (Algorithm 1): the skill WAE and the task WAE on one latent space, their losses as module-level
pure functions (params being trained first, keyword hyperparameters, returning (loss, metrics)), the train state and
the update. Bind networks and hyperparameters with functools.partial.

Shapes: B batch, n window length, S obs dim, A action dim, Z latent dim.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from srtd_jax.core import kernels
from srtd_jax.core.gradients import gradient_update
from srtd_jax.core.networks import EncoderNetworks
from srtd_jax.core.types import WindowBatch


def prior_penalty(latents: jax.Array, prior_samples: jax.Array, *, kernel: str = "imq",
                  scales: Sequence[float] = (16.0,)) -> jax.Array:
    """L_PR (eq. 2, with the unbiased cross term): MMD^2 between latents (B, Z) and prior draws (B, Z)."""
    return kernels.mmd_unbiased(latents, prior_samples, kernel=kernel, scales=scales)


def masked_sq_error(pred: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """sum over window positions and features of mask * (pred - target)^2, mean over the batch.
    pred, target: (B, W, F); mask: (B, W) -> scalar."""
    return jnp.mean(jnp.sum(jnp.sum((pred - target) ** 2, -1) * mask, -1))


def skill_embedding_loss(skill_params, batch: WindowBatch, prior_samples: jax.Array, *,
                         networks: EncoderNetworks, mmd_weight: float, kernel: str = "imq",
                         scales: Sequence[float] = (16.0,)):
    """L_SE (eq. 1): reconstruct a_{t+j}, j = -n..n-1, from (s_{t+j}, b_t), b_t = q_phi(d_t), plus
    mmd_weight * L_PR(b, prior). skill_params: {'encoder', 'decoder'}; prior_samples (B, Z).
    Returns (loss, metrics with 'skill_embedding' b (B, Z))."""
    b = skill_embed(skill_params["encoder"], batch, networks=networks)
    b_rep = jnp.broadcast_to(b[:, None], batch.skill_obs.shape[:2] + b.shape[-1:])
    pred = networks.skill_decoder.apply(skill_params["decoder"], jnp.concatenate([batch.skill_obs, b_rep], -1))
    recon = masked_sq_error(pred, batch.skill_actions, batch.skill_mask)
    mmd = prior_penalty(b, prior_samples, kernel=kernel, scales=scales)
    return recon + mmd_weight * mmd, {"skill_recon": recon, "skill_mmd": mmd, "skill_embedding": b}


def skill_embed(encoder_params, batch: WindowBatch, *, networks: EncoderNetworks) -> jax.Array:
    """b_t = q_phi(d_t): d_t is the masked (s, a) window t-n..t+n-1 flattened. -> (B, Z)"""
    d = jnp.concatenate([batch.skill_obs, batch.skill_actions], -1) * batch.skill_mask[..., None]
    return networks.skill_encoder.apply(encoder_params, d.reshape(d.shape[0], -1))


def task_embed(encoder_params, task_window: jax.Array, *, networks: EncoderNetworks) -> jax.Array:
    """z_t = q_theta(tau_t); task_window (..., n, A + S + 1) -> (..., Z)."""
    return networks.task_encoder.apply(encoder_params, task_window.reshape(task_window.shape[:-2] + (-1,)))


def task_decode(decoder_params, x: jax.Array, *, networks: EncoderNetworks) -> jax.Array:
    """p_theta: [s, a, z] (..., S + A + Z) -> [s', r] (..., S + 1), from one task decoder or from a transition
    decoder and a reward decoder (decoder_params {'transition', 'reward'})."""
    if networks.reward_decoder is None:
        return networks.task_decoder.apply(decoder_params, x)
    return jnp.concatenate([networks.task_decoder.apply(decoder_params["transition"], x),
                            networks.reward_decoder.apply(decoder_params["reward"], x)], -1)


def task_reconstruction_loss(decoder_params, z: jax.Array, batch: WindowBatch, *, networks: EncoderNetworks):
    """L_TE (eq. 3): predict (s_{t+j+1}, r_{t+j}), j = -n..0, from (s_{t+j}, a_{t+j}, z_t), positions
    before the episode start masked out. z: (B, Z). Returns (loss, metrics)."""
    z_rep = jnp.broadcast_to(z[:, None], batch.recon_obs.shape[:2] + z.shape[-1:])
    pred = task_decode(decoder_params, jnp.concatenate([batch.recon_obs, batch.recon_actions, z_rep], -1),
                       networks=networks)
    target = jnp.concatenate([batch.recon_next_obs, batch.recon_rewards[..., None]], -1)
    loss = masked_sq_error(pred, target, batch.recon_mask)
    return loss, {"task_recon": loss}


def skill_regularization_loss(z: jax.Array, skill_embedding: jax.Array, quality: jax.Array):
    """L_SR (eq. 4): mean_i R~_i |z_i - sg(b_i)|^2. z, skill_embedding: (B, Z); quality: (B,) in [0, 1].
    The skill embedding is a fixed target (stop-gradient): this term trains only the task encoder."""
    dist = jnp.sum((z - jax.lax.stop_gradient(skill_embedding)) ** 2, -1)
    loss = jnp.mean(quality * dist)
    return loss, {"skill_reg": loss, "skill_task_distance": jnp.mean(dist)}


def srtd_loss(task_params, skill_embedding: jax.Array, batch: WindowBatch, prior_samples: jax.Array, *,
              networks: EncoderNetworks, mmd_weight: float, skill_reg_weight: float = 1.0,
              quality_weighted: bool = True, kernel: str = "imq", scales: Sequence[float] = (16.0,)):
    """L_SRTD (eq. 5) = L_TE + skill_reg_weight * L_SR + mmd_weight * L_PR(z, prior).

    task_params: {'encoder', 'decoder'}; skill_embedding (B, Z) from q_phi; prior_samples (B, Z).
    skill_reg_weight = 0 gives TE; quality_weighted = False gives SRTD-Q (R~ = 1)."""
    z = task_embed(task_params["encoder"], batch.task_window, networks=networks)
    l_te, metrics = task_reconstruction_loss(task_params["decoder"], z, batch, networks=networks)
    quality = batch.quality if quality_weighted else jnp.ones_like(batch.quality)
    l_sr, sr_metrics = skill_regularization_loss(z, skill_embedding, quality)
    mmd = prior_penalty(z, prior_samples, kernel=kernel, scales=scales)
    loss = l_te + skill_reg_weight * l_sr + mmd_weight * mmd
    return loss, {**metrics, **sr_metrics, "task_mmd": mmd}


def encoder_loss(params, batch: WindowBatch, key: jax.Array, *, networks: EncoderNetworks, latent_dim: int,
                 mmd_weight: float, skill_reg_weight: float, quality_weighted: bool, kernel: str,
                 scales: Sequence[float], weight_decay: float = 0.0, weight_decay_mean: bool = False):
    """Algorithm 1's joint objective L_SE(phi) + L_SRTD(theta) over params {'skill', 'task'}.

    Because L_SR stops the gradient into b, the gradient of the sum w.r.t. phi is grad L_SE and w.r.t.
    theta is grad L_SRTD, exactly the two updates of Algorithm 1. key draws the N(0, I) prior samples.
    weight_decay adds an L2 penalty on all weights and biases (the released code's 1e-3; not in the paper): the sum
    over parameter arrays of their sum of squares, or with weight_decay_mean of their mean square (the released
    code's form, far weaker per weight on wide layers)."""
    kb, kz = jax.random.split(key)
    num = batch.quality.shape[0]
    l_se, m_se = skill_embedding_loss(params["skill"], batch, jax.random.normal(kb, (num, latent_dim)),
                                      networks=networks, mmd_weight=mmd_weight, kernel=kernel, scales=scales)
    l_srtd, m_srtd = srtd_loss(params["task"], m_se.pop("skill_embedding"), batch,
                               jax.random.normal(kz, (num, latent_dim)), networks=networks,
                               mmd_weight=mmd_weight, skill_reg_weight=skill_reg_weight,
                               quality_weighted=quality_weighted, kernel=kernel, scales=scales)
    square = jnp.mean if weight_decay_mean else jnp.sum
    l2 = sum(square(w ** 2) for w in jax.tree.leaves(params))
    return l_se + l_srtd + weight_decay * l2, {**m_se, **m_srtd, "skill_loss": l_se, "srtd_loss": l_srtd}


class EncoderState(NamedTuple):
    """params: {'skill': {'encoder', 'decoder'}, 'task': {'encoder', 'decoder'}}."""

    params: Any
    opt_state: Any


def init_encoder_state(key, networks: EncoderNetworks, optimizer: optax.GradientTransformation,
                       obs_dim: int, action_dim: int, latent_dim: int, n: int) -> EncoderState:
    ks = jax.random.split(key, 4)
    params = {
        "skill": {"encoder": networks.skill_encoder.init(ks[0], jnp.zeros((1, 2 * n * (obs_dim + action_dim)))),
                  "decoder": networks.skill_decoder.init(ks[1], jnp.zeros((1, obs_dim + latent_dim)))},
        "task": {"encoder": networks.task_encoder.init(ks[2], jnp.zeros((1, n * (action_dim + obs_dim + 1)))),
                 "decoder": _init_task_decoder(ks[3], networks, jnp.zeros((1, obs_dim + action_dim + latent_dim)))},
    }
    return EncoderState(params, optimizer.init(params))


def _init_task_decoder(key, networks: EncoderNetworks, x):
    if networks.reward_decoder is None:
        return networks.task_decoder.init(key, x)
    k_transition, k_reward = jax.random.split(key)
    return {"transition": networks.task_decoder.init(k_transition, x), "reward": networks.reward_decoder.init(k_reward, x)}


def make_encoder_update(networks: EncoderNetworks, optimizer, **loss_settings):
    """Algorithm 1 update of the skill and task WAEs: `update(state, batch, key, step) -> (state, metrics)`
    (step unused; the signature is shared with every update that `make_chunk` runs). loss_settings: the keyword
    arguments of `encoder_loss` other than networks (latent_dim, mmd_weight, kernel, scales, ...)."""
    loss_fn = functools.partial(encoder_loss, networks=networks, **loss_settings)
    apply = gradient_update(loss_fn, optimizer)

    def update(state: EncoderState, batch, key, step):
        del step
        params, opt_state, metrics = apply(state.params, state.opt_state, batch, key)
        return EncoderState(params, opt_state), metrics

    return update
