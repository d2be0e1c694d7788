"""Drone data of the `learning_run` recipe: per task, online SAC from scratch in the built-in simulator
(srtd_jax/data/online_sac.py), its actor kept as a snapshot after every round; the MR / RP / ME files are episodes
of those snapshots' stochastic policies (srtd_jax/data/learning_run.py: which snapshots each kind spreads over).

The learning curve is each snapshot's mean return over the episodes it played in its round; the medium snapshot is
the first whose mean return reaches medium_success x the best snapshot's. The best snapshot is the task's trained
agent: its best return over REFERENCE_EPISODES noise-free episodes (a = tanh(mu)) normalises the drone's scores
under this recipe, as the paper normalises by a fully trained online agent.

Every task's run is cached beside the data files (<task>_run_<digest>.npz: the snapshots, the curve and the
reference), keyed by every setting it depends on. A task's run is a function of the settings and its task alone,
whichever other tasks were missing.
"""
from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.benchmarks.drone import generate, maps, sim
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder, online_sac
from srtd_jax.data import learning_run as lr

RUN_VERSION = 1  # bump when the training or the recording of a run changes, to invalidate cached runs
REFERENCE_EPISODES = 32


def run_key(settings, task: str) -> dict:
    return lr.run_key(settings, task, RUN_VERSION)


def run_path(data_dir: str, settings, task: str) -> str:
    return lr.run_path(data_dir, run_key(settings, task))


def drone_env() -> online_sac.Env:
    m = sim.map_arrays()

    def step(state, action):
        state, reward, collided, reached = sim.step(state, action, m)
        return state, reward, {"collided": collided, "reached": reached}

    return online_sac.Env(lambda key, task: sim.reset(key, task, m), step, lambda state: sim.observe(state, m))


def standardisation() -> tuple[np.ndarray, np.ndarray]:
    """Fixed observation statistics of the actor and critics: the centre and half-width of the observation bounds."""
    low, high = sim.observation_bounds()
    return (low + high) / 2, np.maximum((high - low) / 2, 1e-3).astype(np.float32)


def train_runs(tasks: list, settings, log=print) -> dict:
    """Every task's run. -> {task: {'snapshots': [Policy] (rounds + 1), 'returns': (rounds + 1,) mean return of each
    snapshot's round, 'losses': (rounds,) critic losses, 'best': index of the best snapshot, 'reference': its best
    noise-free return}}. One compiled program serves every task and round (the task id is an argument)."""
    ls, length = settings.learner, settings.episode_length
    ids = [maps.task_index(t) for t in tasks]
    states = [_init_state(settings, task_id) for task_id in ids]
    chains = [generate.task_key(settings.seed, task_id, 1) for task_id in ids]
    snapshots = [[lr.to_numpy(s.policy)] for s in states]
    returns, losses = [[] for _ in ids], [[] for _ in ids]
    start = time.time()
    for r in range(ls.rounds):
        for i, task_id in enumerate(ids):
            states[i], ret, metrics = _round(states[i], jnp.int32(task_id), jax.random.fold_in(chains[i], r),
                                             settings=ls, length=length)
            snapshots[i].append(lr.to_numpy(states[i].policy))
            returns[i].append(float(ret))
            losses[i].append(float(metrics["critic_loss"]))
        done = r + 1
        left = (time.time() - start) / done * (ls.rounds - done)
        log(f"  drone learning run: round {done}/{ls.rounds}, mean return per task "
            + " ".join(f"{x[-1]:.1f}" for x in returns) + f" (snapshot {r}), {left:.0f}s left")
    runs = {}
    for i, (task, task_id) in enumerate(zip(tasks, ids)):
        keys = jax.random.split(jax.random.fold_in(chains[i], ls.rounds), ls.envs)
        # the last snapshot is measured, not trained
        returns[i].append(float(_stochastic_return(states[i].policy, jnp.int32(task_id), keys, length)))
        best = int(np.argmax(returns[i]))
        runs[task] = dict(snapshots=snapshots[i], returns=np.asarray(returns[i]), losses=np.asarray(losses[i]),
                          best=best, reference=reference_return(snapshots[i][best], task_id, length))
    return runs


def _init_state(settings, task_id: int) -> online_sac.SacState:
    ls = settings.learner
    mean, std = standardisation()
    k_actor, k_critic = jax.random.split(generate.task_key(settings.seed, task_id, 0))
    policy = lr.Policy(online_sac.init_mlp(k_actor, (sim.OBS_DIM, *ls.hidden, 2 * sim.ACTION_DIM), 1e-2),
                       jnp.asarray(mean), jnp.asarray(std))
    return online_sac.init_state(k_critic, policy, ls, sim.OBS_DIM, sim.ACTION_DIM,
                                 ls.rounds * ls.envs * settings.episode_length)


@functools.partial(jax.jit, static_argnames=("settings", "length"), donate_argnums=(0,))
def _round(state, task_id, key, *, settings, length: int):
    return online_sac.make_round(drone_env(), settings, length, sim.ACTION_DIM)(state, task_id, key)


@functools.partial(jax.jit, static_argnames=("length",))
def _stochastic_return(policy, task_id, keys, length: int):
    return online_sac.play(drone_env(), policy, task_id, keys, length).rewards.sum(-1).mean()


def reference_return(policy: lr.Policy, task_id: int, length: int) -> float:
    """The best return of the policy's noise-free actions (a = tanh(mu)) over REFERENCE_EPISODES episodes of the
    task, their starts and goals drawn from fixed keys (the same for every task and run)."""
    keys = jax.random.split(jax.random.PRNGKey(777), REFERENCE_EPISODES)
    pol = jax.tree.map(jnp.asarray, policy)
    out = _noise_free(pol, jnp.int32(task_id), keys, length)
    return float(np.asarray(out).max())


@functools.partial(jax.jit, static_argnames=("length",))
def _noise_free(policy, task_id, keys, length: int):
    return online_sac.play(drone_env(), policy, task_id, keys, length, stochastic=False).rewards.sum(-1)


def save_run(path: str, run: dict, key: dict) -> None:
    """Writes a run atomically: every snapshot's layers, its curve, the best snapshot, the reference and the key."""
    lr.write_run(path, dict(key, best=run["best"], reference=run["reference"]),
                 {k: run[k] for k in ("returns", "losses")}, run["snapshots"])


def load_run(path: str, key: dict) -> dict:
    """A cached run that matches `key`; DatasetError naming the file when it is corrupt or of other settings."""
    arrays, meta, snapshots = lr.read_run(path, key, ("returns", "losses"))
    if not 0 <= meta.get("best", -1) < len(snapshots):
        raise ds.DatasetError(f"learning-run file {path} names snapshot {meta.get('best')} of {len(snapshots)} as "
                              "its best")
    return dict(snapshots=snapshots, returns=arrays["returns"], losses=arrays["losses"], best=meta["best"],
                reference=meta["reference"])


def cached_runs(tasks: list, settings, data_dir: str, log=print) -> dict:
    """{task: run} from the cache files; the missing or invalid ones trained (together) and written. An invalid file
    is kept aside as <file>.invalid[.k]."""
    runs = {task: lr.cached(run_path(data_dir, settings, task), run_key(settings, task), load_run, log)
            for task in tasks}
    todo = [task for task, run in runs.items() if run is None]
    if todo:
        start = time.time()
        log(f"drone learning runs of {len(todo)} task(s): {settings.learner.rounds} rounds of "
            f"{settings.learner.envs} episodes and {settings.learner.updates_per_round} SAC updates")
        for task, run in train_runs(todo, settings, log).items():
            save_run(run_path(data_dir, settings, task), run, run_key(settings, task))
            runs[task] = run
        log(f"drone learning runs: {time.time() - start:.0f}s")
    return runs


@functools.lru_cache(maxsize=None)
def references(settings, data_dir: str, tasks=maps.DRONE_TASKS) -> np.ndarray:
    """(len(tasks),) each task's trained agent's reference return (trains the runs that are missing); read once per
    process and settings, since every evaluation of a run divides by it."""
    runs = cached_runs(list(tasks), settings, data_dir)
    return np.asarray([runs[t]["reference"] for t in tasks], np.float64)


def medium_snapshot(returns: np.ndarray, medium_success: float) -> int:
    """The first snapshot whose mean return reaches medium_success x the best snapshot's (the best when none of
    the returns is positive)."""
    best = float(np.max(returns))
    if best <= 0:
        return int(np.argmax(returns))
    return lr.medium_snapshot(np.asarray(returns) / best, medium_success)


@functools.partial(jax.jit, static_argnames=("length",))
def _record(policies, task_id, keys, length: int):
    return online_sac.play(drone_env(), policies, task_id, keys, length, per_episode_policy=True)


def generate_files(todo: list, settings, data_dir: str, to_dataset, log=print) -> list:
    """Writes every (task, kind) of `todo` from the tasks' runs. to_dataset(rollout dict, snapshots, task_id) ->
    EpisodeDataset (the drone generator's). Returns per-file summaries."""
    runs = cached_runs(sorted({t for t, _ in todo}, key=maps.task_index), settings, data_dir, log)
    summaries = []
    for task, kind in todo:
        run, task_id = runs[task], maps.task_index(task)
        last = len(run["snapshots"]) - 1
        medium = medium_snapshot(run["returns"], settings.medium_success)
        which = lr.episode_snapshots(kind, settings.episodes_for(kind), medium, last)
        stacked = jax.tree.map(lambda *xs: jnp.asarray(np.stack(xs)), *[run["snapshots"][k] for k in which])
        keys = jax.random.split(generate.task_key(settings.seed, task_id, 2 + ladder.KINDS.index(kind)), len(which))
        ep = jax.device_get(_record(stacked, jnp.int32(task_id), keys, settings.episode_length))
        out = dict(obs=ep.obs, act=ep.actions, reward=ep.rewards, next_obs=ep.next_obs, reached=ep.info["reached"])
        data = to_dataset(out, which, task_id)
        meta = dict(medium_snapshot=medium, run_returns=run["returns"].tolist(), best_snapshot=run["best"],
                    reference=run["reference"])
        ds.save(ladder.file_path(data_dir, settings, task, kind), data, dict(settings.key(task, kind), **meta))
        summaries.append(dict(task=task, kind=kind, episodes=len(which), medium_snapshot=medium,
                              mean_return=float(data.episode_returns[:, 0].mean())))
        log(f"  {task} {kind}: {len(which)} episodes, mean return {summaries[-1]['mean_return']:.1f} (medium "
            f"snapshot {medium} of {last}; trained agent's reference {run['reference']:.1f})")
    return summaries
