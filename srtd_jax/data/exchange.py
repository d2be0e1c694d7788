"""Datasets in and out of the project's format: Minari datasets, a D4RL-style dict of flat arrays (.npz), and a
directory of per-episode .npz files.

An imported dataset is an EpisodeDataset file (dataset.save) whose metadata names its benchmark (`suite`, for the
sizes and the online evaluation), its tasks and, when known, each task's dataset kind; a run trains on it with
`--config.data.dataset=<file>`. Episodes may differ in length (they are padded; `lengths` says how much is real).

Per-episode fields beyond observations, actions and rewards travel as Minari step infos (one entry per step after
the reset entry) and as `infos/<name>` arrays of the D4RL-style file, so an export imports back to identical
arrays:
  task_id (the task's index in the file's task list), success, relative_reward (the training reward), episode_id,
  rung (the behaviour policy's ladder rung; -1 where unknown).
"""
from __future__ import annotations

import glob
import json
import os
import warnings

import numpy as np

from srtd_jax.core import atomic
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder

INFO_FIELDS = {"task_id": "task_ids", "success": "successes", "relative_reward": "rewards",
               "episode_id": "episode_ids", "rung": "rungs"}
UNKNOWN_KIND = "imported"


class Episode(dict):
    """One episode of T steps: observations (T, S), next_observations (T, S), actions (T, A), raw_rewards (T,),
    and optionally rewards (T,) relative, terminals, timeouts, successes (T,) bool, task (its name), episode_id,
    rung (ints), kind ('MR' | 'RP' | 'ME')."""


def from_episodes(episodes: list[Episode], tasks: tuple, where: str) -> ds.EpisodeDataset:
    """Stacks episodes of any lengths into a padded EpisodeDataset; `tasks` is the file's task list (task ids index
    it). Raises DatasetError naming `where` and the episode."""
    if not episodes:
        raise ds.DatasetError(f"{where}: holds no episodes")
    longest = max(len(ep["actions"]) for ep in episodes)
    fields = {name: [] for name in ds.EpisodeDataset._fields if name != "lengths"}
    counts: dict = {}
    for i, ep in enumerate(episodes):
        steps = len(ep["actions"])
        for name in ("observations", "next_observations", "raw_rewards"):
            if len(ep[name]) != steps:
                raise ds.DatasetError(f"{where}: episode {i} has {len(ep[name])} {name} for {steps} actions")
        if ep["task"] not in tasks:
            raise ds.DatasetError(f"{where}: episode {i} has task {ep['task']!r}, not one of {', '.join(tasks)}")
        task_id = tasks.index(ep["task"])
        raw = np.asarray(ep["raw_rewards"], np.float32).reshape(steps)
        terminals = np.asarray(ep.get("terminals", np.zeros(steps, bool)), bool).reshape(steps)
        default_timeouts = np.zeros(steps, bool)
        default_timeouts[-1] = not terminals[-1]
        per_step = {
            "observations": np.asarray(ep["observations"], np.float32),
            "next_observations": np.asarray(ep["next_observations"], np.float32),
            "actions": np.asarray(ep["actions"], np.float32), "raw_rewards": raw,
            "rewards": np.asarray(ep.get("rewards", ladder.relative_rewards(raw)), np.float32).reshape(steps),
            "terminals": terminals,
            "timeouts": np.asarray(ep.get("timeouts", default_timeouts), bool).reshape(steps),
            "successes": np.asarray(ep.get("successes", np.zeros(steps, bool)), bool).reshape(steps),
            "task_ids": np.full(steps, task_id, np.int32),
            "episode_ids": np.full(steps, ep.get("episode_id", counts.get(task_id, 0)), np.int32),
            "episode_returns": np.full(steps, raw.sum(), np.float32),  # as the generators sum it
            "rungs": np.full(steps, ep.get("rung", -1), np.int32)}
        counts[task_id] = counts.get(task_id, 0) + 1
        for name, value in per_step.items():
            pad = [(0, longest - steps)] + [(0, 0)] * (value.ndim - 1)
            fields[name].append(np.pad(value, pad))
    lengths = np.array([len(ep["actions"]) for ep in episodes], np.int32)
    data = ds.EpisodeDataset(**{k: np.stack(v) for k, v in fields.items()},
                             lengths=None if (lengths == longest).all() else lengths)
    ds.validate(data, where=where)
    return data


def to_episodes(data: ds.EpisodeDataset, tasks: tuple) -> list[Episode]:
    """The episodes of `data`, each cut to its real steps; tasks: names indexed by the task ids."""
    lengths = data.lengths if data.lengths is not None else np.full(data.num_episodes, data.episode_length)
    out = []
    for i, steps in enumerate(lengths):
        cut = {name: getattr(data, name)[i, :steps] for name in ds.EpisodeDataset._fields if name != "lengths"}
        out.append(Episode(
            observations=cut["observations"], next_observations=cut["next_observations"], actions=cut["actions"],
            raw_rewards=cut["raw_rewards"], rewards=cut["rewards"], terminals=cut["terminals"],
            timeouts=cut["timeouts"], successes=cut["successes"], task=tasks[int(cut["task_ids"][0])],
            episode_id=int(cut["episode_ids"][0]), rung=int(cut["rungs"][0])))
    return out


def imported_meta(suite: str, tasks: tuple, kinds: dict, origin: str, fmt: str) -> dict:
    """The metadata of an imported dataset file: its benchmark, task list, kinds per task and where it came from."""
    return {"source": "import", "format": fmt, "origin": origin, "suite": suite, "tasks": list(tasks),
            "kinds": {t: kinds.get(t, UNKNOWN_KIND) for t in tasks}}


def _kinds(episodes: list[Episode]) -> dict:
    kinds: dict = {}
    for ep in episodes:
        if ep.get("kind"):
            kinds.setdefault(ep["task"], ep["kind"])
    return kinds


# D4RL-style flat arrays

def export_npz(path: str, data: ds.EpisodeDataset, tasks: tuple, meta: dict) -> None:
    """Writes the real steps of `data` as flat (N, ...) arrays in D4RL's names (observations, actions, rewards =
    the raw reward, next_observations, terminals, timeouts) plus infos/<field> (INFO_FIELDS), `tasks` and the
    source metadata (meta_json); atomic."""
    mask = data.step_mask()
    flat = lambda x: x[mask]
    arrays = {"observations": flat(data.observations), "actions": flat(data.actions),
              "rewards": flat(data.raw_rewards), "next_observations": flat(data.next_observations),
              "terminals": flat(data.terminals), "timeouts": flat(data.timeouts)}
    for info, field in INFO_FIELDS.items():
        arrays[f"infos/{info}"] = flat(getattr(data, field))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic.replacing(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, tasks=np.array(tasks), meta_json=np.array(json.dumps(meta, sort_keys=True)),
                 episode_lengths=mask.sum(1).astype(np.int32), **arrays)


def read_npz(path: str, tasks: tuple | None = None) -> tuple[list[Episode], tuple, dict]:
    """A D4RL-style file -> (episodes, task names, its source metadata). Episodes are cut by `episode_lengths`
    when present, else after every terminal or timeout. Task ids come from infos/task_id (default 0) and name
    entries of the file's `tasks` (or of the `tasks` given)."""
    z = ds.read_arrays(path, ".npz file")
    missing = [k for k in ("observations", "actions", "rewards") if k not in z]
    if missing:
        raise ds.DatasetError(f"{path} lacks the arrays {missing} of a D4RL-style dataset")
    names = tuple(str(t) for t in z["tasks"]) if "tasks" in z else tasks
    if names is None:
        raise ds.DatasetError(f"{path} names no tasks: pass the task list (--tasks)")
    n = len(z["actions"])
    ends = np.cumsum(z["episode_lengths"]) if "episode_lengths" in z else \
        np.flatnonzero(z.get("terminals", np.zeros(n, bool)) | z.get("timeouts", np.zeros(n, bool))) + 1
    if not len(ends) or ends[-1] != n:
        ends = np.append(ends, n)  # a last episode cut off by the end of the file
    next_obs = z.get("next_observations")
    if next_obs is None:
        raise ds.DatasetError(f"{path} lacks next_observations")
    episodes = []
    for start, end in zip(np.concatenate([[0], ends[:-1]]), ends):
        part = slice(int(start), int(end))
        task_id = int(z["infos/task_id"][start]) if "infos/task_id" in z else 0
        if not 0 <= task_id < len(names):
            raise ds.DatasetError(f"{path}: task id {task_id} at step {start} is outside the {len(names)} tasks")
        ep = Episode(observations=z["observations"][part], next_observations=next_obs[part],
                     actions=z["actions"][part], raw_rewards=z["rewards"][part], task=names[task_id])
        for key, name in (("terminals", "terminals"), ("timeouts", "timeouts"), ("infos/success", "successes"),
                          ("infos/relative_reward", "rewards")):
            if key in z:
                ep[name] = z[key][part]
        for key in ("episode_id", "rung"):
            if f"infos/{key}" in z:
                ep[key] = int(z[f"infos/{key}"][start])
        episodes.append(ep)
    meta = json.loads(str(z["meta_json"])) if "meta_json" in z else {}
    return episodes, names, meta


def read_episode_dir(directory: str) -> tuple[list[Episode], tuple]:
    """A directory of per-episode .npz files (read in name order) -> (episodes, tasks in order of appearance).

    Each file: observations (T, S) with next_observations (T, S), or observations (T + 1, S) with the final one
    last; actions (T, A); rewards (T,) the environment's reward; task (a name); optional terminals, timeouts,
    successes (T,), relative_rewards (T,) (default r_t - r_{t-1}, 0 at t = 0), kind ('MR' | 'RP' | 'ME')."""
    if not os.path.isdir(directory):
        raise ds.DatasetError(f"episode directory {directory} does not exist")
    paths = sorted(glob.glob(os.path.join(directory, "*.npz")))
    if not paths:
        raise ds.DatasetError(f"{directory} holds no .npz episode files")
    episodes, tasks = [], []
    for path in paths:
        z = ds.read_arrays(path, ".npz file")
        missing = [k for k in ("observations", "actions", "rewards", "task") if k not in z]
        if missing:
            raise ds.DatasetError(f"{path} lacks {missing}")
        obs, steps = z["observations"], len(z["actions"])
        if "next_observations" in z:
            next_obs = z["next_observations"]
        elif len(obs) == steps + 1:
            obs, next_obs = obs[:-1], obs[1:]
        else:
            raise ds.DatasetError(f"{path}: {len(obs)} observations for {steps} actions and no next_observations "
                                  f"(expected {steps + 1} observations, the final one last)")
        task = str(z["task"])
        if task not in tasks:
            tasks.append(task)
        ep = Episode(observations=obs, next_observations=next_obs, actions=z["actions"], raw_rewards=z["rewards"],
                     task=task)
        for key, name in (("terminals", "terminals"), ("timeouts", "timeouts"), ("successes", "successes"),
                          ("relative_rewards", "rewards")):
            if key in z:
                ep[name] = z[key]
        if "kind" in z:
            ep["kind"] = str(z["kind"]).upper()
        episodes.append(ep)
    return episodes, tuple(tasks)


# Minari

def _minari():
    try:
        import minari  # optional dependency (pip install -e ".[minari]")
    except ImportError as err:
        raise ds.DatasetError('Minari is not installed: pip install -e ".[minari]"') from err
    return minari


def export_minari(dataset_id: str, data: ds.EpisodeDataset, tasks: tuple, meta: dict, description: str = ""):
    """Creates the Minari dataset `dataset_id` (under $MINARI_DATASETS_PATH, by default ~/.minari/datasets) from
    `data`; the task list and source metadata go into its metadata as JSON (srtd_tasks, srtd_meta)."""
    minari = _minari()
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer
    mask = data.step_mask()[:, 1:]
    if not np.array_equal(data.next_observations[:, :-1][mask], data.observations[:, 1:][mask]):
        raise ds.DatasetError("this dataset's next observations are not its following observations, which Minari's "
                              "one observation sequence per episode cannot hold: export --format=npz instead")
    buffers = []
    for i, ep in enumerate(to_episodes(data, tasks)):
        steps = len(ep["actions"])
        with_reset = lambda x: np.concatenate([np.zeros_like(x[:1]), x])  # the reset entry before the steps'
        infos = {"success": with_reset(ep["successes"]), "relative_reward": with_reset(ep["rewards"]),
                 "task_id": np.full(steps + 1, tasks.index(ep["task"]), np.int32),
                 "episode_id": np.full(steps + 1, ep["episode_id"], np.int32),
                 "rung": np.full(steps + 1, ep["rung"], np.int32)}
        buffers.append(EpisodeBuffer(
            id=i, observations=np.concatenate([ep["observations"], ep["next_observations"][-1:]]),
            actions=ep["actions"], rewards=ep["raw_rewards"], terminations=ep["terminals"],
            truncations=ep["timeouts"], infos=infos))
    obs_dim, action_dim = data.observations.shape[-1], data.actions.shape[-1]
    with warnings.catch_warnings():  # Minari warns that no environment is attached: evaluation lives in the suites
        warnings.simplefilter("ignore", UserWarning)
        dataset = minari.create_dataset_from_buffers(
            dataset_id, buffers, algorithm_name=meta.get("recipe", "srtd_jax"), author="srtd_jax",
            author_email="-", code_permalink="-", description=description or f"srtd_jax dataset {dataset_id}",
            observation_space=gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32),
            action_space=gym.spaces.Box(-1.0, 1.0, (action_dim,), np.float32))
    dataset.storage.update_metadata({"srtd_tasks": json.dumps(list(tasks)), "srtd_meta": json.dumps(meta)})
    return dataset


def read_minari(source: str, tasks: tuple | None = None) -> tuple[list[Episode], tuple, dict]:
    """A Minari dataset, by id (e.g. 'srtd/mt10-rp10-v0') or by the path of its folder -> (episodes, task names,
    source metadata). Task names come from the dataset's srtd_tasks metadata, else from `tasks`; task ids from the
    task_id step info (default 0)."""
    minari = _minari()
    try:
        if os.path.isdir(source):
            data_dir = os.path.join(source, "data") if os.path.isdir(os.path.join(source, "data")) else source
            dataset = minari.MinariDataset(data_dir)
        else:
            dataset = minari.load_dataset(source)
    except Exception as err:  # Minari raises several types for a missing or unreadable dataset
        raise ds.DatasetError(f"cannot open the Minari dataset {source!r} ({type(err).__name__}: {err})") from err
    metadata = dataset.storage.metadata
    names = tuple(json.loads(metadata["srtd_tasks"])) if "srtd_tasks" in metadata else tasks
    if names is None:
        raise ds.DatasetError(f"the Minari dataset {source!r} names no tasks: pass the task list (--tasks)")
    episodes = []
    for ep in dataset.iterate_episodes():
        infos = {k: np.asarray(v)[1:] for k, v in (ep.infos or {}).items()}
        task_id = int(infos["task_id"][0]) if "task_id" in infos else 0
        e = Episode(observations=ep.observations[:-1], next_observations=ep.observations[1:], actions=ep.actions,
                    raw_rewards=ep.rewards, terminals=ep.terminations, timeouts=ep.truncations,
                    task=names[task_id])
        for info, name in (("success", "successes"), ("relative_reward", "rewards")):
            if info in infos:
                e[name] = infos[info]
        for key in ("episode_id", "rung"):
            if key in infos:
                e[key] = int(infos[key][0])
        episodes.append(e)
    meta = json.loads(metadata["srtd_meta"]) if "srtd_meta" in metadata else {}
    return episodes, names, meta


def kinds_of(episodes: list[Episode], meta: dict) -> dict:
    """Each task's dataset kind: from the episodes' own `kind`, else from the source metadata's assignment."""
    return {**meta.get("kinds", {}), **_kinds(episodes)}
