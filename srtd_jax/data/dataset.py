"""Episode-major offline dataset container with validated, atomic file I/O.

Every per-step field is stored as an (E, L, ...) array, so windows around a step are index arithmetic on (episode,
time). Episodes of different lengths (imported data) are padded with zeros to the longest, L, and `lengths` says how
many steps of each are real; generated datasets have episodes of one length and no `lengths` (None).
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import NamedTuple

import numpy as np

from srtd_jax.core import atomic

FORMAT_VERSION = 1


class EpisodeDataset(NamedTuple):
    """Offline transitions, episode-major. E episodes of L steps, S = obs dim, A = action dim.

    observations, next_observations: (E, L, S) float32
    actions: (E, L, A) float32
    raw_rewards: (E, L) float32   Meta-World's reward r_t
    rewards: (E, L) float32       relative reward r_t - r_{t-1} (0 at t = 0), the default training reward
    terminals, timeouts, successes: (E, L) bool
    task_ids, episode_ids, rungs: (E, L) int32   task index, episode index within its file, ladder rung
    episode_returns: (E, L) float32   undiscounted raw-reward return of the step's episode
    lengths: (E,) int32 or None   real steps of each episode (the rest is zero padding); None: all L are real
    """

    observations: np.ndarray
    actions: np.ndarray
    raw_rewards: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray
    successes: np.ndarray
    task_ids: np.ndarray
    episode_ids: np.ndarray
    episode_returns: np.ndarray
    rungs: np.ndarray
    lengths: np.ndarray | None = None

    @property
    def num_episodes(self) -> int:
        return self.observations.shape[0]

    @property
    def episode_length(self) -> int:
        """L, the longest episode's steps."""
        return self.observations.shape[1]

    @property
    def num_steps(self) -> int:
        """Real steps over all episodes (padding excluded)."""
        return int(self.lengths.sum()) if self.lengths is not None else self.num_episodes * self.episode_length

    def step_mask(self) -> np.ndarray:
        """(E, L) bool: True at real steps."""
        if self.lengths is None:
            return np.ones(self.observations.shape[:2], bool)
        return np.arange(self.episode_length)[None, :] < self.lengths[:, None]


_DTYPES = {
    "observations": np.float32, "actions": np.float32, "raw_rewards": np.float32,
    "rewards": np.float32, "next_observations": np.float32, "terminals": np.bool_,
    "timeouts": np.bool_, "successes": np.bool_, "task_ids": np.int32, "episode_ids": np.int32,
    "episode_returns": np.float32, "rungs": np.int32,
}
_NDIM = {"observations": 3, "actions": 3, "next_observations": 3}


class DatasetError(ValueError):
    """A dataset file or array that cannot be used; the message names the file and the problem."""


def validate(data: EpisodeDataset, where: str = "dataset", num_tasks: int | None = None,
             min_length: int = 1, obs_dim: int | None = None, action_dim: int | None = None) -> None:
    """Checks dtypes, shapes (and, when given, the observation and action sizes), finiteness and ids; raises
    DatasetError naming `where` and the field."""
    e, l = data.observations.shape[:2] if data.observations.ndim == 3 else (None, None)
    if e is None:
        raise DatasetError(f"{where}: observations must be (E, L, S), got shape {data.observations.shape}")
    if e == 0:
        raise DatasetError(f"{where}: holds no episodes")
    if l < min_length:
        raise DatasetError(f"{where}: episodes of {l} steps are shorter than the {min_length} steps a window needs")
    for name, dtype in _DTYPES.items():
        arr = getattr(data, name)
        if arr.dtype != dtype:
            raise DatasetError(f"{where}: field {name!r} has dtype {arr.dtype}, expected {np.dtype(dtype)}")
        ndim = _NDIM.get(name, 2)
        if arr.ndim != ndim or arr.shape[:2] != (e, l):
            raise DatasetError(f"{where}: field {name!r} has shape {arr.shape}, expected ({e}, {l}{', ...' if ndim == 3 else ''})")
        if arr.dtype == np.float32 and not np.isfinite(arr).all():
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise DatasetError(f"{where}: field {name!r} has a non-finite value at index {tuple(int(i) for i in bad)}")
    if data.lengths is not None:
        lengths = data.lengths
        if lengths.dtype != np.int32 or lengths.shape != (e,):
            raise DatasetError(f"{where}: field 'lengths' has dtype {lengths.dtype} and shape {lengths.shape}, "
                               f"expected int32 ({e},)")
        if lengths.min() < min_length or lengths.max() > l:
            raise DatasetError(f"{where}: episode lengths {int(lengths.min())}..{int(lengths.max())} are outside "
                               f"[{min_length}, {l}] (the window needs {min_length} steps; L = {l})")
    for name, size in (("observations", obs_dim), ("next_observations", obs_dim), ("actions", action_dim)):
        if size is not None and getattr(data, name).shape[-1] != size:
            raise DatasetError(f"{where}: field {name!r} has shape {getattr(data, name).shape}, expected (E, L, {size})")
    if data.next_observations.shape != data.observations.shape:
        raise DatasetError(f"{where}: next_observations shape {data.next_observations.shape} != observations {data.observations.shape}")
    if num_tasks is not None and (data.task_ids.min() < 0 or data.task_ids.max() >= num_tasks):
        raise DatasetError(f"{where}: task id out of range [0, {num_tasks}): found {int(data.task_ids.min())}..{int(data.task_ids.max())}")


def save(path: str, data: EpisodeDataset, meta: dict) -> None:
    """Writes `data` and `meta` to `path` (.npz) atomically: a temporary file renamed into place."""
    validate(data, where=path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    meta = dict(meta, format_version=FORMAT_VERSION)
    with atomic.replacing(path) as tmp, open(tmp, "wb") as f:
        fields = {k: v for k, v in data._asdict().items() if v is not None}
        np.savez(f, meta_json=np.array(json.dumps(meta, sort_keys=True)), **fields)
        f.flush()
        os.fsync(f.fileno())


def read_arrays(path: str, what: str = "dataset file") -> dict:
    """Every array of an .npz file (no pickles); DatasetError '<what> <path> is corrupt or truncated (...)'."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise DatasetError(f"{what} {path} is corrupt or truncated ({type(err).__name__}: {err})") from err


def check_meta(meta: dict, expected: dict | None, path: str, what: str = "dataset file") -> None:
    """DatasetError naming the first key of `expected` whose value the file's metadata does not hold."""
    for key, value in (expected or {}).items():
        if meta.get(key) != value:
            raise DatasetError(f"{what} {path} does not match the requested settings: {key}={meta.get(key)!r}, "
                               f"expected {value!r}")


def load(path: str, expected_meta: dict | None = None) -> tuple[EpisodeDataset, dict]:
    """Reads a file written by `save`; checks it is complete, well-formed and (optionally) matches.

    `expected_meta`: key/value pairs the file's metadata must hold (e.g. the generation settings).
    Raises DatasetError naming the file and what is wrong.
    """
    if not os.path.exists(path):
        raise DatasetError(f"dataset file {path} does not exist")
    arrays = read_arrays(path)
    missing = [k for k in ("meta_json", *EpisodeDataset._fields) if k not in arrays and k != "lengths"]
    if missing:
        raise DatasetError(f"dataset file {path} lacks fields {missing}")
    meta = json.loads(str(arrays.pop("meta_json")))
    if meta.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"dataset file {path} has format version {meta.get('format_version')}, expected {FORMAT_VERSION}")
    check_meta(meta, expected_meta, path)
    data = EpisodeDataset(**{k: arrays[k] for k in EpisodeDataset._fields if k in arrays})
    validate(data, where=path)
    return data, meta


def pad_to(data: EpisodeDataset, length: int) -> EpisodeDataset:
    """`data` with every per-step field zero-padded to `length` >= L steps and `lengths` set."""
    extra = length - data.episode_length
    if extra < 0:
        raise DatasetError(f"cannot pad episodes of {data.episode_length} steps to {length}")
    lengths = data.lengths if data.lengths is not None else np.full(data.num_episodes, data.episode_length, np.int32)
    pad = lambda x: np.pad(x, [(0, 0), (0, extra)] + [(0, 0)] * (x.ndim - 2))
    return EpisodeDataset(*[pad(x) for x in data[:-1]], lengths=lengths)


def concatenate(parts: list[EpisodeDataset]) -> EpisodeDataset:
    """Stacks datasets along the episode axis; when their episode lengths differ, every part is padded to the
    longest (and `lengths` records the real steps)."""
    longest = max(p.episode_length for p in parts)
    if all(p.lengths is None and p.episode_length == longest for p in parts):
        return EpisodeDataset(*[np.concatenate(fields, axis=0) for fields in zip(*(p[:-1] for p in parts))])
    padded = [pad_to(p, longest) for p in parts]
    return EpisodeDataset(*[np.concatenate(fields, axis=0) for fields in zip(*padded)])
