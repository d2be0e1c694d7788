"""The imagination diagnostics of one seed of a finished run, recomputed from its checkpoint: for runs made before
every SRTD+ID summary carried them, or with other sample counts. The same code and the same key as the run's own
summary (runtime/imagination_report.py), so a seed's numbers match its summary's."""
from __future__ import annotations

import jax
import numpy as np

from srtd_jax.benchmarks import registry
from srtd_jax.core.seeds import run_keys
from srtd_jax.data import windows
from srtd_jax.data.splits import holdout_split
from srtd_jax.runtime.imagination_report import diagnostic_episodes, imagination_summary
from srtd_jax.studies.trained import trained_encoder


def diagnose_run(cfg, workdir: str, seed: int = 0, starts: int | None = None, relabel_starts: int | None = None):
    """cfg: the run's config (a method with a task encoder); seed: which of its seeds. starts / relabel_starts:
    None takes the config's eval fields. -> the summary's "imagination" entry for that one seed."""
    data, device_data, nets, params = trained_encoder(cfg, workdir, seed)
    enc_episodes, held_out = holdout_split(data.task_ids[:, 0], cfg.encoder.holdout_fraction, cfg.data.seed)
    key = run_keys(cfg.seed, cfg.num_seeds, cfg.key_streams).diagnostics[seed]
    one_seed = lambda fn, seeded: jax.vmap(fn, in_axes=tuple(0 if s else None for s in seeded))
    a, v = cfg.augment, cfg.eval
    return imagination_summary(
        jax.tree.map(lambda x: np.asarray(x)[None], params), device_data,
        *diagnostic_episodes(data, enc_episodes, held_out), key[None], over_seeds=one_seed, networks=nets,
        n=cfg.encoder.n, horizon=a.horizon, z_noise=a.z_noise, noise_target=a.z_noise_target,
        starts=v.imagination_starts if starts is None else starts, relabel=registry.get(cfg.suite).relabel,
        relabel_starts=v.relabel_starts if relabel_starts is None else relabel_starts, data=data,
        normalizer=windows.make_normalizer(data))
