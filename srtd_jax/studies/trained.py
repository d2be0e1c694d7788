"""A finished run's trained encoder, rebuilt as the run had it, for studies of its embeddings and imagination."""
from __future__ import annotations

from srtd_jax.agents.methods import resolve
from srtd_jax.benchmarks import registry
from srtd_jax.benchmarks.loading import load_training_data
from srtd_jax.data import windows
from srtd_jax.runtime import checkpointing
from srtd_jax.runtime.encoder_phase import encoder_parts


def trained_encoder(cfg, workdir: str, seed: int | None = 0):
    """A run's training data and seed `seed`'s trained encoder from its latest checkpoint (None: every seed's,
    stacked on a leading axis), rebuilt as the run had them -> (EpisodeDataset, DeviceData with the states
    normalised by the whole dataset's statistics, encoder networks, encoder params {'skill', 'task'})."""
    _, data = load_training_data(cfg.suite, cfg.data, cfg.encoder.n + 1, log=lambda *_: None, run_seed=cfg.seed)
    device_data = windows.device_data(data, windows.make_normalizer(data), cfg.data, cfg.encoder.quality_weight,
                                      cfg.rl.gamma)
    return (data, device_data) + encoder_of_run(cfg, workdir, data.observations.shape[-1], seed)


def encoder_of_run(cfg, workdir: str, obs_dim: int, seed: int | None = 0):
    """The encoder networks of a run's config and seed `seed`'s trained params from its latest checkpoint (None:
    every seed's, stacked) -> (networks, params {'skill', 'task'}). A FileNotFoundError or ValueError names a run
    without them."""
    method = check_has_encoders(cfg, workdir, seed)
    nets, _, _ = encoder_parts(cfg.encoder, method, obs_dim, registry.get(cfg.suite).action_dim)
    return nets, checkpointing.latest_encoder_params(workdir, seed)


def check_has_encoders(cfg, workdir: str, seed: int | None):
    """The run's method, after checking that it trains encoders and that `seed` is one of its seeds (None: every
    seed, nothing to check); a ValueError names the problem otherwise (before any data is loaded)."""
    method = resolve(cfg.method, cfg.rl.learner, cfg.rl.network)
    if not method.encoders:
        raise ValueError(f"{workdir}: method {cfg.method!r} trains no encoders")
    if seed is not None and not 0 <= seed < cfg.num_seeds:
        raise ValueError(f"{workdir}: seed {seed} is not in [0, num_seeds={cfg.num_seeds})")
    return method
