"""Embedding maps (the paper's appendix figure 2): task embeddings z of dataset windows projected to 2-D,
coloured by task, one panel per finished (configuration, method) cell of the sweep's embedding group."""
from __future__ import annotations

import os

import numpy as np

from srtd_jax.agents import conditioning
from srtd_jax.benchmarks import registry
from srtd_jax.core import atomic
from srtd_jax.runtime import reporting
from srtd_jax.runtime.config_check import ConfigError, ConfigMismatchError, as_dict, config_diff, read_json
from srtd_jax.studies import sweep

POINTS_PER_TASK = 400
KNN_K = 10  # neighbours of the task-separation score


def cell_embeddings(cfg, workdir: str, seed: int = 0, episodes_per_task: int = 20, rng_seed: int = 0):
    """z_t = q_theta(tau_t) of seed `seed`'s trained task encoder (the run's latest checkpoint) on up to
    episodes_per_task dataset episodes of each task. -> (z (N, latent), task ids (N,))"""
    from srtd_jax.studies.trained import trained_encoder

    data, device_data, nets, params = trained_encoder(cfg, workdir, seed)
    z, tasks, _ = episode_embeddings(nets, params["task"]["encoder"], data.task_ids[:, 0], device_data,
                                     cfg.encoder.n, episodes_per_task, rng_seed)
    return z.reshape(-1, z.shape[-1]), np.repeat(tasks, z.shape[1])


def episode_embeddings(nets, task_encoder_params, episode_tasks: np.ndarray, device_data, n: int,
                       episodes_per_task: int, rng_seed: int = 0):
    """z_t of up to episodes_per_task episodes of each task, t = 1 .. L: the windows holding at least one step of
    the episode. The episodes depend on `rng_seed` only, so every encoder seed is scored on the same ones.
    episode_tasks (E,) -> (z (E', L, latent), tasks (E',), the kept episodes' indices (E',))"""
    import jax

    rng = np.random.default_rng(rng_seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(episode_tasks == t))[:episodes_per_task]
                                   for t in np.unique(episode_tasks)]))
    device_data = jax.tree.map(lambda x: x[keep], device_data)
    z = jax.jit(lambda p, d: conditioning.embed_dataset(p, d, networks=nets, n=n))(task_encoder_params, device_data)
    return np.asarray(z[:, 1:]), episode_tasks[keep], keep


def pca_2d(x: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, 2): projection on the two leading principal components."""
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def knn_task_accuracy(z: np.ndarray, task_ids: np.ndarray, k: int = KNN_K) -> float:
    """How well z separates the tasks: the share of points whose task is the majority task of their k nearest
    other points (Euclidean; a tie goes to the lower task id). z (N, D), task_ids (N,) -> accuracy in [0, 1];
    chance is about 1 / number of tasks."""
    if not 0 < k < len(z):
        raise ValueError(f"k={k} needs 0 < k < number of points ({len(z)})")
    return float((knn_predict(z, z, task_ids, k, np.eye(len(z), dtype=bool)) == task_ids).mean())


def knn_predict(query: np.ndarray, reference: np.ndarray, reference_ids: np.ndarray, k: int,
                same: np.ndarray | None = None) -> np.ndarray:
    """The majority task of each query point's k nearest reference points (Euclidean; a tie goes to the lower task
    id). query (Q, D), reference (R, D), reference_ids (R,); same (Q, R) bool: pairs that are one point, left out
    of the vote. -> (Q,) task ids"""
    q, r = np.asarray(query, np.float64), np.asarray(reference, np.float64)
    d = (q ** 2).sum(1)[:, None] + (r ** 2).sum(1)[None, :] - 2 * q @ r.T  # no (Q, R, D) temporary
    if same is not None:
        d[same] = np.inf
    neighbours = np.argpartition(d, k - 1, axis=1)[:, :k]
    tasks = np.unique(reference_ids)
    counts = (reference_ids[neighbours][:, :, None] == tasks[None, None, :]).sum(1)  # (Q, tasks) votes
    return tasks[counts.argmax(1)]


def points_path(out_dir: str, cell) -> str:
    """Where a cell's panel points are kept, beside the figure: <out_dir>/embedding_points/<conf>_<method>.json."""
    return os.path.join(out_dir, "embedding_points", f"{sweep.slug(cell.configuration)}_{cell.method}.json")


def panel_points(cfg, workdir: str, path: str) -> tuple[np.ndarray, np.ndarray, float]:
    """A finished cell's panel: PCA of all its z, then up to POINTS_PER_TASK points per task, and the k-NN task
    accuracy of those points' z (latent space, not the projection). Written to path (with the cell config) so
    that the panel can be drawn again once the workdir and its checkpoints are gone.
    -> (xy (M, 2), task ids (M,), accuracy)"""
    z, task_ids = cell_embeddings(cfg, workdir)
    xy = pca_2d(z)
    rng = np.random.default_rng(0)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(task_ids == t))[:POINTS_PER_TASK]
                                   for t in np.unique(task_ids)]))
    accuracy = knn_task_accuracy(z[keep], task_ids[keep])
    xy, task_ids = xy[keep].astype(np.float32), task_ids[keep]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    reporting.write_json(path, {"config": as_dict(cfg), "task_ids": task_ids.tolist(),
                                "xy": np.round(xy.astype(np.float64), 4).tolist(),
                                "knn_task_accuracy": accuracy, "knn_k": KNN_K}, indent=None)
    return xy, task_ids, accuracy


def stored_points(cfg, path: str):
    """The panel kept at path by panel_points, None if there is none. -> (xy (M, 2), task ids (M,), accuracy);
    a corrupt file raises ConfigError and one of another config ConfigMismatchError, both naming the file."""
    stored = read_json(path, "draw the maps without it (rerun the cell to get its panel back)")
    if stored is None:
        return None
    try:
        xy, task_ids = np.asarray(stored["xy"], np.float32), np.asarray(stored["task_ids"], np.int64)
        config, accuracy = stored["config"], float(stored["knn_task_accuracy"])
        ok = xy.ndim == 2 and xy.shape[1:] == (2,) and task_ids.shape == xy.shape[:1]
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"{path} is not an embedding points file ({err!r}); move it away") from err
    if not ok:
        raise ConfigError(f"{path} is not an embedding points file (xy {xy.shape}, task ids {task_ids.shape})")
    diff = config_diff(config, as_dict(cfg))
    if diff:
        raise ConfigMismatchError(f"{path} holds the panel of a different config; differing fields:\n  "
                                  + "\n  ".join(diff))
    return xy, task_ids, accuracy


def draw(bcfg, all_cells, root: str, path: str, finished=()) -> list[str]:
    """Draws the maps of the embedding group's finished cells into `path`. -> names of the cells drawn.

    A cell with its workdir is embedded from its checkpoint and its panel is stored (`points_path`); a cell in
    `finished` (records kept from results.json) whose workdir is gone is drawn from its stored panel. If it has
    none, its panel would drop out, so nothing is drawn and `path` stays."""
    todo = []  # checked for all cells before any checkpoint is restored
    for cell in all_cells:
        if "embedding" not in cell.groups:
            continue
        cfg, workdir = sweep.cell_config(bcfg, cell), sweep.cell_workdir(root, cell)
        stored = points_path(os.path.dirname(path), cell)
        points = None
        if sweep.finished_summary(cfg, workdir) is None:
            if cell.name not in finished:
                continue
            points = stored_points(cfg, stored)
            if points is None:
                return []
        todo.append((cell, cfg, workdir, stored, points))
    panels = [(cell, *(panel_points(cfg, workdir, stored) if points is None else points))
              for cell, cfg, workdir, stored, points in todo]
    if not panels:
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confs = list(dict.fromkeys(sweep.slug(c.configuration) for c, *_ in panels))
    methods = list(dict.fromkeys(c.method for c, *_ in panels))
    fig, axes = plt.subplots(len(methods), len(confs), figsize=(3.6 * len(confs), 3.4 * len(methods)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    colours = plt.get_cmap("tab10")
    task_names = registry.task_names(bcfg.base.suite)
    first = None
    for cell, xy, task_ids, accuracy in panels:
        ax = axes[methods.index(cell.method), confs.index(sweep.slug(cell.configuration))]
        ax.axis("on")
        first = first or ax
        for t in np.unique(task_ids):
            idx = np.flatnonzero(task_ids == t)
            ax.scatter(xy[idx, 0], xy[idx, 1], s=2, color=colours(int(t) % 10), label=task_names[int(t)])
        ax.set_title(f"{cell.method} on {sweep.slug(cell.configuration)}\n{KNN_K}-NN task accuracy {accuracy:.2f}",
                     fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    first.legend(fontsize=6, markerscale=4, loc="best")
    fig.suptitle(f"task embeddings z (seed 0), first two principal components; {KNN_K}-NN task accuracy: share of "
                 f"windows whose {KNN_K} nearest z are mostly of their task (chance {1 / len(task_names):.2f})",
                 fontsize=9)
    fig.tight_layout()
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return [c.name for c, *_ in panels]
