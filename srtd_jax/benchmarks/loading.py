"""The training data of a run: a benchmark's datasets for a mixture, generated where missing, checked, concatenated."""
from __future__ import annotations

from srtd_jax.benchmarks import registry
from srtd_jax.data import dataset as ds
from srtd_jax.data import mixtures


def load_training_data(suite_name: str, data_cfg, min_length: int, log=print, run_seed: int = 0):
    """Generates (or reuses) the mixture `data_cfg.configuration` of a benchmark's datasets, checks every file, and
    returns (assignment {task: kind}, EpisodeDataset). data_cfg: the `data` block of a run config; min_length: the
    shortest episode the windows allow (encoder.n + 1); run_seed: the run's seed (with data.assignment_per_seed
    it moves the assignment). With data.dataset set, the run trains on that file (experiments/dataset.py import) and
the assignment holds its tasks only."""
    suite = registry.get(suite_name)
    if data_cfg.dataset:
        return _imported(data_cfg.dataset, suite, min_length, log)
    assignment, settings, paths = _mixture_files(suite, data_cfg, run_seed)
    # ensure checked every file against its settings (data/ladder.py: check_file); this loads what it checked
    parts = [ds.load(path, expected_meta=settings.key(task, assignment[task]))[0] for task, path in paths.items()]
    data = ds.concatenate(parts)
    ds.validate(data, where="training data", num_tasks=len(suite.tasks), min_length=min_length)
    log(f"data: {data.num_episodes} episodes x {data.episode_length} steps; kinds "
        + ", ".join(f"{t}={k}" for t, k in assignment.items()))
    return assignment, data


def data_files(suite_name: str, data_cfg, run_seed: int = 0) -> list[str]:
    """Every file a run of `data_cfg` reads: its mixture's datasets (made where missing) and the files its
    benchmark's evaluation reads (Suite.reference_files), e.g. to carry them to a machine that cannot make them."""
    suite = registry.get(suite_name)
    files = [data_cfg.dataset] if data_cfg.dataset else list(_mixture_files(suite, data_cfg, run_seed)[2].values())
    return files + (suite.reference_files(data_cfg) if suite.reference_files else [])


def _mixture_files(suite, data_cfg, run_seed: int):
    """The run's task-to-kind assignment, the generation settings and {task: path} of its datasets, generated where
    missing (and, with data.generate, remade where invalid) and checked."""
    assignment = mixtures.assign(data_cfg.configuration, mixtures.assignment_seed(data_cfg, run_seed),
                                 tasks=suite.tasks)
    settings = suite.settings(data_cfg)
    return assignment, settings, suite.ensure(assignment, settings, data_cfg)


def _imported(path: str, suite, min_length: int, log):
    """An imported dataset file, checked against the suite: its benchmark, task names and sizes."""
    data, meta = ds.load(path)
    if meta.get("suite") != suite.name:
        raise ds.DatasetError(f"dataset file {path} holds {meta.get('suite')!r} data, not {suite.name!r} "
                              f"(set suite={meta.get('suite')} or import it for {suite.name})")
    ds.validate(data, where=path, num_tasks=len(suite.tasks), min_length=min_length, obs_dim=suite.obs_dim,
                action_dim=suite.action_dim)
    present = sorted({int(t) for t in data.task_ids[:, 0]})
    kinds = meta.get("kinds", {})
    assignment = {suite.tasks[t]: kinds.get(suite.tasks[t], "imported") for t in present}
    log(f"data: {data.num_episodes} episodes, {data.num_steps} steps (longest {data.episode_length}) from {path}; "
        + ", ".join(f"{t}={k}" for t, k in assignment.items()))
    return assignment, data
