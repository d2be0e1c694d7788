"""The `learning_run` data recipe's shared parts: a neural behaviour policy trained from scratch, kept as snapshots,
and how the MR / RP / ME kinds spread their episodes over the snapshots (a benchmark runs the training).

The paper's datasets are slices of one online learning run per task. Here a task's run trains a tanh-Gaussian
policy (a SAC actor's form: a = tanh(mu(s) + sigma(s) eps)) from scratch by DAgger: its own episodes are labelled by
the benchmark's expert and aggregated, and after every round of training the policy is kept as a snapshot. The
untrained snapshot 0 acts with sigma = 1 around mu = 0; the learned sigma shrinks with the policy's error, as a SAC
actor's exploration does. Every recorded episode is played by one snapshot's stochastic policy; the expert's own
actions are never recorded.

  MR: episodes spread evenly over snapshots 0 .. m, m the first snapshot whose episodes reach medium_success
  RP: episodes spread evenly over all snapshots (the whole run)
  ME: episodes spread evenly over snapshots m .. last (medium to expert)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import NamedTuple

import numpy as np

from srtd_jax.core import atomic
from srtd_jax.data import dataset as ds
from srtd_jax.data import ladder

LOG_STD_MIN, LOG_STD_MAX = -5.0, 1.0
ACTION_LIMIT = 0.995  # expert actions at the bounds of [-1, 1] are labelled at atanh(0.995) in the tanh's input


@dataclasses.dataclass(frozen=True)
class LearnerSettings:
    """The learning run of one task: `rounds` rounds of training after the untrained snapshot, each round playing
    `episodes_per_round` episodes with the current snapshot (its success is the learning curve) and then taking
    `updates_per_round` Adam updates of `batch_size` on every labelled step so far. The run's first round of labels
    comes from `expert_episodes` episodes of the expert (DAgger's beta_1 = 1); `demo_share` of every batch is drawn
    from those expert steps, the rest from all labelled steps (RLPD's symmetric sampling of demonstrations: on
    peg-insert-side, DAgger's own states labelled by the scripted expert otherwise drown the demonstrations and
    the learner never succeeds)."""

    rounds: int = 20
    episodes_per_round: int = 10
    expert_episodes: int = 10
    updates_per_round: int = 1000
    hidden: tuple = (256, 256)
    batch_size: int = 256
    learning_rate: float = 1e-3
    demo_share: float = 0.5

    @property
    def num_snapshots(self) -> int:
        return self.rounds + 1


def learner_from_config(cfg) -> LearnerSettings:
    """The `data.learner` block of a run config -> LearnerSettings."""
    return LearnerSettings(rounds=cfg.rounds, episodes_per_round=cfg.episodes_per_round,
                           expert_episodes=cfg.expert_episodes, updates_per_round=cfg.updates_per_round,
                           hidden=tuple(cfg.hidden), batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
                           demo_share=cfg.demo_share)


def batch_indices(rng: np.random.Generator, settings: LearnerSettings, num_expert: int, filled: int) -> np.ndarray:
    """(updates_per_round, batch_size) indices into a run's label buffer for one round: the first
    round(demo_share x batch_size) of every batch among the `num_expert` expert steps at its start, the rest among
    all `filled` labelled steps."""
    k = int(round(settings.demo_share * settings.batch_size))
    shape = (settings.updates_per_round,)
    return np.concatenate([rng.integers(0, num_expert, shape + (k,)),
                           rng.integers(0, filled, shape + (settings.batch_size - k,))], 1)


def episode_snapshots(kind: str, num_episodes: int, medium: int, last: int) -> np.ndarray:
    """The snapshot of every episode of a dataset kind (see the module docstring)."""
    spread = lambda lo, hi, n: lo + (np.arange(n) * (hi - lo + 1)) // max(n, 1)  # even over [lo, hi]
    ranges = {"MR": (0, medium), "RP": (0, last), "ME": (medium, last)}
    if kind not in ranges:
        raise ValueError(f"unknown dataset kind {kind!r}; valid kinds: {', '.join(ranges)}")
    return spread(*ranges[kind], num_episodes)


def medium_snapshot(success: np.ndarray, medium_success: float) -> int:
    """The first snapshot whose success rate reaches medium_success (the last when none does)."""
    above = np.flatnonzero(np.asarray(success) >= medium_success)
    return int(above[0]) if above.size else len(success) - 1


class Policy(NamedTuple):
    """A tanh-Gaussian policy's MLP: layers ((W (in, out), b (out,)), ...), the last with 2 A outputs (mu, log std),
    on observations standardised by obs_mean, obs_std (S,) (fixed: the expert episodes' statistics, not trained).
    NumPy arrays for acting, JAX arrays inside training."""

    layers: tuple
    obs_mean: np.ndarray
    obs_std: np.ndarray


def init_policy(rng: np.random.Generator, obs_dim: int, action_dim: int, hidden: tuple, obs_mean: np.ndarray,
                obs_std: np.ndarray) -> Policy:
    """LeCun-normal hidden layers; the output layer scaled by 1e-2, so the untrained policy has mu ~ 0, sigma ~ 1."""
    sizes = (obs_dim, *hidden, 2 * action_dim)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        scale = (1e-2 if i == len(sizes) - 2 else 1.0) / np.sqrt(fan_in)
        layers.append((rng.normal(0.0, scale, (fan_in, fan_out)).astype(np.float32), np.zeros(fan_out, np.float32)))
    return Policy(tuple(layers), np.asarray(obs_mean, np.float32), np.asarray(obs_std, np.float32))


def policy_head(policy: Policy, obs, xp=np):
    """(mu (..., A), log std (..., A)) of observations (..., S); xp: numpy or jax.numpy."""
    mean, std = policy.obs_mean, policy.obs_std
    if xp is not np:  # the standardisation is fixed: no gradient reaches it, so Adam leaves it as it is
        import jax
        mean, std = jax.lax.stop_gradient(mean), jax.lax.stop_gradient(std)
    h = (obs - mean) / std
    for w, b in policy.layers[:-1]:
        h = xp.maximum(h @ w + b, 0.0)
    w, b = policy.layers[-1]
    out = h @ w + b
    mu, log_std = xp.split(out, 2, axis=-1)
    return mu, xp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)


def act(policy: Policy, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One stochastic action tanh(mu + sigma eps) (A,) float32 for one observation (S,)."""
    mu, log_std = policy_head(policy, np.asarray(obs, np.float32))
    return np.tanh(mu + np.exp(log_std) * rng.standard_normal(mu.shape)).astype(np.float32)


def pre_tanh(actions: np.ndarray) -> np.ndarray:
    """The expert's actions in the tanh's input space: atanh(clip(a, +-ACTION_LIMIT))."""
    return np.arctanh(np.clip(actions, -ACTION_LIMIT, ACTION_LIMIT)).astype(np.float32)


def nll_loss(policy: Policy, obs, targets):
    """Mean Gaussian negative log-likelihood (up to a constant) of pre-tanh expert actions targets (B, A) under the
    policy's (mu, sigma) at obs (B, S): sum_a (u - mu)^2 / (2 sigma^2) + log sigma. JAX."""
    import jax.numpy as jnp
    mu, log_std = policy_head(policy, obs, jnp)
    return jnp.mean(jnp.sum(0.5 * jnp.square(targets - mu) * jnp.exp(-2.0 * log_std) + log_std, -1))


def make_trainer(settings: LearnerSettings):
    """(init_opt(policy) -> opt_state, train(policy, opt_state, obs (N, S), targets (N, A), idx (updates, B)) ->
    (policy, opt_state, mean loss)): one round of Adam updates as one jitted lax.scan over pre-drawn batch indices
    into a buffer; a buffer of fixed N (padded, the indices drawn from its filled rows) compiles once per run."""
    import jax
    import jax.numpy as jnp
    import optax
    opt = optax.adam(settings.learning_rate)

    def step(carry, idx):
        policy, opt_state, obs, targets = carry
        loss, grads = jax.value_and_grad(nll_loss)(policy, obs[idx], targets[idx])
        updates, opt_state = opt.update(grads, opt_state, policy)
        return (optax.apply_updates(policy, updates), opt_state, obs, targets), loss

    @jax.jit
    def train(policy, opt_state, obs, targets, idx):
        (policy, opt_state, _, _), losses = jax.lax.scan(step, (policy, opt_state, obs, targets), idx)
        return policy, opt_state, jnp.mean(losses)

    return (lambda policy: opt.init(jax.tree.map(jnp.asarray, policy))), train


def to_numpy(policy: Policy) -> Policy:
    return Policy(tuple((np.asarray(w), np.asarray(b)) for w, b in policy.layers), np.asarray(policy.obs_mean),
                  np.asarray(policy.obs_std))


def flatten_snapshots(snapshots: list[Policy]) -> dict:
    """{'layer<i>_w': (K, in, out), 'layer<i>_b': (K, out), 'obs_mean', 'obs_std': (S,)} of K snapshots (sharing
    one standardisation), for an .npz file."""
    out = {"obs_mean": snapshots[0].obs_mean, "obs_std": snapshots[0].obs_std}
    for i in range(len(snapshots[0].layers)):
        out[f"layer{i}_w"] = np.stack([s.layers[i][0] for s in snapshots])
        out[f"layer{i}_b"] = np.stack([s.layers[i][1] for s in snapshots])
    return out


def unflatten_snapshots(arrays: dict) -> list[Policy]:
    """The inverse of flatten_snapshots."""
    depth = sum(1 for k in arrays if k.startswith("layer") and k.endswith("_w"))
    count = arrays["layer0_w"].shape[0]
    return [Policy(tuple((arrays[f"layer{i}_w"][k], arrays[f"layer{i}_b"][k]) for i in range(depth)),
                   arrays["obs_mean"], arrays["obs_std"]) for k in range(count)]


def run_key(settings, task: str, run_version: int) -> dict:
    """What a task's learning run depends on (the kinds' episode counts and cut point do not): its benchmark's
    versions, the run code's `run_version`, the episode length, the seed and every learner setting."""
    return dict(task=task, recipe="learning_run", run_version=run_version, **settings.versions(),
                episode_length=settings.episode_length, seed=settings.seed, learner=settings.learner_key())


def run_path(data_dir: str, key: dict) -> str:
    """<data_dir>/<task>_run_<digest of the key>.npz"""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(data_dir, f"{key['task']}_run_{digest}.npz")


def read_run(path: str, key: dict, fields: tuple) -> tuple[dict, dict, list[Policy]]:
    """A cached run's (arrays, metadata, snapshots), checked: the `fields` and the snapshots present, the metadata
    equal to `key`, one curve point (the first field) per snapshot. DatasetError names the file and the problem."""
    what = "learning-run file"
    arrays = ds.read_arrays(path, what)
    missing = [k for k in ("meta_json", *fields, "obs_mean", "obs_std", "layer0_w") if k not in arrays]
    if missing:
        raise ds.DatasetError(f"{what} {path} is corrupt or truncated (it lacks {missing})")
    try:
        meta = json.loads(str(arrays.pop("meta_json")))
    except ValueError as err:
        raise ds.DatasetError(f"{what} {path} is corrupt or truncated (its metadata: {err})") from err
    ds.check_meta(meta, key, path, what)
    snapshots = unflatten_snapshots(arrays)
    if len(snapshots) != len(arrays[fields[0]]):
        raise ds.DatasetError(f"{what} {path} holds {len(snapshots)} snapshots for {len(arrays[fields[0]])} curve "
                              "points")
    return arrays, meta, snapshots


def write_run(path: str, meta: dict, curves: dict, snapshots: list[Policy]) -> None:
    """Writes a run atomically: its metadata (the run key and what the benchmark adds), its curves {name: (K,)} and
    every snapshot's layers."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic.replacing(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, meta_json=np.array(json.dumps(meta, sort_keys=True)), **curves, **flatten_snapshots(snapshots))


def cached(path: str, key: dict, load, log=print):
    """load(path, key) of a cached run, or None when there is none to use: missing, or invalid (DatasetError), in
    which case the file is moved aside (<file>.invalid[.k]) and named in the log, to be trained again."""
    if not os.path.exists(path):
        return None
    try:
        return load(path, key)
    except ds.DatasetError as err:
        aside = ladder.aside_path(path)
        os.replace(path, aside)
        log(f"retraining {path} (the invalid file is kept as {aside}): {err}")
        return None

