"""What the tests share: the shrunk config every end-to-end test trains, and the repository root."""
import os

from configs import default

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(data_dir: str):
    """A shrunk config: tiny data, tiny networks, a few steps (for tests only)."""
    c = default.get_config()
    c.num_seeds = 2
    d = c.data
    d.data_dir, d.episode_length = data_dir, 20
    d.episodes_mr, d.episodes_rp, d.episodes_me = 3, 2, 2
    d.num_rungs, d.probe_episodes, d.num_workers = 3, 1, 1
    e = c.encoder
    e.skill_hidden, e.task_hidden = (16, 16), (16,)
    e.batch_size, e.epochs, e.chunk_steps = 32, 1.0, 10
    r = c.rl
    r.actor_hidden = r.critic_hidden = (16, 16)
    r.batch_size, r.steps, r.chunk_steps = 32, 20, 10
    r.softmod.hidden = r.softmod.representation = 16
    # two layers of two modules still route (test_softmod_cql.py checks the full 3 x 4 network by hand); SoftMod's
    # unrolled routing makes the default 3 x 4 network the slowest program of the suite to compile
    r.softmod.num_layers, r.softmod.num_modules = 2, 2
    c.cql.num_action_samples = 3
    c.eval.episodes_per_task, c.eval.episode_length, c.eval.env_workers = 1, 10, 1
    c.eval.imagination_starts, c.eval.relabel_starts = 64, 0  # relabelling builds Meta-World envs: where asked
    return c


def learner(method: str = "td3bc", *, obs_dim: int, cond_dim: int, action_dim: int, num_tasks: int = 1,
            task_ids=(0,), aug_count: int = 0, **rl):
    """The launcher's learner factory on the default `rl` and `cql` blocks with `rl` fields replaced."""
    from srtd_jax.agents.learners import make_learner
    from srtd_jax.agents.methods import resolve
    cfg = default.get_config()
    cfg.rl.update(rl)
    return make_learner(resolve(method), cfg.rl, cfg.cql, obs_dim=obs_dim, cond_dim=cond_dim, action_dim=action_dim,
                        task_ids=task_ids, num_tasks=num_tasks, aug_count=aug_count)


def encoder_params(obs_dim: int, action_dim: int, latent_dim: int, n: int, skill_hidden=(8, 8), task_hidden=(8,),
                   seed: int = 3):
    """Encoder networks and one seed's initial params {'skill', 'task'} at small sizes. -> (nets, params)"""
    import jax
    import optax

    from srtd_jax.agents.srtd import init_encoder_state
    from srtd_jax.core.networks import make_encoder_networks
    nets = make_encoder_networks(obs_dim, action_dim, latent_dim, skill_hidden, task_hidden)
    # the launcher's initialiser, jitted: one program instead of a compile per primitive
    state = jax.jit(lambda key: init_encoder_state(key, nets, optax.identity(), obs_dim, action_dim, latent_dim, n))(
        jax.random.PRNGKey(seed))
    return nets, state.params


def encoder(method: str = "srtd", *, obs_dim: int, action_dim: int, **enc):
    """The launcher's encoder factory on the default `encoder` block with fields replaced. -> (nets, update, init)"""
    from srtd_jax.agents.methods import resolve
    from srtd_jax.runtime.encoder_phase import encoder_parts
    cfg = default.get_config()
    cfg.encoder.update(enc)
    return encoder_parts(cfg.encoder, resolve(method), obs_dim, action_dim)
