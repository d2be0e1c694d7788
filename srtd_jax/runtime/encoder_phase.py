"""Phase 1 (Algorithm 1): the skill and task WAEs, trained as jitted chunks over the seed axis."""
from __future__ import annotations

import inspect
import math

import optax

from srtd_jax.agents import srtd
from srtd_jax.agents.methods import Method
from srtd_jax.core import chunks, kernels
from srtd_jax.core.networks import make_encoder_networks
from srtd_jax.data import samplers, windows
from srtd_jax.runtime.loop import round_up, run_chunks


def encoder_steps(enc, num_transitions: int) -> int:
    """Updates of `enc.epochs` passes over num_transitions at `enc.batch_size`, rounded up to whole chunks.
    enc: the `encoder` block of a run config."""
    return round_up(math.ceil(enc.epochs * num_transitions / enc.batch_size), enc.chunk_steps)


def loss_settings(enc, method: Method) -> dict:
    """The keyword arguments of `srtd.encoder_loss` for a method: each one named like a field of the `encoder`
    config block takes that field's value, so a new loss term needs only its keyword and its config field; then
    the kernel scales, and the method's choices (no L_SR, no quality weight, its loss_overrides) on top."""
    params = inspect.signature(srtd.encoder_loss).parameters.values()
    names = {p.name: p.default is p.empty for p in params if p.kind is p.KEYWORD_ONLY and p.name != "networks"}
    settings = {name: enc[name] for name in names if name in enc}
    settings["scales"] = kernels.wae_scales(enc.latent_dim) if enc.multi_scale else tuple(enc.kernel_scales)
    settings["quality_weighted"] = method.quality_weighted
    if not method.skill_reg:
        settings["skill_reg_weight"] = 0.0
    settings.update(method.loss_overrides)
    unknown = sorted(set(settings) - set(names))
    missing = sorted(name for name, required in names.items() if required and name not in settings)
    if unknown or missing:
        raise ValueError(f"encoder_loss settings: unknown {unknown}, missing {missing} (a loss keyword needs a field "
                         "of the same name in the encoder config block, or a method's loss_overrides)")
    return settings


def encoder_parts(enc, method: Method, obs_dim: int, action_dim: int):
    """(networks, update, init(key) -> EncoderState) of the skill and task WAEs (Algorithm 1) for the method's
    encoder losses. enc: the `encoder` block of a run config."""
    nets = make_encoder_networks(obs_dim, action_dim, enc.latent_dim, enc.skill_hidden, enc.task_hidden,
                                 separate_reward=enc.separate_reward_decoder, dtype=enc.matmul_dtype)
    opt = optax.adam(enc.learning_rate)
    update = srtd.make_encoder_update(nets, opt, **loss_settings(enc, method))
    init = lambda k: srtd.init_encoder_state(k, nets, opt, obs_dim, action_dim, enc.latent_dim, enc.n)
    return nets, update, init


def run_encoder_phase(enc, on_nonfinite: str, update, states, keys, device_data, strategy: str, writer, log, *,
                      mesh=None, start: int = 0, after_chunk=None, on_fault=None, on_stop=None):
    """Phase 1 from step `start` to its end over the seed axis of `states` and `keys` (after_chunk, on_fault,
    on_stop: as loop.run_chunks takes them). -> states"""
    transitions = windows.num_steps(device_data)
    total = encoder_steps(enc, transitions)
    log(f"encoder: {total} steps ({enc.epochs} epochs of {transitions} transitions, batch {enc.batch_size})")
    chunk = chunks.make_chunk(update, samplers.window_sampler(enc.batch_size, enc.n), enc.chunk_steps, strategy,
                              on_nonfinite=on_nonfinite, mesh=mesh)
    states, _ = run_chunks(chunk, states, keys, total, enc.chunk_steps, device_data, None, phase="encoder",
                           writer=writer, log=log, start=start, after_chunk=after_chunk, on_fault=on_fault,
                           on_stop=on_stop)
    return states


def train_encoders(enc, on_nonfinite: str, method: Method, device_data, keys, obs_dim: int, action_dim: int,
                   strategy: str, writer, log):
    """Phase 1 alone, without checkpoints (for studies that need trained encoders). -> (networks, params)"""
    nets, update, init = encoder_parts(enc, method, obs_dim, action_dim)
    states = run_encoder_phase(enc, on_nonfinite, update, chunks.stack_states(init, keys), keys, device_data,
                               strategy, writer, log)
    return nets, states.params
