"""Measures seed x updates/s of the encoder and TD3+BC chunks for each seed-axis strategy.

  python -m experiments.bench_seed_axis [--seeds=1,3] [--out=results/seed_axis]
Writes OUT.json and OUT.md (with this command). Synthetic MT10-shaped data; the timed part is a
compiled chunk (compile time reported separately), median of --repeats.
"""
import json
import os
import platform
import time

from absl import app, flags

from experiments import commands

FLAGS = flags.FLAGS
flags.DEFINE_list("seeds", ["1", "3"], "Seed counts to time.")
flags.DEFINE_integer("repeats", 3, "Timed repeats (median reported).")
flags.DEFINE_string("out", "results/seed_axis", "Output path without extension.")


def main(argv):
    del argv
    import jax
    import jax.numpy as jnp
    import numpy as np

    from configs import default
    from srtd_jax.agents.learners import make_learner
    from srtd_jax.agents.methods import resolve
    from srtd_jax.core import chunks
    from srtd_jax.data import samplers
    from srtd_jax.data.windows import DeviceData
    from srtd_jax.runtime.encoder_phase import encoder_parts

    S, A, E, L, Z, N = 39, 4, 230, 150, 4, 4
    rng = np.random.default_rng(0)
    f = lambda *s: jnp.asarray(rng.normal(size=s), jnp.float32)
    data = DeviceData(f(E, L, S), jnp.tanh(f(E, L, A)), f(E, L), f(E, L, S), jnp.zeros((E, L)), jnp.asarray(rng.random(E), jnp.float32), jnp.zeros(E, jnp.int32))

    def encoder_case(hidden, batch, steps):
        enc = default.get_config().encoder
        enc.update(dict(skill_hidden=hidden, task_hidden=hidden[:2], latent_dim=Z, n=N, batch_size=batch))
        _, update, init = encoder_parts(enc, resolve("srtd"), S, A)
        return (update, samplers.window_sampler(batch, N)), init, steps, lambda n: None

    def td3bc_case(hidden, batch, steps):
        cfg = default.get_config()
        cfg.rl.update(dict(actor_hidden=hidden, critic_hidden=hidden, learning_rate=3e-4, batch_size=batch))
        lrn = make_learner(resolve("td3bc"), cfg.rl, cfg.cql, obs_dim=S, cond_dim=Z, action_dim=A, task_ids=(0,),
                           num_tasks=1, aug_count=0)
        return (lrn.update, lrn.sampler), lrn.init, steps, lambda n: jnp.zeros((n, E, L + 1, Z))

    cases = {"td3bc quick (2x256, batch 256)": td3bc_case((256, 256), 256, 200),
             "td3bc paper (3x256, batch 1280)": td3bc_case((256, 256, 256), 1280, 50),
             "encoder quick (3x128, batch 256)": encoder_case((128, 128, 128), 256, 50),
             "encoder paper (3x256, batch 2048)": encoder_case((256, 256, 256), 2048, 10)}
    rows = []
    for name, (step, init, steps, per_seed) in cases.items():
        for n_seeds in map(int, FLAGS.seeds):
            for strategy in ("vmap", "map"):
                chunk = chunks.make_chunk(*step, steps, strategy)
                keys = jax.random.split(jax.random.PRNGKey(0), n_seeds)
                states = chunks.stack_states(init, keys)
                cond = per_seed(n_seeds)
                t0 = time.perf_counter()
                states, keys, m, _ = chunk(states, keys, jnp.int32(0), data, cond)
                jax.block_until_ready(m)
                compile_s = time.perf_counter() - t0
                times = []
                for r in range(FLAGS.repeats):
                    t0 = time.perf_counter()
                    states, keys, m, _ = chunk(states, keys, jnp.int32((r + 1) * steps), data, cond)
                    jax.block_until_ready(m)
                    times.append(time.perf_counter() - t0)
                rate = n_seeds * steps / float(np.median(times))
                rows.append(dict(case=name, seeds=n_seeds, strategy=strategy, seed_updates_per_s=rate,
                                 first_call_s=compile_s))
                print(f"{name:<36} seeds {n_seeds} {strategy:<5} {rate:9.1f} seed-updates/s (first call {compile_s:.1f}s)", flush=True)
    command = commands.this_command()
    meta = dict(command=command, backend=jax.default_backend(), device=str(jax.devices()[0]), jax=jax.__version__,
                machine=f"{platform.machine()}, {os.cpu_count()} cores", date=time.strftime("%Y-%m-%d"))
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    with open(FLAGS.out + ".json", "w") as fh:
        json.dump(dict(meta, rows=rows), fh, indent=2)
    single = {(r["case"], r["strategy"]): r["seed_updates_per_s"] for r in rows if r["seeds"] == 1}
    lines = [f"Made by: `{command}` on {meta['machine']}, JAX {meta['jax']} ({meta['device']}), {meta['date']}.", "",
             "seed-updates/s = seeds x updates per second, median of repeats after a compile call. "
             "Ratio = vs. the same strategy with 1 seed.", "",
             "| case | seeds | strategy | seed-updates/s | ratio to 1 seed |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['seeds']} | {r['strategy']} | {r['seed_updates_per_s']:.1f} | "
                     f"{r['seed_updates_per_s'] / single[(r['case'], r['strategy'])]:.2f} |")
    with open(FLAGS.out + ".md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    app.run(main)
