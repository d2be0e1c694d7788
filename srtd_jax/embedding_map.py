"""Embedding maps (the paper's appendix figure 2): task embeddings z of dataset windows projected to 2-D,
coloured by task, one panel per finished (configuration, method) cell of the sweep's embedding group."""
from __future__ import annotations

import numpy as np

from srtd_jax import suites, sweep

POINTS_PER_TASK = 400


def cell_embeddings(cfg, workdir: str, seed: int = 0, episodes_per_task: int = 20, rng_seed: int = 0):
    """z_t = q_theta(tau_t) of seed `seed`'s trained task encoder (the run's latest checkpoint) on up to
    episodes_per_task dataset episodes of each task. -> (z (N, latent), task ids (N,))"""
    import jax

    from srtd_jax import train
    from srtd_jax.run import trained_encoder

    data, device_data, nets, params = trained_encoder(cfg, workdir, seed)
    rng = np.random.default_rng(rng_seed)
    tasks = data.task_ids[:, 0]
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(tasks == t))[:episodes_per_task]
                                   for t in np.unique(tasks)]))
    device_data = jax.tree.map(lambda x: x[keep], device_data)
    z = jax.jit(lambda p, d: train.embed_dataset(p, d, networks=nets, n=cfg.encoder.n))(
        params["task"]["encoder"], device_data)
    z = np.asarray(z[:, 1:])  # t = 1 .. L: windows holding at least one step of the episode
    return z.reshape(-1, z.shape[-1]), np.repeat(tasks[keep], z.shape[1])


def pca_2d(x: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, 2): projection on the two leading principal components."""
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def draw(bcfg, all_cells, root: str, path: str, finished=()) -> list[str]:
    """Draws the maps of the embedding group's finished cells into `path`. -> names of the cells drawn.

    finished: names of cells known to have finished (records kept from results.json); if one of them is an
    embedding cell whose workdir is gone, its panel would drop out, so nothing is drawn and `path` stays."""
    drawable = []  # checked for all cells before any checkpoint is restored
    for cell in all_cells:
        if "embedding" not in cell.groups:
            continue
        cfg, workdir = sweep.cell_config(bcfg, cell), sweep.cell_workdir(root, cell)
        if sweep.finished_summary(cfg, workdir) is not None:
            drawable.append((cell, cfg, workdir))
        elif cell.name in finished:
            return []
    panels = []
    for cell, cfg, workdir in drawable:
        z, task_ids = cell_embeddings(cfg, workdir)
        panels.append((cell, pca_2d(z), task_ids))
    if not panels:
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confs = list(dict.fromkeys(sweep.slug(c.configuration) for c, _, _ in panels))
    methods = list(dict.fromkeys(c.method for c, _, _ in panels))
    fig, axes = plt.subplots(len(methods), len(confs), figsize=(3.6 * len(confs), 3.4 * len(methods)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    colours = plt.get_cmap("tab10")
    rng = np.random.default_rng(0)
    task_names = suites.task_names(bcfg.base.suite)
    first = None
    for cell, xy, task_ids in panels:
        ax = axes[methods.index(cell.method), confs.index(sweep.slug(cell.configuration))]
        ax.axis("on")
        first = first or ax
        for t in np.unique(task_ids):
            idx = np.flatnonzero(task_ids == t)
            idx = rng.choice(idx, min(POINTS_PER_TASK, idx.size), replace=False)
            ax.scatter(xy[idx, 0], xy[idx, 1], s=2, color=colours(int(t) % 10), label=task_names[int(t)])
        ax.set_title(f"{cell.method} on {sweep.slug(cell.configuration)}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    first.legend(fontsize=6, markerscale=4, loc="best")
    fig.suptitle("task embeddings z (seed 0), first two principal components", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [c.name for c, _, _ in panels]
