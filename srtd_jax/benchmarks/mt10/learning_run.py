"""MT10 data of the `learning_run` recipe (srtd_jax/data/learning_run.py): per task, a neural policy trained from
scratch by DAgger with Meta-World's scripted expert as the labeller, its snapshots kept; the MR / RP / ME files are
episodes of those snapshots' stochastic policies.

The run of a task is cached beside its data files (<task>_run_<digest>.npz: every snapshot's parameters and the
learning curve), keyed by every setting it depends on, so that the kinds of one task made at different times come
from one run."""
from __future__ import annotations

import functools
import time

import numpy as np

from srtd_jax.benchmarks.mt10 import env as mw
from srtd_jax.benchmarks.mt10 import generate
from srtd_jax.data import ladder
from srtd_jax.data import learning_run as lr

RUN_VERSION = generate.LEARNING_RUN_VERSION


def run_key(settings, task: str) -> dict:
    return lr.run_key(settings, task, RUN_VERSION)


def run_path(data_dir: str, settings, task: str) -> str:
    return lr.run_path(data_dir, run_key(settings, task))


def train_run(task: str, settings) -> dict:
    """A task's learning run: snapshot 0 untrained; after each of `rounds` rounds (play episodes_per_round episodes
    with the current snapshot, label every visited state with the expert, train updates_per_round steps on all labels
    so far, which begin with expert_episodes episodes of the expert) one more snapshot.
    -> {'snapshots': [Policy] (rounds + 1), 'success': (rounds + 1,) success rate of each snapshot's episodes,
    'returns': (rounds + 1,) their mean return, 'expert_success', 'expert_return', 'losses': (rounds,)}."""
    import jax

    ls = settings.learner
    task_id = mw.task_index(task)
    env, expert = mw.MT10Env(task), mw.scripted_expert(task)
    rng = np.random.default_rng([settings.seed, task_id, 7])
    length = settings.episode_length
    capacity = (ls.expert_episodes + ls.rounds * ls.episodes_per_round) * length
    buf_obs = np.zeros((capacity, mw.OBS_DIM), np.float32)
    buf_u = np.zeros((capacity, mw.ACTION_DIM), np.float32)
    filled = 0

    def add(episode):
        nonlocal filled
        n = len(episode["obs"])
        buf_obs[filled:filled + n], buf_u[filled:filled + n] = episode["obs"], lr.pre_tanh(episode["label"])
        filled += n

    expert_action = lambda obs: np.clip(expert.get_action(obs), -1.0, 1.0).astype(np.float32)
    experts = [generate.record_episode(env, int(rng.integers(env.num_goals)), length, expert_action, expert_action)
               for _ in range(ls.expert_episodes)]
    for ep in experts:
        add(ep)
    num_expert = filled
    demo = np.concatenate([ep["obs"] for ep in experts])
    policy = lr.init_policy(rng, mw.OBS_DIM, mw.ACTION_DIM, ls.hidden, demo.mean(0), demo.std(0) + 1e-2)
    init_opt, train = lr.make_trainer(ls)
    opt_state = init_opt(policy)
    snapshots, success, returns, losses = [policy], [], [], []
    start = time.time()
    for r in range(ls.rounds + 1):
        policy_action = functools.partial(lr.act, snapshots[-1], rng=rng)
        episodes = [generate.record_episode(env, int(rng.integers(env.num_goals)), length, policy_action, expert_action)
                    for _ in range(ls.episodes_per_round)]
        success.append(float(np.mean([ep["succ"].any() for ep in episodes])))
        returns.append(float(np.mean([ep["raw"].sum() for ep in episodes])))
        if r == ls.rounds:
            break  # the last snapshot is measured, not trained further
        for ep in episodes:
            add(ep)
        idx = lr.batch_indices(rng, ls, num_expert, filled)
        policy, opt_state, loss = train(jax.tree.map(np.asarray, policy), opt_state, buf_obs, buf_u, idx)
        policy = lr.to_numpy(policy)
        snapshots.append(policy)
        losses.append(float(loss))
        if (r + 1) % 5 == 0:
            left = (time.time() - start) / (r + 1) * (ls.rounds - r - 1)
            print(f"  {task} learning run: round {r + 1}/{ls.rounds}, success {success[-1]:.2f}, "
                  f"{left:.0f}s left", flush=True)
    return dict(snapshots=snapshots, success=np.asarray(success), returns=np.asarray(returns),
                expert_success=float(np.mean([ep["succ"].any() for ep in experts])),
                expert_return=float(np.mean([ep["raw"].sum() for ep in experts])), losses=np.asarray(losses))


def save_run(path: str, run: dict, key: dict) -> None:
    """Writes a run atomically: every snapshot's layers, its curve and key."""
    lr.write_run(path, dict(key, expert_success=run["expert_success"], expert_return=run["expert_return"]),
                 {k: run[k] for k in ("success", "returns", "losses")}, run["snapshots"])


def load_run(path: str, key: dict) -> dict:
    """A cached run that matches `key`; DatasetError naming the file when it is corrupt or of other settings."""
    arrays, meta, snapshots = lr.read_run(path, key, ("success", "returns", "losses"))
    return dict(snapshots=snapshots, success=arrays["success"], returns=arrays["returns"], losses=arrays["losses"],
                expert_success=meta["expert_success"], expert_return=meta["expert_return"])


def cached_run(task: str, settings, data_dir: str) -> dict:
    """The task's run from its cache file, trained and written when missing or invalid (the invalid file is kept
    aside as <file>.invalid, or .invalid.<k> beside earlier ones)."""
    path, key = run_path(data_dir, settings, task), run_key(settings, task)
    run = lr.cached(path, key, load_run, log=lambda line: print(line, flush=True))
    if run is None:
        run = train_run(task, settings)
        save_run(path, run, key)
    return run


def generate_task(task: str, kinds: list, settings, data_dir: str) -> list:
    """Writes the requested kinds of one task from its learning run. Returns per-kind summaries."""
    run = cached_run(task, settings, data_dir)
    task_id = mw.task_index(task)
    env = mw.MT10Env(task)
    last = len(run["snapshots"]) - 1
    medium = lr.medium_snapshot(run["success"], settings.medium_success)
    meta = dict(medium_snapshot=medium, run_success=run["success"].tolist(), run_returns=run["returns"].tolist(),
                expert_success=run["expert_success"])
    summaries = []
    for kind in kinds:
        start = time.time()
        which = lr.episode_snapshots(kind, settings.episodes_for(kind), medium, last)
        rng = np.random.default_rng([settings.seed, task_id, ladder.KINDS.index(kind)])
        episodes = [generate.record_episode(env, int(rng.integers(env.num_goals)), settings.episode_length,
                                            functools.partial(lr.act, run["snapshots"][k], rng=rng)) for k in which]
        summaries.append(generate.write_kind(episodes, which, task, kind, settings, data_dir, meta,
                                             f"medium snapshot {medium} of {last}", start))
    return summaries
