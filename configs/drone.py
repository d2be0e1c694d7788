"""Multi-task drone navigation (paper section 5.2) on the built-in simulator: `--config=configs/drone.py:<method>`
for any method of configs/default.py (default srtd), e.g. `configs/drone.py:srtd_id`, `configs/drone.py:pcgrad`.

A CPU-sized budget: per task MR 150 / RP 100 / ME 50 episodes of 100 steps (50 s of flight), encoders 3 x 128 /
2 x 128 for 3 epochs, actor and critic 2 x 256 at batch 256 for 20,000 steps, 10 evaluation episodes per task.
The paper gives no drone dataset sizes or budgets; these follow the MT10 cpu budget (configs/benchmark_mt10.py).
Scores are normalised returns (the return divided by the noise-free expert's best return on the task).
"""
from configs import default

METHOD_OVERRIDES = {  # the same per-method sizes as the MT10 presets (configs/pcgrad.py, configs/softmod.py)
    "pcgrad": lambda c: setattr(c.rl, "actor_hidden", (160,) * 6) or setattr(c.rl, "critic_hidden", (160,) * 6),
    "softmod": lambda c: c.rl.softmod.update(hidden=128, representation=128) or c.cql.update(num_action_samples=2),
}


def get_config(method: str = "srtd"):
    c = default.get_config()
    c.suite = "drone"
    c.method = method
    d = c.data
    d.configuration = "mr2_rp2_me2"
    d.data_dir = "data/drone"
    d.episode_length = 100
    d.probe_episodes = 16
    d.reward_type, d.reward_scale = "raw", 1.0  # the progress reward is already per step
    e, r, v = c.encoder, c.rl, c.eval
    e.skill_hidden, e.task_hidden = (128, 128, 128), (128, 128)
    e.learning_rate, e.batch_size, e.epochs = 3e-4, 256, 3.0
    r.actor_hidden = r.critic_hidden = (256, 256)
    r.learning_rate, r.batch_size, r.steps = 3e-4, 256, 20_000
    v.episodes_per_task, v.every_steps = 10, 5_000
    if method in METHOD_OVERRIDES:
        METHOD_OVERRIDES[method](c)
    return c
