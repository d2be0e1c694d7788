"""`quick`: the README main job. Small data, short training; minutes on 2 CPU cores."""
from configs import default


def get_config():
    c = default.get_config()
    c.data.episode_length = 150
    c.data.episodes_mr, c.data.episodes_rp, c.data.episodes_me = 30, 20, 10
    c.data.probe_episodes = 3
    c.encoder.skill_hidden = (128, 128, 128)
    c.encoder.task_hidden = (128, 128)
    c.encoder.learning_rate = 3e-4
    c.encoder.batch_size = 256
    c.encoder.epochs = 4.0
    c.rl.actor_hidden = c.rl.critic_hidden = (256, 256)
    c.rl.learning_rate = 3e-4
    c.rl.batch_size = 256
    c.rl.steps = 6000
    c.eval.episodes_per_task = 3
    c.eval.every_steps = 3000
    return c
