"""How close SRTD+ID's imaginary demonstrations (eq. 9) are to the data they augment, for a trained run.

For dataset steps drawn uniformly: the decoders' one-step errors on real (s, a, s', r) given z = q(tau), and the
statistics of imagined rollouts step by step (reward, state step size, action size) beside the real ones. A
decoder that has not learnt the dynamics shows as a one-step state error close to the real step size, and
imagined actions much smaller than the data's (decoders regress to the mean)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from srtd_jax.agents import augmentation, srtd
from srtd_jax.data import windows


def _stats(x) -> dict:
    x = np.asarray(x, np.float64)
    return {"mean": float(x.mean()), "std": float(x.std()), "abs_max": float(np.abs(x).max())}


def diagnose(cfg, workdir: str, seed: int = 0, num: int = 4000, rng_seed: int = 0) -> dict:
    """cfg: the run's config (an SRTD-family method with a task encoder); workdir: the run's directory.
    -> {'real': {...}, 'one_step': {...}, 'imagined': [{...} per rollout step], 'horizon', 'num'} where every
    leaf is {'mean', 'std', 'abs_max'} over `num` drawn steps (norms over the state or action dimensions)."""
    from srtd_jax.studies.trained import trained_encoder

    _, dd, nets, params = trained_encoder(cfg, workdir, seed)
    obs_dim, horizon = dd.obs.shape[-1], cfg.augment.horizon
    norm = lambda x: jnp.linalg.norm(x, axis=-1)

    @jax.jit
    def real_and_one_step(params, key):
        e, t = augmentation.draw_steps(dd, key, num)
        s, a, r, s2 = dd.obs[e, t], dd.actions[e, t], dd.rewards[e, t], dd.next_obs[e, t]
        z = srtd.task_embed(params["task"]["encoder"], windows.task_window(dd, e, t, cfg.encoder.n), networks=nets)
        pred = srtd.task_decode(params["task"]["decoder"], jnp.concatenate([s, a, z], -1), networks=nets)
        a_hat = nets.skill_decoder.apply(params["skill"]["decoder"], jnp.concatenate([s, z], -1))
        real = {"reward": r, "state_step": norm(s2 - s), "action": norm(a)}
        one_step = {"reward_error": pred[:, obs_dim] - r, "next_state_error": norm(pred[:, :obs_dim] - s2),
                    "action_error": norm(a_hat - a)}
        return real, one_step

    @jax.jit
    def imagined(params, key):
        aug = augmentation.imaginary_dataset(params, dd, key, networks=nets, n=cfg.encoder.n, num_transitions=num,
                                             horizon=horizon, z_noise=cfg.augment.z_noise, gamma=cfg.rl.gamma,
                                             noise_target=cfg.augment.z_noise_target)
        per_step = lambda x: x.reshape((-1, horizon) + x.shape[1:])  # rollouts are laid out start-major
        s, s2 = per_step(aug.obs[:, :obs_dim]), per_step(aug.next_obs[:, :obs_dim])
        return {"reward": per_step(aug.reward), "state_step": norm(s2 - s), "action": norm(per_step(aug.action))}

    k_real, k_imagined = jax.random.split(jax.random.PRNGKey(rng_seed))
    real, one_step = real_and_one_step(params, k_real)
    rollout = imagined(params, k_imagined)
    return {"num": num, "horizon": horizon,
            "real": {k: _stats(v) for k, v in real.items()},
            "one_step": {k: _stats(v) for k, v in one_step.items()},
            "imagined": [{k: _stats(v[:, h]) for k, v in rollout.items()} for h in range(horizon)]}


def markdown_rows(name: str, d: dict) -> list[str]:
    """Table rows (mean ± std) of one diagnosis: the real data, the one-step errors, each imagined step."""
    f = lambda s: f"{s['mean']:.3f} ± {s['std']:.3f}"
    rows = [f"| {name} | real data | {f(d['real']['reward'])} | {f(d['real']['state_step'])} | "
            f"{f(d['real']['action'])} |",
            f"| {name} | one-step decoder error | {f(d['one_step']['reward_error'])} | "
            f"{f(d['one_step']['next_state_error'])} | {f(d['one_step']['action_error'])} |"]
    rows += [f"| {name} | imagined step {h + 1} | {f(s['reward'])} | {f(s['state_step'])} | {f(s['action'])} |"
             for h, s in enumerate(d["imagined"])]
    return rows


TABLE_HEADER = ["| run | rows | reward (normalised scale) | state step size ‖s' − s‖ (or its error) | "
                "action size ‖a‖ (or its error) |", "|---|---|---|---|---|"]
